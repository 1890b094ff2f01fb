/* SPDX-License-Identifier: MIT */
/* Ring 0's side of an sthread: its system calls and its faults, handled on
 * the worker thread that runs it, on ring 0's own page table (libdune's
 * entry code switched to it before anything else: the sthread's table
 * holds its own copies at the addresses of globals).
 *
 * A system call is allowed by the sthread's context or stops it. Its
 * descriptors must be granted with the right the call needs. Its buffers
 * are copied between the sthread's memory (found through the sthread's
 * page table, with the access ring 3 would have) and a buffer of the
 * worker's, which is what Linux sees: no pointer of the sthread ever
 * reaches Linux, so Linux cannot be made to read or write the process's
 * memory for it. Faults: a write to a copy-on-write page of the snapshot
 * gets its private copy; anything else stops the sthread. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "sthread_priv.h"

__thread struct sthread *st_current;
static __thread char *bounce; /* ST_BOUNCE bytes, the worker's */

void st_stop(struct sthread *st, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(st->why, sizeof(st->why), fmt, ap);
	va_end(ap);
	st->status = STHREAD_STOPPED;
	st->ret = NULL;
	dune_ret_from_user(STHREAD_STOPPED);
}

void st_flush(struct sthread *st)
{
	if (!st_pcid)
		return; /* every CR3 load flushes (SDM 4.10.4.1): the next entry does */
	/* SDM 4.10.4.1: MOV to CR3 with bit 63 clear invalidates the new PCID's
	 * entries; then back to ring 0's table (this code is mapped in both). */
	uint64_t flush = (uint64_t)(uintptr_t)st->root | (uint64_t)(st->id + 1);
	__asm__ volatile("mov %0, %%cr3\n\tmov %1, %%cr3" ::"r"(flush), "r"(st_kernel_cr3) : "memory");
}

bool st_make_writable(struct sthread *st, uintptr_t va)
{
	ptent_t *e = pt_user_leaf(st->root, va & ~(uintptr_t)(PGSIZE - 1));
	if (!e || (*e & PTE_PS))
		return false;
	if (*e & PTE_W)
		return true;
	if (!(*e & PTE_COW))
		return false;
	if (st->ncow == (int)(sizeof(st->cow) / sizeof(st->cow[0])))
		st_stop(st, "more than %d pages of its snapshot written (libsthread's limit)", st->ncow);
	struct page *pg = st_page_alloc();
	if (!pg)
		return false;
	memcpy((void *)dune_page2pa(pg), pt_pa_to_va(PTE_ADDR(*e)), PGSIZE);
	*e = dune_page2pa(pg) | (*e & ~PTE_ADDR(~0ull) & ~(ptent_t)PTE_COW) | PTE_W;
	st->cow_va[st->ncow] = va & ~(uintptr_t)(PGSIZE - 1);
	st->cow[st->ncow++] = pg;
	st_flush(st);
	return true;
}

/* Ring 0's address of the sthread's va (the rest of its page), if ring 3
 * may read it (and write it, with write). */
static void *user_page(struct sthread *st, uintptr_t va, bool write)
{
	ptent_t *e = pt_user_leaf(st->root, va);
	if (!e || (*e & PTE_PS))
		return NULL;
	if (write && !(*e & PTE_W)) {
		if (!st_make_writable(st, va))
			return NULL;
		e = pt_user_leaf(st->root, va);
	}
	return (char *)pt_pa_to_va(PTE_ADDR(*e)) + (va & (PGSIZE - 1));
}

/* [va, va + n) of the sthread, a page at a time with ring 3's rights:
 * copied into kbuf (USER_READ), written from kbuf (USER_WRITE), or only
 * made sure writable (USER_CHECK_WRITE, kbuf NULL); writing makes
 * copy-on-write pages private. false if some of it is not the sthread's
 * with that access. */
enum user_op { USER_READ, USER_WRITE, USER_CHECK_WRITE };

static bool user_access(struct sthread *st, uintptr_t va, void *kbuf, size_t n, enum user_op op)
{
	if (va + n < va)
		return false;
	while (n) {
		char *at = user_page(st, va, op != USER_READ);
		size_t chunk = PGSIZE - (va & (PGSIZE - 1));
		if (!at)
			return false;
		if (chunk > n)
			chunk = n;
		if (op == USER_READ)
			memcpy(kbuf, at, chunk);
		else if (op == USER_WRITE)
			memcpy(at, kbuf, chunk);
		if (kbuf)
			kbuf = (char *)kbuf + chunk;
		va += chunk;
		n -= chunk;
	}
	return true;
}

