/* SPDX-License-Identifier: MIT */
/* The sandboxee's memory. The process's page tables give the user bit only
 * to ranges registered here (the program's segments, its stack, brk and what
 * its own mmap calls returned), so ring 3 reaches nothing else; the monitor's
 * own memory stays supervisor-only (mapped on its first ring-0 touch by
 * main.c's fault handler). Every memory call of the sandboxee is checked
 * against this list, so it cannot unmap, remap or change the monitor's
 * memory, and every pointer it passes to Linux must lie in it. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "sandbox.h"

#define MAX_REGIONS 4096

struct region {
	uintptr_t start, end;
	int prot;
};

static struct region regions[MAX_REGIONS]; /* sorted by start, disjoint */
static unsigned nregions;
static uintptr_t brk_base, brk_cur;

int umem_init(void)
{
	nregions = 0;
	return 0;
}

bool umem_in_window(uintptr_t p, size_t len)
{
	uintptr_t end = p + len;
	if (end < p)
		return false;
	if (p >= stack_base)
		return end <= stack_base + GPA_STACK_SIZE;
	if (p >= mmap_base)
		return end <= mmap_base + GPA_MAP_SIZE;
	/* the identity window, minus libdune's page pool */
	if (end > phys_limit - GPA_STACK_SIZE - GPA_MAP_SIZE || end > mmap_base)
		return false;
	return end <= PAGEBASE || p >= PAGEBASE + MAX_PAGES * PGSIZE;
}

static bool in_dune; /* umem_entered: the page tables are live, flush after changes */

void umem_entered(void) { in_dune = true; }

/* Clears the page-table entries of [start, end); none of them maps a page
 * of libdune's pool (umem_in_window keeps the sandboxee out of it). */
static void clear_ptes(uintptr_t start, uintptr_t end)
{
	for (uintptr_t v = start; v < end; v += SB_PAGE) {
		ptent_t *pte;
		if (!dune_vm_lookup(pgroot, (void *)v, CREATE_NONE, &pte))
			*pte = 0;
	}
}

static void flush(void)
{
	if (in_dune)
		dune_flush_tlb();
}

/* Page-table entries for [start, end) as prot says, user bit set; none
 * for PROT_NONE. x86 has no write-only or execute-only pages. */
static int set_ptes(uintptr_t start, uintptr_t end, int prot)
{
	clear_ptes(start, end);
	int r = 0;
	if (prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) {
		int perm = PERM_R | PERM_U | ((prot & PROT_WRITE) ? PERM_W : 0) | ((prot & PROT_EXEC) ? PERM_X : 0);
		r = dune_vm_map_phys(pgroot, (void *)start, end - start, (void *)dune_va_to_pa((void *)start), perm);
	}
	flush();
	return r;
}

/* Removes [start, end) from the list, splitting regions at its edges. */
static int cut(uintptr_t start, uintptr_t end)
{
	for (unsigned i = 0; i < nregions; i++) {
		struct region *g = &regions[i];
		if (g->end <= start || g->start >= end)
			continue;
		if (g->start < start && g->end > end) { /* a hole in the middle: split */
			if (nregions == MAX_REGIONS)
				return -ENOMEM;
			memmove(&regions[i + 2], &regions[i + 1], (nregions - i - 1) * sizeof(*g));
			regions[i + 1] = (struct region){end, g->end, g->prot};
			g->end = start;
			nregions++;
			return 0;
		}
		if (g->start < start) {
			g->end = start;
		} else if (g->end > end) {
			g->start = end;
		} else {
			memmove(g, g + 1, (nregions - i - 1) * sizeof(*g));
			nregions--;
			i--;
		}
	}
	return 0;
}

static int insert(uintptr_t start, uintptr_t end, int prot)
{
	if (nregions == MAX_REGIONS)
		return -ENOMEM;
	unsigned i = 0;
	while (i < nregions && regions[i].start < start)
		i++;
	memmove(&regions[i + 1], &regions[i], (nregions - i) * sizeof(regions[0]));
	regions[i] = (struct region){start, end, prot};
	nregions++;
	return 0;
}

