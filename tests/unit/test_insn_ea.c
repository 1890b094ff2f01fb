#include "arch/x86/insn_ea.h"
#include "unit.h"

static int ea_of(const u8 *b, unsigned len, bool write, u64 *gla)
{
	static u64 gpr[16];
	for (unsigned i = 0; i < 16; i++)
		gpr[i] = 0x1000 * (i + 1); /* rax 0x1000, rcx 0x2000, ... r15 0x10000 */
	struct insn_regs r = {.gpr = gpr, .rip = 0xffffffff81000000ull, .fs_base = 0x7000000, .gs_base = 0xffff888000000000ull};
	return insn_memory_address(b, len, &r, write, gla);
}

UNIT_TEST(memory_operands_of_the_moves_linux_makes)
{
	u64 a;
	static const u8 mov_rbx[] = {0x48, 0x8b, 0x03};                  /* mov (%rbx),%rax */
	CHECK_EQ(ea_of(mov_rbx, sizeof(mov_rbx), false, &a), 0);
	CHECK_EQ(a, 0x4000);
	static const u8 mov_rsp8[] = {0x8b, 0x44, 0x24, 0x08};           /* mov 8(%rsp),%eax */
	CHECK_EQ(ea_of(mov_rsp8, sizeof(mov_rsp8), false, &a), 0);
	CHECK_EQ(a, 0x5008);
	static const u8 gs_abs[] = {0x65, 0x48, 0x8b, 0x04, 0x25, 0x80, 0xfb, 0x01, 0x00}; /* mov %gs:0x1fb80,%rax */
	CHECK_EQ(ea_of(gs_abs, sizeof(gs_abs), false, &a), 0);
	CHECK_EQ(a, 0xffff888000000000ull + 0x1fb80);
	static const u8 riprel[] = {0x48, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00}; /* mov 0x10(%rip),%rax */
	CHECK_EQ(ea_of(riprel, sizeof(riprel), false, &a), 0);
	CHECK_EQ(a, 0xffffffff81000000ull + 7 + 0x10);
	static const u8 movl_imm[] = {0xc7, 0x05, 0xf0, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00}; /* movl $1,-0x10(%rip) */
	CHECK_EQ(ea_of(movl_imm, sizeof(movl_imm), true, &a), 0);
	CHECK_EQ(a, 0xffffffff81000000ull + 10 - 0x10);
	static const u8 sib[] = {0x4a, 0x8b, 0x44, 0xc5, 0xf8};          /* mov -8(%rbp,%r8,8),%rax */
	CHECK_EQ(ea_of(sib, sizeof(sib), false, &a), 0);
	CHECK_EQ(a, 0x6000 + 0x9000 * 8 - 8);
	static const u8 r12[] = {0x49, 0x89, 0x04, 0x24};                /* mov %rax,(%r12) */
	CHECK_EQ(ea_of(r12, sizeof(r12), true, &a), 0);
	CHECK_EQ(a, 0xd000);
	static const u8 movzx[] = {0x0f, 0xb6, 0x46, 0x02};              /* movzbl 2(%rsi),%eax */
	CHECK_EQ(ea_of(movzx, sizeof(movzx), false, &a), 0);
	CHECK_EQ(a, 0x7002);
	static const u8 rep_movsb[] = {0xf3, 0xa4};
	CHECK_EQ(ea_of(rep_movsb, sizeof(rep_movsb), false, &a), 0);
	CHECK_EQ(a, 0x7000); /* the read: [rsi] */
	CHECK_EQ(ea_of(rep_movsb, sizeof(rep_movsb), true, &a), 0);
	CHECK_EQ(a, 0x8000); /* the write: [rdi] */
	static const u8 addr32[] = {0x67, 0x8b, 0x03};                   /* mov (%ebx),%eax */
	CHECK_EQ(ea_of(addr32, sizeof(addr32), false, &a), 0);
	CHECK_EQ(a, 0x4000);
}

UNIT_TEST(what_it_does_not_know_it_says)
{
	u64 a = 0;
	static const u8 reg_only[] = {0x48, 0x89, 0xc3};                 /* mov %rax,%rbx */
	CHECK_EQ(ea_of(reg_only, sizeof(reg_only), false, &a), -1);
	static const u8 lea[] = {0x48, 0x8d, 0x43, 0x08};                /* lea 8(%rbx),%rax: no access */
	CHECK_EQ(ea_of(lea, sizeof(lea), false, &a), -1);
	static const u8 cpuid[] = {0x0f, 0xa2};
	CHECK_EQ(ea_of(cpuid, sizeof(cpuid), false, &a), -1);
	static const u8 cut[] = {0x48, 0x8b, 0x44};                      /* truncated */
	CHECK_EQ(ea_of(cut, sizeof(cut), false, &a), -1);
	CHECK_EQ(ea_of(cut, 0, false, &a), -1);
}