static bool copy_in(struct sthread *st, void *dst, uintptr_t src, size_t n) { return user_access(st, src, dst, n, USER_READ); }
static bool copy_out(struct sthread *st, uintptr_t dst, const void *src, size_t n)
{
	return user_access(st, dst, (void *)src, n, USER_WRITE);
}
static bool user_range_ok(struct sthread *st, uintptr_t va, size_t n)
{
	return user_access(st, va, NULL, n, USER_CHECK_WRITE);
}

static bool granted_call(const struct sthread *st, long nr)
{
	if (nr == SYS_read || nr == SYS_write)
		return true;
	return nr >= 0 && nr < SC_MAX_SYSCALL && (st->sc.sys[nr / 8] >> (nr % 8) & 1);
}

/* The descriptor, if the context grants it with prot (0: any right). */
static int fd_arg(struct sthread *st, long nr, uint64_t fd, int prot)
{
	for (int i = 0; i < st->sc.nfds; i++)
		if ((uint64_t)st->sc.fd[i].fd == fd && (st->sc.fd[i].prot & prot) == prot)
			return (int)fd;
	st_stop(st, "system call %ld on descriptor %ld, which its context does not grant%s", nr, (long)fd,
		prot == PROT_READ ? " for reading" : prot == PROT_WRITE ? " for writing" : "");
}

static void buffer_fault(struct sthread *st, long nr, uint64_t p, uint64_t n)
{
	st_stop(st, "system call %ld with the buffer %#lx (%lu bytes) outside its memory", nr, (unsigned long)p,
		(unsigned long)n);
}

/* A call that reads a buffer of the sthread's (write, send...). */
static long from_user(struct sthread *st, long nr, uint64_t *a, int buf)
{
	size_t n = a[buf + 1] > ST_BOUNCE ? ST_BOUNCE : a[buf + 1]; /* a short write, as Linux may do */
	if (!copy_in(st, bounce, a[buf], n))
		buffer_fault(st, nr, a[buf], a[buf + 1]);
	a[buf] = (uint64_t)bounce;
	a[buf + 1] = n;
	return dune_passthrough(nr, (long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4], (long)a[5]);
}

/* A call that fills a buffer of the sthread's (read, recv...). */
static long to_user(struct sthread *st, long nr, uint64_t *a, int buf)
{
	uint64_t p = a[buf];
	size_t n = a[buf + 1] > ST_BOUNCE ? ST_BOUNCE : a[buf + 1];
	if (!user_range_ok(st, p, n)) /* before: no data may be lost */
		buffer_fault(st, nr, p, a[buf + 1]);
	a[buf] = (uint64_t)bounce;
	a[buf + 1] = n;
	long r = dune_passthrough(nr, (long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4], (long)a[5]);
	if (r > 0 && !copy_out(st, p, bounce, (size_t)r))
		buffer_fault(st, nr, p, (uint64_t)r);
	return r;
}

/* A call with one fixed-size result struct at a[at] (NULL allowed if
 * nullable), the others plain values. */
static long out_struct(struct sthread *st, long nr, uint64_t *a, int at, size_t size, bool nullable)
{
	uint64_t p = a[at];
	if (!p && nullable)
		return dune_passthrough(nr, (long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4], (long)a[5]);
	if (!user_range_ok(st, p, size))
		buffer_fault(st, nr, p, size);
	a[at] = (uint64_t)bounce;
	long r = dune_passthrough(nr, (long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4], (long)a[5]);
	if (r == 0 && !copy_out(st, p, bounce, size))
		buffer_fault(st, nr, p, size);
	return r;
}

static long open_call(struct sthread *st, long nr, uint64_t *a)
{
	int path_arg = nr == SYS_openat ? 1 : 0;
	if (nr == SYS_openat && (int)a[0] != AT_FDCWD)
		fd_arg(st, nr, a[0], 0);
	char *path = bounce;
	for (size_t i = 0;;) { /* a page at a time, up to its NUL */
		if (i == PATH_MAX)
			return -ENAMETOOLONG;
		uintptr_t at = a[path_arg] + i;
		const char *from = user_page(st, at, false);
		if (!from)
			buffer_fault(st, nr, a[path_arg], i + 1);
		size_t chunk = PGSIZE - (at & (PGSIZE - 1));
		if (chunk > PATH_MAX - i)
			chunk = PATH_MAX - i;
		const char *nul = memchr(from, 0, chunk);
		memcpy(path + i, from, nul ? (size_t)(nul - from) + 1 : chunk);
		if (nul)
			break;
		i += chunk;
	}
	long flags = (long)a[path_arg + 1];
	long fd = dune_passthrough(SYS_openat, nr == SYS_openat ? (long)a[0] : AT_FDCWD, (long)path, flags | O_CLOEXEC,
		      (long)a[path_arg + 2], 0, 0);
	if (fd < 0)
		return fd;
	if (st->sc.nfds == SC_MAX_FDS) {
		dune_passthrough(SYS_close, fd, 0, 0, 0, 0, 0);
		return -EMFILE;
	}
	int acc = (int)(flags & O_ACCMODE);
	st->sc.fd[st->sc.nfds].fd = (int)fd;
	st->sc.fd[st->sc.nfds++].prot = (acc == O_RDONLY ? PROT_READ : acc == O_WRONLY ? PROT_WRITE : PROT_READ | PROT_WRITE);
	return fd;
}

