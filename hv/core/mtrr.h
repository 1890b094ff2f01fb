/* Memory types from the MTRRs (SDM Vol. 3A 12.11), as a pure function of the
 * MTRR MSR values so that it can be tested on the host. */
#ifndef HV_MTRR_H
#define HV_MTRR_H

#include "core/types.h"

/* Memory type encodings shared by MTRRs, PAT and EPT (SDM 12.11.1, 29.3.7). */
#define MEMTYPE_UC 0
#define MEMTYPE_WC 1
#define MEMTYPE_WT 4
#define MEMTYPE_WP 5
#define MEMTYPE_WB 6

/* MTRR MSR numbers (SDM Vol. 4 Table 2-2). */
#define MSR_IA32_MTRRCAP 0x0fe
#define MSR_IA32_MTRR_PHYSBASE0 0x200
#define MSR_IA32_MTRR_FIX64K_00000 0x250
#define MSR_IA32_MTRR_FIX16K_80000 0x258
#define MSR_IA32_MTRR_FIX16K_A0000 0x259
#define MSR_IA32_MTRR_FIX4K_C0000 0x268
#define MSR_IA32_MTRR_DEF_TYPE 0x2ff

#define MTRR_MAX_VARIABLE 32
#define MTRR_FIXED_MSRS 11

struct mtrr_variable {
	u64 base; /* IA32_MTRR_PHYSBASEn: type in bits 7:0 */
	u64 mask; /* IA32_MTRR_PHYSMASKn: valid in bit 11 */
};

struct mtrr_state {
	u64 cap;      /* IA32_MTRRCAP */
	u64 def_type; /* IA32_MTRR_DEF_TYPE */
	u64 fixed[MTRR_FIXED_MSRS]; /* FIX64K_00000, FIX16K_80000/A0000, FIX4K_C0000..F8000 */
	unsigned variable_count;
	struct mtrr_variable variable[MTRR_MAX_VARIABLE];
	u64 phys_addr_mask; /* (1 << MAXPHYADDR) - 1 */
};

#define MTRR_DEF_TYPE_FE BIT(10)
#define MTRR_DEF_TYPE_E BIT(11)
#define MTRR_MASK_VALID BIT(11)
#define MTRR_CAP_FIX BIT(8)
#define MTRR_CAP_WC BIT(10)

/* The one memory type of [base, base + size), or -1 when the range mixes types.
 * size must be a power of two and base aligned to it (4 KiB .. 512 GiB). */
int mtrr_range_type(const struct mtrr_state *m, u64 base, u64 size);

/*
 * Linux's own view of the MTRRs. Its writes go to this copy, never to the
 * real MSRs: those keep the memory types of the hypervisor's own accesses,
 * which Linux must not make uncacheable (SDM Vol. 3A 12.11), while Linux's
 * accesses take their type from the EPT and its PAT anyway (SDM Vol. 3C
 * 29.3.7.2). KVM keeps its guests' MTRRs the same way.
 */
/* The MTRR MSRs that exist on a CPU with these MTRRs (IA32_MTRRCAP read-only
 * included), for the MSR bitmap and the exit handlers. */
bool mtrr_msr_exists(const struct mtrr_state *m, u32 msr);
/* RDMSR of an existing MTRR MSR from the copy. */
u64 mtrr_shadow_read(const struct mtrr_state *m, u32 msr);
/* WRMSR into the copy, with the CPU's checks (SDM 12.11.2, 12.11.3):
 * false for what would #GP (a read-only or missing MSR, reserved bits, a
 * memory type the CPU does not have). */
bool mtrr_shadow_write(struct mtrr_state *m, u32 msr, u64 value);

/* Reads the MTRR MSRs of the running CPU (not host-testable). */
void mtrr_read(struct mtrr_state *m, unsigned phys_addr_bits);

#endif
