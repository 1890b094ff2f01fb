#include "arch/x86/vmx/vmx_caps.h"
#include "arch/x86/vmx/vmx_defs.h"
#include "unit.h"

/* Capability MSRs read under OVMF in Bochs 2.7, corei7_skylake_x. */
static struct vmx_cpu_facts bochs_skylake(void)
{
	struct vmx_cpu_facts f = {
		.cpuid_vmx = true, .cpuid_rdtscp = true, .cpuid_invpcid = true, .cpuid_xsaves = true,
		.cpuid_xsave = true, .phys_addr_bits = 40, .feature_control = 0,
		.basic = 0x00D810000000002Bull, .pinbased = 0x0000007F00000016ull,
		.procbased = 0xF7F9FFFE0401E172ull, .exit = 0x007FFFFF00036DFFull, .entry = 0x0000FFFF000011FFull,
		.misc = 0x600401E0, .cr0_fixed0 = 0x80000021, .cr0_fixed1 = 0xFFFFFFFF, .cr4_fixed0 = 0x2000,
		.cr4_fixed1 = 0x3727FF, .procbased2 = 0x02177FFF00000000ull, .ept_vpid_cap = 0x00000F0106334141ull,
		/* TRUE_* allow clearing the default-1 exiting bits */
		.true_pinbased = 0x0000007F00000016ull, .true_procbased = 0xF7F9FFFE04006172ull,
		.true_exit = 0x007FFFFF00036DFBull, .true_entry = 0x0000FFFF000011FBull,
	};
	return f;
}

