/* VMCS of a Dune context: the machine state of dune-abi 1.8. */
#ifndef HV_VMCS_DUNE_H
#define HV_VMCS_DUNE_H

#include "arch/x86/dune_state.h"
#include "core/hv.h"

/* Programs the current VMCS (the context's, after VMCLEAR + VMPTRLD) for c.
 * Returns 0 or the field VMWRITE refused. */
u32 vmcs_setup_dune(struct hv *hv, struct hv_cpu *cpu, struct dune_ctx *c, const struct dunehv_ctx_create *cr);

/* CR4 of Dune contexts on this CPU: dune_cr4_features() and VMXE, within
 * IA32_VMX_CR4_FIXED1 (SDM 24.8). */
u64 dune_guest_cr4(const struct hv *hv);

#endif
