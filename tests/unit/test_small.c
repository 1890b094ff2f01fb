/* Unit tests of the small pure pieces: CPUID policy, segment decoding, event
 * combination, exit dispatch, guest RAM checks, log ring. */
#include "core/cpuid_policy.h"
#include "core/dune_ctx.h"
#include "arch/x86/event_combine.h"
#include "arch/x86/machine_check.h"
#include "core/exit_dispatch.h"
#include "core/guest_mem.h"
#include "include/dunehv/abi.h"
#include "core/log.h"
#include "arch/x86/xcr0.h"
#include "arch/x86/msr_bitmap.h"
#include "arch/x86/svm/msrpm.h"
#include "arch/x86/spec_barriers.h"
#include "arch/x86/segment.h"
#include "unit.h"
#include "arch/x86/vmx/vmx_defs.h"

UNIT_TEST(cpuid_hides_vmx_and_follows_cr4)
{
	struct cpuid_regs r = {.eax = 0x50654, .ebx = 0, .ecx = 0x7ffefbff, .edx = 0xbfebfbff};
	cpuid_apply_policy(1, 0, 0, &r);
	CHECK_EQ(r.ecx & (1u << 5), 0);  /* VMX hidden */
	CHECK_EQ(r.ecx & (1u << 6), 0);  /* SMX hidden */
	CHECK_EQ(r.ecx & (1u << 31), 0); /* hypervisor bit as the CPU has it (clear) */
	CHECK_EQ(r.ecx & (1u << 27), 0); /* OSXSAVE follows CR4 (off) */
	CHECK_EQ(r.ecx & (1u << 2), 0);  /* no DTES64 */
	CHECK_EQ(r.edx, 0xbfebfbff & ~(1u << 21)); /* no debug store, the rest as it was */
	r.ecx = 1u << 31; /* nested under another hypervisor: stays set */
	cpuid_apply_policy(1, 0, 1u << 18, &r);
	CHECK(r.ecx & (1u << 27));
	CHECK(r.ecx & (1u << 31));
	struct cpuid_regs l7 = {.ebx = (1u << 25) | 1u, .ecx = 1u << 4};
	cpuid_apply_policy(7, 0, 0, &l7);
	CHECK_EQ(l7.ebx, 1u); /* no Intel PT, the rest as it was */
	CHECK_EQ(l7.ecx, 0);
	cpuid_apply_policy(7, 0, 1u << 22, &l7);
	CHECK_EQ(l7.ecx, 1u << 4);
	/* AMD: SVM and SKINIT hidden, the SVM leaf empty */
	struct cpuid_regs ext = {.ecx = (1u << 2) | (1u << 12) | 1u, .edx = 0x2fd3fbff};
	cpuid_apply_policy(0x80000001u, 0, 0, &ext);
	CHECK_EQ(ext.ecx, 1u);
	CHECK_EQ(ext.edx, 0x2fd3fbff);
	struct cpuid_regs svm = {.eax = 1, .ebx = 0x8000, .edx = 0x44f};
	cpuid_apply_policy(0x8000000au, 0, 0, &svm);
	CHECK_EQ(svm.eax | svm.ebx | svm.ecx | svm.edx, 0);
}

UNIT_TEST(xcr0_values_xsetbv_accepts)
{
	u64 all = 0x7ffffull; /* x87 .. AMX */
	CHECK(xcr0_valid(XCR0_X87, all));
	CHECK(xcr0_valid(XCR0_X87 | XCR0_SSE | XCR0_AVX, all));
	CHECK(!xcr0_valid(XCR0_SSE, all));                       /* x87 always */
	CHECK(!xcr0_valid(XCR0_X87 | XCR0_AVX, all));            /* AVX without SSE */
	CHECK(!xcr0_valid(XCR0_X87 | XCR0_SSE | XCR0_AVX, 3));   /* not supported */
	CHECK(xcr0_valid(XCR0_X87 | XCR0_MPX, all));
	CHECK(!xcr0_valid(XCR0_X87 | BIT(3), all));              /* BNDREGS without BNDCSR */
	CHECK(!xcr0_valid(XCR0_X87 | BIT(4), all));
	CHECK(xcr0_valid(XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_AVX512, all));
	CHECK(!xcr0_valid(XCR0_X87 | XCR0_SSE | XCR0_AVX | BIT(5), all));
	CHECK(!xcr0_valid(XCR0_X87 | XCR0_SSE | XCR0_AVX512, all)); /* AVX-512 without AVX */
	CHECK(xcr0_valid(XCR0_X87 | XCR0_SSE | XCR0_AMX, all));
	CHECK(!xcr0_valid(XCR0_X87 | XCR0_SSE | BIT(17), all)); /* XTILECFG without XTILEDATA */
	CHECK(!xcr0_valid(XCR0_X87 | XCR0_SSE | BIT(18), all));
}

