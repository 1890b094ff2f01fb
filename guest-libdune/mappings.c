/* SPDX-License-Identifier: MIT */
/* The process's guest page tables at dune_init: everything (map_full) or
 * exactly what /proc/self/maps lists with its permissions (precise), plus
 * the vDSO, the vvar page, libdune's vsyscall page and the system-call
 * trampoline at the host's LSTAR. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "dune.h"
#include "libdune_priv.h"

#define VSYSCALL_ADDR 0xffffffffff600000ull

extern char __dune_syscall[], __dune_syscall_end[], __dune_vsyscall_page[];

bool dune_va_range_to_pa(uintptr_t va, size_t len, uintptr_t *pa)
{
	uintptr_t end = va + len;
	if (va >= stack_base) {
		*pa = dune_stack_addr_to_pa((void *)va);
		return end <= stack_base + GPA_STACK_SIZE;
	}
	if (va >= mmap_base) {
		*pa = dune_mmap_addr_to_pa((void *)va);
		return end <= mmap_base + GPA_MAP_SIZE;
	}
	*pa = va;
	return end <= phys_limit - GPA_STACK_SIZE - GPA_MAP_SIZE && end <= mmap_base;
}

/* Present in the page tables already (map_full's windows cover most). */
static bool mapped(uintptr_t va)
{
	ptent_t *pte;
	return !dune_vm_lookup(pgroot, (void *)va, CREATE_NONE, &pte) && (*pte & PTE_P);
}

static int map_range(uintptr_t begin, uintptr_t end, int perm)
{
	uintptr_t pa;
	if (!dune_va_range_to_pa(begin, end - begin, &pa)) {
		fprintf(stderr, "dune: 0x%lx-0x%lx lies outside the guest-physical windows: not mapped\n",
			(unsigned long)begin, (unsigned long)end);
		return 0;
	}
	return dune_vm_map_phys(pgroot, (void *)begin, end - begin, (void *)pa, perm);
}

/* SYSCALL from ring 0 lands at the host's LSTAR: map our trampoline there.
 * Its two pages are a mapping of their own, read-execute once written (not
 * upstream's pages of the read-write pool): dune.ko lets the process
 * execute only what it maps PROT_EXEC (its one exception, for upstream's
 * trampoline, is kept W^X). */
