/* VMCS of a Dune context: the machine state of dune-abi 1.8. */
#ifndef HV_VMCS_DUNE_H
#define HV_VMCS_DUNE_H

#include "core/hv.h"

/* Guest CR0/CR4/EFER a Dune context runs with. */
#define DUNE_CR0 0x80010033ull /* PG | WP | NE | ET | MP | PE */
#define DUNE_EFER 0xd01ull     /* NXE | LMA | LME | SCE */

/* Programs the current VMCS (the context's, after VMCLEAR + VMPTRLD) for c.
 * Returns 0 or the field VMWRITE refused. */
u32 vmcs_setup_dune(struct hv *hv, struct hv_cpu *cpu, struct dune_ctx *c, const struct dunehv_ctx_create *cr);

/* CR4 of Dune contexts on this CPU (PAE, PGE, OSFXSR, OSXMMEXCPT, VMXE, and
 * PCIDE, OSXSAVE, FSGSBASE where the CPU has them). */
u64 dune_guest_cr4(const struct hv *hv);

/* RFLAGS as VM entry accepts it in 64-bit mode: reserved bits cleared, bit 1
 * set, VM cleared (SDM 27.3.1.4). */
static inline u64 dune_sanitize_rflags(u64 rflags) { return (rflags & 0x3d7fd5ull) | 0x2ull; }

#endif