UNIT_TEST(cpuid_hypervisor_leaves)
{
	struct cpuid_regs r = {1, 2, 3, 4};
	cpuid_apply_policy(0x40000000, 0, 0, &r);
	char sig[13] = {0};
	memcpy(sig, &r.ebx, 4);
	memcpy(sig + 4, &r.ecx, 4);
	memcpy(sig + 8, &r.edx, 4);
	CHECK(strcmp(sig, "DuneHV") == 0);
	CHECK_EQ(r.eax, 0x40000001);
	cpuid_apply_policy(0x40000001, 0, 0, &r);
	CHECK_EQ(r.eax, DUNEHV_ABI_VERSION);
	r = (struct cpuid_regs){1, 2, 3, 4};
	cpuid_apply_policy(0x40000100, 0, 0, &r); /* Xen probe: nothing there */
	CHECK(r.eax == 0 && r.ebx == 0 && r.ecx == 0 && r.edx == 0);
	CHECK(cpuid_is_hypervisor_leaf(0x4fffffff));
	CHECK(!cpuid_is_hypervisor_leaf(0x50000000));
	CHECK(!cpuid_is_hypervisor_leaf(0x3fffffff));
}

UNIT_TEST(segment_decoding)
{
	/* null, 64-bit code 0x38 style, data, 16-byte TSS at index 3 */
	u64 gdt[6] = {0, 0x00af9b000000ffffull, 0x00cf93000000ffffull, 0, 0, 0};
	u64 base = 0x123456789abcull;
	gdt[3] = 0x67 | ((base & 0xffffff) << 16) | (0x89ull << 40) | (((base >> 24) & 0xff) << 56);
	gdt[4] = base >> 32;
	struct segment_state s;
	segment_from_gdt(gdt, sizeof(gdt) - 1, 0x08, false, &s);
	CHECK_EQ(s.access_rights, 0xa09b);
	CHECK_EQ(s.limit, 0xffffffff);
	CHECK_EQ(s.base, 0);
	segment_from_gdt(gdt, sizeof(gdt) - 1, 0x10, false, &s);
	CHECK_EQ(s.access_rights, 0xc093);
	segment_from_gdt(gdt, sizeof(gdt) - 1, 0x18, true, &s);
	CHECK_EQ(s.base, base);
	CHECK_EQ(s.limit, 0x67);
	CHECK_EQ(s.access_rights, 0x89);
	segment_from_gdt(gdt, sizeof(gdt) - 1, 0, false, &s);
	CHECK(s.access_rights & SEG_AR_UNUSABLE);
	segment_from_gdt(gdt, 0x17, 0x18, true, &s); /* beyond the GDT limit */
	CHECK(s.access_rights & SEG_AR_UNUSABLE);
	segment_from_gdt(gdt, sizeof(gdt) - 1, 0x0c, false, &s); /* LDT selector */
	CHECK(s.access_rights & SEG_AR_UNUSABLE);
	gdt[2] &= ~(1ull << 47); /* not present */
	segment_from_gdt(gdt, sizeof(gdt) - 1, 0x10, false, &s);
	CHECK(s.access_rights & SEG_AR_UNUSABLE);
}

static u32 hw_exc(u8 v) { return v | (INTR_TYPE_HW_EXCEPTION << INTR_INFO_TYPE_SHIFT) | INTR_INFO_VALID; }

UNIT_TEST(machine_checks_reach_linux)
{
	/* root operation: only RIPV lets the hypervisor go on */
	CHECK_EQ(machine_check_route(MC_IN_ROOT, MCG_STATUS_RIPV | MCG_STATUS_MCIP), MC_HOLD_FOR_LINUX);
	CHECK_EQ(machine_check_route(MC_IN_ROOT, MCG_STATUS_RIPV | MCG_STATUS_EIPV | MCG_STATUS_MCIP), MC_HOLD_FOR_LINUX);
	CHECK_EQ(machine_check_route(MC_IN_ROOT, MCG_STATUS_EIPV | MCG_STATUS_MCIP), MC_PANIC);
	CHECK_EQ(machine_check_route(MC_IN_ROOT, 0), MC_PANIC);
	/* in a guest: Linux judges, whatever the status */
	CHECK_EQ(machine_check_route(MC_ENTERING_LINUX, 0), MC_HOLD_FOR_LINUX);
	CHECK_EQ(machine_check_route(MC_ENTERING_LINUX, MCG_STATUS_RIPV), MC_HOLD_FOR_LINUX);
	CHECK_EQ(machine_check_route(MC_IN_DUNE, 0), MC_END_DUNE_RUN);
	CHECK_EQ(machine_check_route(MC_IN_DUNE, MCG_STATUS_RIPV | MCG_STATUS_MCIP), MC_END_DUNE_RUN);
	/* delivery never replaces a queued event */
	CHECK_EQ(machine_check_delivery(0, false), MC_DELIVER_NOW);
	CHECK_EQ(machine_check_delivery(VEC_PF, false), MC_DELIVER_NOW); /* valid bit clear: nothing queued */
	CHECK_EQ(machine_check_delivery(hw_exc(VEC_PF), false), MC_DELIVER_AFTER_EVENT);
	CHECK_EQ(machine_check_delivery(INTR_INFO_VALID | (INTR_TYPE_NMI << INTR_INFO_TYPE_SHIFT) | VEC_NMI, false),
		 MC_DELIVER_AFTER_EVENT);
	CHECK_EQ(machine_check_delivery(INTR_INFO_VALID | 0x30, false), MC_DELIVER_AFTER_EVENT); /* external interrupt */
	CHECK_EQ(machine_check_delivery(0, true), MC_DELIVER_DROP);
	CHECK_EQ(machine_check_delivery(hw_exc(VEC_GP), true), MC_DELIVER_DROP);
}

