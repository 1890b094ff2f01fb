/* SPDX-License-Identifier: MIT */
/* The sandboxee's memory. The process's page tables give the user bit only
 * to ranges registered here (the program's segments, its stack, brk and what
 * its own mmap calls returned), so ring 3 reaches nothing else; the monitor's
 * own memory stays supervisor-only (mapped on its first ring-0 touch by
 * main.c's fault handler). Every memory call of the sandboxee is checked
 * against this list, so it cannot unmap, remap or change the monitor's
 * memory, and every pointer it passes to Linux must lie in it.
 *
 * Addresses the sandboxee once had never go back to Linux: munmap puts a
 * PROT_NONE reservation in their place (kept here as "free"), and its later
 * mmaps are placed in free ranges first. With threads, another thread's
 * system call may still be using a pointer the check passed a moment ago;
 * since Linux never gives those addresses to the monitor, the worst it can
 * reach is the sandboxee's own memory, or nothing (-EFAULT from Linux).
 *
 * One lock (recursive: a ring-0 fault inside it takes it again) covers the
 * list and the page tables, which main.c's fault handler and each new
 * thread's dune_enter also write. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "sandbox.h"

#define MAX_REGIONS 8192
#define RESERVE_CHUNK (1ul << 30) /* addresses taken from Linux at a time for non-fixed mmaps */

enum { R_FREE = 1, R_ANON = 2 };

struct region {
	uintptr_t start, end;
	int prot;
	int flags; /* R_FREE: reserved, PROT_NONE, not the sandboxee's; R_ANON: private anonymous */
};

static struct region regions[MAX_REGIONS]; /* sorted by start, disjoint */
static unsigned nregions;
static uintptr_t brk_base, brk_cur;
static pthread_mutex_t lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

void sb_lock(void) { pthread_mutex_lock(&lock); }
void sb_unlock(void) { pthread_mutex_unlock(&lock); }

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

static int clear_one(const void *arg, ptent_t *pte, void *va)
{
	(void)arg, (void)va;
	*pte = 0;
	return 0;
}

/* Clears the page-table entries of [start, end), visiting only present
 * ones (a 1 GiB reservation has none); none of them maps a page of
 * libdune's pool (umem_in_window keeps the sandboxee out of it). */