int umem_add(uintptr_t start, size_t len, int prot)
{
	uintptr_t end = SB_PAGE_UP(start + len);
	start = SB_PAGE_DOWN(start);
	if (!umem_in_window(start, end - start))
		return -ENOMEM;
	int r = cut(start, end);
	if (!r)
		r = insert(start, end, prot);
	return r ? r : set_ptes(start, end, prot);
}

/* Whether all of [start, end) is the sandboxee's (any protection). */
static bool owned(uintptr_t start, uintptr_t end)
{
	uintptr_t at = start;
	for (unsigned i = 0; i < nregions && at < end; i++) {
		if (regions[i].end <= at)
			continue;
		if (regions[i].start > at)
			return false;
		at = regions[i].end;
	}
	return at >= end;
}

bool umem_owns(uintptr_t p, size_t len)
{
	uintptr_t end = SB_PAGE_UP(p + len);
	return end >= p && owned(SB_PAGE_DOWN(p), end);
}

static bool overlaps_any(uintptr_t start, uintptr_t end)
{
	for (unsigned i = 0; i < nregions; i++)
		if (regions[i].start < end && regions[i].end > start)
			return true;
	return false;
}

bool umem_ok(uintptr_t p, size_t len, bool write)
{
	if (!len)
		return true;
	uintptr_t end = p + len;
	if (end < p)
		return false;
	uintptr_t at = p;
	for (unsigned i = 0; i < nregions && at < end; i++) {
		const struct region *g = &regions[i];
		if (g->end <= at)
			continue;
		if (g->start > at || !(g->prot & PROT_READ) || (write && !(g->prot & PROT_WRITE)))
			return false;
		at = g->end;
	}
	return at >= end;
}

int umem_strcpy(char *buf, size_t n, uintptr_t p)
{
	for (size_t i = 0; i < n; i++) {
		if ((i == 0 || ((p + i) & (SB_PAGE - 1)) == 0) && !umem_ok(p + i, 1, false))
			return -EFAULT;
		buf[i] = *(const char *)(p + i);
		if (!buf[i])
			return 0;
	}
	return -ENAMETOOLONG;
}

/* mmap: a hint is dropped (Linux then picks an address in its mmap area,
 * which is a guest-physical window); MAP_FIXED may replace only the
 * sandboxee's own memory, else it must land where nothing is mapped. */
long umem_mmap(uintptr_t addr, size_t len, int prot, int flags, int fd, long off)
{
	if (!len)
		return -EINVAL;
	size_t size = SB_PAGE_UP(len);
	if (size < len)
		return -ENOMEM;
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		if (addr & (SB_PAGE - 1))
			return -EINVAL;
		if (!umem_in_window(addr, size))
			return -ENOMEM;
		if (owned(addr, addr + size))
			flags = (flags & ~MAP_FIXED_NOREPLACE) | MAP_FIXED;
		else if (!overlaps_any(addr, addr + size))
			flags = (flags & ~MAP_FIXED) | MAP_FIXED_NOREPLACE;
		else
			return -ENOMEM; /* partly the sandboxee's, partly not */
	} else {
		addr = 0;
	}
	long r = sb_syscall(SYS_mmap, (long)addr, (long)size, prot, flags & ~MAP_GROWSDOWN, fd, off);
	if (r < 0 && r > -4096)
		return r;
	if ((flags & MAP_FIXED_NOREPLACE) && !(flags & MAP_FIXED) && addr && (uintptr_t)r != addr) {
		sb_syscall(SYS_munmap, r, (long)size, 0, 0, 0, 0); /* kernels before 4.17 ignore the flag */
		return -EEXIST;
	}
	if (!umem_in_window((uintptr_t)r, size) || umem_add((uintptr_t)r, size, prot)) {
		sb_syscall(SYS_munmap, r, (long)size, 0, 0, 0, 0);
		return -ENOMEM;
	}
	return r;
}

