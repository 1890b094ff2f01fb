#include "arch/x86/ept.h"
#include "unit.h"

#define POOL_PAGES 600

static struct page_pool make_pool(void **mem)
{
	struct page_pool p;
	*mem = unit_alloc_pages(POOL_PAGES);
	CHECK_EQ(page_pool_init(&p, (u64)(uintptr_t)*mem, POOL_PAGES * PAGE_SIZE, unit_identity), 0);
	return p;
}

static struct mtrr_state wb_with_pci_hole(void)
{
	struct mtrr_state m = {0};
	m.cap = MTRR_CAP_FIX | 8;
	m.def_type = MTRR_DEF_TYPE_E | MTRR_DEF_TYPE_FE | MEMTYPE_WB;
	m.phys_addr_mask = (1ull << 40) - 1;
	for (int i = 0; i < MTRR_FIXED_MSRS; i++)
		m.fixed[i] = 0x0606060606060606ull;
	m.fixed[2] = 0; /* VGA UC */
	m.variable_count = 1;
	m.variable[0].base = 0xc0000000ull | MEMTYPE_UC;
	m.variable[0].mask = (~(0x40000000ull - 1) & m.phys_addr_mask) | MTRR_MASK_VALID;
	return m;
}

static int type_of(u64 e) { return (int)((e >> EPT_MEMTYPE_SHIFT) & 7); }

UNIT_TEST(identity_map_with_hole_and_types)
{
	void *mem;
	struct page_pool pool = make_pool(&mem);
	struct mtrr_state m = wb_with_pci_hole();
	/* hypervisor memory: 64 MiB at 0x37e00000, not 1 GiB aligned; plus an
	 * odd 4 KiB-aligned hole to force 4 KiB leaves */
	struct ept_hole holes[2] = {{0x37e00000, 64 << 20}, {0x50003000, 0x2000}};
	struct ept_identity_params prm = {.top = 1ull << 40, .mtrr = &m, .holes = holes, .hole_count = 2,
					  .allow_2m = true, .allow_1g = true};
	u64 root = 0;
	struct ept_stats st;
	u64 free_before = pool.free_pages;
	CHECK_EQ(ept_build_identity(&pool, &prm, &root, &st), 0);
	int level;
	u64 e;
	/* every probed address maps to itself unless inside a hole */
	static const u64 probes[] = {0, 0x9f000, 0xa0000, 0x100000, 0x37dff000, 0x37e00000, 0x3a000000, 0x3bdff000,
				     0x3be00000, 0x50002000, 0x50003000, 0x50004000, 0x50005000, 0xbffff000, 0xc0000000,
				     0xfee00000, 0x100000000ull, 0xfffffff000ull};
	for (unsigned i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		u64 a = probes[i];
		bool hole = (a >= holes[0].base && a < holes[0].base + holes[0].size) ||
			    (a >= holes[1].base && a < holes[1].base + holes[1].size);
		e = ept_lookup(unit_identity, root, a, &level);
		if (hole) {
			CHECK_EQ(e, 0);
			continue;
		}
		CHECK(e != 0);
		u64 size = 1ull << (12 + 9 * (level - 1));
		CHECK_EQ((e & EPT_ADDR_MASK) + (a & (size - 1)), a); /* identity */
		CHECK_EQ(e & EPT_RWX, EPT_RWX);
	}
	/* memory types from the MTRRs */
	CHECK_EQ(type_of(ept_lookup(unit_identity, root, 0xa0000, &level)), MEMTYPE_UC);
	CHECK_EQ(level, 1);
	CHECK_EQ(type_of(ept_lookup(unit_identity, root, 0x100000, &level)), MEMTYPE_WB);
	CHECK_EQ(type_of(ept_lookup(unit_identity, root, 0xfee00000, &level)), MEMTYPE_UC);
	CHECK_EQ(level, 3); /* [3G, 4G) is one UC GiB */
	CHECK_EQ(type_of(ept_lookup(unit_identity, root, 0x100000000ull, &level)), MEMTYPE_WB);
	CHECK_EQ(level, 3);
	/* around the hole: 2 MiB leaves where the 2 MiB range avoids it */
	ept_lookup(unit_identity, root, 0x37c00000, &level);
	CHECK_EQ(level, 2);
	CHECK(ept_lookup(unit_identity, root, 0x50005000, &level) != 0);
	CHECK_EQ(level, 1);
	CHECK(st.leaves_1g > 1000);
	CHECK(st.leaves_4k > 0);
	/* freeing returns every table */
	ept_free_tables(&pool, root);
	CHECK_EQ(pool.free_pages, free_before);
	free(mem);
}