static int store_of(const u8 *b, unsigned len, struct insn_store *st)
{
	static u64 gpr[16];
	for (unsigned i = 0; i < 16; i++)
		gpr[i] = 0x1111111100000000ull * (i + 1) + 0x800 + 0x1000 * i; /* rax ...0800, rcx ...1800, ... */
	gpr[2] = 0x0000000000c4d500ull; /* rdx: ICR low as Linux writes an INIT */
	struct insn_regs r = {.gpr = gpr, .rip = 0xffffffff81000000ull, .fs_base = 0, .gs_base = 0};
	return insn_store(b, len, &r, st);
}

/* The stores an xAPIC write comes as: Linux's native_apic_mem_write is
 * "movl %reg, addr" (or xchgl with the 11AP erratum), addr the APIC's
 * fixmap address in a register or RIP-relative. */
UNIT_TEST(stores_the_hypervisor_replays)
{
	struct insn_store st;
	static const u8 movl_edx[] = {0x89, 0x10};                      /* mov %edx,(%rax) */
	CHECK_EQ(store_of(movl_edx, sizeof(movl_edx), &st), 0);
	CHECK_EQ(st.gla, 0x1111111100000800ull);
	CHECK_EQ(st.value, 0xc4d500);
	CHECK_EQ(st.size, 4);
	CHECK_EQ(st.length, 2);
	static const u8 movl_disp[] = {0x89, 0x90, 0x00, 0x03, 0x00, 0x00}; /* mov %edx,0x300(%rax) */
	CHECK_EQ(store_of(movl_disp, sizeof(movl_disp), &st), 0);
	CHECK_EQ(st.gla, 0x1111111100000800ull + 0x300);
	CHECK_EQ(st.length, 6);
	static const u8 xchg[] = {0x87, 0x14, 0x25, 0x00, 0xc3, 0x5f, 0xff}; /* xchg %edx,0xffffffffff5fc300 */
	CHECK_EQ(store_of(xchg, sizeof(xchg), &st), 0);
	CHECK_EQ(st.gla, 0xffffffffff5fc300ull);
	CHECK_EQ(st.value, 0xc4d500);
	CHECK_EQ(st.length, 7);
	static const u8 r9d[] = {0x44, 0x89, 0x08};                     /* mov %r9d,(%rax): REX.R */
	CHECK_EQ(store_of(r9d, sizeof(r9d), &st), 0);
	CHECK_EQ(st.value, 0x9800);
	CHECK_EQ(st.size, 4);
	static const u8 movq[] = {0x48, 0x89, 0x18};                    /* mov %rbx,(%rax): 64-bit */
	CHECK_EQ(store_of(movq, sizeof(movq), &st), 0);
	CHECK_EQ(st.value, 0x4444444400003800ull);
	CHECK_EQ(st.size, 8);
	static const u8 movw[] = {0x66, 0x89, 0x18};                    /* mov %bx,(%rax) */
	CHECK_EQ(store_of(movw, sizeof(movw), &st), 0);
	CHECK_EQ(st.value, 0x3800);
	CHECK_EQ(st.size, 2);
	static const u8 movb_ah[] = {0x88, 0x20};                       /* mov %ah,(%rax) */
	CHECK_EQ(store_of(movb_ah, sizeof(movb_ah), &st), 0);
	CHECK_EQ(st.value, 0x08);
	CHECK_EQ(st.size, 1);
	static const u8 imm[] = {0xc7, 0x05, 0xf6, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00}; /* movl $0,-0xa(%rip): EOI */
	CHECK_EQ(store_of(imm, sizeof(imm), &st), 0);
	CHECK_EQ(st.gla, 0xffffffff81000000ull + 10 - 0xa);
	CHECK_EQ(st.value, 0);
	CHECK_EQ(st.length, 10);
	static const u8 immq[] = {0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff}; /* movq $-1,(%rax): sign-extended */
	CHECK_EQ(store_of(immq, sizeof(immq), &st), 0);
	CHECK_EQ(st.value, ~0ull);
	/* not a replayable store: a load, a register destination, C7 /1, cut short */
	static const u8 load[] = {0x8b, 0x10};
	CHECK_EQ(store_of(load, sizeof(load), &st), -1);
	static const u8 to_reg[] = {0x89, 0xd0};
	CHECK_EQ(store_of(to_reg, sizeof(to_reg), &st), -1);
	static const u8 c7_1[] = {0xc7, 0x08, 0, 0, 0, 0};
	CHECK_EQ(store_of(c7_1, sizeof(c7_1), &st), -1);
	CHECK_EQ(store_of(imm, 7, &st), -1);
}

const struct unit_test insn_ea_tests[] = {
	{"memory_operands_of_the_moves_linux_makes", memory_operands_of_the_moves_linux_makes},
	{"what_it_does_not_know_it_says", what_it_does_not_know_it_says},
	{"stores_the_hypervisor_replays", stores_the_hypervisor_replays},
};
const unsigned insn_ea_count = sizeof(insn_ea_tests) / sizeof(insn_ea_tests[0]);
