/* VMX capability evaluation (SDM Vol. 3D A.3-A.10, Vol. 3C 24.7 "Enabling and
 * Entering VMX Operation"). */
#include "arch/x86/vmx/vmx_caps.h"

#include <stdio.h>

#include "arch/x86/arch.h"
#include "arch/x86/vmx/vmx_defs.h"

/* SDM A.3.1: bits 31:0 = allowed 0-settings (1 there means must be 1),
 * bits 63:32 = allowed 1-settings (0 there means must be 0). Returns the
 * adjusted controls; *missing gets required bits that cannot be 1. */
static u32 adjust_controls(u64 cap, u32 wanted, u32 required, u32 *missing)
{
	u32 must_be_one = (u32)cap, may_be_one = (u32)(cap >> 32);
	u32 value = (wanted | must_be_one) & may_be_one;
	*missing = required & ~value;
	return value;
}

static enum vmx_verdict fail(enum vmx_verdict v, char *why, size_t why_len, const char *fmt, u64 a, u64 b)
{
	if (why && why_len)
		snprintf(why, why_len, fmt, (unsigned long long)a, (unsigned long long)b);
	return v;
}

enum vmx_verdict vmx_evaluate(const struct vmx_cpu_facts *f, struct vmx_controls *out, char *why, size_t why_len)
{
	u32 missing;
	if (why && why_len)
		why[0] = '\0';
	if (!f->cpuid_vmx)
		return fail(VMX_NO_CPU_SUPPORT, why, why_len, "the CPU does not offer VMX (CPUID.1:ECX.VMX[bit 5] = 0)", 0, 0);
	/* SDM 24.7: VMXON needs FEATURE_CONTROL lock bit set and VMX-outside-SMX enabled. */
	bool locked = f->feature_control & FEATURE_CONTROL_LOCKED;
	if (locked && !(f->feature_control & FEATURE_CONTROL_VMX_OUTSIDE_SMX))
		return fail(VMX_LOCKED_OFF, why, why_len,
			    "VMX is locked off by the firmware (IA32_FEATURE_CONTROL = 0x%llx); enable Intel VT-x in the firmware setup",
			    f->feature_control, 0);
	out->feature_control_write = !locked;

	/* SDM A.2: with bit 55 of IA32_VMX_BASIC the TRUE_* MSRs give the real allowed 0-settings. */
	bool true_ctls = f->basic & VMX_BASIC_TRUE_CTLS;
	u64 pin_cap = true_ctls ? f->true_pinbased : f->pinbased;
	u64 proc_cap = true_ctls ? f->true_procbased : f->procbased;
	u64 exit_cap = true_ctls ? f->true_exit : f->exit;
	u64 entry_cap = true_ctls ? f->true_entry : f->entry;
	out->vmcs_revision = VMX_BASIC_REVISION(f->basic);

	/* Linux: NMIs exit, so that other CPUs' requests reach a CPU that runs
	 * Linux without exits (smp.h); virtual NMIs, so that Linux's own NMIs
	 * are re-delivered with NMI-window exiting (SDM 25.3, 26.7.6). */
	u32 linux_pin = PIN_NMI_EXITING | PIN_VIRTUAL_NMIS;
	out->pinbased = adjust_controls(pin_cap, linux_pin, linux_pin, &missing);
	if (missing)
		return fail(VMX_CONTROL_MISSING, why, why_len, "the CPU lacks NMI exiting or virtual NMIs (pin-based controls 0x%llx)",
			    missing, 0);
	/* INIT/SIPI emulation parks a CPU in the wait-for-SIPI activity state
	 * (SDM A.6: IA32_VMX_MISC bit 8). */
	if (!(f->misc & BIT(8)))
		return fail(VMX_CONTROL_MISSING, why, why_len,
			    "the CPU cannot hold a guest in the wait-for-SIPI state (IA32_VMX_MISC = 0x%llx)", f->misc, 0);

