/* Small helpers over the current VMCS for exit handlers. */
#ifndef HV_GUEST_STATE_H
#define HV_GUEST_STATE_H

#include "core/hv.h"
#include "arch/x86/vmx/vmcs.h"

/* Current privilege level = SS.DPL (SDM 5.5; valid in VMX non-root). */
static inline unsigned guest_cpl(void) { return (vmcs_read32(VMCS_GUEST_SS_AR) >> 5) & 3; }

/* CR0/CR4 as the guest reads them (SDM 25.6.6): host-owned bits from the read
 * shadow, all others from the real guest register. */
static inline u64 guest_visible_cr0(void)
{
	u64 mask = vmcs_readnat(VMCS_CR0_GUEST_HOST_MASK);
	return (vmcs_readnat(VMCS_GUEST_CR0) & ~mask) | (vmcs_readnat(VMCS_CR0_READ_SHADOW) & mask);
}
static inline u64 guest_visible_cr4(void)
{
	u64 mask = vmcs_readnat(VMCS_CR4_GUEST_HOST_MASK);
	return (vmcs_readnat(VMCS_GUEST_CR4) & ~mask) | (vmcs_readnat(VMCS_CR4_READ_SHADOW) & mask);
}

/* The VMCS guest fields of each segment register, in x86 order (SDM 25.4.1). */
enum guest_segment { GUEST_ES, GUEST_CS, GUEST_SS, GUEST_DS, GUEST_FS, GUEST_GS, GUEST_NR_SEGMENTS };
struct guest_segment_fields {
	enum vmcs_field16 sel;
	enum vmcs_field_nat base;
	enum vmcs_field32 limit, ar;
};
extern const struct guest_segment_fields guest_segment_fields[GUEST_NR_SEGMENTS];

/* Writes the VMCS dump of the current VMCS to the log at error level. */
void vmcs_dump(struct hv_cpu *cpu);

#endif