static long close_call(struct sthread *st, uint64_t *a)
{
	fd_arg(st, SYS_close, a[0], 0);
	for (int i = 0; i < st->sc.nfds; i++)
		if ((uint64_t)st->sc.fd[i].fd == a[0])
			st->sc.fd[i] = st->sc.fd[--st->sc.nfds];
	return dune_passthrough(SYS_close, (long)a[0], 0, 0, 0, 0, 0);
}

static long gate_call(struct sthread *st, long nr, uint64_t *a)
{
	switch (nr) {
	case SYS_read: case SYS_pread64:
		fd_arg(st, nr, a[0], PROT_READ);
		return to_user(st, nr, a, 1);
	case SYS_recvfrom:
		fd_arg(st, nr, a[0], PROT_READ);
		if (a[4] || a[5])
			st_stop(st, "recvfrom with an address: not supported in sthreads");
		return to_user(st, nr, a, 1);
	case SYS_write: case SYS_pwrite64:
		fd_arg(st, nr, a[0], PROT_WRITE);
		return from_user(st, nr, a, 1);
	case SYS_sendto:
		fd_arg(st, nr, a[0], PROT_WRITE);
		if (a[4] || a[5])
			st_stop(st, "sendto with an address: not supported in sthreads");
		return from_user(st, nr, a, 1);
	case SYS_close: return close_call(st, a);
	case SYS_fstat:
		fd_arg(st, nr, a[0], 0);
		return out_struct(st, nr, a, 1, sizeof(struct stat), false);
	case SYS_lseek: case SYS_shutdown: case SYS_fsync:
		fd_arg(st, nr, a[0], 0);
		return dune_passthrough(nr, (long)a[0], (long)a[1], (long)a[2], 0, 0, 0);
	case SYS_getpid: case SYS_gettid: case SYS_getppid: case SYS_getuid: case SYS_geteuid: case SYS_getgid:
	case SYS_getegid: case SYS_sched_yield:
		return dune_passthrough(nr, 0, 0, 0, 0, 0, 0);
	case SYS_clock_gettime:
		return out_struct(st, nr, a, 1, sizeof(struct timespec), false);
	case SYS_gettimeofday:
		a[1] = 0; /* the time zone: obsolete, never written */
		return out_struct(st, nr, a, 0, 16, true);
	case SYS_nanosleep: case SYS_clock_nanosleep: {
		int req = nr == SYS_nanosleep ? 0 : 2;
		struct timespec ts;
		if (!copy_in(st, &ts, a[req], sizeof(ts)))
			buffer_fault(st, nr, a[req], sizeof(ts));
		uint64_t rem = a[req + 1];
		if (rem && !user_range_ok(st, rem, sizeof(ts)))
			buffer_fault(st, nr, rem, sizeof(ts));
		struct timespec left = {0, 0};
		a[req] = (uint64_t)&ts;
		a[req + 1] = rem ? (uint64_t)&left : 0;
		long r = dune_passthrough(nr, (long)a[0], (long)a[1], (long)a[2], (long)a[3], 0, 0);
		if (rem && r == -EINTR)
			copy_out(st, rem, &left, sizeof(left));
		return r;
	}
	case SYS_open: case SYS_openat: return open_call(st, nr, a);
	}
	st_stop(st, "system call %ld is granted, but libsthread cannot check its arguments", nr);
}

/* INT3 and INT1 at ring 3 end the Dune session (the hypervisor gives #BP
 * and #DB to Linux, for debuggers); in Linux mode, on the worker, this hook
 * sends the sthread on to a system call that stops it, instead of
 * libdune's replay for a debugger (which, with no tracer, would end the
 * process). Ring 3 runs with IOPL 0, ring 0 with IOPL 3 (dune.S). */
#define TRAP_CALL (-2L)
#define RFLAGS_IOPL 0x3000ull
extern char st_trap_stub[];
__asm__(".text\n.globl st_trap_stub\nst_trap_stub:\n\tsyscall\n\tud2\n");

static bool on_debug_trap(struct dune_config *conf)
{
	if (!st_current || (conf->rflags & RFLAGS_IOPL))
		return false;
	conf->rdi = conf->rip;
	conf->rsi = (uint64_t)conf->status;
	conf->rax = (uint64_t)TRAP_CALL;
	conf->rip = (uint64_t)st_trap_stub;
	return true;
}