long umem_munmap(uintptr_t addr, size_t len)
{
	uintptr_t end = SB_PAGE_UP(addr + len);
	if ((addr & (SB_PAGE - 1)) || !len || end < addr)
		return -EINVAL;
	/* Only the sandboxee's own pages; holes in the range are fine (as
	 * Linux). Its page-table entries and its claim go first: once Linux
	 * may hand the addresses to the monitor, no user entry may lead there
	 * (a munmap that then fails leaves memory the sandboxee lost, never
	 * memory it kept too much of). At most 64 regions at once. */
	struct region gone[64];
	unsigned n = 0;
	for (unsigned i = 0; i < nregions; i++) {
		uintptr_t s = regions[i].start > addr ? regions[i].start : addr;
		uintptr_t e = regions[i].end < end ? regions[i].end : end;
		if (s >= e)
			continue;
		if (n == sizeof(gone) / sizeof(gone[0]))
			return -ENOMEM;
		gone[n++] = (struct region){s, e, 0};
	}
	long r = cut(addr, end);
	if (r)
		return r;
	for (unsigned i = 0; i < n; i++)
		clear_ptes(gone[i].start, gone[i].end);
	flush();
	for (unsigned i = 0; i < n; i++) {
		long u = sb_syscall(SYS_munmap, (long)gone[i].start, (long)(gone[i].end - gone[i].start), 0, 0, 0, 0);
		if (u && !r)
			r = u;
	}
	return r;
}

long umem_mprotect(uintptr_t addr, size_t len, int prot)
{
	uintptr_t end = SB_PAGE_UP(addr + len);
	if (addr & (SB_PAGE - 1) || end < addr)
		return -EINVAL;
	if (!owned(addr, end))
		return -ENOMEM;
	long r = sb_syscall(SYS_mprotect, (long)addr, (long)(end - addr), prot, 0, 0, 0);
	if (r)
		return r;
	r = cut(addr, end);
	if (!r)
		r = insert(addr, end, prot);
	return r ? r : set_ptes(addr, end, prot);
}

/* mremap of the sandboxee's own memory, all of one protection; a move
 * (MREMAP_MAYMOVE) goes where Linux's mmap area has room. MREMAP_FIXED
 * and MREMAP_DONTUNMAP are not done. */
long umem_mremap(uintptr_t old, size_t old_len, size_t new_len, int flags)
{
	uintptr_t old_end = SB_PAGE_UP(old + old_len);
	new_len = SB_PAGE_UP(new_len);
	if ((old & (SB_PAGE - 1)) || !new_len || (flags & ~MREMAP_MAYMOVE) || old_end < old)
		return -EINVAL;
	if (!owned(old, old_end))
		return -EFAULT;
	int prot = -1;
	for (unsigned i = 0; i < nregions; i++) {
		if (regions[i].end <= old || regions[i].start >= old_end)
			continue;
		if (prot != -1 && regions[i].prot != prot)
			return -EINVAL; /* one protection only */
		prot = regions[i].prot;
	}
	long r = sb_syscall(SYS_mremap, (long)old, (long)(old_end - old), (long)new_len, flags, 0, 0);
	if (r < 0 && r > -4096)
		return r;
	clear_ptes(old, old_end);
	flush();
	cut(old, old_end);
	if (!umem_in_window((uintptr_t)r, new_len) || umem_add((uintptr_t)r, new_len, prot)) {
		sb_syscall(SYS_munmap, r, (long)new_len, 0, 0, 0, 0);
		return -ENOMEM;
	}
	return r;
}

/* brk inside the reservation made at load time (PROT_NONE until used). */
void umem_set_brk_area(uintptr_t start) { brk_base = brk_cur = start; }

long umem_brk(uintptr_t want)
{
	if (want < brk_base || want > brk_base + SB_BRK_MAX)
		return (long)brk_cur;
	uintptr_t old_top = SB_PAGE_UP(brk_cur), new_top = SB_PAGE_UP(want);
	if (new_top > old_top && umem_mprotect(old_top, new_top - old_top, PROT_READ | PROT_WRITE))
		return (long)brk_cur;
	if (new_top < old_top) {
		/* give the pages back: fresh zero pages if it grows again, as brk */
		sb_syscall(SYS_madvise, (long)new_top, (long)(old_top - new_top), MADV_DONTNEED, 0, 0, 0);
		umem_mprotect(new_top, old_top - new_top, PROT_NONE);
	}
	brk_cur = want;
	return (long)brk_cur;
}
