/* System calls and memory from Dune mode through libdune: file I/O, mmap,
 * mprotect, getrandom, statx, pthread_create (clone3 on glibc >= 2.34),
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

#include "../dune.h"

static int failures;
#define CHECK(cond, fmt, ...)                                                              \
	do {                                                                               \
		int ok_ = !!(cond);                                                        \
		printf("syscalls: " fmt " %s\n", ##__VA_ARGS__, ok_ ? "OK" : "FAIL");    \
		if (!ok_)                                                                  \
			failures++;                                                        \
	} while (0)

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

	/* huge pages: a 2 MiB range backed by one huge page (THP, then
	 * hugetlbfs) takes one 2 MiB EPT leaf, not 512 4 KiB ones */
	for (int kind = 0; kind < 2; kind++) {
		size_t two = 2ul << 20;
		int hflags = kind ? MAP_HUGETLB : 0;
		uint8_t *raw = mmap(NULL, kind ? two : 2 * two, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | hflags, -1, 0);
		uint8_t *h = raw == MAP_FAILED ? NULL : (uint8_t *)(((uintptr_t)raw + two - 1) & ~(two - 1));
		if (h && !kind)
			madvise(h, two, MADV_HUGEPAGE);
		long before = dune_ept_violations(), after = -1;
		size_t ok = 0;
		if (h) {
			for (size_t i = 0; i < two; i += 4096)
				h[i] = (uint8_t)(i >> 12);
			after = dune_ept_violations();
			for (size_t i = 0; i < two; i += 4096)
				ok += h[i] == (uint8_t)(i >> 12);
		}
		CHECK(h && ok == 512 && before >= 0 && after - before <= 4,
		      "%s: 512 pages touched in Dune mode with %ld EPT violations", kind ? "hugetlbfs 2 MiB page" : "transparent huge page",
		      after - before);
		if (h)
			munmap(raw, kind ? two : 2 * two);
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

	printf("syscalls: done failures=%d\n", failures);
	return failures ? 1 : 0;
}