	/* Linux's I/O bitmaps trap only the ACPI sleep registers (core/acpi_sleep.h). */
	u32 proc_required = PROC_USE_MSR_BITMAPS | PROC_ACTIVATE_SECONDARY_CONTROLS;
	u32 linux_proc = proc_required | PROC_USE_IO_BITMAPS;
	out->procbased = adjust_controls(proc_cap, linux_proc, linux_proc, &missing);
	if (missing & PROC_ACTIVATE_SECONDARY_CONTROLS)
		return fail(VMX_NO_SECONDARY, why, why_len, "the CPU lacks secondary VMX controls (needed for EPT)", 0, 0);
	if (missing)
		return fail(VMX_CONTROL_MISSING, why, why_len, "the CPU lacks MSR or I/O bitmaps (primary controls 0x%llx)", missing, 0);
	/* Linux must run without exits: no CR3, HLT, I/O or interrupt exiting (SDM 25.6.2). */
	u32 unwanted = PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING | PROC_HLT_EXITING | PROC_UNCONDITIONAL_IO_EXITING |
		       PROC_INVLPG_EXITING | PROC_RDTSC_EXITING | PROC_MWAIT_EXITING | PROC_MONITOR_EXITING;
	if (out->procbased & unwanted)
		return fail(VMX_CONTROL_MISSING, why, why_len,
			    "the CPU cannot turn off exiting controls 0x%llx (no TRUE VMX controls?)", out->procbased & unwanted, 0);

	u32 proc2_required = PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST | PROC2_ENABLE_VPID;
	u32 proc2_wanted = proc2_required;
	if (f->cpuid_rdtscp)
		proc2_wanted |= PROC2_ENABLE_RDTSCP;
	if (f->cpuid_invpcid)
		proc2_wanted |= PROC2_ENABLE_INVPCID;
	if (f->cpuid_xsaves)
		proc2_wanted |= PROC2_ENABLE_XSAVES;
	if (f->cpuid_waitpkg)
		proc2_wanted |= PROC2_ENABLE_USER_WAIT_PAUSE;
	out->procbased2 = adjust_controls(f->procbased2, proc2_wanted, proc2_required, &missing);
	if (missing & PROC2_ENABLE_EPT)
		return fail(VMX_NO_EPT, why, why_len, "the CPU lacks EPT (IA32_VMX_PROCBASED_CTLS2 = 0x%llx)", f->procbased2, 0);
	if (missing & PROC2_UNRESTRICTED_GUEST)
		return fail(VMX_NO_UNRESTRICTED_GUEST, why, why_len,
			    "the CPU lacks unrestricted guest (IA32_VMX_PROCBASED_CTLS2 = 0x%llx)", f->procbased2, 0);
	if (missing & PROC2_ENABLE_VPID)
		return fail(VMX_NO_VPID, why, why_len, "the CPU lacks VPID (IA32_VMX_PROCBASED_CTLS2 = 0x%llx)", f->procbased2, 0);

	if (!(f->ept_vpid_cap & EPT_CAP_WALK_LENGTH_4) || !(f->ept_vpid_cap & EPT_CAP_MEMTYPE_WB))
		return fail(VMX_EPT_UNSUITABLE, why, why_len,
			    "EPT lacks a 4-level walk or write-back tables (IA32_VMX_EPT_VPID_CAP = 0x%llx)", f->ept_vpid_cap, 0);
	/* SDM A.10: INVEPT and INVVPID with the all-context type (the flush
	 * after VMXON and after parking; KVM, too, keeps EPT off without
	 * all-context INVEPT); single-context is used where the CPU has it. A
	 * translation must never outlive its mapping (SDM 29.4.3). */
	if (!(f->ept_vpid_cap & EPT_CAP_INVEPT) || !(f->ept_vpid_cap & EPT_CAP_INVEPT_ALL_CONTEXT))
		return fail(VMX_EPT_UNSUITABLE, why, why_len,
			    "the CPU lacks all-context INVEPT (IA32_VMX_EPT_VPID_CAP = 0x%llx)", f->ept_vpid_cap, 0);
	if (!(f->ept_vpid_cap & VPID_CAP_INVVPID) || !(f->ept_vpid_cap & VPID_CAP_INVVPID_ALL_CONTEXT))
		return fail(VMX_NO_VPID, why, why_len, "the CPU lacks all-context INVVPID (IA32_VMX_EPT_VPID_CAP = 0x%llx)",
			    f->ept_vpid_cap, 0);
	out->invept_one = (f->ept_vpid_cap & EPT_CAP_INVEPT_SINGLE_CONTEXT) ? 1 : 2;
	out->invvpid_one = (f->ept_vpid_cap & VPID_CAP_INVVPID_SINGLE_CONTEXT) ? 1 : 2;
	out->ept_2m = f->ept_vpid_cap & EPT_CAP_PDE_2MB;
	out->ept_1g = f->ept_vpid_cap & EPT_CAP_PDPTE_1GB;

