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

/* The fixed-range slot of msr, or -1. */
static int fixed_index(u32 msr)
{
	if (msr == MSR_IA32_MTRR_FIX64K_00000)
		return 0;
	if (msr == MSR_IA32_MTRR_FIX16K_80000 || msr == MSR_IA32_MTRR_FIX16K_A0000)
		return 1 + (int)(msr - MSR_IA32_MTRR_FIX16K_80000);
	if (msr >= MSR_IA32_MTRR_FIX4K_C0000 && msr < MSR_IA32_MTRR_FIX4K_C0000 + 8)
		return 3 + (int)(msr - MSR_IA32_MTRR_FIX4K_C0000);
	return -1;
}

bool mtrr_msr_exists(const struct mtrr_state *m, u32 msr)
{
	if (!m->cap && !m->def_type)
		return false; /* no MTRRs (CPUID.1:EDX[12] clear) */
	if (msr == MSR_IA32_MTRRCAP || msr == MSR_IA32_MTRR_DEF_TYPE)
		return true;
	if (fixed_index(msr) >= 0)
		return m->cap & MTRR_CAP_FIX;
	return msr >= MSR_IA32_MTRR_PHYSBASE0 && msr < MSR_IA32_MTRR_PHYSBASE0 + 2 * m->variable_count;
}

u64 mtrr_shadow_read(const struct mtrr_state *m, u32 msr)
{
	int fixed = fixed_index(msr);
	if (msr == MSR_IA32_MTRRCAP)
		return m->cap;
	if (msr == MSR_IA32_MTRR_DEF_TYPE)
		return m->def_type;
	if (fixed >= 0)
		return m->fixed[fixed];
	const struct mtrr_variable *v = &m->variable[(msr - MSR_IA32_MTRR_PHYSBASE0) / 2];
	return (msr & 1) ? v->mask : v->base;
}

/* SDM 12.11.1: UC, WC (if IA32_MTRRCAP says so), WT, WP, WB. */
static bool type_ok(const struct mtrr_state *m, u64 type)
{
	return type == MEMTYPE_UC || type == MEMTYPE_WT || type == MEMTYPE_WP || type == MEMTYPE_WB ||
	       (type == MEMTYPE_WC && (m->cap & MTRR_CAP_WC));
}

bool mtrr_shadow_write(struct mtrr_state *m, u32 msr, u64 value)
{
	int fixed = fixed_index(msr);
	u64 above_phys = ~m->phys_addr_mask;
	if (!mtrr_msr_exists(m, msr) || msr == MSR_IA32_MTRRCAP)
		return false;
	if (msr == MSR_IA32_MTRR_DEF_TYPE) {
		/* SDM 12.11.2.1: type in 7:0, FE bit 10, E bit 11, the rest reserved */
		if ((value & ~(0xffull | MTRR_DEF_TYPE_FE | MTRR_DEF_TYPE_E)) || !type_ok(m, value & 0xff))
			return false;
		m->def_type = value;
		return true;
	}
	if (fixed >= 0) {
		/* SDM 12.11.2.2: eight one-byte types */
		for (unsigned b = 0; b < 8; b++)
			if (!type_ok(m, (value >> (8 * b)) & 0xff))
				return false;
		m->fixed[fixed] = value;
		return true;
	}
	/* SDM 12.11.2.3: PHYSBASE type in 7:0, 11:8 reserved; PHYSMASK valid
	 * in bit 11, 10:0 reserved; bits above MAXPHYADDR reserved in both */
	struct mtrr_variable *v = &m->variable[(msr - MSR_IA32_MTRR_PHYSBASE0) / 2];
	if (msr & 1) {
		if (value & (above_phys | 0x7ffull))
			return false;
		v->mask = value;
	} else {
		if ((value & (above_phys | 0xf00ull)) || !type_ok(m, value & 0xff))
			return false;
		v->base = value;
	}
	return true;
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
