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

static void free_level(ptent_t *table, int level)
{
	for (int i = 0; i < 512 && level > 0; i++)
		if ((table[i] & PTE_P) && !(table[i] & PTE_PS))
			free_level((ptent_t *)PTE_ADDR(table[i]), level - 1);
	dune_page_put(dune_pa2page((physaddr_t)table));
}

void dune_vm_free(ptent_t *root) { free_level(root, 3); }