UNIT_TEST(bochs_is_usable)
{
	struct vmx_cpu_facts f = bochs_skylake();
	struct vmx_controls c;
	char why[160];
	CHECK_EQ(vmx_evaluate(&f, &c, why, sizeof(why)), VMX_USABLE);
	CHECK_EQ(why[0], 0);
	CHECK(c.procbased2 & PROC2_ENABLE_EPT);
	CHECK(c.procbased2 & PROC2_ENABLE_VPID);
	CHECK(c.procbased2 & PROC2_UNRESTRICTED_GUEST);
	CHECK(c.procbased2 & PROC2_ENABLE_RDTSCP);
	CHECK(c.procbased & PROC_USE_MSR_BITMAPS);
	CHECK(!(c.procbased & (PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING | PROC_HLT_EXITING)));
	CHECK(!(c.pinbased & PIN_EXTERNAL_INTERRUPT_EXITING));
	/* NMIs exit (cross-CPU requests), virtual NMIs re-deliver Linux's */
	CHECK(c.pinbased & PIN_NMI_EXITING);
	CHECK(c.pinbased & PIN_VIRTUAL_NMIS);
	struct vmx_controls same = c;
	same.feature_control_write = !c.feature_control_write; /* each CPU's own lock state */
	CHECK(vmx_controls_compatible(&c, &same));
	same.procbased2 &= ~(u32)PROC2_ENABLE_RDTSCP;
	CHECK(!vmx_controls_compatible(&c, &same)); /* a hybrid core without RDTSCP differs */
	CHECK(c.exit & EXIT_LOAD_IA32_EFER);
	CHECK(c.exit & EXIT_HOST_ADDRESS_SPACE_SIZE);
	CHECK(c.entry & ENTRY_LOAD_IA32_EFER);
	CHECK(!(c.entry & ENTRY_IA32E_MODE_GUEST));
	CHECK(c.ept_2m && c.ept_1g);
	CHECK(c.feature_control_write); /* unlocked: dunehv locks it with VMX on */
	/* Dune contexts: interrupts back to Linux, no port I/O, no unrestricted guest */
	CHECK(c.dune_pinbased & PIN_EXTERNAL_INTERRUPT_EXITING);
	CHECK(c.dune_pinbased & PIN_NMI_EXITING);
	CHECK(c.dune_pinbased & PIN_VMX_PREEMPTION_TIMER);
	CHECK_EQ(c.dune_time_slice, DUNE_TIME_SLICE_TSC); /* Bochs: MISC[4:0] = 0 */
	CHECK(c.dune_procbased & PROC_UNCONDITIONAL_IO_EXITING);
	CHECK(c.dune_procbased & PROC_CR8_LOAD_EXITING);
	CHECK(!(c.dune_procbased & PROC_CR3_LOAD_EXITING));
	CHECK(c.dune_procbased2 & PROC2_ENABLE_EPT);
	CHECK(!(c.dune_procbased2 & PROC2_UNRESTRICTED_GUEST));
	CHECK(c.dune_procbased2 & PROC2_WBINVD_EXITING);
	CHECK(!(c.dune_procbased2 & PROC2_ENABLE_XSAVES)); /* supervisor state stays Linux's */
	CHECK(c.dune_procbased & PROC_RDPMC_EXITING);      /* Linux's counters stay Linux's */
	CHECK(c.dune_entry & ENTRY_IA32E_MODE_GUEST);
	CHECK(!(c.dune_exit & EXIT_ACK_INTERRUPT_ON_EXIT));
	CHECK_EQ(c.vmcs_revision, 0x2b);
	/* every control respects the allowed 0/1 settings */
	CHECK_EQ(c.procbased & (u32)f.true_procbased, (u32)f.true_procbased);
	CHECK_EQ(c.procbased & ~(u32)(f.true_procbased >> 32), 0);
	/* a timer that ticks at TSC / 2^5 gets a 32 times smaller count */
	f.misc = (f.misc & ~0x1full) | 5;
	CHECK_EQ(vmx_evaluate(&f, &c, why, sizeof(why)), VMX_USABLE);
	CHECK_EQ(c.dune_time_slice, DUNE_TIME_SLICE_TSC >> 5);
	/* without the timer, Dune runs are bounded by interrupts only */
	f.true_pinbased &= ~((u64)PIN_VMX_PREEMPTION_TIMER << 32);
	CHECK_EQ(vmx_evaluate(&f, &c, why, sizeof(why)), VMX_USABLE);
	CHECK_EQ(c.dune_time_slice, 0);
	CHECK(!(c.dune_pinbased & PIN_VMX_PREEMPTION_TIMER));
	f = bochs_skylake();
	/* INIT/SIPI emulation needs the wait-for-SIPI activity state */
	f.misc &= ~(u64)BIT(8);
	CHECK_EQ(vmx_evaluate(&f, &c, why, sizeof(why)), VMX_CONTROL_MISSING);
	CHECK(strstr(why, "wait-for-SIPI") != NULL);
	f = bochs_skylake();
	/* without virtual NMIs no request can reach a CPU that runs Linux */
	f.true_pinbased &= ~((u64)PIN_VIRTUAL_NMIS << 32);
	CHECK_EQ(vmx_evaluate(&f, &c, why, sizeof(why)), VMX_CONTROL_MISSING);
	CHECK(strstr(why, "NMI") != NULL);
	f = bochs_skylake();
	/* guest does not get features the CPU lacks */
	f.cpuid_rdtscp = false;
	CHECK_EQ(vmx_evaluate(&f, &c, why, sizeof(why)), VMX_USABLE);
	CHECK(!(c.procbased2 & PROC2_ENABLE_RDTSCP));
}

