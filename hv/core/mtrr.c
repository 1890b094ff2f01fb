/* Effective MTRR memory type of an aligned range (SDM Vol. 3A 12.11.4.1
 * "MTRR Precedences"). */
#include "core/mtrr.h"

/* Fixed-range MTRR covering a physical address below 1 MiB (SDM 12.11.2.2):
 * returns the MSR slot index and the byte within it. */
static void fixed_slot(u64 addr, unsigned *msr, unsigned *byte)
{
	if (addr < 0x80000) {
		*msr = 0;
		*byte = (unsigned)(addr >> 16);
	} else if (addr < 0xc0000) {
		*msr = 1 + (unsigned)((addr - 0x80000) >> 17);
		*byte = (unsigned)(((addr - 0x80000) >> 14) & 7);
	} else {
		*msr = 3 + (unsigned)((addr - 0xc0000) >> 15);
		*byte = (unsigned)(((addr - 0xc0000) >> 12) & 7);
	}
}

static int fixed_type(const struct mtrr_state *m, u64 addr)
{
	unsigned msr, byte;
	fixed_slot(addr, &msr, &byte);
	return (int)((m->fixed[msr] >> (byte * 8)) & 0xff);
}

/* Type of [base, base+size) from the variable MTRRs; -1 when some MTRR covers
 * the range only partly. Precedence of overlapping ranges per SDM 12.11.4.1:
 * UC wins, WT+WB gives WT, other mixes are undefined (we take UC). */
static int variable_type(const struct mtrr_state *m, u64 base, u64 size, int def)
{
	unsigned types_seen = 0; /* bit per memory type value */
	u64 low_bits = size - 1;
	for (unsigned i = 0; i < m->variable_count && i < MTRR_MAX_VARIABLE; i++) {
		const struct mtrr_variable *v = &m->variable[i];
		if (!(v->mask & MTRR_MASK_VALID))
			continue;
		u64 mask = v->mask & m->phys_addr_mask & ~0xfffull;
		u64 vbase = v->base & m->phys_addr_mask & ~0xfffull;
		/* An address matches when (addr ^ base) & mask == 0; the addresses of
		 * the range share every bit above low_bits with base. */
		if ((base ^ vbase) & mask & ~low_bits)
			continue;      /* no address of the range matches */
		if (mask & low_bits)
			return -1;     /* some addresses match, others do not */
		types_seen |= 1u << (v->base & 7);
	}
	if (!types_seen)
		return def;
	if (types_seen & (1u << MEMTYPE_UC))
		return MEMTYPE_UC;
	if (types_seen == (1u << MEMTYPE_WT) || types_seen == ((1u << MEMTYPE_WT) | (1u << MEMTYPE_WB)))
		return MEMTYPE_WT;
	if ((types_seen & (types_seen - 1)) == 0)
		return __builtin_ctz(types_seen);
	return MEMTYPE_UC;
}

int mtrr_range_type(const struct mtrr_state *m, u64 base, u64 size)
{
	if (!(m->def_type & MTRR_DEF_TYPE_E))
		return MEMTYPE_UC; /* MTRRs disabled: everything is UC (SDM 12.11.2.1) */
	int def = (int)(m->def_type & 0xff);

	if (base < 0x100000 && (m->def_type & MTRR_DEF_TYPE_FE) && (m->cap & MTRR_CAP_FIX)) {
		if (base + size > 0x100000)
			return -1; /* straddles the fixed-range area */
		int t = fixed_type(m, base);
		for (u64 a = base + PAGE_SIZE; a < base + size; a += PAGE_SIZE)
			if (fixed_type(m, a) != t)
				return -1;
		return t;
	}
	return variable_type(m, base, size, def);
}