static int setup_syscall_trampoline(void)
{
	long lstar = ioctl(dune_fd, DUNE_GET_SYSCALL); /* truncated to int by glibc, as upstream */
	uintptr_t va = (uintptr_t)(int)lstar, pa;
	size_t off = va & (PGSIZE - 1), len = (size_t)(__dune_syscall_end - __dune_syscall);
	uint8_t *code;
	if (off + len > 2 * PGSIZE)
		return -ENOMEM;
	code = mmap(NULL, 2 * PGSIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (code == MAP_FAILED)
		return -errno;
	memcpy(code + off, __dune_syscall, len);
	if (mprotect(code, 2 * PGSIZE, PROT_READ | PROT_EXEC) || !dune_va_range_to_pa((uintptr_t)code, 2 * PGSIZE, &pa)) {
		munmap(code, 2 * PGSIZE);
		return -EINVAL;
	}
	return dune_vm_map_phys(pgroot, (void *)(va & ~(uintptr_t)(PGSIZE - 1)), 2 * PGSIZE, (void *)pa, PERM_R | PERM_X);
}

/* Legacy vsyscall calls (gettimeofday @0, time @0x400, getcpu @0x800) in
 * ring 0 and ring 3 alike: libdune's own page (vsyscall.S). */
static int setup_vsyscall(void)
{
	uintptr_t pa;
	if (!dune_va_range_to_pa((uintptr_t)__dune_vsyscall_page, PGSIZE, &pa))
		return -EINVAL;
	return dune_vm_map_phys(pgroot, (void *)VSYSCALL_ADDR, PGSIZE, (void *)pa, PERM_R | PERM_X | PERM_U);
}

static int map_error;

static void map_special(const struct dune_procmap_entry *e)
{
	int r = 0;
	if (mapped(e->begin) && mapped(e->end - 1))
		return; /* inside a window mapped with user access */
	if (e->type == PROCMAP_TYPE_VDSO)
		r = map_range(e->begin, e->end, PERM_R | PERM_X | PERM_U);
	else if (e->type == PROCMAP_TYPE_VVAR)
		r = map_range(e->begin, e->end, PERM_R | PERM_U);
	if (r && !map_error)
		map_error = r;
}

/* upstream's precise mode: each region with its own permissions, no U bit */
static void map_precise(const struct dune_procmap_entry *e)
{
	if (e->type == PROCMAP_TYPE_VDSO || e->type == PROCMAP_TYPE_VVAR) {
		map_special(e);
		return;
	}
	if (e->type == PROCMAP_TYPE_VSYSCALL || !e->r)
		return;
	if ((uintptr_t)e->begin >= PAGEBASE && (uintptr_t)e->end <= PAGEBASE + MAX_PAGES * PGSIZE)
		return; /* the page pool: mapped with 2 MiB pages already */
	int perm = PERM_R | (e->w ? PERM_W : 0) | (e->x ? PERM_X : 0);
	int r = map_range(e->begin, e->end, perm);
	if (r && !map_error)
		map_error = r;
}

static int setup_full(void)
{
	int r;
	/* identity [0, 4 GiB): text, data, heap, anything low */
	if ((r = dune_vm_map_phys(pgroot, (void *)0, 1ul << 32, (void *)0, PERM_R | PERM_W | PERM_X | PERM_U | PERM_BIG)))
		return r;
	/* the mmap window and the stack window (dune-abi 2.1) */
	if ((r = dune_vm_map_phys(pgroot, (void *)mmap_base, GPA_MAP_SIZE, (void *)dune_mmap_addr_to_pa((void *)mmap_base),
				  PERM_R | PERM_W | PERM_X | PERM_U | PERM_BIG)))
		return r;
	if ((r = dune_vm_map_phys(pgroot, (void *)stack_base, GPA_STACK_SIZE,
				  (void *)dune_stack_addr_to_pa((void *)stack_base), PERM_R | PERM_W | PERM_X | PERM_U | PERM_BIG)))
		return r;
	/* vDSO and vvar where the windows did not cover them already */
	dune_procmap_iterate(map_special);
	return map_error;
}

int dune_setup_mappings(bool map_full)
{
	int r;
	map_error = 0;
	/* the page pool (identity, 8 GiB + 4 GiB) */
	if ((r = dune_vm_map_phys(pgroot, (void *)PAGEBASE, MAX_PAGES * PGSIZE, (void *)PAGEBASE, PERM_R | PERM_W | PERM_BIG)))
		return r;
	if (map_full)
		r = setup_full();
	else {
		dune_procmap_iterate(map_precise);
		r = map_error;
	}
	if (!r)
		r = setup_vsyscall();
	return r ? r : setup_syscall_trampoline();
}

/* Precise mode: memory mapped after dune_init is not in the page tables.
 * dune_enter maps the regions a thread needs (its stack, its block), with
 * one read of /proc/self/maps. Only their pages not present yet: Linux may
 * have merged other memory into those regions, which the process may have
 * mapped its own way (a sandbox gives its sandboxee's pages the user bit),
 * and a forked child enters with its parent's tables. */
static uintptr_t wanted[2];
static void map_absent_pages(const struct dune_procmap_entry *e)
{
	if (!e->r)
		return;
	int perm = PERM_R | (e->w ? PERM_W : 0) | (e->x ? PERM_X : 0);
	for (uintptr_t page = e->begin; page < e->end; page += PGSIZE) {
		if (mapped(page))
			continue;
		int r = map_range(page, page + PGSIZE, perm);
		if (r && !map_error)
			map_error = r;
	}
}

static void map_if_contains(const struct dune_procmap_entry *e)
{
	for (int i = 0; i < 2; i++)
		if (wanted[i] >= e->begin && wanted[i] < e->end) {
			map_absent_pages(e);
			return;
		}
}

int dune_map_regions_of(void *a, void *b)
{
	map_error = 0;
	wanted[0] = (uintptr_t)a;
	wanted[1] = (uintptr_t)b;
	dune_procmap_iterate(map_if_contains);
	return map_error;
}