	u32 exit_required = EXIT_HOST_ADDRESS_SPACE_SIZE | EXIT_SAVE_IA32_EFER | EXIT_LOAD_IA32_EFER |
			    EXIT_SAVE_IA32_PAT | EXIT_LOAD_IA32_PAT | EXIT_SAVE_DEBUG_CONTROLS;
	out->exit = adjust_controls(exit_cap, exit_required, exit_required, &missing);
	if (missing)
		return fail(VMX_CONTROL_MISSING, why, why_len, "the CPU lacks VM-exit controls 0x%llx (64-bit host, EFER/PAT switching)", missing, 0);
	u32 entry_required = ENTRY_LOAD_IA32_EFER | ENTRY_LOAD_IA32_PAT | ENTRY_LOAD_DEBUG_CONTROLS;
	out->entry = adjust_controls(entry_cap, entry_required | ENTRY_IA32E_MODE_GUEST, entry_required | ENTRY_IA32E_MODE_GUEST, &missing);
	if (missing)
		return fail(VMX_CONTROL_MISSING, why, why_len, "the CPU lacks VM-entry controls 0x%llx (IA-32e guest, EFER/PAT loading)", missing, 0);
	out->entry &= ~(u32)ENTRY_IA32E_MODE_GUEST; /* set per guest EFER.LMA at launch */

	/* Dune contexts (dune-abi 1.8): interrupts and NMIs go back to Linux, the
	 * process may not touch I/O ports, debug registers, CR8, MWAIT or the
	 * caches; it runs paged in 64-bit mode (no unrestricted guest). */
	u32 dune_pin = PIN_EXTERNAL_INTERRUPT_EXITING | PIN_NMI_EXITING;
	out->dune_pinbased = adjust_controls(pin_cap, dune_pin | PIN_VMX_PREEMPTION_TIMER, dune_pin, &missing);
	if (missing)
		return fail(VMX_CONTROL_MISSING, why, why_len, "the CPU lacks pin-based controls 0x%llx", missing, 0);
	/* The VMX-preemption timer bounds every Dune run, interrupts or not; it
	 * counts down at the TSC rate divided by 2^MISC[4:0] (SDM 26.5.1). */
	out->dune_time_slice = (out->dune_pinbased & PIN_VMX_PREEMPTION_TIMER) ? DUNE_TIME_SLICE_TSC >> (f->misc & 0x1f) : 0;
	/* RDPMC exits: at the context's CPL 0 it would read Linux's counters. */
	u32 dune_proc = proc_required | PROC_UNCONDITIONAL_IO_EXITING | PROC_MOV_DR_EXITING | PROC_CR8_LOAD_EXITING |
			PROC_CR8_STORE_EXITING | PROC_MWAIT_EXITING | PROC_MONITOR_EXITING | PROC_RDPMC_EXITING;
	out->dune_procbased = adjust_controls(proc_cap, dune_proc, dune_proc, &missing) &
			      ~(u32)(PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING | PROC_INVLPG_EXITING);
	if (missing)
		return fail(VMX_CONTROL_MISSING, why, why_len, "the CPU lacks primary controls 0x%llx for Dune", missing, 0);
	/* No XSAVES/XRSTORS (they #UD, SDM 26.3 and the instruction pages): at
	 * CPL 0 they would save and load the supervisor state components
	 * that Linux's IA32_XSS enables (PASID, arch LBR, CET), which nothing
	 * switches back at the end of a run. A process has no use for them:
	 * XSAVE/XRSTOR cover the user components. */
	u32 dune_proc2 = (proc2_wanted & ~(u32)(PROC2_UNRESTRICTED_GUEST | PROC2_ENABLE_XSAVES)) | PROC2_WBINVD_EXITING;
	out->dune_procbased2 = adjust_controls(f->procbased2, dune_proc2, PROC2_ENABLE_EPT | PROC2_ENABLE_VPID, &missing);
	u32 dune_exit = exit_required & ~(u32)EXIT_SAVE_DEBUG_CONTROLS;
	out->dune_exit = adjust_controls(exit_cap, dune_exit, dune_exit, &missing) & ~(u32)EXIT_ACK_INTERRUPT_ON_EXIT;
	u32 dune_entry = ENTRY_IA32E_MODE_GUEST | ENTRY_LOAD_IA32_EFER | ENTRY_LOAD_IA32_PAT;
	out->dune_entry = adjust_controls(entry_cap, dune_entry, dune_entry, &missing) & ~(u32)ENTRY_LOAD_DEBUG_CONTROLS;