UNIT_TEST(event_combination_table_6_5)
{
	CHECK_EQ(event_combine(0, VEC_GP), EVENT_DELIVER_SECOND);
	CHECK_EQ(event_combine(hw_exc(VEC_GP), VEC_GP), EVENT_DOUBLE_FAULT);
	CHECK_EQ(event_combine(hw_exc(VEC_NP), VEC_TS), EVENT_DOUBLE_FAULT);
	CHECK_EQ(event_combine(hw_exc(VEC_PF), VEC_PF), EVENT_DOUBLE_FAULT);
	CHECK_EQ(event_combine(hw_exc(VEC_PF), VEC_GP), EVENT_DOUBLE_FAULT);
	CHECK_EQ(event_combine(hw_exc(VEC_GP), VEC_PF), EVENT_DELIVER_SECOND);
	CHECK_EQ(event_combine(hw_exc(VEC_DF), VEC_GP), EVENT_TRIPLE_FAULT);
	CHECK_EQ(event_combine(hw_exc(VEC_DB), VEC_GP), EVENT_DELIVER_SECOND);
	CHECK_EQ(event_combine(hw_exc(VEC_UD), VEC_PF), EVENT_DELIVER_SECOND);
	/* external interrupt (type 0) and NMI are benign */
	CHECK_EQ(event_combine(0x20 | INTR_INFO_VALID, VEC_PF), EVENT_DELIVER_SECOND);
	CHECK_EQ(event_combine(VEC_NMI | (INTR_TYPE_NMI << INTR_INFO_TYPE_SHIFT) | INTR_INFO_VALID, VEC_GP),
		 EVENT_DELIVER_SECOND);
	/* what both backends queue */
	u8 vec = VEC_GP;
	bool err = true;
	u32 code = 0x18;
	u32 pf = VEC_PF | (INTR_TYPE_HW_EXCEPTION << INTR_INFO_TYPE_SHIFT) | INTR_INFO_VALID;
	CHECK(event_exception_to_queue(pf, &vec, &err, &code));
	CHECK_EQ(vec, VEC_DF);
	CHECK(err);
	CHECK_EQ(code, 0);
	u32 df = VEC_DF | (INTR_TYPE_HW_EXCEPTION << INTR_INFO_TYPE_SHIFT) | INTR_INFO_VALID;
	vec = VEC_GP;
	CHECK(!event_exception_to_queue(df, &vec, &err, &code));
	vec = VEC_UD;
	err = true;
	CHECK(event_exception_to_queue(0, &vec, &err, &code));
	CHECK_EQ(vec, VEC_UD);
	CHECK(!err); /* #UD has no error code */
}

static unsigned cpuid_calls, unexpected_calls;
static void fake_cpuid(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	(void)cpu;
	(void)v;
	(void)e;
	cpuid_calls++;
}
static void fake_unexpected(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	(void)cpu;
	(void)v;
	(void)e;
	unexpected_calls++;
}

