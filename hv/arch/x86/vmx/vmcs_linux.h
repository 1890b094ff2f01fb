/* VMCS for the Linux guest, seeded from the CPU state the loader launched from. */
#ifndef HV_VMCS_LINUX_H
#define HV_VMCS_LINUX_H

#include "core/hv.h"

/* Writes every control, host and guest field of the current VMCS (after
 * VMPTRLD), the guest state from the CPU's launch record. Returns 0, or the
 * encoding of the first field VMWRITE refused. */
u32 vmcs_setup_linux(struct hv *hv, struct hv_cpu *cpu, const struct hv_boot_cpu *bi);

/* Host CR0/CR4 with the VMX fixed bits applied (SDM A.7, A.8). */
u64 vmx_fixed_cr0(const struct vmx_controls *c, u64 cr0, bool unrestricted);
u64 vmx_fixed_cr4(const struct vmx_controls *c, u64 cr4);

#endif
