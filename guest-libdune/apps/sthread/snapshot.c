/* SPDX-License-Identifier: MIT */
/* What every sthread starts from, taken by sthread_init before anything
 * enters Dune (Wedge's "pristine" memory): the process's mappings from
 * /proc/self/maps, and a copy of every private writable one (globals, heap,
 * the initial thread's TLS) but the stack. The template page table maps
 * the read-only ones (code, read-only data, vDSO) to the process's own
 * pages and the writable ones read-only to the copy, marked copy-on-write
 * (PTE_COW): an sthread's first write to such a page gets it a private
 * copy (gate.c), so it never sees the parent's later writes, nor the
 * parent its writes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <asm/prctl.h>

#include "sthread_priv.h"

struct segment *st_segments;
int st_nsegments;
uintptr_t st_fs_base;
static int cap;
static bool out_of_memory;

static void collect(const struct dune_procmap_entry *e)
{
	if (e->type == PROCMAP_TYPE_STACK || e->type == PROCMAP_TYPE_VSYSCALL || !e->r || (e->w && !e->p))
		return; /* the parent's stack, the legacy page, no access, shared writable memory */
	if (st_nsegments == cap) {
		int n = cap ? cap * 2 : 64;
		struct segment *s = realloc(st_segments, (size_t)n * sizeof(*s));
		if (!s) {
			out_of_memory = true;
			return;
		}
		st_segments = s;
		cap = n;
	}
	st_segments[st_nsegments++] = (struct segment){.start = e->begin, .end = e->end, .exec = e->x, .copy = e->w};
}

int snapshot_take(void)
{
	syscall(SYS_arch_prctl, ARCH_GET_FS, &st_fs_base);
	dune_procmap_iterate(collect);
	if (out_of_memory || !st_nsegments)
		return -ENOMEM;
	size_t total = 0;
	for (int i = 0; i < st_nsegments; i++)
		if (st_segments[i].copy)
			total += st_segments[i].end - st_segments[i].start;
	char *copy = mmap(NULL, total ? total : PGSIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (copy == MAP_FAILED)
		return -ENOMEM;
	bool tls_inside = false;
	for (int i = 0; i < st_nsegments; i++) {
		struct segment *s = &st_segments[i];
		if (!s->copy)
			continue;
		memcpy(copy, (void *)s->start, s->end - s->start);
		s->copy = (uintptr_t)copy;
		copy += s->end - s->start;
		if (st_fs_base >= s->start && st_fs_base + 64 <= s->end)
			tls_inside = true;
	}
	/* the copy is only ever read (by ring 0, for private copies) */
	mprotect(copy - total, total ? total : PGSIZE, PROT_READ);
	return tls_inside ? 0 : -ENOTSUP;
}

bool snapshot_shadows(uintptr_t start, size_t len)
{
	for (int i = 0; i < st_nsegments; i++)
		if (st_segments[i].copy && start < st_segments[i].end && start + len > st_segments[i].start)
			return true;
	return false;
}

int snapshot_build_template(ptent_t **out)
{
	ptent_t *root = pt_new_root();
	if (!root)
		return -ENOMEM;
	for (int i = 0; i < st_nsegments; i++) {
		const struct segment *s = &st_segments[i];
		uint64_t flags = PTE_P | PTE_U | (s->exec ? 0 : PTE_NX) | (s->copy ? PTE_COW : 0);
		for (uintptr_t va = s->start; va < s->end; va += PGSIZE) {
			uintptr_t pa;
			if (!dune_va_range_to_pa(s->copy ? s->copy + (va - s->start) : va, PGSIZE, &pa))
				continue; /* outside the windows: not reachable in Dune at all */
			int r = pt_map(root, va, pa, flags);
			if (r) {
				pt_free(root);
				return r;
			}
		}
	}
	*out = root;
	return 0;
}