UNIT_TEST(leaf_size_limits)
{
	void *mem;
	struct page_pool pool = make_pool(&mem);
	struct mtrr_state m = wb_with_pci_hole();
	struct ept_identity_params prm = {.top = 8ull << 30, .mtrr = &m, .allow_2m = true, .allow_1g = false};
	u64 root;
	struct ept_stats st;
	CHECK_EQ(ept_build_identity(&pool, &prm, &root, &st), 0);
	CHECK_EQ(st.leaves_1g, 0);
	int level;
	ept_lookup(unit_identity, root, 5ull << 30, &level);
	CHECK_EQ(level, 2);
	/* beyond top: absent */
	CHECK_EQ(ept_lookup(unit_identity, root, 8ull << 30, &level), 0);
	ept_free_tables(&pool, root);
	free(mem);
}

UNIT_TEST(out_of_memory_frees_everything)
{
	void *mem = unit_alloc_pages(8);
	struct page_pool pool;
	CHECK_EQ(page_pool_init(&pool, (u64)(uintptr_t)mem, 8 * PAGE_SIZE, unit_identity), 0);
	struct mtrr_state m = wb_with_pci_hole();
	/* only 4 KiB leaves over 64 GiB: needs far more than 7 tables */
	struct ept_identity_params prm = {.top = 64ull << 30, .mtrr = &m};
	u64 root = 0;
	u64 before = pool.free_pages;
	CHECK_EQ(ept_build_identity(&pool, &prm, &root, NULL), -HV_ENOMEM);
	CHECK_EQ(pool.free_pages, before);
	/* bad parameters */
	prm.top = 0;
	CHECK_EQ(ept_build_identity(&pool, &prm, &root, NULL), -HV_EINVAL);
	prm.top = (1ull << 48) + 4096;
	CHECK_EQ(ept_build_identity(&pool, &prm, &root, NULL), -HV_EINVAL);
	free(mem);
}

UNIT_TEST(eptp_format)
{
	CHECK_EQ(ept_pointer(0x12345000), 0x12345000 | 6 | (3 << 3));
}


/* Unmaps, then frees the emptied tables (the caller's INVEPT would come
 * between) and takes them off the charge; returns the leaves removed. */
static u64 unmap(struct page_pool *pool, u64 root, u64 gpa, u64 size, const struct ept_charge *ch, u64 *freed)
{
	u64 detached = 0;
	u64 removed = ept_unmap_range(pool, root, gpa, size, &detached);
	u64 n = ept_free_detached(pool, detached);
	ept_uncharge(ch, n);
	if (freed)
		*freed = n;
	return removed;
}

