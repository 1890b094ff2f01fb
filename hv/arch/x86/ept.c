/* Second-level page tables in either format (struct gpt_format): EPT (SDM
 * Vol. 3C 29.3.2 for the entry formats, 29.3.7 for memory types) and NPT
 * (AMD64 APM Vol. 2 15.25.5, long-mode entries; 15.25.8 memory types). */
#include "arch/x86/ept.h"

static u64 ept_leaf_bits(int mtrr_type) { return EPT_RWX | ((u64)mtrr_type << EPT_MEMTYPE_SHIFT); }

/* Write-back, whatever the guest's PAT says (29.3.7): Dune maps RAM. */
static u64 ept_access_bits(u32 access)
{
	u64 rwx = ((access & HV_ACCESS_READ) ? EPT_READ : 0) | ((access & HV_ACCESS_WRITE) ? EPT_WRITE : 0) |
		  ((access & HV_ACCESS_EXEC) ? EPT_EXECUTE : 0);
	return rwx ? rwx | ((u64)MEMTYPE_WB << EPT_MEMTYPE_SHIFT) | EPT_IGNORE_PAT : 0;
}

const struct gpt_format ept_format = {.present = EPT_RWX, .write = EPT_WRITE, .table_bits = EPT_RWX, .leaf_bits = ept_leaf_bits,
				      .leaf_allowed = EPT_RWX | (7ull << EPT_MEMTYPE_SHIFT) | EPT_IGNORE_PAT,
				      .access_bits = ept_access_bits};

/* Every nested access is a user access (15.25.5), so U/S is set at every
 * level; a leaf's type combines with the guest's PAT and the MTRRs
 * (15.25.8): UC where the firmware's MTRRs say UC, else write-back (PAT
 * index 0 of the power-on PAT). */
static u64 npt_leaf_bits(int mtrr_type) { return NPT_TABLE | (mtrr_type == MEMTYPE_UC ? NPT_PCD | NPT_PWT : 0); }

/* PAT index 0 (write-back with the guest's PAT; 15.25.8); NX needs the
 * host's EFER.NXE (15.25.5), which every SVM CPU has on (svm/setup.c). */
static u64 npt_access_bits(u32 access)
{
	if (!(access & HV_ACCESS_READ))
		return 0;
	return NPT_PRESENT | NPT_USER | ((access & HV_ACCESS_WRITE) ? NPT_WRITE : 0) |
	       ((access & HV_ACCESS_EXEC) ? 0 : NPT_NX);
}

const struct gpt_format npt_format = {.present = NPT_PRESENT, .write = NPT_WRITE, .table_bits = NPT_TABLE, .leaf_bits = npt_leaf_bits,
				      .leaf_allowed = NPT_TABLE | NPT_PWT | NPT_PCD | NPT_NX,
				      .access_bits = npt_access_bits};

static bool touches_hole(const struct ept_identity_params *prm, u64 base, u64 size)
{
	for (unsigned i = 0; i < prm->hole_count; i++)
		if (ranges_overlap(base, size, prm->holes[i].base, prm->holes[i].size))
			return true;
	return false;
}

static bool inside_hole(const struct ept_identity_params *prm, u64 base, u64 size)
{
	for (unsigned i = 0; i < prm->hole_count; i++)
		if (range_within(base, size, prm->holes[i].base, prm->holes[i].size))
			return true;
	return false;
}

static bool touches_read_only(const struct ept_identity_params *prm, u64 base, u64 size)
{
	for (unsigned i = 0; i < prm->read_only_count; i++)
		if (ranges_overlap(base, size, prm->read_only_pages[i] & ~(PAGE_SIZE - 1), PAGE_SIZE))
			return true;
	return false;
}

static bool leaf_allowed(const struct ept_identity_params *prm, int level)
{
	return level == 1 || (level == 2 && prm->allow_2m) || (level == 3 && prm->allow_1g);
}

