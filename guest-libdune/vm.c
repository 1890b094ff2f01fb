/* SPDX-License-Identifier: MIT */
/* Guest page tables (x86-64 4-level paging), built by the process itself. */
#include <errno.h>
#include <string.h>

#include "dune.h"

static int level_shift(int level) { return 12 + 9 * level; } /* level 0 = PT .. 3 = PML4 */

static ptent_t perm_to_pte(int perm)
{
	ptent_t pte = 0;
	if (perm & PERM_R)
		pte |= PTE_P;
	if (perm & PERM_W)
		pte |= PTE_W;
	if (!(perm & PERM_X))
		pte |= PTE_NX;
	if (perm & PERM_U)
		pte |= PTE_U;
	if (perm & PERM_UC)
		pte |= PTE_PCD;
	if (perm & PERM_COW)
		pte |= PTE_COW;
	if (perm & PERM_USR1)
		pte |= 1ull << 62;
	if (perm & PERM_USR2)
		pte |= 1ull << 61;
	return pte;
}

/* Walks to the entry for va at the level create asks for (PT for
 * CREATE_NORMAL, PD for CREATE_BIG, PDPT for CREATE_BIG_1GB), or to the big
 * page above it that covers va; *level_out says which level it stopped at. */
static int walk(ptent_t *root, void *va, int create, ptent_t **pte_out, int *level_out)
{
	int stop = create == CREATE_BIG ? 1 : create == CREATE_BIG_1GB ? 2 : 0;
	ptent_t *table = root;
	for (int level = 3; level > stop; level--) {
		ptent_t *e = &table[((uintptr_t)va >> level_shift(level)) & 511];
		if (!(*e & PTE_P)) {
			if (create == CREATE_NONE)
				return -ENOENT;
			struct page *pg = dune_page_alloc();
			if (!pg)
				return -ENOMEM;
			*e = dune_page2pa(pg) | PTE_P | PTE_W | PTE_U;
		} else if (*e & PTE_PS) {
			*pte_out = e; /* a big page covers va */
			*level_out = level;
			return 0;
		}
		table = (ptent_t *)PTE_ADDR(*e);
	}
	*pte_out = &table[((uintptr_t)va >> level_shift(stop)) & 511];
	*level_out = stop;
	return 0;
}

int dune_vm_lookup(ptent_t *root, void *va, int create, ptent_t **pte_out)
{
	int level;
	return walk(root, va, create, pte_out, &level);
}

int dune_vm_map_phys(ptent_t *root, void *va, size_t len, void *pa, int perm)
{
	uintptr_t v = (uintptr_t)va, p = (uintptr_t)pa, end = v + len;
	size_t step = (perm & PERM_BIG_1GB) ? (1ul << 30) : (perm & PERM_BIG) ? (1ul << 21) : PGSIZE;
	int create = step == (1ul << 30) ? CREATE_BIG_1GB : step == (1ul << 21) ? CREATE_BIG : CREATE_NORMAL;
	if (!(perm & PERM_R) && (perm & ~PERM_R))
		return -EINVAL;
	if ((v | p | len) & (step - 1))
		return -EINVAL;
	int want_level = create == CREATE_BIG_1GB ? 2 : create == CREATE_BIG ? 1 : 0, level;
	for (; v < end; v += step, p += step) {
		ptent_t *pte;
		int r = walk(root, (void *)v, create, &pte, &level);
		if (r)
			return r;
		if (level != want_level)
			return -EEXIST; /* a bigger page maps va already: not split */
		*pte = p | perm_to_pte(perm) | (step > PGSIZE ? PTE_PS : 0);
	}
	return 0;
}

int dune_vm_map_pages(ptent_t *root, void *va, size_t len, int perm)
{
	if (!(perm & PERM_R) && (perm & ~PERM_R))
		return -EINVAL;
	for (uintptr_t v = (uintptr_t)va; v < (uintptr_t)va + len; v += PGSIZE) {
		ptent_t *pte;
		int level;
		int r = walk(root, (void *)v, CREATE_NORMAL, &pte, &level);
		if (r)
			return r;
		if (level != 0)
			return -EEXIST;
		struct page *pg = dune_page_alloc();
		if (!pg)
			return -ENOMEM;
		*pte = dune_page2pa(pg) | perm_to_pte(perm);
	}
	return 0;
}

int dune_vm_mprotect(ptent_t *root, void *va, size_t len, int perm)
{
	if (!(perm & PERM_R) && (perm & PERM_W))
		return -EINVAL;
	for (uintptr_t v = (uintptr_t)va; v < (uintptr_t)va + len; v += PGSIZE) {
		ptent_t *pte;
		if (dune_vm_lookup(root, (void *)v, CREATE_NONE, &pte) || !(*pte & PTE_P))
			continue;
		*pte = PTE_ADDR(*pte) | (*pte & PTE_PS) | perm_to_pte(perm);
	}
	dune_flush_tlb();
	return 0;
}