UNIT_TEST(map_unmap_leaves_with_quota)
{
	void *mem;
	struct page_pool pool = make_pool(&mem);
	u64 root = page_pool_alloc(&pool);
	u64 tables = 0, account = 0, free0 = pool.free_pages, freed;
	const struct ept_charge q16 = {.table_pages = &tables, .quota = 16, .account_pages = &account},
				q4 = {.table_pages = &tables, .quota = 4, .account_pages = &account};
	u64 wb = (u64)MEMTYPE_WB << EPT_MEMTYPE_SHIFT;
	int level;
	/* first 4 KiB page needs PDPT, PD, PT */
	CHECK_EQ(ept_map_leaf(&pool, root, 0x400000, 0x12345000, 1, EPT_READ | EPT_EXECUTE | wb, &q16), 0);
	CHECK_EQ(tables, 3);
	CHECK_EQ(account, 3);
	u64 e = ept_lookup(unit_identity, root, 0x400123, &level);
	CHECK_EQ(e & EPT_ADDR_MASK, 0x12345000);
	CHECK_EQ(level, 1);
	CHECK_EQ(e & EPT_WRITE, 0);
	/* upgrade to writable in place */
	CHECK_EQ(ept_map_leaf(&pool, root, 0x400000, 0x12345000, 1, EPT_RWX | wb, &q16), 0);
	CHECK(ept_lookup(unit_identity, root, 0x400000, &level) & EPT_WRITE);
	/* neighbour page: no new tables */
	CHECK_EQ(ept_map_leaf(&pool, root, 0x401000, 0x22222000, 1, EPT_READ | wb, &q16), 0);
	CHECK_EQ(tables, 3);
	/* a 2 MiB leaf where 4 KiB pages exist is refused; elsewhere fine */
	CHECK_EQ(ept_map_leaf(&pool, root, 0x400000, 0x40000000, 2, EPT_READ | wb, &q16), -HV_EEXIST);
	CHECK_EQ(ept_map_leaf(&pool, root, 0x800000, 0x40000000, 2, EPT_READ | wb, &q16), 0);
	/* 4 KiB under a 2 MiB leaf is refused */
	CHECK_EQ(ept_map_leaf(&pool, root, 0x801000, 0x1000, 1, EPT_READ | wb, &q16), -HV_EEXIST);
	/* bad arguments */
	CHECK_EQ(ept_map_leaf(&pool, root, 0x400800, 0x1000, 1, EPT_READ, &q16), -HV_EINVAL);  /* gpa unaligned */
	CHECK_EQ(ept_map_leaf(&pool, root, 0x400000, 0x1800, 1, EPT_READ, &q16), -HV_EINVAL);  /* hpa unaligned */
	CHECK_EQ(ept_map_leaf(&pool, root, 1ull << 48, 0x1000, 1, EPT_READ, &q16), -HV_EINVAL);
	CHECK_EQ(ept_map_leaf(&pool, root, 0x400000, 0x1000, 1, 0, &q16), -HV_EINVAL);         /* no access */
	CHECK_EQ(ept_map_leaf(&pool, root, 0x400000, 0x1000, 3, EPT_READ, &q16), -HV_EINVAL);  /* 1 GiB */
	CHECK_EQ(ept_map_leaf(&pool, root, 0x400000, 1ull << 52, 1, EPT_READ, &q16), -HV_EINVAL);
	/* quota: a far address needs 3 more tables, only 1 left; the PDPT it
	 * got stays, empty */
	CHECK_EQ(ept_map_leaf(&pool, root, 0x7f0000000000ull, 0x1000, 1, EPT_READ | wb, &q4), -HV_EDQUOT);
	CHECK_EQ(tables, 4);
	CHECK_EQ(account, 4);
	/* the account's limit: 4 pages held, limit 4 */
	const struct ept_charge acct = {.table_pages = &tables, .quota = 16, .account_pages = &account, .account_limit = 4};
	CHECK_EQ(ept_map_leaf(&pool, root, 0x40000000, 0x1000, 1, EPT_READ | wb, &acct), -HV_EDQUOT);
	CHECK_EQ(account, 4);
	/* the pool's reserve: no table if it would leave fewer free pages */
	const struct ept_charge rsv = {.table_pages = &tables, .quota = 16, .account_pages = &account,
				       .reserve = pool.free_pages};
	CHECK_EQ(ept_map_leaf(&pool, root, 0x40000000, 0x1000, 1, EPT_READ | wb, &rsv), -HV_ENOMEM);
	CHECK_EQ(tables, 4);
	CHECK_EQ(account, 4);
	/* unmap: partial range hits the 4 KiB pages and the whole 2 MiB leaf;
	 * the PT still holds 0x400000, so no table goes */
	CHECK_EQ(unmap(&pool, root, 0x401000, 0x400000, &q16, &freed), 2);
	CHECK_EQ(freed, 0);
	CHECK(ept_lookup(unit_identity, root, 0x400000, &level) != 0);
	CHECK_EQ(ept_lookup(unit_identity, root, 0x401000, &level), 0);
	CHECK_EQ(ept_lookup(unit_identity, root, 0x900000, &level), 0);
	/* the last leaf under the PDPT at 0: PT, PD and PDPT go back to the pool;
	 * the empty PDPT the quota left at the far address too */
	CHECK_EQ(unmap(&pool, root, 0, ~0ull, &q16, &freed), 1);
	CHECK_EQ(freed, 4);
	CHECK_EQ(tables, 0);
	CHECK_EQ(account, 0);
	CHECK_EQ(pool.free_pages, free0); /* all back but the root */
	CHECK_EQ(unmap(&pool, root, 0, 0, &q16, &freed), 0);
	/* churn: map and unmap a page in a new 1 GiB region each time; the
	 * tables never pile up past the quota */
	for (u64 i = 0; i < 64; i++) {
		CHECK_EQ(ept_map_leaf(&pool, root, (i + 1) << 30, 0x1000, 1, EPT_READ | wb, &q4), 0);
		CHECK_EQ(unmap(&pool, root, (i + 1) << 30, 0x1000, &q4, NULL), 1);
	}
	CHECK_EQ(tables, 0);
	/* a 2 MiB leaf replaces an empty table below it (left by a refused
	 * map), which goes back to the pool */
	const struct ept_charge q2 = {.table_pages = &tables, .quota = 2, .account_pages = &account};
	CHECK_EQ(ept_map_leaf(&pool, root, 0x400000, 0x12345000, 1, EPT_READ | wb, &q2), -HV_EDQUOT);
	CHECK_EQ(tables, 2); /* PDPT and PD, the PD empty */
	u64 free_before = pool.free_pages;
	CHECK_EQ(ept_map_leaf(&pool, root, 0, 0x80000000, 3, EPT_RWX | wb, &q16), 0);
	CHECK_EQ(tables, 1);
	CHECK_EQ(account, 1);
	CHECK_EQ(pool.free_pages, free_before + 1);
	CHECK_EQ(ept_lookup(unit_identity, root, 0x3fffffff, &level) & EPT_ADDR_MASK, 0x80000000);
	CHECK_EQ(level, 3);
	CHECK_EQ(ept_map_leaf(&pool, root, 0x200000, 0x1000, 1, EPT_READ | wb, &q16), -HV_EEXIST);
	CHECK_EQ(ept_map_leaf(&pool, root, 0x40000000, 0x1000, 3, EPT_READ | wb, &q16), -HV_EINVAL); /* hpa unaligned */
	CHECK_EQ(unmap(&pool, root, 0x12345000, 0x1000, &q16, &freed), 1);
	CHECK_EQ(freed, 1);
	CHECK_EQ(ept_lookup(unit_identity, root, 0, &level), 0);
	ept_free_tables(&pool, root);
	CHECK_EQ(pool.free_pages, free0 + 1);
	free(mem);
}