UNIT_TEST(dispatch_counts_and_routes)
{
	static const struct exit_table table = {
		.handler = {[HV_EXIT_CPUID] = fake_cpuid},
		.unexpected = fake_unexpected,
	};
	struct hv_cpu *cpu = calloc(1, sizeof(*cpu));
	struct exit_counters *linux_exits = &cpu->exits[VCPU_LINUX], *dune_exits = &cpu->exits[VCPU_DUNE];
	const struct hv_exit cpuid = {.kind = HV_EXIT_CPUID, .vendor_reason = EXIT_REASON_CPUID, .counter = EXIT_REASON_CPUID};
	const struct hv_exit hlt = {.kind = HV_EXIT_UNKNOWN, .vendor_reason = EXIT_REASON_HLT, .counter = EXIT_REASON_HLT};
	const struct hv_exit odd = {.kind = HV_EXIT_UNKNOWN, .vendor_reason = 0xffff, .counter = 0xffff};
	const struct hv_exit bad_kind = {.kind = (enum hv_exit_kind)1000, .vendor_reason = EXIT_REASON_CPUID, .counter = EXIT_REASON_CPUID};
	cpuid_calls = unexpected_calls = 0;
	for (int i = 0; i < 5; i++)
		exit_dispatch(&table, linux_exits, cpu, &cpu->linux_vcpu, &cpuid);
	exit_dispatch(&table, linux_exits, cpu, &cpu->linux_vcpu, &hlt);
	exit_dispatch(&table, dune_exits, cpu, &cpu->linux_vcpu, &hlt);
	exit_dispatch(&table, linux_exits, cpu, &cpu->linux_vcpu, &odd); /* out of range: not counted by reason */
	exit_dispatch(&table, linux_exits, cpu, &cpu->linux_vcpu, &bad_kind); /* no such kind: unexpected */
	CHECK_EQ(cpuid_calls, 5);
	CHECK_EQ(unexpected_calls, 4);
	CHECK_EQ(linux_exits->count[EXIT_REASON_CPUID], 6);
	CHECK_EQ(linux_exits->count[EXIT_REASON_HLT], 1);
	CHECK_EQ(linux_exits->total, 8);
	CHECK_EQ(dune_exits->count[EXIT_REASON_HLT], 1);
	CHECK_EQ(dune_exits->total, 1);
	CHECK(strcmp(vmx_exit_reason_name(EXIT_REASON_EPT_VIOLATION), "ept-violation") == 0);
	CHECK(strcmp(vmx_exit_reason_name(35), "?") == 0);
	CHECK(strcmp(vmx_exit_reason_name(12345), "?") == 0);
	free(cpu);
}

UNIT_TEST(guest_ram_checks)
{
	struct hv_ram_range ram[2] = {{0x0, 0x9f000}, {0x100000, 0x3ff00000}};
	u64 hv = 0x37e00000, hv_size = 64 << 20;
	CHECK(guest_ram_range_ok(ram, 2, hv, hv_size, 0x1000, 0x1000));
	CHECK(guest_ram_range_ok(ram, 2, hv, hv_size, 0x37dff000, 0x1000));
	CHECK(!guest_ram_range_ok(ram, 2, hv, hv_size, 0x37dff000, 0x2000)); /* touches hv */
	CHECK(!guest_ram_range_ok(ram, 2, hv, hv_size, hv + 0x1000, 8));
	CHECK(!guest_ram_range_ok(ram, 2, hv, hv_size, 0x9f000, 0x10));      /* hole in RAM */
	CHECK(!guest_ram_range_ok(ram, 2, hv, hv_size, 0x9e000, 0x2000));    /* straddles */
	CHECK(!guest_ram_range_ok(ram, 2, hv, hv_size, 0xfffffffff000ull, 0x1000)); /* beyond RAM */
	CHECK(!guest_ram_range_ok(ram, 2, hv, hv_size, 0xfffffffffffff000ull, 0x2000)); /* wraps */
	CHECK(!guest_ram_range_ok(ram, 2, hv, hv_size, 0x1000, 0));
	/* a buffer the host touches must also lie inside its identity map */
	static struct hv_boot_info bi;
	bi.ram_range_count = 2;
	bi.ram[0] = ram[0];
	bi.ram[1] = ram[1];
	bi.hv_phys_base = hv;
	bi.hv_phys_size = hv_size;
	bi.phys_map_top = 0x20000000;
	CHECK(guest_buffer_ok(&bi, 0x1ffff000, 0x1000));
	CHECK(!guest_buffer_ok(&bi, 0x1ffff000, 0x2000)); /* RAM, but beyond the host's map */
	CHECK(!guest_buffer_ok(&bi, 0x30000000, 8));
	CHECK(guest_page_ok(&bi, 0x30000000, 0x1000));    /* a Dune context may still map it */
	CHECK(!guest_page_ok(&bi, hv, 0x1000));
}