static const char *exception_name(int vector);

static void on_syscall(struct dune_tf *tf)
{
	struct sthread *st = st_current;
	long nr = (long)tf->rax;
	if (nr == TRAP_CALL)
		st_stop(st, "exception %d (%s) at rip %#lx", (int)tf->rsi, exception_name((int)tf->rsi & 31),
			(unsigned long)tf->rdi);
	if (nr == CGATE_CALL) {
		tf->rax = (uint64_t)cgate_call(st, tf->rdi, tf->rsi);
		return;
	}
	if (nr == SYS_exit || nr == SYS_exit_group) {
		st->ret = (void *)tf->rdi;
		st->status = 0;
		dune_ret_from_user(0);
	}
	if (!granted_call(st, nr))
		st_stop(st, "system call %ld, which its context does not grant", nr);
	uint64_t a[6] = {tf->rdi, tf->rsi, tf->rdx, tf->rcx /* r10 */, tf->r8, tf->r9};
	tf->rax = (uint64_t)gate_call(st, nr, a);
}

static void __attribute__((noreturn)) ring0_bug(const char *what, uint64_t addr, struct dune_tf *tf)
{
	dune_printf("libsthread: %s in ring 0 at %#lx (rip %#lx): a bug of libsthread's\n", what, (unsigned long)addr,
		    (unsigned long)tf->rip);
	dune_dump_trap_frame(tf);
	dune_die();
}

static void on_page_fault(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	struct sthread *st = st_current;
	if (!(tf->cs & 3) || !st)
		ring0_bug("a page fault", addr, tf);
	if ((fec & (FEC_P | FEC_W)) == (FEC_P | FEC_W) && st_make_writable(st, addr))
		return;
	const char *access = (fec & FEC_I) ? "an instruction fetch" : (fec & FEC_W) ? "a write" : "a read";
	if (pt_user_leaf(st->root, addr)) /* its own page, without that right */
		st_stop(st, "%s at %#lx, which its grants do not allow (rip %#lx)", access, (unsigned long)addr,
			(unsigned long)tf->rip);
	st_stop(st, "%s at %#lx, outside its memory (rip %#lx)", access, (unsigned long)addr, (unsigned long)tf->rip);
}

static const char *const exception_names[32] = {
	[0] = "divide error", [1] = "debug", [3] = "breakpoint", [4] = "overflow", [5] = "bound range",
	[6] = "invalid opcode", [7] = "device not available", [8] = "double fault", [10] = "invalid TSS",
	[11] = "segment not present", [12] = "stack fault", [13] = "general protection (a privileged instruction?)",
	[16] = "x87 floating-point error", [17] = "alignment check", [18] = "machine check",
	[19] = "SIMD floating-point error", [21] = "control protection"};

static const char *exception_name(int vector) { return exception_names[vector] ? exception_names[vector] : "reserved"; }

static void on_exception(struct dune_tf *tf, int vector)
{
	struct sthread *st = st_current;
	if (!(tf->cs & 3) || !st)
		ring0_bug("an exception", (uint64_t)vector, tf);
	st_stop(st, "exception %d (%s) at rip %#lx", vector, exception_name(vector), (unsigned long)tf->rip);
}

#define EXC(v) static void on_exc_##v(struct dune_tf *tf) { on_exception(tf, v); }
EXC(0) EXC(1) EXC(3) EXC(4) EXC(5) EXC(6) EXC(7) EXC(8) EXC(10) EXC(11) EXC(12) EXC(13) EXC(16) EXC(17) EXC(19)
EXC(21)

void gate_install(void)
{
	dune_register_syscall_handler(on_syscall);
	dune_register_debug_trap_hook(on_debug_trap);
	dune_register_pgflt_handler(on_page_fault);
	static const struct {
		int vector;
		dune_intr_cb cb;
	} exc[] = {{0, on_exc_0}, {1, on_exc_1}, {3, on_exc_3}, {4, on_exc_4}, {5, on_exc_5}, {6, on_exc_6},
		   {7, on_exc_7}, {8, on_exc_8}, {10, on_exc_10}, {11, on_exc_11}, {12, on_exc_12}, {13, on_exc_13},
		   {16, on_exc_16}, {17, on_exc_17}, {19, on_exc_19}, {21, on_exc_21}};
	for (unsigned i = 0; i < sizeof(exc) / sizeof(exc[0]); i++)
		dune_register_intr_handler(exc[i].vector, exc[i].cb);
}

int gate_worker_init(void)
{
	if (!bounce)
		bounce = malloc(ST_BOUNCE);
	return bounce ? 0 : -ENOMEM;
}