/* The same operations on nested page tables (APM Vol. 2 15.25.5): P is the
 * present bit, tables carry P/RW/US, a read-only leaf is P/US without RW,
 * and a leaf without P or with EPT bits is refused. */
UNIT_TEST(npt_map_unmap_lookup)
{
	void *mem;
	struct page_pool pool = make_pool(&mem);
	u64 root = page_pool_alloc(&pool);
	u64 tables = 0, free0 = pool.free_pages;
	const struct ept_charge ch = {.table_pages = &tables, .quota = 16};
	int level;
	u64 ro = NPT_PRESENT | NPT_USER | NPT_NX;
	CHECK_EQ(gpt_map_leaf(&pool, &npt_format, root, 0x400000, 0x12345000, 1, ro, &ch), 0);
	CHECK_EQ(tables, 3);
	const u64 *pml4 = unit_identity(root);
	CHECK_EQ(pml4[0] & 0xfff, NPT_TABLE);
	u64 e = gpt_lookup(&npt_format, unit_identity, root, 0x400123, &level);
	CHECK_EQ(e & EPT_ADDR_MASK, 0x12345000);
	CHECK_EQ(level, 1);
	CHECK_EQ(e & NPT_WRITE, 0);
	CHECK(e & NPT_NX);
	CHECK_EQ(gpt_lookup(&npt_format, unit_identity, root, 0x401000, &level), 0);
	/* a leaf in the other format's bits, or without P, is refused */
	CHECK_EQ(gpt_map_leaf(&pool, &npt_format, root, 0x401000, 0x1000, 1, EPT_RWX | EPT_IGNORE_PAT, &ch), -HV_EINVAL);
	CHECK_EQ(gpt_map_leaf(&pool, &npt_format, root, 0x401000, 0x1000, 1, NPT_WRITE | NPT_USER, &ch), -HV_EINVAL);
	/* a 2 MiB leaf gets bit 7 */
	CHECK_EQ(gpt_map_leaf(&pool, &npt_format, root, 0x800000, 0x40000000, 2, NPT_TABLE, &ch), 0);
	e = gpt_lookup(&npt_format, unit_identity, root, 0x9fffff, &level);
	CHECK_EQ(level, 2);
	CHECK(e & EPT_LARGE_PAGE);
	CHECK(e & NPT_WRITE);
	/* unmapping everything empties and frees the tables below the root */
	u64 detached = 0;
	CHECK_EQ(gpt_unmap_range(&pool, &npt_format, root, 0, ~0ull, &detached), 2);
	ept_uncharge(&ch, ept_free_detached(&pool, detached));
	CHECK_EQ(tables, 0);
	CHECK_EQ(pool.free_pages, free0);
	CHECK_EQ(gpt_lookup(&npt_format, unit_identity, root, 0x400000, &level), 0);
	gpt_free_tables(&pool, &npt_format, root);
	free(mem);
}