UNIT_TEST(log_ring_wraps_and_reports_position)
{
	struct log_ring log;
	char *buf = malloc(LOG_RING_SIZE);
	log_init(&log, buf, 0, LOG_INFO);
	log_printf(&log, LOG_DEBUG, "filtered %d", 1);
	CHECK_EQ(log.head, 0);
	log_printf(&log, LOG_INFO, "hello %d", 42);
	char out[128] = {0};
	u64 pos = 0;
	u64 n = log_read(&log, &pos, out, sizeof(out) - 1);
	CHECK_EQ(n, strlen("[dunehv] hello 42\n"));
	CHECK(strcmp(out, "[dunehv] hello 42\n") == 0);
	/* overflow the ring: a reader at 0 is moved to the oldest byte held */
	for (int i = 0; i < 5000; i++)
		log_printf(&log, LOG_ERROR, "line %05d padding padding", i);
	pos = 0;
	n = log_read(&log, &pos, out, 20);
	CHECK_EQ(n, 20);
	CHECK_EQ(pos, log.head - LOG_RING_SIZE);
	/* reading at the head returns nothing, beyond it is clamped */
	pos = log.head + 100;
	CHECK_EQ(log_read(&log, &pos, out, 20), 0);
	CHECK_EQ(pos, log.head);
	/* the newest line is intact */
	char tail[64] = {0};
	pos = log.head - 33;
	log_read(&log, &pos, tail, 33);
	CHECK_STR_CONTAINS(tail, "line 04999 padding padding\n");
	/* long messages are cut, still one line */
	char longmsg[600];
	memset(longmsg, 'x', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = 0;
	u64 before = log.head;
	log_printf(&log, LOG_ERROR, "%s", longmsg);
	CHECK(log.head - before <= 256);
	CHECK_EQ(buf[(log.head - 1) % LOG_RING_SIZE], '\n');
	free(buf);
}

UNIT_TEST(log_limit_holds_back_a_flood)
{
	struct log_limit limit = {0};
	struct log_ring log;
	char *buf = malloc(LOG_RING_SIZE);
	log_init(&log, buf, 0, LOG_INFO);
	u32 held = 99;
	u64 t0 = 1000;
	/* a burst passes, the rest of the window is held back and counted */
	for (int i = 0; i < LOG_LIMIT_BURST; i++) {
		CHECK(log_limit_pass(&limit, t0 + (u64)i, &held));
		CHECK_EQ(held, 0);
	}
	for (int i = 0; i < 1000; i++)
		CHECK(!log_limit_pass(&limit, t0 + 100 + (u64)i, &held));
	/* a TSC behind the window's start (another CPU's) is inside it */
	CHECK(!log_limit_pass(&limit, t0 - 5, &held));
	/* the next window: the first line says how many were held back */
	CHECK(log_limit_pass(&limit, t0 + LOG_LIMIT_WINDOW_TSC, &held));
	CHECK_EQ(held, 1001);
	CHECK(log_limit_pass(&limit, t0 + LOG_LIMIT_WINDOW_TSC + 1, &held));
	CHECK_EQ(held, 0);
	/* through the ring: 10000 attempts in one window leave burst lines */
	struct log_limit flood = {0};
	for (int i = 0; i < 10000; i++)
		log_limited(&log, &flood, 5000 + (u64)i, LOG_WARN, "entry failed %d", i);
	char out[4096] = {0};
	u64 pos = 0;
	log_read(&log, &pos, out, sizeof(out) - 1);
	int lines = 0;
	for (char *p = out; *p; p++)
		lines += *p == '\n';
	CHECK_EQ(lines, LOG_LIMIT_BURST);
	log_limited(&log, &flood, 5000 + LOG_LIMIT_WINDOW_TSC, LOG_WARN, "entry failed again");
	memset(out, 0, sizeof(out));
	log_read(&log, &pos, out, sizeof(out) - 1);
	CHECK_STR_CONTAINS(out, "(9990 lines like the next were held back by the rate limit)\n");
	CHECK_STR_CONTAINS(out, "entry failed again\n");
	free(buf);
}

const struct unit_test cpuid_policy_tests[] = {
	{"hides_vmx_and_follows_cr4", cpuid_hides_vmx_and_follows_cr4},
	{"hypervisor_leaves", cpuid_hypervisor_leaves},
	{"xcr0_values_xsetbv_accepts", xcr0_values_xsetbv_accepts},
};
const unsigned cpuid_policy_count = sizeof(cpuid_policy_tests) / sizeof(cpuid_policy_tests[0]);
const struct unit_test segment_tests[] = {{"decoding", segment_decoding}};
const unsigned segment_count = 1;
const struct unit_test event_tests[] = {{"combination_table_6_5", event_combination_table_6_5},
					 {"machine_checks_reach_linux", machine_checks_reach_linux}};
const unsigned event_count = 2;
const struct unit_test dispatch_tests[] = {{"counts_and_routes", dispatch_counts_and_routes}};
const unsigned dispatch_count = 1;
const struct unit_test guest_mem_tests[] = {{"ram_checks", guest_ram_checks}};
const unsigned guest_mem_count = 1;
const struct unit_test log_tests[] = {{"ring_wraps_and_reports_position", log_ring_wraps_and_reports_position},
				       {"limit_holds_back_a_flood", log_limit_holds_back_a_flood}};
const unsigned log_count = 2;

/* log.c leaves the UART to the hypervisor build; the host tests have none. */
void serial_write(u16 port, const char *s, size_t n)
{
	(void)port;
	(void)s;
	(void)n;
}

UNIT_TEST(dune_ctx_handles_tokens_and_slots)
{
	struct dune_ctx_table *t = calloc(1, sizeof(*t));
	int err;
	int a = dune_ctx_alloc(t, 111, 1000, 0), b = dune_ctx_alloc(t, 222, 1000, 0);
	CHECK_EQ(a, 0);
	CHECK_EQ(b, 1);
	CHECK_EQ(t->live, 2);
	CHECK_EQ(t->ctx[a].vcpu.tlb_tag, DUNE_CTX_FIRST_TLB_TAG);
	u64 ha = dune_ctx_handle((unsigned)a, t->ctx[a].generation);
	CHECK(dune_ctx_get(t, ha, 111, &err) == &t->ctx[a] && err == 0);
	CHECK(dune_ctx_get(t, ha, 222, &err) == NULL && err == -HV_EPERM); /* someone else's */
	CHECK(dune_ctx_get(t, 0, 111, &err) == NULL && err == -HV_EINVAL);
	CHECK(dune_ctx_get(t, ha + 5, 111, &err) == NULL && err == -HV_EINVAL);      /* free slot */
	CHECK(dune_ctx_get(t, 0xffffffffffffffffull, 111, &err) == NULL && err == -HV_EINVAL);
	CHECK(dune_ctx_get(t, (u64)(uintptr_t)&t->ctx[a], 111, &err) == NULL); /* a pointer is no handle */
	/* a released slot's old handle stays dead after reuse */
	dune_ctx_release(t, &t->ctx[a]);
	dune_ctx_release(t, &t->ctx[a]); /* twice: no underflow */
	CHECK_EQ(t->live, 1);
	CHECK(dune_ctx_get(t, ha, 111, &err) == NULL && err == -HV_EINVAL);
	int a2 = dune_ctx_alloc(t, 111, 1000, 0);
	CHECK_EQ(a2, a);
	CHECK(dune_ctx_get(t, ha, 111, &err) == NULL);
	CHECK(dune_ctx_get(t, dune_ctx_handle((unsigned)a2, t->ctx[a2].generation), 111, &err) != NULL);
	/* the table fills up */
	for (int i = 2; i < DUNEHV_CTX_MAX; i++)
		CHECK(dune_ctx_alloc(t, 5, 1000, 0) >= 0);
	CHECK_EQ(dune_ctx_alloc(t, 5, 1000, 0), -HV_ENOMEM);
	CHECK_EQ(t->live, DUNEHV_CTX_MAX);
	free(t);
}

UNIT_TEST(dune_ctx_references_and_destroy)
{
	struct dune_ctx_table *t = calloc(1, sizeof(*t));
	int err;
	int a = dune_ctx_alloc(t, 7, 1000, 0);
	struct dune_ctx *c = &t->ctx[a];
	u64 h = dune_ctx_handle((unsigned)a, c->generation);
	CHECK_EQ(c->last_cpu, DUNE_CTX_NO_CPU); /* never ran: every CPU flushes at its first run */
	CHECK(dune_ctx_get(t, h, 7, &err) == c);
	CHECK(dune_ctx_get(t, h, 7, &err) == c);
	CHECK_EQ(dune_ctx_refs(t, c), 2);
	CHECK(dune_ctx_get(t, h, 8, &err) == NULL && err == -HV_EPERM);
	CHECK_EQ(dune_ctx_refs(t, c), 2); /* a refused lookup takes nothing */
	/* destroy: no new lookups, and it sees the other references */
	CHECK(dune_ctx_begin_destroy(t, h, 8, &err) == NULL && err == -HV_EPERM);
	CHECK(dune_ctx_begin_destroy(t, h, 7, &err) == c);
	CHECK_EQ(dune_ctx_refs(t, c), 3);
	CHECK(dune_ctx_get(t, h, 7, &err) == NULL && err == -HV_EINVAL);
	CHECK(dune_ctx_begin_destroy(t, h, 7, &err) == NULL && err == -HV_EINVAL); /* one destroyer */
	dune_ctx_put(t, c);
	dune_ctx_put(t, c);
	CHECK_EQ(dune_ctx_refs(t, c), 1); /* the destroyer's own: it may free now */
	dune_ctx_release(t, c);
	CHECK_EQ(t->live, 0);
	CHECK(dune_ctx_get(t, h, 7, &err) == NULL);
	/* the slot comes back clean */
	CHECK_EQ(dune_ctx_alloc(t, 7, 1000, 0), a);
	CHECK(!c->dying && c->refs == 0 && c->last_cpu == DUNE_CTX_NO_CPU);
	free(t);
}

UNIT_TEST(msr_bitmap_layout)
{
	u8 *bm = calloc(1, 4096);
	msr_bitmap_set(bm, 0x3a, true, true, true); /* FEATURE_CONTROL: read-low, write-low */
	CHECK_EQ(bm[0x3a / 8], 1u << (0x3a % 8));
	CHECK_EQ(bm[2048 + 0x3a / 8], 1u << (0x3a % 8));
	msr_bitmap_set(bm, 0x1b, false, true, true); /* APIC_BASE: writes only */
	CHECK_EQ(bm[0x1b / 8], 0);
	CHECK_EQ(bm[2048 + 0x1b / 8], 1u << (0x1b % 8));
	memset(bm, 0xff, 4096);
	msr_bitmap_set(bm, 0xc0000100, true, true, false); /* FS_BASE passes: read-high, write-high */
	CHECK_EQ(bm[1024 + 0x100 / 8], 0xfe);
	CHECK_EQ(bm[3072 + 0x100 / 8], 0xfe);
	CHECK_EQ(bm[0x100 / 8], 0xff); /* the low MSR 0x100 is untouched */
	free(bm);
}

/* SVM's permission map: two bits per MSR, read then write, in three
 * vectors (APM Vol. 2 Figure 15-4). */
UNIT_TEST(msrpm_layout)
{
	u8 *pm = calloc(1, 8192);
	msrpm_set(pm, 0x1b, false, true, true); /* APIC_BASE: the write bit of MSR 0x1b, first vector */
	CHECK_EQ(pm[0x1b * 2 / 8], 2u << (0x1b * 2 % 8));
	msrpm_set(pm, 0xc0000080, true, true, true); /* EFER: both bits, second vector */
	CHECK_EQ(pm[0x800 + 0x80 * 2 / 8], 3u << (0x80 * 2 % 8));
	msrpm_set(pm, 0xc0010117, true, false, true); /* VM_HSAVE_PA: the read bit, third vector */
	CHECK_EQ(pm[0x1000 + 0x117 * 2 / 8], 1u << (0x117 * 2 % 8));
	msrpm_set(pm, 0x40000000, true, true, true); /* outside the vectors: nothing to set */
	for (unsigned i = 0x1800; i < 8192; i++)
		CHECK_EQ(pm[i], 0);
	memset(pm, 0xff, 8192);
	for (u32 msr = 0xc0000100; msr <= 0xc0000102; msr++) /* FS/GS/KERNEL_GS_BASE pass, as for Dune */
		msrpm_set(pm, msr, true, true, false);
	CHECK_EQ(pm[0x800 + 0x100 * 2 / 8], 0xc0); /* MSRs 0x100-0x102 clear, 0x103 still exits */
	CHECK_EQ(pm[0x800 + 0x100 * 2 / 8 - 1], 0xff);
	free(pm);
}

/* Which speculation barriers a CPU gets (spec_barriers.h), on a few
 * profiles. */
UNIT_TEST(spec_barriers_by_cpu)
{
	/* Skylake-era with microcode: IBPB, MD_CLEAR, L1D_FLUSH, no ARCH_CAPABILITIES */
	struct spec_caps skl = {.ibpb = true, .md_clear = true, .l1d_flush = true};
	CHECK_EQ(spec_barriers_choose(&skl, true),
		 DUNEHV_SPEC_RSB_FILL | DUNEHV_SPEC_IBPB | DUNEHV_SPEC_VERW | DUNEHV_SPEC_L1D_FLUSH);
	CHECK_EQ(spec_barriers_choose(&skl, false), 0); /* mitigations = off */
	/* not affected by L1TF or MDS: RSB fill and IBPB only */
	struct spec_caps icx = {.ibpb = true, .md_clear = true, .l1d_flush = true, .has_arch_capabilities = true,
				.arch_capabilities = ARCH_CAP_RDCL_NO | ARCH_CAP_MDS_NO};
	CHECK_EQ(spec_barriers_choose(&icx, true), DUNEHV_SPEC_RSB_FILL | DUNEHV_SPEC_IBPB);
	/* the hypervisor need not flush the L1D on VM entry */
	struct spec_caps skip = {.l1d_flush = true, .has_arch_capabilities = true,
				 .arch_capabilities = ARCH_CAP_SKIP_L1DFL_VMENTRY | ARCH_CAP_MDS_NO};
	CHECK_EQ(spec_barriers_choose(&skip, true), DUNEHV_SPEC_RSB_FILL);
	/* affected by L1TF, but no IA32_FLUSH_CMD (old microcode): said, not hidden */
	struct spec_caps old = {0};
	CHECK_EQ(spec_barriers_choose(&old, true), DUNEHV_SPEC_RSB_FILL | DUNEHV_SPEC_L1TF_OPEN);
	/* AMD: neither L1TF nor MDS; IBPB where it has one */
	struct spec_caps amd = {.amd = true, .ibpb = true};
	CHECK_EQ(spec_barriers_choose(&amd, true), DUNEHV_SPEC_RSB_FILL | DUNEHV_SPEC_IBPB);
	/* ARCH_CAPABILITIES bits count only where CPUID says the MSR exists */
	struct spec_caps stale = {.l1d_flush = true, .arch_capabilities = ARCH_CAP_RDCL_NO};
	CHECK(spec_barriers_choose(&stale, true) & DUNEHV_SPEC_L1D_FLUSH);
}

const struct unit_test spec_barriers_tests[] = {{"by_cpu", spec_barriers_by_cpu}};
const unsigned spec_barriers_count = 1;

const struct unit_test msr_bitmap_tests[] = {{"layout", msr_bitmap_layout}, {"svm_msrpm_layout", msrpm_layout}};
const unsigned msr_bitmap_count = 2;

/* Accounts: each context charges its account DUNE_CTX_FIXED_PAGES; an
 * account at its limit gets no context, others still do; the entry goes
 * with its last context. */
UNIT_TEST(dune_ctx_accounts_and_limits)
{
	struct dune_ctx_table *t = calloc(1, sizeof(*t));
	int a = dune_ctx_alloc(t, 1, 1000, 3 * DUNE_CTX_FIXED_PAGES);
	int b = dune_ctx_alloc(t, 2, 1000, 3 * DUNE_CTX_FIXED_PAGES);
	CHECK(a >= 0 && b >= 0);
	struct dune_account *acc = t->ctx[a].account;
	CHECK(acc && acc == t->ctx[b].account && acc->id == 1000 && acc->contexts == 2);
	CHECK_EQ(acc->pages, 2 * DUNE_CTX_FIXED_PAGES);
	acc->pages += DUNE_CTX_FIXED_PAGES - 1; /* tables: one page short of the limit for a third context */
	CHECK_EQ(dune_ctx_alloc(t, 3, 1000, 3 * DUNE_CTX_FIXED_PAGES), -HV_EDQUOT);
	int other = dune_ctx_alloc(t, 4, 1001, 3 * DUNE_CTX_FIXED_PAGES); /* another account is not denied */
	CHECK(other >= 0 && t->ctx[other].account != acc);
	acc->pages -= DUNE_CTX_FIXED_PAGES - 1;
	CHECK(dune_ctx_alloc(t, 3, 1000, 0) >= 0); /* limit 0: none (and the latest creation sets it) */
	CHECK_EQ(acc->limit, 0);
	for (unsigned i = 0; i < DUNEHV_CTX_MAX; i++)
		if (t->ctx[i].live && t->ctx[i].account == acc)
			dune_ctx_release(t, &t->ctx[i]);
	CHECK_EQ(acc->contexts, 0);
	CHECK_EQ(acc->pages, 0);
	CHECK_EQ(t->live, 1);
	free(t);
}

const struct unit_test dune_ctx_tests[] = {{"handles_tokens_and_slots", dune_ctx_handles_tokens_and_slots},
					   {"references_and_destroy", dune_ctx_references_and_destroy},
					   {"accounts_and_limits", dune_ctx_accounts_and_limits}};
const unsigned dune_ctx_count = 3;

/* The ICR writes the SVM backend sees (arch/x86/apic_icr.h): what Linux's
 * wakeup_secondary_cpu_via_init and the firmware's MP code write. */
#include "arch/x86/apic_icr.h"
static void apic_icr_actions_and_targets(void)
{
	/* Linux: INIT assert (level, physical), INIT de-assert, two SIPIs */
	CHECK_EQ(icr_action(0x0000c500), ICR_INIT);
	CHECK_EQ(icr_action(0x00008500), ICR_INIT_DEASSERT);
	CHECK_EQ(icr_action(0x00000699), ICR_STARTUP);
	CHECK_EQ(icr_action(0x000004fd), ICR_SEND);   /* NMI */
	CHECK_EQ(icr_action(0x000000fd), ICR_SEND);   /* fixed vector */
	CHECK_EQ(icr_action(0x00000d00 | ICR_LEVEL_ASSERT), ICR_REFUSED); /* logical INIT */
	CHECK_EQ(icr_action(0x000c4500), ICR_INIT);   /* the firmware's broadcast, logical bit ignored */
	/* physical: one APIC ID; 0xff (xAPIC) / all ones (x2APIC) everyone */
	CHECK(icr_reaches(0x4500, 3, false, 0, 3));
	CHECK(!icr_reaches(0x4500, 3, false, 0, 2));
	CHECK(icr_reaches(0x4500, 0xff, false, 0, 0));
	CHECK(!icr_reaches(0x4500, 0xff, true, 0, 7));
	CHECK(icr_reaches(0x4500, 0xffffffff, true, 0, 7));
	/* shorthands: self, all, all but self (the destination field ignored) */
	CHECK(icr_reaches(0x44500, 9, false, 1, 1));
	CHECK(!icr_reaches(0x44500, 1, false, 1, 2));
	CHECK(icr_reaches(0x84500, 9, false, 1, 1) && icr_reaches(0x84500, 9, false, 1, 2));
	CHECK(!icr_reaches(0xc4500, 9, false, 1, 1) && icr_reaches(0xc4500, 9, false, 1, 2));
}
const struct unit_test apic_icr_tests[] = {{"actions_and_targets", apic_icr_actions_and_targets}};
const unsigned apic_icr_count = 1;
