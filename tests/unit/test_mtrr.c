#include "core/mtrr.h"
#include "unit.h"

/* A typical firmware layout: WB default, fixed ranges with VGA UC hole,
 * variable UC for the PCI hole [3 GiB, 4 GiB). 40-bit physical addresses. */
static struct mtrr_state typical(void)
{
	struct mtrr_state m = {0};
	m.cap = MTRR_CAP_FIX | 8;
	m.def_type = MTRR_DEF_TYPE_E | MTRR_DEF_TYPE_FE | MEMTYPE_WB;
	m.phys_addr_mask = (1ull << 40) - 1;
	for (int i = 0; i < MTRR_FIXED_MSRS; i++)
		m.fixed[i] = 0x0606060606060606ull;
	m.fixed[2] = 0; /* A0000-BFFFF UC (VGA) */
	m.fixed[3] = 0x0505050505050505ull; /* C0000-C7FFF WP (option ROM) */
	m.variable_count = 8;
	m.variable[0].base = 0xc0000000ull | MEMTYPE_UC;
	m.variable[0].mask = (~(0x40000000ull - 1) & m.phys_addr_mask) | MTRR_MASK_VALID;
	return m;
}

UNIT_TEST(fixed_ranges_below_1m)
{
	struct mtrr_state m = typical();
	CHECK_EQ(mtrr_range_type(&m, 0, 4096), MEMTYPE_WB);
	CHECK_EQ(mtrr_range_type(&m, 0x9f000, 4096), MEMTYPE_WB);
	CHECK_EQ(mtrr_range_type(&m, 0xa0000, 4096), MEMTYPE_UC);
	CHECK_EQ(mtrr_range_type(&m, 0xbf000, 4096), MEMTYPE_UC);
	CHECK_EQ(mtrr_range_type(&m, 0xc0000, 4096), MEMTYPE_WP);
	CHECK_EQ(mtrr_range_type(&m, 0xc8000, 4096), MEMTYPE_WB);
	CHECK_EQ(mtrr_range_type(&m, 0, 2 << 20), -1); /* mixed: must be split */
	CHECK_EQ(mtrr_range_type(&m, 0x80000, 0x20000), MEMTYPE_WB);
	/* fixed ranges disabled: the variable/default types apply below 1 MiB too */
	m.def_type &= ~MTRR_DEF_TYPE_FE;
	CHECK_EQ(mtrr_range_type(&m, 0xa0000, 4096), MEMTYPE_WB);
	CHECK_EQ(mtrr_range_type(&m, 0, 2 << 20), MEMTYPE_WB);
}

UNIT_TEST(variable_ranges_and_default)
{
	struct mtrr_state m = typical();
	CHECK_EQ(mtrr_range_type(&m, 1ull << 30, 1ull << 30), MEMTYPE_WB);
	CHECK_EQ(mtrr_range_type(&m, 3ull << 30, 1ull << 30), MEMTYPE_UC);
	CHECK_EQ(mtrr_range_type(&m, (3ull << 30) + (2 << 20), 2 << 20), MEMTYPE_UC);
	CHECK_EQ(mtrr_range_type(&m, 2ull << 30, 2ull << 30), -1); /* half WB, half UC */
	CHECK_EQ(mtrr_range_type(&m, 8ull << 30, 1ull << 30), MEMTYPE_WB);
	/* default UC: uncovered memory is UC */
	m.def_type = (m.def_type & ~0xffull) | MEMTYPE_UC;
	CHECK_EQ(mtrr_range_type(&m, 8ull << 30, 1ull << 30), MEMTYPE_UC);
}