/* The SVM backend's xAPIC page: a 4 KiB leaf without write in an otherwise
 * large-leaf NPT identity map; its neighbours keep write access, in 4 KiB
 * leaves up to the next 2 MiB boundary and 2 MiB leaves beyond. */
UNIT_TEST(npt_identity_read_only_page)
{
	void *mem;
	struct page_pool pool = make_pool(&mem);
	struct mtrr_state m = wb_with_pci_hole();
	u64 apic = 0xfee00000ull;
	struct ept_identity_params prm = {.top = 8ull << 30, .mtrr = &m, .allow_2m = true, .allow_1g = true,
					  .format = &npt_format, .read_only_pages = &apic, .read_only_count = 1};
	u64 root;
	struct ept_stats st;
	CHECK_EQ(ept_build_identity(&pool, &prm, &root, &st), 0);
	int level;
	u64 e = gpt_lookup(&npt_format, unit_identity, root, apic + 0x300, &level);
	CHECK_EQ(level, 1);
	CHECK_EQ(e & EPT_ADDR_MASK, apic);
	CHECK(e & NPT_PRESENT);
	CHECK(!(e & NPT_WRITE));
	CHECK(e & NPT_PCD); /* UC, as the MTRRs say */
	e = gpt_lookup(&npt_format, unit_identity, root, apic + 0x1000, &level);
	CHECK_EQ(level, 1);
	CHECK(e & NPT_WRITE);
	e = gpt_lookup(&npt_format, unit_identity, root, apic - 0x1000, &level);
	CHECK(e & NPT_WRITE);
	e = gpt_lookup(&npt_format, unit_identity, root, 0xfe000000ull, &level);
	CHECK_EQ(level, 2);
	CHECK(e & NPT_WRITE);
	e = gpt_lookup(&npt_format, unit_identity, root, 5ull << 30, &level);
	CHECK_EQ(level, 3);
	gpt_free_tables(&pool, &npt_format, root);
	free(mem);
}

const struct unit_test ept_tests[] = {
	{"npt_map_unmap_lookup", npt_map_unmap_lookup},
	{"identity_map_with_hole_and_types", identity_map_with_hole_and_types},
	{"leaf_size_limits", leaf_size_limits},
	{"out_of_memory_frees_everything", out_of_memory_frees_everything},
	{"eptp_format", eptp_format},
	{"map_unmap_leaves_with_quota", map_unmap_leaves_with_quota},
	{"npt_identity_read_only_page", npt_identity_read_only_page},
};
const unsigned ept_count = sizeof(ept_tests) / sizeof(ept_tests[0]);
