/* What Linux sees through CPUID under dunehv (pure, host-testable). */
#ifndef HV_CPUID_POLICY_H
#define HV_CPUID_POLICY_H

#include "arch/x86/arch.h"

/* Rewrites the native answer r of CPUID(leaf, subleaf) for the guest whose
 * CR4 (as the guest sees it) is guest_cr4: VMX and SMX hidden, the hypervisor
 * bit left as the CPU reports it, OSXSAVE/OSPKE following the guest's CR4, dunehv's own leaves. */
void cpuid_apply_policy(u32 leaf, u32 subleaf, u64 guest_cr4, struct cpuid_regs *r);

/* True for leaves answered entirely by the hypervisor (no native CPUID). */
bool cpuid_is_hypervisor_leaf(u32 leaf);

#endif