UNIT_TEST(each_missing_feature_has_its_reason)
{
	struct vmx_controls c;
	char why[160];
	struct vmx_cpu_facts f = bochs_skylake();
	f.cpuid_vmx = false;
	CHECK_EQ(vmx_evaluate(&f, &c, why, sizeof(why)), VMX_NO_CPU_SUPPORT);
	CHECK_STR_CONTAINS(why, "does not offer VMX");

	f = bochs_skylake();
	f.feature_control = 0x1; /* locked, VMX disabled */
	CHECK_EQ(vmx_evaluate(&f, &c, why, sizeof(why)), VMX_LOCKED_OFF);
	CHECK_STR_CONTAINS(why, "locked off by the firmware");

	f = bochs_skylake();
	f.feature_control = 0x5; /* locked, VMX outside SMX on: usable, no write */
	CHECK_EQ(vmx_evaluate(&f, &c, why, sizeof(why)), VMX_USABLE);
	CHECK(!c.feature_control_write);

	f = bochs_skylake();
	f.procbased2 &= ~((u64)PROC2_ENABLE_EPT << 32);
	CHECK_EQ(vmx_evaluate(&f, &c, why, sizeof(why)), VMX_NO_EPT);
	CHECK_STR_CONTAINS(why, "lacks EPT");

	f = bochs_skylake();
	f.procbased2 &= ~((u64)PROC2_UNRESTRICTED_GUEST << 32);
	CHECK_EQ(vmx_evaluate(&f, &c, why, sizeof(why)), VMX_NO_UNRESTRICTED_GUEST);
	CHECK_STR_CONTAINS(why, "unrestricted guest");

	f = bochs_skylake();
	f.procbased2 &= ~((u64)PROC2_ENABLE_VPID << 32);
	CHECK_EQ(vmx_evaluate(&f, &c, why, sizeof(why)), VMX_NO_VPID);
	CHECK_STR_CONTAINS(why, "VPID");

	f = bochs_skylake();
	f.true_procbased &= ~((u64)PROC_ACTIVATE_SECONDARY_CONTROLS << 32);
	CHECK_EQ(vmx_evaluate(&f, &c, why, sizeof(why)), VMX_NO_SECONDARY);

	f = bochs_skylake();
	f.ept_vpid_cap &= ~EPT_CAP_MEMTYPE_WB;
	CHECK_EQ(vmx_evaluate(&f, &c, why, sizeof(why)), VMX_EPT_UNSUITABLE);

	/* INVEPT/INVVPID: single-context where the CPU has it, else all-context;
	 * all-context is required (the flushes after VMXON and parking) */
	f = bochs_skylake();
	CHECK_EQ(vmx_evaluate(&f, &c, why, sizeof(why)), VMX_USABLE);
	CHECK_EQ(c.invept_one, 1);
	CHECK_EQ(c.invvpid_one, 1);
	f.ept_vpid_cap &= ~(EPT_CAP_INVEPT_SINGLE_CONTEXT | VPID_CAP_INVVPID_SINGLE_CONTEXT);
	CHECK_EQ(vmx_evaluate(&f, &c, why, sizeof(why)), VMX_USABLE);
	CHECK_EQ(c.invept_one, 2);
	CHECK_EQ(c.invvpid_one, 2);
	f = bochs_skylake();
	f.ept_vpid_cap &= ~EPT_CAP_INVEPT_ALL_CONTEXT;
	CHECK_EQ(vmx_evaluate(&f, &c, why, sizeof(why)), VMX_EPT_UNSUITABLE);
	CHECK_STR_CONTAINS(why, "all-context INVEPT");
	f = bochs_skylake();
	f.ept_vpid_cap &= ~EPT_CAP_INVEPT;
	CHECK_EQ(vmx_evaluate(&f, &c, why, sizeof(why)), VMX_EPT_UNSUITABLE);
	f = bochs_skylake();
	f.ept_vpid_cap &= ~VPID_CAP_INVVPID;
	CHECK_EQ(vmx_evaluate(&f, &c, why, sizeof(why)), VMX_NO_VPID);
	CHECK_STR_CONTAINS(why, "INVVPID");
	f = bochs_skylake();
	f.ept_vpid_cap &= ~VPID_CAP_INVVPID_ALL_CONTEXT;
	CHECK_EQ(vmx_evaluate(&f, &c, why, sizeof(why)), VMX_NO_VPID);
	/* two CPUs that would flush differently are not the same machine */
	f = bochs_skylake();
	struct vmx_controls one, other;
	vmx_evaluate(&f, &one, why, sizeof(why));
	f.ept_vpid_cap &= ~EPT_CAP_INVEPT_SINGLE_CONTEXT;
	vmx_evaluate(&f, &other, why, sizeof(why));
	CHECK(!vmx_controls_compatible(&one, &other));

	f = bochs_skylake();
	f.true_exit &= ~((u64)EXIT_LOAD_IA32_EFER << 32);
	CHECK_EQ(vmx_evaluate(&f, &c, why, sizeof(why)), VMX_CONTROL_MISSING);
	CHECK_STR_CONTAINS(why, "VM-exit controls");

	/* without TRUE controls the default-1 CR3 exiting bits cannot be cleared */
	f = bochs_skylake();
	f.basic &= ~VMX_BASIC_TRUE_CTLS;
	CHECK_EQ(vmx_evaluate(&f, &c, why, sizeof(why)), VMX_CONTROL_MISSING);
	CHECK_STR_CONTAINS(why, "cannot turn off exiting controls");
}

const struct unit_test vmx_caps_tests[] = {
	{"bochs_is_usable", bochs_is_usable},
	{"each_missing_feature_has_its_reason", each_missing_feature_has_its_reason},
};
const unsigned vmx_caps_count = sizeof(vmx_caps_tests) / sizeof(vmx_caps_tests[0]);
