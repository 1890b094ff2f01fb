/* SPDX-License-Identifier: MIT */
/* An sthread's page table (x86-64 4-level paging, SDM Vol. 3A 4.5).
 *
 * Its root starts as a copy of ring 0's root with the user bit cleared in
 * every entry: ring 0's whole address space stays mapped (the CPU needs the
 * IDT, GDT, TSS, trap stack and libdune's entry code before the entry code
 * switches to ring 0's own table), and ring 3 reaches none of it, since an
 * access from ring 3 needs the user bit at every level (4.6.1). A mapping
 * for ring 3 makes the tables on its path the sthread's own (marked
 * PTE_OWNED): copied from ring 0's with no user bit, or split from a big
 * page, or new; only owned tables are ever written or freed. */
#include <errno.h>
#include <string.h>

#include "sthread_priv.h"

#define ADDR_2M 0x000fffffffe00000ull
#define ADDR_1G 0x000fffffc0000000ull

unsigned long pt_tables;

static int index_of(uintptr_t va, int level) { return (int)((va >> (12 + 9 * level)) & 511); }

static ptent_t *table_page(void)
{
	struct page *pg = st_page_alloc(); /* zeroed */
	if (!pg)
		return NULL;
	pt_tables++;
	return (ptent_t *)dune_page2pa(pg);
}

static void table_free(ptent_t *t)
{
	st_page_free(dune_pa2page((physaddr_t)(uintptr_t)t));
	pt_tables--;
}

/* The table *e points to (e is an entry of a level-`level` table, 3 =
 * PML4), made the sthread's own. */
static ptent_t *own(ptent_t *e, int level)
{
	if (*e & PTE_OWNED)
		return (ptent_t *)PTE_ADDR(*e);
	ptent_t *t = table_page();
	if (!t)
		return NULL;
	if (!(*e & PTE_P)) {
		/* nothing there: an empty table */
	} else if (*e & PTE_PS) {
		/* a 1 GiB page (in a PDPT) becomes 512 2 MiB pages, a 2 MiB page
		 * (in a PD) 512 4 KiB pages; bit 7 is PS above and PAT in a PTE */
		uint64_t base = *e & (level == 2 ? ADDR_1G : ADDR_2M), step = level == 2 ? (1ull << 21) : PGSIZE;
		uint64_t flags = (*e & (0xfffull | PTE_NX)) & ~(PTE_U | PTE_OWNED);
		if (level == 1)
			flags &= ~(uint64_t)PTE_PS;
		for (int i = 0; i < 512; i++)
			t[i] = (base + (uint64_t)i * step) | flags;
	} else {
		const ptent_t *src = (const ptent_t *)PTE_ADDR(*e);
		for (int i = 0; i < 512; i++)
			t[i] = src[i] & ~(PTE_U | PTE_OWNED);
	}
	*e = (ptent_t)(uintptr_t)t | PTE_P | PTE_W | PTE_U | PTE_OWNED;
	return t;
}

ptent_t *pt_new_root(void)
{
	ptent_t *root = table_page();
	if (!root)
		return NULL;
	for (int i = 0; i < 512; i++)
		root[i] = pgroot[i] & ~(PTE_U | PTE_OWNED);
	return root;
}

int pt_map(ptent_t *root, uintptr_t va, uint64_t pa, uint64_t flags)
{
	ptent_t *t = root;
	for (int level = 3; level > 0; level--)
		if (!(t = own(&t[index_of(va, level)], level)))
			return -ENOMEM;
	t[index_of(va, 0)] = pa | flags;
	return 0;
}

ptent_t *pt_user_leaf(ptent_t *root, uintptr_t va)
{
	ptent_t *t = root;
	for (int level = 3; level >= 0; level--) {
		ptent_t *e = &t[index_of(va, level)];
		if ((*e & (PTE_P | PTE_U)) != (PTE_P | PTE_U))
			return NULL;
		if (level == 0 || (*e & PTE_PS))
			return e;
		t = (ptent_t *)PTE_ADDR(*e);
	}
	return NULL;
}

static void free_tables(ptent_t *t, int level)
{
	if (level > 0)
		for (int i = 0; i < 512; i++)
			if (t[i] & PTE_OWNED)
				free_tables((ptent_t *)PTE_ADDR(t[i]), level - 1);
	table_free(t);
}

void pt_free(ptent_t *root) { free_tables(root, 3); }

static ptent_t *clone_table(const ptent_t *t, int level)
{
	ptent_t *c = table_page();
	if (!c)
		return NULL;
	memcpy(c, t, PGSIZE);
	if (level == 0)
		return c;
	for (int i = 0; i < 512; i++) {
		if (!(c[i] & PTE_OWNED))
			continue;
		ptent_t *sub = clone_table((const ptent_t *)PTE_ADDR(c[i]), level - 1);
		if (!sub) {
			for (int j = i; j < 512; j++) /* not copied yet: not ours to free */
				if (c[j] & PTE_OWNED)
					c[j] = 0;
			free_tables(c, level);
			return NULL;
		}
		c[i] = (ptent_t)(uintptr_t)sub | (c[i] & ~PTE_ADDR(~0ull));
	}
	return c;
}

ptent_t *pt_clone(const ptent_t *root) { return clone_table(root, 3); }

void *pt_pa_to_va(uint64_t pa)
{
	uint64_t stack_gpa = phys_limit - GPA_STACK_SIZE, map_gpa = stack_gpa - GPA_MAP_SIZE;
	if (pa >= stack_gpa)
		return (void *)(stack_base + (pa - stack_gpa));
	if (pa >= map_gpa)
		return (void *)(mmap_base + (pa - map_gpa));
	return (void *)(uintptr_t)pa;
}