	out->cr0_fixed0 = f->cr0_fixed0;
	out->cr0_fixed1 = f->cr0_fixed1;
	out->cr4_fixed0 = f->cr4_fixed0;
	out->cr4_fixed1 = f->cr4_fixed1;
	return VMX_USABLE;
}

bool vmx_controls_compatible(const struct vmx_controls *a, const struct vmx_controls *b)
{
	return a->pinbased == b->pinbased && a->procbased == b->procbased && a->procbased2 == b->procbased2 &&
	       a->exit == b->exit && a->entry == b->entry && a->dune_pinbased == b->dune_pinbased &&
	       a->dune_procbased == b->dune_procbased && a->dune_procbased2 == b->dune_procbased2 &&
	       a->dune_exit == b->dune_exit && a->dune_entry == b->dune_entry && a->ept_2m == b->ept_2m &&
	       a->ept_1g == b->ept_1g && a->cr0_fixed0 == b->cr0_fixed0 && a->cr0_fixed1 == b->cr0_fixed1 &&
	       a->cr4_fixed0 == b->cr4_fixed0 && a->cr4_fixed1 == b->cr4_fixed1 && a->vmcs_revision == b->vmcs_revision &&
	       a->dune_time_slice == b->dune_time_slice && a->invept_one == b->invept_one &&
	       a->invvpid_one == b->invvpid_one;
}

#ifndef HV_HOST_TEST
void vmx_read_facts(struct vmx_cpu_facts *f)
{
	struct cpuid_regs r;
	*f = (struct vmx_cpu_facts){0};
	cpuid_count(1, 0, &r);
	f->cpuid_vmx = r.ecx & BIT(5);
	f->cpuid_xsave = r.ecx & BIT(26);
	cpuid_count(0, 0, &r);
	u32 max_basic = r.eax;
	if (max_basic >= 7) {
		cpuid_count(7, 0, &r);
		f->cpuid_invpcid = r.ebx & BIT(10);
		f->cpuid_waitpkg = r.ecx & BIT(5);
	}
	if (max_basic >= 0xd) {
		cpuid_count(0xd, 1, &r);
		f->cpuid_xsaves = r.eax & BIT(3);
	}
	u32 max_ext = cpuid_max_extended_leaf();
	if (max_ext >= 0x80000001) {
		cpuid_count(0x80000001, 0, &r);
		f->cpuid_rdtscp = r.edx & BIT(27);
	}
	f->phys_addr_bits = cpuid_phys_addr_bits(max_ext);
	if (!f->cpuid_vmx)
		return;
	f->feature_control = rdmsr(MSR_IA32_FEATURE_CONTROL);
	f->basic = rdmsr(MSR_IA32_VMX_BASIC);
	f->pinbased = rdmsr(MSR_IA32_VMX_PINBASED_CTLS);
	f->procbased = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS);
	f->exit = rdmsr(MSR_IA32_VMX_EXIT_CTLS);
	f->entry = rdmsr(MSR_IA32_VMX_ENTRY_CTLS);
	f->misc = rdmsr(MSR_IA32_VMX_MISC);
	f->cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	f->cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	f->cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	f->cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	/* SDM A.3.3: PROCBASED_CTLS2 exists only if secondary controls may be 1. */
	if (f->procbased >> 63)
		f->procbased2 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2);
	/* SDM A.10: EPT_VPID_CAP exists if EPT or VPID may be 1. */
	if ((f->procbased2 >> 32) & (PROC2_ENABLE_EPT | PROC2_ENABLE_VPID))
		f->ept_vpid_cap = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	if (f->basic & VMX_BASIC_TRUE_CTLS) {
		f->true_pinbased = rdmsr(MSR_IA32_VMX_TRUE_PINBASED_CTLS);
		f->true_procbased = rdmsr(MSR_IA32_VMX_TRUE_PROCBASED_CTLS);
		f->true_exit = rdmsr(MSR_IA32_VMX_TRUE_EXIT_CTLS);
		f->true_entry = rdmsr(MSR_IA32_VMX_TRUE_ENTRY_CTLS);
	}
}
#endif
