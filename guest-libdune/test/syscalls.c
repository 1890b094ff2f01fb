/* System calls and memory from Dune mode through libdune: file I/O, mmap,
 * mprotect, getrandom, statx, rseq, io_uring, pthread_create (clone3 on glibc >= 2.34), vfork,
 * fork + wait, execve, and 256 MiB touched and read back. Prints
 * "syscalls: <what> OK|FAIL" and "syscalls: done failures=N". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/io_uring.h>

#include "../dune.h"

#define CHECK_PREFIX "syscalls: "
#include "check.h"

static int in_dune(void)
{
	unsigned short cs;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return (cs & 3) == 0;
}

static void *thread_fn(void *arg)
{
	/* the new thread starts in Linux mode (dune-abi 1.9) */
	*(int *)arg = in_dune() ? 2 : 1;
	return (void *)0x666;
}

/* One IORING_OP_NOP through raw io_uring system calls; returns the
 * completion's user_data (0x1234) or -1. */
static long io_uring_nop(void)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	int fd = (int)syscall(SYS_io_uring_setup, 4, &p);
	if (fd < 0)
		return -1;
	size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP)
		sq_len = cq_len = sq_len > cq_len ? sq_len : cq_len;
	uint8_t *sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
	uint8_t *cq = (p.features & IORING_FEAT_SINGLE_MMAP)
			      ? sq
			      : mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
	struct io_uring_sqe *sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
	long result = -1;
	if (sq != MAP_FAILED && cq != MAP_FAILED && sqes != MAP_FAILED) {
		unsigned *tail = (unsigned *)(sq + p.sq_off.tail), mask = *(unsigned *)(sq + p.sq_off.ring_mask);
		unsigned idx = *tail & mask;
		memset(&sqes[idx], 0, sizeof(sqes[idx]));
		sqes[idx].opcode = IORING_OP_NOP;
		sqes[idx].user_data = 0x1234;
		((unsigned *)(sq + p.sq_off.array))[idx] = idx;
		__atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
		if (syscall(SYS_io_uring_enter, fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) == 1) {
			unsigned head = __atomic_load_n((unsigned *)(cq + p.cq_off.head), __ATOMIC_ACQUIRE);
			struct io_uring_cqe *cqe = &((struct io_uring_cqe *)(cq + p.cq_off.cqes))[head & *(unsigned *)(cq + p.cq_off.ring_mask)];
			if (cqe->res == 0)
				result = (long)cqe->user_data;
			__atomic_store_n((unsigned *)(cq + p.cq_off.head), head + 1, __ATOMIC_RELEASE);
		}
	}
	close(fd);
	return result;
}

/* EPT violations of Dune contexts so far (hvprobe's /proc/dunehv/stats:
 * "dune 48 EPT_VIOLATION <n>"), or -1. */
