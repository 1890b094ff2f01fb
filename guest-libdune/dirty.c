/* SPDX-License-Identifier: MIT */
/* Reading and clearing the dirty bits of the process's own page table, the
 * Dune paper's garbage-collector use (OSDI 2012, 6.4): the CPU sets a
 * leaf entry's D bit on the first write through it (SDM Vol. 3A 4.8), so
 * which pages were written since the last look costs a page-table walk,
 * not a write-protection fault per page. */
#include <errno.h>

#include "dune.h"

#define ADDR_2M 0x000fffffffe00000ull
#define ADDR_1G 0x000fffffc0000000ull
#define PDE_PAT (1ull << 12) /* PAT in a 2 MiB or 1 GiB entry; bit 7 in a 4 KiB one (SDM 4.5, tables 4-17/4-19) */
#define PTE_PAT PTE_PS
#define FLUSH_ALL_AFTER 32  /* INVLPGs cost more than a CR3 reload past this */

/* The big page *e (level 2: 1 GiB, 1: 2 MiB) as 512 entries one level
 * down, with its rights, A and D bits and memory type. */
static int split(ptent_t *e, int level)
{
	struct page *pg = dune_page_alloc();
	if (!pg)
		return -ENOMEM;
	ptent_t *t = (ptent_t *)dune_page2pa(pg);
	uint64_t base = *e & (level == 2 ? ADDR_1G : ADDR_2M), step = level == 2 ? (1ull << 21) : PGSIZE;
	uint64_t flags = *e & (0xfffull | PTE_NX);
	if (level == 1) {
		flags &= ~(uint64_t)PTE_PS;
		if (*e & PDE_PAT)
			flags |= PTE_PAT;
	} else if (*e & PDE_PAT) {
		flags |= PDE_PAT;
	}
	for (int i = 0; i < 512; i++)
		t[i] = (base + (uint64_t)i * step) | flags;
	/* the table's own entry: what the big page allowed (4.6: rights combine) */
	*e = (ptent_t)(uintptr_t)t | (*e & (PTE_P | PTE_W | PTE_U | PTE_A));
	return 0;
}

/* The 4 KiB leaf for va, splitting big pages on the way; NULL if nothing
 * maps va. *split_any tells that a split happened. */
static ptent_t *leaf(ptent_t *root, uintptr_t va, bool *split_any, int *err)
{
	ptent_t *t = root;
	for (int level = 3; level > 0; level--) {
		ptent_t *e = &t[(va >> (12 + 9 * level)) & 511];
		if (!(*e & PTE_P))
			return NULL;
		if (*e & PTE_PS) {
			if ((*err = split(e, level)))
				return NULL;
			*split_any = true;
		}
		t = (ptent_t *)PTE_ADDR(*e);
	}
	ptent_t *e = &t[(va >> 12) & 511];
	return (*e & PTE_P) ? e : NULL;
}

long dune_vm_collect_dirty(ptent_t *root, void *va, size_t len, void (*cb)(void *page, void *arg), void *arg)
{
	uintptr_t start = (uintptr_t)va, end = start + len;
	if ((start | len) & (PGSIZE - 1) || end < start)
		return -EINVAL;
	bool split_any = false;
	long dirty = 0;
	int err = 0;
	uintptr_t cleared[FLUSH_ALL_AFTER];
	for (uintptr_t p = start; p < end; p += PGSIZE) {
		ptent_t *e = leaf(root, p, &split_any, &err);
		if (err)
			return err;
		if (!e || !(*e & PTE_D))
			continue;
		/* 4.8: the D bit is set by a write through an entry the TLB holds
		 * without it; cleared here, it needs that entry gone (4.10.4.2) */
		__atomic_and_fetch(e, ~(ptent_t)PTE_D, __ATOMIC_RELAXED);
		if (dirty < FLUSH_ALL_AFTER)
			cleared[dirty] = p;
		dirty++;
		if (cb)
			cb((void *)p, arg);
	}
	if (split_any || dirty > FLUSH_ALL_AFTER)
		dune_flush_tlb();
	else
		for (long i = 0; i < dirty; i++)
			dune_flush_tlb_one(cleared[i]);
	return dirty;
}