void dune_vm_unmap(ptent_t *root, void *va, size_t len)
{
	for (uintptr_t v = (uintptr_t)va; v < (uintptr_t)va + len; v += PGSIZE) {
		ptent_t *pte;
		if (dune_vm_lookup(root, (void *)v, CREATE_NONE, &pte) || !(*pte & PTE_P))
			continue;
		if (!(*pte & PTE_PS) && dune_page_isfrompool(PTE_ADDR(*pte)))
			dune_page_put(dune_pa2page(PTE_ADDR(*pte)));
		*pte = 0;
	}
	dune_flush_tlb();
}

/* Frees the tables, and drops the references their 4 KiB leaves hold on
 * pool pages (as dune_vm_unmap does). */
static void free_level(ptent_t *table, int level)
{
	for (int i = 0; i < 512; i++) {
		ptent_t e = table[i];
		if (!(e & PTE_P))
			continue;
		if (level > 0 && !(e & PTE_PS))
			free_level((ptent_t *)PTE_ADDR(e), level - 1);
		else if (level == 0 && dune_page_isfrompool(PTE_ADDR(e)))
			dune_page_put(dune_pa2page(PTE_ADDR(e)));
	}
	dune_page_put(dune_pa2page((physaddr_t)table));
}

void dune_vm_free(ptent_t *root) { free_level(root, 3); }

/* Calls cb on every present leaf (4 KiB PTE, or a big page's PDE/PDPTE)
 * mapping an address in [start, end); a non-zero return stops the walk and
 * is returned. */
static int walk_level(ptent_t *table, int level, uintptr_t base, uintptr_t start, uintptr_t end, page_walk_cb cb,
		      const void *arg)
{
	uintptr_t size = 1ul << level_shift(level);
	for (int i = 0; i < 512; i++) {
		uintptr_t va = base + (uintptr_t)i * size;
		if (level == 3 && i >= 256)
			va |= 0xffff000000000000ul; /* canonical upper half */
		if (va + size <= start || va >= end || !(table[i] & PTE_P))
			continue;
		int r = (level == 0 || (table[i] & PTE_PS))
				? cb(arg, &table[i], (void *)va)
				: walk_level((ptent_t *)PTE_ADDR(table[i]), level - 1, va, start, end, cb, arg);
		if (r)
			return r;
	}
	return 0;
}

int dune_vm_page_walk(ptent_t *root, void *start_va, void *end_va, page_walk_cb cb, const void *arg)
{
	return walk_level(root, 3, 0, (uintptr_t)start_va, (uintptr_t)end_va, cb, arg);
}

/* A copy of the table structure; leaves are shared (pool pages get a
 * reference). The new root and tables come from the pool. */
static ptent_t *clone_level(const ptent_t *table, int level)
{
	struct page *pg = dune_page_alloc();
	if (!pg)
		return NULL;
	ptent_t *copy = (ptent_t *)dune_page2pa(pg);
	for (int i = 0; i < 512; i++) {
		ptent_t e = table[i];
		copy[i] = 0;
		if (!(e & PTE_P))
			continue;
		if (level > 0 && !(e & PTE_PS)) {
			ptent_t *child = clone_level((const ptent_t *)PTE_ADDR(e), level - 1);
			if (!child) {
				free_level(copy, level);
				return NULL;
			}
			copy[i] = (physaddr_t)child | (e & ~PTE_ADDR(~0ull));
			continue;
		}
		if (!(e & PTE_PS) && dune_page_isfrompool(PTE_ADDR(e)))
			dune_page_get(dune_pa2page(PTE_ADDR(e)));
		copy[i] = e;
	}
	return copy;
}

ptent_t *dune_vm_clone(ptent_t *root) { return clone_level(root, 3); }

/* Copy-on-write: a write to a page mapped PERM_COW gets a private copy
 * from the pool, writable. Other faults are not ours: the process dies, as
 * upstream's. */
void dune_vm_default_pgflt_handler(uintptr_t addr, uint64_t fec)
{
	ptent_t *pte;
	if (!(fec & FEC_W) || dune_vm_lookup(pgroot, (void *)addr, CREATE_NONE, &pte) || !(*pte & PTE_P) ||
	    !(*pte & PTE_COW) || (*pte & PTE_PS)) {
		dune_printf("dune: page fault at 0x%lx (error 0x%lx) is not copy-on-write\n", addr, (unsigned long)fec);
		dune_die();
	}
	physaddr_t old = PTE_ADDR(*pte);
	struct page *pg = dune_page_alloc();
	if (!pg) {
		dune_printf("dune: out of pool pages for copy-on-write at 0x%lx\n", addr);
		dune_die();
	}
	memcpy((void *)dune_page2pa(pg), (void *)old, PGSIZE);
	*pte = dune_page2pa(pg) | (*pte & ~PTE_ADDR(~0ull) & ~(ptent_t)PTE_COW) | PTE_W;
	if (dune_page_isfrompool(old))
		dune_page_put(dune_pa2page(old));
	dune_flush_tlb_one(addr);
}