static long dune_ept_violations(void)
{
	char buf[4096];
	int fd = open("/proc/dunehv/stats", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *p = strstr(buf, "dune 48 EPT_VIOLATION ");
	return p ? strtol(p + 22, NULL, 10) : 0;
}

/* Page-fault handlers of the forked children (Dune mode, ring 0). */
static uintptr_t fault_expected;
static volatile int remapped;

static void exit_on_fault(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	(void)tf;
	syscall(SYS_exit_group, addr == fault_expected ? 10 + (int)(fec & (FEC_P | FEC_W | FEC_U)) : 9);
}

static void remap_on_fault(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	(void)fec;
	(void)tf;
	if (addr != fault_expected || remapped++)
		syscall(SYS_exit_group, 9);
	if (mmap((void *)(addr & ~4095ul), 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
	    MAP_FAILED)
		syscall(SYS_exit_group, 8);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "exec-target")) {
		printf("syscalls: execve'd program runs, in_dune=%d\n", in_dune());
		return 42;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (dune_init_and_enter()) {
		printf("syscalls: cannot enter Dune FAIL\n");
		return 1;
	}
	CHECK(in_dune(), "running in ring 0 of the Dune context");

	/* file I/O */
	int fd = open("/tmp/dune-file", O_CREAT | O_RDWR | O_TRUNC, 0600);
	char buf[64] = {0};
	ssize_t w = write(fd, "written from dune", 17);
	lseek(fd, 0, SEEK_SET);
	ssize_t r = read(fd, buf, sizeof(buf));
	close(fd);
	CHECK(fd >= 0 && w == 17 && r == 17 && !strcmp(buf, "written from dune"), "file write/read (%zd, %zd)", w, r);

	/* statx (332) and getrandom (318): above upstream's limit of 312 */
	struct statx stx;
	int sr = statx(AT_FDCWD, "/tmp/dune-file", 0, STATX_SIZE, &stx);
	CHECK(sr == 0 && stx.stx_size == 17, "statx size %llu", (unsigned long long)stx.stx_size);
	uint64_t rnd[4] = {0};
	ssize_t gr = getrandom(rnd, sizeof(rnd), 0);
	CHECK(gr == (ssize_t)sizeof(rnd) && (rnd[0] | rnd[1] | rnd[2] | rnd[3]), "getrandom %zd bytes", gr);
	CHECK(syscall(10000) == -1 && errno == ENOSYS, "unknown system call number -> ENOSYS");
	CHECK(syscall(-1L) == -1 && errno == ENOSYS, "system call number -1 -> ENOSYS");

	/* rseq (glibc registered one for this thread): Linux's answer, not ENOSYS */
	long rs = syscall(SYS_rseq, NULL, 0, 0, 0);
	int rs_errno = errno;
	CHECK(rs == -1 && (rs_errno == EINVAL || rs_errno == EBUSY), "rseq -> Linux's own answer (%s)", strerror(rs_errno));

	/* io_uring: rings mapped from the kernel (VM_PFNMAP), one NOP round trip */
	CHECK(io_uring_nop() == 0x1234, "io_uring: a NOP submitted and completed through rings mapped in Dune");

	/* mmap, touch 256 MiB, read back, munmap */
	size_t len = 256ul << 20;
	uint64_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t words = len / 8, good = 0;
	if (m != MAP_FAILED) {
		for (size_t i = 0; i < words; i += 512)
			m[i] = i * 0x9e3779b97f4a7c15ull;
		for (size_t i = 0; i < words; i += 512)
			good += m[i] == i * 0x9e3779b97f4a7c15ull;
	}
	CHECK(m != MAP_FAILED && good == words / 512, "256 MiB touched in Dune mode and read back (%zu pages)", good);
	CHECK(munmap(m, len) == 0, "munmap");

	/* huge pages: a range backed by one huge page (THP, hugetlbfs 2 MiB)
	 * takes one EPT leaf of its size, not 4 KiB ones */
	static const struct {
		const char *name;
		size_t size;
		int flags;
	} huge[] = {{"transparent huge page", 2ul << 20, 0},
		    {"hugetlbfs 2 MiB page", 2ul << 20, MAP_HUGETLB}};
	for (unsigned k = 0; k < sizeof(huge) / sizeof(huge[0]); k++) {
		size_t sz = huge[k].size, map_len = huge[k].flags ? sz : 2 * sz, step = sz / 512;
		uint8_t *raw = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | huge[k].flags, -1, 0);
		uint8_t *h = raw == MAP_FAILED ? NULL : (uint8_t *)(((uintptr_t)raw + sz - 1) & ~(sz - 1));
		if (h && !huge[k].flags)
			madvise(h, sz, MADV_HUGEPAGE);
		long before = dune_ept_violations(), after = -1;
		size_t ok = 0;
		if (h) {
			/* reads first (a read-only leaf: for THP the huge zero
			 * page), then writes (the leaf is replaced, writable) */
			for (size_t i = 0; i < sz; i += step)
				ok += h[i];
			for (size_t i = 0; i < sz; i += step)
				h[i] = (uint8_t)(i / step);
			ok = 0;
			after = dune_ept_violations();
			for (size_t i = 0; i < sz; i += step)
				ok += h[i] == (uint8_t)(i / step);
		}
		CHECK(h && ok == 512 && before >= 0 && after - before <= 6,
		      "%s: 512 places read, then written, in Dune mode with %ld EPT violations%s", huge[k].name, after - before,
		      h ? "" : " (mmap failed)");
		if (h)
			munmap(raw, map_len);
	}

	/* mprotect: the page stays readable */
	char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	p[0] = 'x';
	CHECK(mprotect(p, 4096, PROT_READ) == 0 && p[0] == 'x', "mprotect to read-only, still readable");

	/* pthread_create: clone3 on this glibc */
	pthread_t t;
	int where = 0;
	void *ret = NULL;
	int pc = pthread_create(&t, NULL, thread_fn, &where);
	int pj = pc ? -1 : pthread_join(t, &ret);
	CHECK(pc == 0 && pj == 0 && ret == (void *)0x666 && where == 1,
	      "pthread_create from Dune (thread ran in Linux mode, returned %p)", ret);

	/* fork + wait: the child continues in Linux mode */
	pid_t pid = fork();
	if (pid == 0)
		_exit(in_dune() ? 70 : 69);
	int status = 0;
	pid_t wp = waitpid(pid, &status, 0);
	CHECK(pid > 0 && wp == pid && WIFEXITED(status) && WEXITSTATUS(status) == 69,
	      "fork: child exited with %d in Linux mode", WIFEXITED(status) ? WEXITSTATUS(status) : -1);

	/* vfork + wait: the child runs in Linux mode on the parent's memory */
	pid = vfork();
	if (pid == 0)
		_exit(in_dune() ? 71 : 70);
	wp = waitpid(pid, &status, 0);
	CHECK(pid > 0 && wp == pid && WIFEXITED(status) && WEXITSTATUS(status) == 70 && in_dune(),
	      "vfork: child exited with %d in Linux mode, parent back in Dune", WIFEXITED(status) ? WEXITSTATUS(status) : -1);

	/* copy-on-write after fork keeps parent and child apart */
	volatile uint64_t *cow = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	*cow = 1;
	pid = fork();
	if (pid == 0) {
		usleep(100000);
		int saw = (int)*cow; /* the parent wrote 3 meanwhile, in Dune mode */
		*cow = 2;
		_exit(saw);
	}
	*cow = 3;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1 && *cow == 3,
	      "copy-on-write after fork: child saw %d, parent keeps %llu", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
	      (unsigned long long)*cow);

	/* a write after mprotect(PROT_READ) does not happen: it faults into the
	 * process's page-fault handler, as a write to a present page */
	volatile uint64_t *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	*shared = 10;
	fault_expected = (uintptr_t)shared;
	pid = fork();
	if (pid == 0) {
		if (dune_enter() == 0) {
			dune_register_pgflt_handler(exit_on_fault);
			(void)shared[0]; /* mapped readable in the EPT */
			mprotect((void *)shared, 4096, PROT_READ);
			shared[0] = 11; /* must not land */
			_exit(2);
		}
		_exit(4);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 10 + (FEC_P | FEC_W) && *shared == 10,
	      "write after mprotect(PROT_READ) faults into the Dune #PF handler (value %llu, child exit %d)",
	      (unsigned long long)*shared, WIFEXITED(status) ? WEXITSTATUS(status) : -1);

	/* after munmap the old address faults into the process's #PF handler:
	 * no stale data (the page table still maps it: map_full) */
	volatile uint64_t *gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fault_expected = (uintptr_t)gone;
	pid = fork();
	if (pid == 0) {
		if (dune_enter() == 0) {
			dune_register_pgflt_handler(exit_on_fault);
			*gone = 0x57a1e;
			munmap((void *)gone, 4096);
			_exit(*gone == 0x57a1e ? 2 : 3); /* either means the read returned */
		}
		_exit(4);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 10 + FEC_P,
	      "read after munmap faults into the Dune #PF handler, no stale data (child exit %d)",
	      WIFEXITED(status) ? WEXITSTATUS(status) : -1);

	/* and after the handler maps memory there again, the access completes */
	pid = fork();
	if (pid == 0) {
		if (dune_enter() == 0) {
			dune_register_pgflt_handler(remap_on_fault);
			munmap((void *)gone, 4096);
			uint64_t v = *gone; /* faults, the handler mmaps a fresh page, the read returns 0 */
			_exit(v == 0 && remapped == 1 ? 20 : 21);
		}
		_exit(4);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 20,
	      "the #PF handler maps the page again and the access completes (child exit %d)",
	      WIFEXITED(status) ? WEXITSTATUS(status) : -1);

	/* execve from a forked child that is in Dune mode */
	pid = fork();
	if (pid == 0) {
		if (dune_enter() == 0) {
			char *args[] = {argv[0], "exec-target", NULL};
			execv("/proc/self/exe", args);
		}
		_exit(99);
	}
	wp = waitpid(pid, &status, 0);
	CHECK(wp == pid && WIFEXITED(status) && WEXITSTATUS(status) == 42, "execve from Dune: exit code %d",
	      WIFEXITED(status) ? WEXITSTATUS(status) : -1);

	printf("syscalls: done failures=%d\n", check_failures);
	return check_failures ? 1 : 0;
}