static void clear_ptes(uintptr_t start, uintptr_t end)
{
	dune_vm_page_walk(pgroot, (void *)start, (void *)end, clear_one, NULL);
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

/* The first region that ends above addr (nregions if none). */
static unsigned first_ending_above(uintptr_t addr)
{
	unsigned lo = 0, hi = nregions;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (regions[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Removes [start, end) from the list, splitting regions at its edges. */
static int cut(uintptr_t start, uintptr_t end)
{
	for (unsigned i = first_ending_above(start); i < nregions && regions[i].start < end; i++) {
		struct region *g = &regions[i];
		if (g->start < start && g->end > end) { /* a hole in the middle: split */
			if (nregions == MAX_REGIONS)
				return -ENOMEM;
			memmove(&regions[i + 2], &regions[i + 1], (nregions - i - 1) * sizeof(*g));
			regions[i + 1] = *g;
			regions[i + 1].start = end;
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

static int insert(uintptr_t start, uintptr_t end, int prot, int flags)
{
	if (nregions == MAX_REGIONS)
		return -ENOMEM;
	unsigned i = first_ending_above(start);
	memmove(&regions[i + 1], &regions[i], (nregions - i) * sizeof(regions[0]));
	regions[i] = (struct region){start, end, prot, flags};
	nregions++;
	return 0;
}

/* Joins the free range at i with free neighbours (munmap after munmap
 * would otherwise fill the list). */
static void merge_free(unsigned i)
{
	if (i + 1 < nregions && (regions[i + 1].flags & R_FREE) && regions[i + 1].start == regions[i].end) {
		regions[i].end = regions[i + 1].end;
		memmove(&regions[i + 1], &regions[i + 2], (nregions - i - 2) * sizeof(regions[0]));
		nregions--;
	}
	if (i > 0 && (regions[i - 1].flags & R_FREE) && regions[i - 1].end == regions[i].start) {
		regions[i - 1].end = regions[i].end;
		memmove(&regions[i], &regions[i + 1], (nregions - i - 1) * sizeof(regions[0]));
		nregions--;
	}
}

/* [start, end) in the list as prot and flags, its entries to match. */
static int claim(uintptr_t start, uintptr_t end, int prot, int flags)
{
	int r = cut(start, end);
	if (!r)
		r = insert(start, end, prot, flags);
	if (r)
		return r;
	if (flags & R_FREE)
		merge_free(first_ending_above(start));
	return set_ptes(start, end, (flags & R_FREE) ? PROT_NONE : prot);
}

int umem_add(uintptr_t start, size_t len, int prot)
{
	uintptr_t end = SB_PAGE_UP(start + len);
	start = SB_PAGE_DOWN(start);
	if (!umem_in_window(start, end - start))
		return -ENOMEM;
	sb_lock();
	int r = claim(start, end, prot, R_ANON); /* the loader's memory: private anonymous */
	sb_unlock();
	return r;
}

/* Whether all of [start, end) is in the list, counting free ranges when
 * with_free. */
static bool covered(uintptr_t start, uintptr_t end, bool with_free)
{
	uintptr_t at = start;
	for (unsigned i = first_ending_above(start); i < nregions && at < end; i++) {
		if (regions[i].start > at || (!with_free && (regions[i].flags & R_FREE)))
			return false;
		at = regions[i].end;
	}
	return at >= end;
}

static bool owned(uintptr_t start, uintptr_t end) { return covered(start, end, false); }

bool umem_owns(uintptr_t p, size_t len)
{
	uintptr_t end = SB_PAGE_UP(p + len);
	sb_lock();
	bool r = end >= p && owned(SB_PAGE_DOWN(p), end);
	sb_unlock();
	return r;
}

static bool overlaps_any(uintptr_t start, uintptr_t end)
{
	unsigned i = first_ending_above(start);
	return i < nregions && regions[i].start < end;
}

/* Whether any of [start, end) is the sandboxee's own (not free). */
static bool owns_any(uintptr_t start, uintptr_t end)
{
	for (unsigned i = first_ending_above(start); i < nregions && regions[i].start < end; i++)
		if (!(regions[i].flags & R_FREE))
			return true;
	return false;
}

static bool accessible(uintptr_t p, size_t len, bool write)
{
	uintptr_t end = p + len, at = p;
	if (end < p)
		return false;
	for (unsigned i = first_ending_above(p); i < nregions && at < end; i++) {
		const struct region *g = &regions[i];
		if (g->start > at || (g->flags & R_FREE) || !(g->prot & PROT_READ) || (write && !(g->prot & PROT_WRITE)))
			return false;
		at = g->end;
	}
	return at >= end;
}

bool umem_ok(uintptr_t p, size_t len, bool write)
{
	if (!len)
		return true;
	sb_lock();
	bool r = accessible(p, len, write);
	sb_unlock();
	return r;
}

int umem_strcpy(char *buf, size_t n, uintptr_t p)
{
	int r = -ENAMETOOLONG;
	sb_lock();
	for (size_t i = 0; i < n; i++) {
		if ((i == 0 || ((p + i) & (SB_PAGE - 1)) == 0) && !accessible(p + i, 1, false)) {
			r = -EFAULT;
			break;
		}
		buf[i] = *(const char *)(p + i);
		if (!buf[i]) {
			r = 0;
			break;
		}
	}
	sb_unlock();
	return r;
}

static bool mmap_failed(long r) { return r < 0 && r > -4096; }

/* Addresses from Linux for the sandboxee's mmaps: a PROT_NONE reservation,
 * free in the list. */
static int reserve(size_t size)
{
	size_t len = size > RESERVE_CHUNK ? size : RESERVE_CHUNK;
	long r = dune_passthrough(SYS_mmap, 0, (long)len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mmap_failed(r))
		return (int)r;
	if (!umem_in_window((uintptr_t)r, len) || claim((uintptr_t)r, (uintptr_t)r + len, PROT_NONE, R_FREE)) {
		dune_passthrough(SYS_munmap, r, (long)len, 0, 0, 0, 0);
		return -ENOMEM;
	}
	return 0;
}

/* The top of the highest free range with size bytes, or 0. */
static uintptr_t find_free(size_t size)
{
	for (unsigned i = nregions; i-- > 0;)
		if ((regions[i].flags & R_FREE) && regions[i].end - regions[i].start >= size)
			return regions[i].end - size;
	return 0;
}

/* Gives up [start, end) (the sandboxee's, or a failed fixed mmap's): no
 * user entries, then a PROT_NONE reservation in its place, free in the
 * list. Where the reservation cannot be made the range leaves the list
 * (Linux may then hand it out; nothing of the sandboxee's leads there). */
static void retire(uintptr_t start, uintptr_t end)
{
	if (cut(start, end) || insert(start, end, PROT_NONE, R_FREE))
		cut(start, end);
	clear_ptes(start, end);
	flush();
	long r = dune_passthrough(SYS_mmap, (long)start, (long)(end - start), PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
	if (mmap_failed(r))
		cut(start, end);
}

/* mmap: a hint is dropped; the memory goes to a free range of the
 * sandboxee's (reserved from Linux as needed). MAP_FIXED may replace only
 * the sandboxee's own or free ranges, else it must land where nothing is
 * mapped. */
static long mmap_locked(uintptr_t addr, size_t len, int prot, int flags, int fd, long off)
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
		if (covered(addr, addr + size, true)) {
			if ((flags & MAP_FIXED_NOREPLACE) && owns_any(addr, addr + size))
				return -EEXIST;
			flags = (flags & ~MAP_FIXED_NOREPLACE) | MAP_FIXED;
		} else if (!overlaps_any(addr, addr + size)) {
			flags = (flags & ~MAP_FIXED) | MAP_FIXED_NOREPLACE;
		} else {
			return -ENOMEM; /* partly the sandboxee's, partly not */
		}
	} else {
		addr = find_free(size);
		if (!addr) {
			long r = reserve(size);
			if (r)
				return r;
			addr = find_free(size);
		}
		flags |= MAP_FIXED;
	}
	bool replaces = flags & MAP_FIXED;
	long r = dune_passthrough(SYS_mmap, (long)addr, (long)size, prot, flags & ~MAP_GROWSDOWN, fd, off);
	if (mmap_failed(r)) {
		if (replaces) /* Linux may have unmapped the range already */
			retire(addr, addr + size);
		return r;
	}
	if ((uintptr_t)r != addr) { /* kernels before 4.17 ignore MAP_FIXED_NOREPLACE */
		dune_passthrough(SYS_munmap, r, (long)size, 0, 0, 0, 0);
		return -EEXIST;
	}
	int kind = (flags & MAP_ANONYMOUS) && (flags & MAP_TYPE) == MAP_PRIVATE ? R_ANON : 0;
	if (claim(addr, addr + size, prot, kind)) {
		retire(addr, addr + size);
		return -ENOMEM;
	}
	return r;
}

long umem_mmap(uintptr_t addr, size_t len, int prot, int flags, int fd, long off)
{
	sb_lock();
	long r = mmap_locked(addr, len, prot, flags, fd, off);
	sb_unlock();
	return r;
}

/* Only the sandboxee's own pages; holes in the range are fine (as Linux). */
static long munmap_locked(uintptr_t addr, uintptr_t end)
{
	for (unsigned i = first_ending_above(addr); i < nregions && regions[i].start < end; i++) {
		if (regions[i].flags & R_FREE)
			continue;
		uintptr_t s = regions[i].start > addr ? regions[i].start : addr;
		uintptr_t e = regions[i].end < end ? regions[i].end : end;
		retire(s, e);
		i = first_ending_above(s); /* the list changed; resume at the retired range */
	}
	return 0;
}

long umem_munmap(uintptr_t addr, size_t len)
{
	uintptr_t end = SB_PAGE_UP(addr + len);
	if ((addr & (SB_PAGE - 1)) || !len || end < addr)
		return -EINVAL;
	sb_lock();
	long r = munmap_locked(addr, end);
	sb_unlock();
	return r;
}

static long mprotect_locked(uintptr_t addr, uintptr_t end, int prot)
{
	if (!owned(addr, end))
		return -ENOMEM;
	long r = dune_passthrough(SYS_mprotect, (long)addr, (long)(end - addr), prot, 0, 0, 0);
	if (r)
		return r;
	/* per region, keeping what kind of memory each is */
	for (unsigned i = first_ending_above(addr); i < nregions && regions[i].start < end; i++) {
		uintptr_t s = regions[i].start > addr ? regions[i].start : addr;
		uintptr_t e = regions[i].end < end ? regions[i].end : end;
		if ((r = claim(s, e, prot, regions[i].flags)))
			return r;
		i = first_ending_above(s);
	}
	return 0;
}

long umem_mprotect(uintptr_t addr, size_t len, int prot)
{
	uintptr_t end = SB_PAGE_UP(addr + len);
	if (addr & (SB_PAGE - 1) || end < addr)
		return -EINVAL;
	sb_lock();
	long r = mprotect_locked(addr, end, prot);
	sb_unlock();
	return r;
}

/* mremap of the sandboxee's own memory, all of one protection and kind.
 * Shrinking retires the tail. Growing works for private anonymous memory:
 * in place when the addresses after it are free, else (MREMAP_MAYMOVE) by
 * moving its pages to a free range (MREMAP_DONTUNMAP, which leaves the old
 * range mapped for retire, so Linux never sees a hole), the new tail being
 * fresh anonymous memory as mremap's would be. MREMAP_FIXED and
 * MREMAP_DONTUNMAP from the sandboxee are not done. */
static long mremap_locked(uintptr_t old, uintptr_t old_end, size_t new_len, int flags)
{
	if (!owned(old, old_end))
		return -EFAULT;
	unsigned first = first_ending_above(old);
	int prot = regions[first].prot, kind = regions[first].flags;
	for (unsigned i = first; i < nregions && regions[i].start < old_end; i++)
		if (regions[i].prot != prot || regions[i].flags != kind)
			return -EINVAL; /* one protection and kind only */
	size_t old_len = old_end - old;
	if (new_len <= old_len) {
		if (new_len < old_len)
			munmap_locked(old + new_len, old_end);
		return (long)old;
	}
	if (!(kind & R_ANON))
		return -ENOMEM;
	uintptr_t tail = old + new_len;
	int anon = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
	if (tail > old && umem_in_window(old, new_len) && covered(old_end, tail, true) && !owns_any(old_end, tail)) {
		long r = dune_passthrough(SYS_mmap, (long)old_end, (long)(tail - old_end), prot, anon, -1, 0);
		if (mmap_failed(r) || claim(old_end, tail, prot, R_ANON)) {
			retire(old_end, tail);
			return mmap_failed(r) ? r : -ENOMEM;
		}
		return (long)old;
	}
	if (!(flags & MREMAP_MAYMOVE))
		return -ENOMEM;
	uintptr_t to = find_free(new_len);
	if (!to) {
		long r = reserve(new_len);
		if (r)
			return r;
		to = find_free(new_len);
	}
	/* the tail first, then the pages over the head of the new range */
	long r = dune_passthrough(SYS_mmap, (long)to, (long)new_len, prot, anon, -1, 0);
	if (!mmap_failed(r))
		r = dune_passthrough(SYS_mremap, (long)old, (long)old_len, (long)old_len,
			       MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, (long)to, 0);
	if (mmap_failed(r)) {
		retire(to, to + new_len);
		return r;
	}
	if (claim(to, to + new_len, prot, R_ANON)) {
		retire(to, to + new_len);
		return -ENOMEM;
	}
	retire(old, old_end);
	return (long)to;
}

long umem_mremap(uintptr_t old, size_t old_len, size_t new_len, int flags)
{
	uintptr_t old_end = SB_PAGE_UP(old + old_len);
	new_len = SB_PAGE_UP(new_len);
	if ((old & (SB_PAGE - 1)) || !new_len || (flags & ~MREMAP_MAYMOVE) || old_end < old || old_end == old)
		return -EINVAL;
	sb_lock();
	long r = mremap_locked(old, old_end, new_len, flags);
	sb_unlock();
	return r;
}

/* brk inside the reservation made at load time (PROT_NONE until used). */
void umem_set_brk_area(uintptr_t start) { brk_base = brk_cur = start; }

long umem_brk(uintptr_t want)
{
	sb_lock();
	if (want >= brk_base && want <= brk_base + SB_BRK_MAX) {
		uintptr_t old_top = SB_PAGE_UP(brk_cur), new_top = SB_PAGE_UP(want);
		bool ok = true;
		if (new_top > old_top)
			ok = !mprotect_locked(old_top, new_top, PROT_READ | PROT_WRITE);
		if (new_top < old_top) {
			/* give the pages back: fresh zero pages if it grows again, as brk */
			dune_passthrough(SYS_madvise, (long)new_top, (long)(old_top - new_top), MADV_DONTNEED, 0, 0, 0);
			mprotect_locked(new_top, old_top, PROT_NONE);
		}
		if (ok)
			brk_cur = want;
	}
	long r = (long)brk_cur;
	sb_unlock();
	return r;
}