/* Fills the table at table_pa (level 4 = PML4 .. 1 = PT) for [base, base + 512 * size). */
static int fill_table(struct page_pool *pool, const struct ept_identity_params *prm, u64 table_pa, int level,
		      u64 base, struct ept_stats *st)
{
	const struct gpt_format *f = prm->format ? prm->format : &ept_format;
	u64 *table = pool->pa_to_va(table_pa);
	u64 size = gpt_level_size(level);
	for (unsigned i = 0; i < EPT_ENTRIES; i++) {
		u64 addr = base + i * size;
		if (addr >= prm->top || inside_hole(prm, addr, size))
			continue; /* absent */
		bool read_only = touches_read_only(prm, addr, size);
		if (level < 4 && leaf_allowed(prm, level) && addr + size <= prm->top && !touches_hole(prm, addr, size) &&
		    (level == 1 || !read_only)) {
			int type = mtrr_range_type(prm->mtrr, addr, size);
			if (type >= 0) {
				table[i] = addr | (f->leaf_bits(type) & ~(read_only ? f->write : 0)) |
					   (level > 1 ? EPT_LARGE_PAGE : 0);
				if (level == 3)
					st->leaves_1g++;
				else if (level == 2)
					st->leaves_2m++;
				else
					st->leaves_4k++;
				continue;
			}
		}
		if (level == 1)
			return -HV_EINVAL; /* a 4 KiB page always has one type: cannot happen */
		u64 child = page_pool_alloc(pool);
		if (!child)
			return -HV_ENOMEM;
		st->tables++;
		table[i] = child | f->table_bits;
		int r = fill_table(pool, prm, child, level - 1, addr, st);
		if (r)
			return r;
	}
	return 0;
}

int ept_build_identity(struct page_pool *pool, const struct ept_identity_params *prm, u64 *pml4_pa,
		       struct ept_stats *stats)
{
	struct ept_stats local = {0};
	if (prm->top == 0 || prm->top > (1ull << 48) || (prm->top & (PAGE_SIZE - 1)))
		return -HV_EINVAL;
	u64 root = page_pool_alloc(pool);
	if (!root)
		return -HV_ENOMEM;
	local.tables = 1;
	int r = fill_table(pool, prm, root, 4, 0, &local);
	if (r) {
		gpt_free_tables(pool, prm->format ? prm->format : &ept_format, root);
		return r;
	}
	*pml4_pa = root;
	if (stats)
		*stats = local;
	return 0;
}

static void free_level(struct page_pool *pool, const struct gpt_format *f, u64 table_pa, int level)
{
	u64 *table = pool->pa_to_va(table_pa);
	if (level > 1) {
		for (unsigned i = 0; i < EPT_ENTRIES; i++) {
			u64 e = table[i];
			if ((e & f->present) && !(e & EPT_LARGE_PAGE))
				free_level(pool, f, e & EPT_ADDR_MASK, level - 1);
		}
	}
	page_pool_free(pool, table_pa);
}

void gpt_free_tables(struct page_pool *pool, const struct gpt_format *format, u64 pml4_pa)
{
	free_level(pool, format, pml4_pa, 4);
}

void ept_free_tables(struct page_pool *pool, u64 pml4_pa) { gpt_free_tables(pool, &ept_format, pml4_pa); }

/* Tables below (and including) table_pa at level hold no leaf; *count
 * returns how many tables that subtree has. */
static bool subtree_empty(struct page_pool *pool, const struct gpt_format *f, u64 table_pa, int level, u64 *count)
{
	const u64 *table = pool->pa_to_va(table_pa);
	(*count)++;
	for (unsigned i = 0; i < EPT_ENTRIES; i++) {
		u64 e = table[i];
		if (!(e & f->present))
			continue;
		if (level == 1 || (e & EPT_LARGE_PAGE) || !subtree_empty(pool, f, e & EPT_ADDR_MASK, level - 1, count))
			return false;
	}
	return true;
}

u64 gpt_lookup(const struct gpt_format *f, pa_to_va_fn pa_to_va, u64 pml4_pa, u64 gpa, int *level)
{
	u64 table_pa = pml4_pa;
	for (int l = 4; l >= 1; l--) {
		const u64 *table = pa_to_va(table_pa);
		u64 e = table[(gpa >> (12 + 9 * (l - 1))) & 511];
		if (!(e & f->present))
			return 0;
		if (l == 1 || (e & EPT_LARGE_PAGE)) {
			if (level)
				*level = l;
			return e;
		}
		table_pa = e & EPT_ADDR_MASK;
	}
	return 0;
}

static unsigned level_index(u64 gpa, int level) { return (unsigned)((gpa >> (12 + 9 * (level - 1))) & 511); }

/* A new table below the root, charged (see struct ept_charge). */
static int alloc_charged_table(struct page_pool *pool, const struct ept_charge *ch, u64 *pa)
{
	if (*ch->table_pages >= ch->quota)
		return -HV_EDQUOT;
	if (ch->account_pages) {
		/* counted first, so that contexts of one account on other CPUs
		 * never pass the limit together */
		u64 held = __atomic_add_fetch(ch->account_pages, 1, __ATOMIC_RELAXED);
		if (ch->account_limit && held > ch->account_limit) {
			__atomic_sub_fetch(ch->account_pages, 1, __ATOMIC_RELAXED);
			return -HV_EDQUOT;
		}
	}
	*pa = page_pool_alloc_keeping(pool, ch->reserve);
	if (!*pa) {
		if (ch->account_pages)
			__atomic_sub_fetch(ch->account_pages, 1, __ATOMIC_RELAXED);
		return -HV_ENOMEM;
	}
	(*ch->table_pages)++;
	return 0;
}

