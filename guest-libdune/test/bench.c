/* make bench-dune: costs of Dune operations against their Linux
 * counterparts, measured in one process with RDTSC (in Bochs the TSC counts
 * emulated instructions, not cycles). Prints "bench: <key> <value>" lines
 * that scripts/bench-dune.py turns into a table. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
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

/* Appel & Li's GC primitives over NRPGS pages (upstream's bench):
 * PROT1-TRAP-UNPROT protects one page, touches it, and the fault handler
 * unprotects it; PROTN-TRAP-UNPROT protects all pages at once, then touches
 * each. Linux: mprotect + SIGSEGV; Dune: dune_vm_mprotect + the #PF handler. */
#define NRPGS 100
static char *appel_area;
static void appel_segv(int sig, siginfo_t *si, void *ctx)
{
	(void)sig, (void)ctx;
	mprotect((void *)((uintptr_t)si->si_addr & ~4095ul), 4096, PROT_READ | PROT_WRITE);
}
static void appel_pgflt(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	(void)fec, (void)tf;
	dune_vm_mprotect(pgroot, (void *)(addr & ~4095ul), 4096, PERM_R | PERM_W);
}
static void protect(bool dune, void *p, size_t len)
{
	if (dune)
		dune_vm_mprotect(pgroot, p, len, PERM_R);
	else
		mprotect(p, len, PROT_READ);
}
static uint64_t appel1(bool dune)
{
	uint64_t t0 = tsc();
	for (int i = 0; i < NRPGS; i++) {
		protect(dune, appel_area + i * 4096ul, 4096);
		*(volatile char *)(appel_area + i * 4096ul) = 1;
	}
	return tsc() - t0;
}
static uint64_t appel2(bool dune)
{
	uint64_t t0 = tsc();
	protect(dune, appel_area, NRPGS * 4096ul);
	for (int i = 0; i < NRPGS; i++)
		*(volatile char *)(appel_area + i * 4096ul) = 1;
	return tsc() - t0;
}

/* System-call interposition: a ptrace tracer stopping the tracee at every
 * system call (PTRACE_SYSCALL) in Linux; in Dune, ring-3 code whose SYSCALL
 * goes to the process's own ring-0 handler, which passes it on. */
static uint64_t ptrace_per_call(void)
{
	int fds[2];
	if (pipe(fds))
		return 0;
	pid_t pid = fork();
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
		uint64_t t0 = tsc();
		for (int i = 0; i < N / 10; i++)
			syscall(SYS_getpid);
		uint64_t per = (tsc() - t0) / (N / 10);
		if (write(fds[1], &per, sizeof(per)) != sizeof(per))
			_exit(1);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	while (ptrace(PTRACE_SYSCALL, pid, NULL, NULL) == 0 && waitpid(pid, &st, 0) == pid && WIFSTOPPED(st))
		;
	uint64_t per = 0;
	if (read(fds[0], &per, sizeof(per)) != sizeof(per))
		per = 0;
	close(fds[0]);
	close(fds[1]);
	return per;
}

#define SYS_LEAVE_RING3 1000
static void ring3_getpid_loop(void)
{
	for (int i = 0; i < N / 10; i++) {
		long r;
		__asm__ volatile("syscall" : "=a"(r) : "a"((long)SYS_getpid) : "rcx", "r11", "memory");
	}
	__asm__ volatile("syscall" ::"a"((long)SYS_LEAVE_RING3) : "rcx", "r11", "memory");
	for (;;)
		;
}
static void ring3_syscall(struct dune_tf *tf)
{
	if (tf->rax == SYS_LEAVE_RING3)
		dune_ret_from_user(0);
	dune_passthrough_syscall(tf);
}
static uint64_t ring3_per_call(void)
{
	static uint8_t stack[16384] __attribute__((aligned(16)));
	struct dune_tf tf;
	memset(&tf, 0, sizeof(tf));
	tf.rip = (uint64_t)ring3_getpid_loop;
	tf.rsp = (uint64_t)(stack + sizeof(stack) - 8);
	tf.rflags = 0x2;
	dune_register_syscall_handler(ring3_syscall);
	uint64_t t0 = tsc();
	dune_jump_to_user(&tf);
	return (tsc() - t0) / (N / 10);
}

/* hvprobe's /proc/dunehv/cpustat counters (0 without it): cross-CPU
 * requests summed over CPUs, and the machine-wide migration and shoot-down
 * counts from its one hvstat line. */
