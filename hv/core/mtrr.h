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

/* The one memory type of [base, base + size), or -1 when the range mixes types.
 * size must be a power of two and base aligned to it (4 KiB .. 512 GiB). */
int mtrr_range_type(const struct mtrr_state *m, u64 base, u64 size);

/* Reads the MTRR MSRs of the running CPU (not host-testable). */
void mtrr_read(struct mtrr_state *m, unsigned phys_addr_bits);

#endif
