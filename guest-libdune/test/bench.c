/* make bench-dune: costs of Dune operations against their Linux
 * counterparts, measured in one process with RDTSC (in Bochs the TSC counts
 * emulated instructions, not cycles). Prints "bench: <key> <value>" lines
 * that scripts/bench-dune.py turns into a table. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../dune.h"

#define N 2000
#define PAGES 1000

static inline uint64_t tsc(void) { return dune_get_ticks(); }

static uint64_t dune_exits_total(void)
{
	char line[128];
	uint64_t v = 0;
	FILE *f = fopen("/proc/dunehv/stats", "r");
	while (f && fgets(line, sizeof(line), f))
		sscanf(line, "dune_exits_total=%lu", &v);
	if (f)
		fclose(f);
	return v;
}

static volatile char *fault_page;
static void on_segv(int sig, siginfo_t *si, void *ctx)
{
	(void)sig, (void)si, (void)ctx;
	mprotect((void *)fault_page, 4096, PROT_READ | PROT_WRITE);
}

static uint64_t touch_pages(void)
{
	char *m = mmap(NULL, PAGES * 4096ul, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	madvise(m, PAGES * 4096ul, MADV_NOHUGEPAGE); /* 4 KiB pages, as the paper measured */
	uint64_t t0 = tsc();
	for (int i = 0; i < PAGES; i++)
		m[i * 4096ul] = 1;
	uint64_t t = (tsc() - t0) / PAGES;
	munmap(m, PAGES * 4096ul);
	return t;
}

/* Dune: a page the process's own page tables lack, fixed by its handler */
#define GUEST_ONLY_VA 0x400000000000ul
static ptent_t *guest_pte;
static physaddr_t guest_page;
static void on_pgflt(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	(void)addr, (void)fec, (void)tf;
	*guest_pte = guest_page | PTE_P | PTE_W;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Linux */
	uint64_t t0 = tsc();
	for (int i = 0; i < N; i++)
		syscall(SYS_getpid);
	printf("bench: linux_getpid %lu\n", (tsc() - t0) / N);
	printf("bench: linux_first_touch %lu\n", touch_pages());
	struct sigaction sa = {.sa_sigaction = on_segv, .sa_flags = SA_SIGINFO};
	sigaction(SIGSEGV, &sa, NULL);
	fault_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fault_page[0] = 1;
	uint64_t sum = 0;
	for (int i = 0; i < N / 10; i++) {
		mprotect((void *)fault_page, 4096, PROT_NONE);
		t0 = tsc();
		fault_page[0] = 2;
		sum += tsc() - t0;
	}
	printf("bench: linux_user_fault %lu\n", sum / (N / 10));

	/* Dune */
	if (dune_init_and_enter()) {
		printf("bench: cannot enter Dune\n");
		return 1;
	}
	t0 = tsc();
	for (int i = 0; i < N; i++)
		syscall(SYS_getpid);
	printf("bench: dune_getpid %lu\n", (tsc() - t0) / N);
	uint64_t e0 = dune_exits_total(), e1 = dune_exits_total(); /* e1 - e0: the reading's own exits */
	for (int i = 0; i < N; i++)
		syscall(SYS_getpid);
	uint64_t e2 = dune_exits_total();
	printf("bench: dune_exits_per_syscall %.2f\n", (double)((e2 - e1) - (e1 - e0)) / N);
	printf("bench: dune_first_touch %lu\n", touch_pages());
	struct page *pg = dune_page_alloc();
	guest_page = dune_page2pa(pg);
	dune_vm_map_phys(pgroot, (void *)GUEST_ONLY_VA, 4096, (void *)guest_page, PERM_R | PERM_W);
	dune_vm_lookup(pgroot, (void *)GUEST_ONLY_VA, CREATE_NONE, &guest_pte);
	dune_register_pgflt_handler(on_pgflt);
	sum = 0;
	for (int i = 0; i < N / 10; i++) {
		*guest_pte = 0;
		dune_flush_tlb_one(GUEST_ONLY_VA);
		t0 = tsc();
		*(volatile char *)GUEST_ONLY_VA = 2;
		sum += tsc() - t0;
	}
	printf("bench: dune_user_fault %lu\n", sum / (N / 10));
	printf("bench: done\n");
	return 0;
}
