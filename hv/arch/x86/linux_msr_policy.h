/* MSRs that Linux may not write: it gets #GP. Their effect reaches past its
 * own memory while the hypervisor runs:
 * - Intel PT's RTIT MSRs (SDM Vol. 3C 33.2.8): trace output goes to
 *   physical addresses, in root mode too, and dunehv does not use the "PT
 *   uses guest-physical addresses" control;
 * - IA32_DS_AREA and IA32_PEBS_ENABLE (SDM Vol. 3B 18.6.3.4, 20.3.1.1): a
 *   PEBS assist for a counter that overflows in root mode writes its record
 *   through the hypervisor's page tables at Linux's DS-area address.
 * CPUID hides both features from Linux (core/cpuid_policy.c), so Linux does
 * not try. */
#ifndef HV_LINUX_MSR_POLICY_H
#define HV_LINUX_MSR_POLICY_H

#include "core/types.h"

#define MSR_IA32_PEBS_ENABLE 0x3f1
#define MSR_IA32_RTIT_OUTPUT_BASE 0x560
#define MSR_IA32_RTIT_OUTPUT_MASK_PTRS 0x561
#define MSR_IA32_RTIT_CTL 0x570
#define MSR_IA32_RTIT_CR3_MATCH 0x572
#define MSR_IA32_RTIT_ADDR0_A 0x580
#define MSR_IA32_RTIT_ADDR3_B 0x587
#define MSR_IA32_DS_AREA 0x600

static inline bool linux_may_not_write_msr(u32 msr)
{
	return msr == MSR_IA32_RTIT_OUTPUT_BASE || msr == MSR_IA32_RTIT_OUTPUT_MASK_PTRS ||
	       (msr >= MSR_IA32_RTIT_CTL && msr <= MSR_IA32_RTIT_CR3_MATCH) ||
	       (msr >= MSR_IA32_RTIT_ADDR0_A && msr <= MSR_IA32_RTIT_ADDR3_B) || msr == MSR_IA32_DS_AREA ||
	       msr == MSR_IA32_PEBS_ENABLE;
}

#endif
