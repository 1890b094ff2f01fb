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

const struct unit_test insn_ea_tests[] = {
	{"memory_operands_of_the_moves_linux_makes", memory_operands_of_the_moves_linux_makes},
	{"what_it_does_not_know_it_says", what_it_does_not_know_it_says},
};
const unsigned insn_ea_count = sizeof(insn_ea_tests) / sizeof(insn_ea_tests[0]);