void ept_uncharge(const struct ept_charge *charge, u64 count)
{
	*charge->table_pages -= count;
	if (charge->account_pages)
		__atomic_sub_fetch(charge->account_pages, count, __ATOMIC_RELAXED);
}

int gpt_map_leaf(struct page_pool *pool, const struct gpt_format *f, u64 pml4_pa, u64 gpa, u64 hpa, int level,
		 u64 leaf_bits, const struct ept_charge *charge)
{
	u64 size = gpt_level_size(level);
	if (level < 1 || level > 3 || (gpa & (size - 1)) || (hpa & (size - 1)) || gpa >= (1ull << 48) ||
	    (hpa & ~EPT_ADDR_MASK) || !(leaf_bits & f->present) || (leaf_bits & ~f->leaf_allowed))
		return -HV_EINVAL;
	u64 table_pa = pml4_pa;
	for (int l = 4; l > level; l--) {
		u64 *table = pool->pa_to_va(table_pa);
		u64 *e = &table[level_index(gpa, l)];
		if (*e & f->present) {
			if (*e & EPT_LARGE_PAGE)
				return -HV_EEXIST; /* a larger leaf covers gpa */
			table_pa = *e & EPT_ADDR_MASK;
			continue;
		}
		u64 child;
		int r = alloc_charged_table(pool, charge, &child);
		if (r)
			return r;
		*e = child | f->table_bits;
		table_pa = child;
	}
	u64 *table = pool->pa_to_va(table_pa);
	u64 *e = &table[level_index(gpa, level)];
	if ((*e & f->present) && level > 1 && !(*e & EPT_LARGE_PAGE)) {
		/* Tables below: replaced only if every smaller page in them is
		 * gone (unmapped since), else smaller pages are mapped there. */
		u64 child = *e & EPT_ADDR_MASK, tables = 0;
		if (!subtree_empty(pool, f, child, level - 1, &tables))
			return -HV_EEXIST;
		*e = 0;
		free_level(pool, f, child, level - 1);
		ept_uncharge(charge, tables);
	}
	*e = hpa | leaf_bits | (level > 1 ? EPT_LARGE_PAGE : 0);
	return 0;
}

static bool table_empty(const struct gpt_format *f, const u64 *table)
{
	for (unsigned i = 0; i < EPT_ENTRIES; i++)
		if (table[i] & f->present)
			return false;
	return true;
}

/* Chains an unlinked, empty table: its entry 0 holds the next one's address,
 * which has no present bit in either format (EPT's R/W/X, NPT's P: the
 * low 12 bits of a page address are 0), so a walk that still reaches it
 * finds nothing. */
static void chain_detached(struct page_pool *pool, u64 table_pa, u64 *detached)
{
	u64 *table = pool->pa_to_va(table_pa);
	table[0] = *detached;
	*detached = table_pa;
}

static u64 unmap_level(struct page_pool *pool, const struct gpt_format *f, u64 table_pa, int level, u64 base, u64 gpa,
		       u64 end, u64 *detached)
{
	u64 *table = pool->pa_to_va(table_pa);
	u64 size = gpt_level_size(level), removed = 0;
	for (unsigned i = 0; i < EPT_ENTRIES; i++) {
		u64 a = base + i * size;
		if (a + size <= gpa || a >= end || !(table[i] & f->present))
			continue;
		if (level == 1 || (table[i] & EPT_LARGE_PAGE)) {
			table[i] = 0;
			removed++;
			continue;
		}
		u64 child = table[i] & EPT_ADDR_MASK;
		removed += unmap_level(pool, f, child, level - 1, a, gpa, end, detached);
		if (table_empty(f, pool->pa_to_va(child))) {
			table[i] = 0;
			chain_detached(pool, child, detached);
		}
	}
	return removed;
}

u64 gpt_unmap_range(struct page_pool *pool, const struct gpt_format *f, u64 pml4_pa, u64 gpa, u64 size, u64 *detached)
{
	if (!size)
		return 0;
	u64 end = gpa + size < gpa ? ~0ull : gpa + size;
	return unmap_level(pool, f, pml4_pa, 4, 0, gpa, end, detached);
}

u64 ept_free_detached(struct page_pool *pool, u64 detached)
{
	u64 count = 0;
	while (detached) {
		u64 next = *(u64 *)pool->pa_to_va(detached);
		page_pool_free(pool, detached);
		detached = next;
		count++;
	}
	return count;
}