static void cpustat_sums(uint64_t *migrations, uint64_t *shootdowns, uint64_t *requests)
{
	char line[256];
	uint64_t m, s, r;
	*migrations = *shootdowns = *requests = 0;
	FILE *f = fopen("/proc/dunehv/cpustat", "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "cpustat cpu=%*u apic=%*u exits=%*u dune_exits=%*u inits=%*u sipis=%*u ipis=%*u requests=%lu",
			   &r) == 1)
			*requests += r;
		else if (sscanf(line, "hvstat migrations=%lu shootdowns=%lu", &m, &s) == 2) {
			*migrations = m;
			*shootdowns = s;
		}
	}
	if (f)
		fclose(f);
}

/* One move of the calling thread to the other CPU: sched_setaffinity, then a
 * getpid, which returns on the new CPU (in Dune the context's next run there
 * VMCLEARs its VMCS on the old CPU first). -1 with one CPU. */
#define MOVES 200
static long migrate_per_move(void)
{
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return -1;
	uint64_t sum = 0;
	for (int i = 0; i < MOVES; i++) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(i % 2, &set);
		uint64_t t0 = tsc();
		syscall(SYS_sched_setaffinity, 0, sizeof(set), &set);
		syscall(SYS_getpid);
		sum += tsc() - t0;
	}
	return (long)(sum / MOVES);
}

/* munmap of a page the Dune context has mapped in its EPT, from another
 * CPU than the one it last ran on: the hypervisor's shoot-downs and cross-CPU
 * requests per munmap. Runs from Linux mode in a second thread. */
static volatile int unmap_phase;
static volatile char *unmap_page;
static void *unmapper(void *arg)
{
	(void)arg;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(1, &set);
	sched_setaffinity(0, sizeof(set), &set);
	for (int i = 0; i < MOVES; i++) {
		while (unmap_phase != 1)
			sched_yield();
		munmap((void *)unmap_page, 4096);
		unmap_phase = 2;
	}
	return NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Linux */
	uint64_t t0 = tsc();
	for (int i = 0; i < N; i++)
		syscall(SYS_getpid);
	printf("bench: linux_getpid %lu\n", (tsc() - t0) / N);
	/* an ioctl dune.ko refuses: the kernel round trip that each Dune
	 * system call adds (the trampoline's DUNE_RESUME) */
	int probe_fd = open("/dev/dune", O_RDWR);
	if (probe_fd >= 0) {
		t0 = tsc();
		for (int i = 0; i < N; i++)
			ioctl(probe_fd, 0xdead);
		printf("bench: linux_ioctl %lu\n", (tsc() - t0) / N);
		close(probe_fd);
	}
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
	printf("bench: linux_ptrace %lu\n", ptrace_per_call());
	appel_area = mmap(NULL, NRPGS * 4096ul, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	sa.sa_sigaction = appel_segv;
	sigaction(SIGSEGV, &sa, NULL);
	printf("bench: linux_appel1 %lu\n", appel1(false));
	printf("bench: linux_appel2 %lu\n", appel2(false));
	long lm = migrate_per_move();
	if (lm >= 0)
		printf("bench: linux_migrate %ld\n", lm);

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
	printf("bench: dune_ptrace %lu\n", ring3_per_call());
	/* the Appel-Li pages: pool pages at a guest-only address */
	appel_area = (char *)(GUEST_ONLY_VA + (1ul << 30));
	dune_vm_map_pages(pgroot, appel_area, NRPGS * 4096ul, PERM_R | PERM_W);
	for (int i = 0; i < NRPGS; i++)
		appel_area[i * 4096ul] = 0;
	dune_register_pgflt_handler(appel_pgflt);
	printf("bench: dune_appel1 %lu\n", appel1(true));
	printf("bench: dune_appel2 %lu\n", appel2(true));
	uint64_t m0, s0, r0, m1, s1, r1;
	cpustat_sums(&m0, &s0, &r0);
	long dm = migrate_per_move();
	cpustat_sums(&m1, &s1, &r1);
	if (dm >= 0) {
		printf("bench: dune_migrate %ld\n", dm);
		printf("bench: dune_migrations_per_move %.2f\n", (double)(m1 - m0) / MOVES);
		/* this thread stays on CPU 0; the unmapper runs on CPU 1 */
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(0, &set);
		sched_setaffinity(0, sizeof(set), &set);
		pthread_t t;
		pthread_create(&t, NULL, unmapper, NULL);
		cpustat_sums(&m0, &s0, &r0);
		for (int i = 0; i < MOVES; i++) {
			unmap_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			unmap_page[0] = 1; /* in the context's EPT now */
			unmap_phase = 1;
			while (unmap_phase != 2)
				syscall(SYS_sched_yield);
		}
		pthread_join(t, NULL);
		cpustat_sums(&m1, &s1, &r1);
		printf("bench: dune_shootdowns_per_unmap %.2f\n", (double)(s1 - s0) / MOVES);
		printf("bench: dune_requests_per_unmap %.2f\n", (double)(r1 - r0) / MOVES);
	}
	printf("bench: done\n");
	return 0;
}
