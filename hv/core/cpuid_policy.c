/* CPUID as seen by the guest (SDM Vol. 2A CPUID; Vol. 3C 26.1.2: CPUID
 * always exits in VMX non-root operation; the SVM backend intercepts it,
 * APM Vol. 2 15.9). */
#include "core/cpuid_policy.h"

#include "include/dunehv/abi.h"

#define CPUID1_ECX_VMX BIT(5)
#define CPUID1_ECX_SMX BIT(6)
#define CPUID1_ECX_OSXSAVE BIT(27)
#define CPUID7_ECX_OSPKE BIT(4)
#define CPUID1_ECX_DTES64 BIT(2)
#define CPUID1_EDX_DS BIT(21)
#define CPUID7_EBX_INTEL_PT BIT(25)
#define CPUID_80000001_ECX_SVM BIT(2)
#define CPUID_80000001_ECX_SKINIT BIT(12)
#define CPUID_SVM_FEATURES 0x8000000au

bool cpuid_is_hypervisor_leaf(u32 leaf) { return leaf >= 0x40000000u && leaf <= 0x4fffffffu; }

void cpuid_apply_policy(u32 leaf, u32 subleaf, u64 guest_cr4, struct cpuid_regs *r)
{
	if (cpuid_is_hypervisor_leaf(leaf)) {
		*r = (struct cpuid_regs){0};
		if (leaf == DUNEHV_CPUID_BASE) {
			r->eax = DUNEHV_CPUID_MAX_LEAF;
			r->ebx = DUNEHV_CPUID_SIG_EBX;
			r->ecx = DUNEHV_CPUID_SIG_ECX;
			r->edx = DUNEHV_CPUID_SIG_EDX;
		} else if (leaf == DUNEHV_CPUID_VERSION) {
			r->eax = DUNEHV_ABI_VERSION;
		}
		return;
	}
	if (leaf == 1) {
		/* The hypervisor bit (31) stays as the CPU reports it: with it set,
		 * Linux disables the PMU, skips microcode errata checks and forces
		 * mitigations meant for shared hosts, none of which applies to a
		 * pass-through hypervisor. dunehv is found through leaf 0x40000000. */
		r->ecx &= ~(u32)(CPUID1_ECX_VMX | CPUID1_ECX_SMX);
		/* no debug store (BTS, PEBS): its MSRs #GP for Linux
		 * (arch/x86/linux_msr_policy.h) */
		r->ecx &= ~(u32)CPUID1_ECX_DTES64;
		r->edx &= ~(u32)CPUID1_EDX_DS;
		r->ecx &= ~(u32)CPUID1_ECX_OSXSAVE;
		if (guest_cr4 & CR4_OSXSAVE)
			r->ecx |= (u32)CPUID1_ECX_OSXSAVE;
	} else if (leaf == 0x80000001u) {
		/* nor AMD's SVM and SKINIT (AMD64 APM Vol. 3 E.4.2): Linux runs as
		 * a guest that cannot nest, on either backend */
		r->ecx &= ~(u32)(CPUID_80000001_ECX_SVM | CPUID_80000001_ECX_SKINIT);
	} else if (leaf == CPUID_SVM_FEATURES) {
		*r = (struct cpuid_regs){0};
	} else if (leaf == 7 && subleaf == 0) {
		r->ebx &= ~(u32)CPUID7_EBX_INTEL_PT; /* its MSRs #GP, as above */
		r->ecx &= ~(u32)CPUID7_ECX_OSPKE;
		if (guest_cr4 & CR4_PKE)
			r->ecx |= (u32)CPUID7_ECX_OSPKE;
	}
}