UNIT_TEST(precedence_of_overlaps)
{
	struct mtrr_state m = typical();
	/* WB 0..2G, then UC 1G..1G+256M on top: UC wins */
	m.variable[1].base = 0 | MEMTYPE_WB;
	m.variable[1].mask = (~((2ull << 30) - 1) & m.phys_addr_mask) | MTRR_MASK_VALID;
	m.variable[2].base = (1ull << 30) | MEMTYPE_UC;
	m.variable[2].mask = (~((256ull << 20) - 1) & m.phys_addr_mask) | MTRR_MASK_VALID;
	CHECK_EQ(mtrr_range_type(&m, 1ull << 30, 2 << 20), MEMTYPE_UC);
	CHECK_EQ(mtrr_range_type(&m, (1ull << 30) + (256ull << 20), 2 << 20), MEMTYPE_WB);
	/* WT over WB gives WT */
	m.variable[2].base = (1ull << 30) | MEMTYPE_WT;
	CHECK_EQ(mtrr_range_type(&m, 1ull << 30, 2 << 20), MEMTYPE_WT);
	/* WC over WB is undefined: conservative UC */
	m.variable[2].base = (1ull << 30) | MEMTYPE_WC;
	CHECK_EQ(mtrr_range_type(&m, 1ull << 30, 2 << 20), MEMTYPE_UC);
	/* invalid (V = 0) ranges are ignored */
	m.variable[2].mask &= ~MTRR_MASK_VALID;
	CHECK_EQ(mtrr_range_type(&m, 1ull << 30, 2 << 20), MEMTYPE_WB);
}

UNIT_TEST(non_contiguous_mask)
{
	struct mtrr_state m = typical();
	m.variable[0].mask = 0;
	/* matches every address whose bit 30 is set (odd GiBs) */
	m.variable[1].base = (1ull << 30) | MEMTYPE_WC;
	m.variable[1].mask = (1ull << 30) | MTRR_MASK_VALID;
	CHECK_EQ(mtrr_range_type(&m, 1ull << 30, 1ull << 30), MEMTYPE_WC);
	CHECK_EQ(mtrr_range_type(&m, 2ull << 30, 1ull << 30), MEMTYPE_WB);
	CHECK_EQ(mtrr_range_type(&m, 3ull << 30, 2 << 20), MEMTYPE_WC);
	CHECK_EQ(mtrr_range_type(&m, 0x100000000ull, 0x100000000ull), -1);
}

UNIT_TEST(disabled_mtrrs_mean_uc)
{
	struct mtrr_state m = typical();
	m.def_type &= ~MTRR_DEF_TYPE_E;
	CHECK_EQ(mtrr_range_type(&m, 0, 4096), MEMTYPE_UC);
	CHECK_EQ(mtrr_range_type(&m, 0, 1ull << 30), MEMTYPE_UC);
}

