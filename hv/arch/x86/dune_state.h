/* The machine state of a Dune context (dune-abi 1.8) both backends give it:
 * 64-bit ring 0, paging on, the process's own page tables, flat segments. */
#ifndef HV_DUNE_STATE_H
#define HV_DUNE_STATE_H

#include "core/types.h"

/* Guest CR0/EFER a Dune context runs with. */
#define DUNE_CR0 0x80010033ull /* PG | WP | NE | ET | MP | PE */
#define DUNE_EFER 0xd01ull     /* NXE | LMA | LME | SCE */
#define DUNE_PAT 0x0007040600070406ull /* the power-on PAT */

/* Segment access rights in the VMCS format (SDM Vol. 3C 25.4.1): 64-bit
 * code and flat data at DPL 0, a busy 64-bit TSS. */
#define DUNE_CODE_AR 0xa09bu
#define DUNE_DATA_AR 0xa093u
#define DUNE_TSS_AR 0x8bu

/* CR4 bits of Dune contexts on this CPU: PAE, PGE, OSFXSR, OSXMMEXCPT, and
 * PCIDE, OSXSAVE, FSGSBASE where CPUID has them (the backend adds what its
 * hardware forces). */
u64 dune_cr4_features(void);

/* RFLAGS as entry accepts it in 64-bit mode: reserved bits cleared, bit 1
 * set, VM cleared (SDM 27.3.1.4; APM Vol. 2 15.5.1 checks the same). */
static inline u64 dune_sanitize_rflags(u64 rflags) { return (rflags & 0x3d7fd5ull) | 0x2ull; }

#endif