UNIT_TEST(linux_writes_its_own_copy)
{
	struct mtrr_state m = typical(), copy = typical();
	/* which MSRs exist: 8 variable pairs, the fixed ones, DEF_TYPE, CAP */
	CHECK(mtrr_msr_exists(&m, MSR_IA32_MTRRCAP));
	CHECK(mtrr_msr_exists(&m, MSR_IA32_MTRR_DEF_TYPE));
	CHECK(mtrr_msr_exists(&m, MSR_IA32_MTRR_FIX16K_A0000));
	CHECK(mtrr_msr_exists(&m, MSR_IA32_MTRR_FIX4K_C0000 + 7));
	CHECK(!mtrr_msr_exists(&m, MSR_IA32_MTRR_FIX4K_C0000 + 8));
	CHECK(mtrr_msr_exists(&m, MSR_IA32_MTRR_PHYSBASE0 + 15));
	CHECK(!mtrr_msr_exists(&m, MSR_IA32_MTRR_PHYSBASE0 + 16));
	struct mtrr_state none = {0};
	CHECK(!mtrr_msr_exists(&none, MSR_IA32_MTRR_DEF_TYPE));
	/* reads come from the copy */
	CHECK_EQ(mtrr_shadow_read(&m, MSR_IA32_MTRR_FIX16K_A0000), 0);
	CHECK_EQ(mtrr_shadow_read(&m, MSR_IA32_MTRR_PHYSBASE0), 0xc0000000ull | MEMTYPE_UC);
	/* a good write lands, and reads back */
	CHECK(mtrr_shadow_write(&copy, MSR_IA32_MTRR_PHYSBASE0 + 2, 0x80000000ull | MEMTYPE_UC));
	CHECK(mtrr_shadow_write(&copy, MSR_IA32_MTRR_PHYSBASE0 + 3, 0xff80000000ull | MTRR_MASK_VALID));
	CHECK_EQ(mtrr_shadow_read(&copy, MSR_IA32_MTRR_PHYSBASE0 + 3), 0xff80000000ull | MTRR_MASK_VALID);
	CHECK_EQ(mtrr_range_type(&copy, 0x80000000ull, 4096), MEMTYPE_UC);
	CHECK(mtrr_shadow_write(&copy, MSR_IA32_MTRR_DEF_TYPE, MTRR_DEF_TYPE_E | MEMTYPE_UC));
	CHECK(mtrr_shadow_write(&copy, MSR_IA32_MTRR_FIX64K_00000, 0x0000000000000006ull));
	/* what the CPU would #GP: read-only CAP, reserved bits, bad types, no WC */
	CHECK(!mtrr_shadow_write(&copy, MSR_IA32_MTRRCAP, 0));
	CHECK(!mtrr_shadow_write(&copy, MSR_IA32_MTRR_DEF_TYPE, MTRR_DEF_TYPE_E | BIT(9) | MEMTYPE_WB));
	CHECK(!mtrr_shadow_write(&copy, MSR_IA32_MTRR_DEF_TYPE, MTRR_DEF_TYPE_E | 2));
	CHECK(!mtrr_shadow_write(&copy, MSR_IA32_MTRR_DEF_TYPE, MTRR_DEF_TYPE_E | MEMTYPE_WC)); /* CAP has no WC */
	CHECK(!mtrr_shadow_write(&copy, MSR_IA32_MTRR_FIX4K_C0000, 0x0606060606060703ull));
	CHECK(!mtrr_shadow_write(&copy, MSR_IA32_MTRR_PHYSBASE0, (1ull << 40) | MEMTYPE_WB)); /* above MAXPHYADDR */
	CHECK(!mtrr_shadow_write(&copy, MSR_IA32_MTRR_PHYSBASE0, 0x100ull | MEMTYPE_WB));     /* bits 11:8 */
	CHECK(!mtrr_shadow_write(&copy, MSR_IA32_MTRR_PHYSBASE0 + 1, MTRR_MASK_VALID | 1));   /* bits 10:0 */
	CHECK(!mtrr_shadow_write(&copy, MSR_IA32_MTRR_PHYSBASE0 + 16, 0));
	m.cap |= MTRR_CAP_WC;
	CHECK(mtrr_shadow_write(&m, MSR_IA32_MTRR_DEF_TYPE, MTRR_DEF_TYPE_E | MEMTYPE_WC));
	/* refused writes left the copy as it was */
	CHECK_EQ(mtrr_shadow_read(&copy, MSR_IA32_MTRR_PHYSBASE0), 0xc0000000ull | MEMTYPE_UC);
	CHECK_EQ(mtrr_shadow_read(&copy, MSR_IA32_MTRR_DEF_TYPE), MTRR_DEF_TYPE_E | MEMTYPE_UC);
}

const struct unit_test mtrr_tests[] = {
	{"linux_writes_its_own_copy", linux_writes_its_own_copy},
	{"fixed_ranges_below_1m", fixed_ranges_below_1m},
	{"variable_ranges_and_default", variable_ranges_and_default},
	{"precedence_of_overlaps", precedence_of_overlaps},
	{"non_contiguous_mask", non_contiguous_mask},
	{"disabled_mtrrs_mean_uc", disabled_mtrrs_mean_uc},
};
const unsigned mtrr_count = sizeof(mtrr_tests) / sizeof(mtrr_tests[0]);
