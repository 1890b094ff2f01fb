/*
 * smp: Dune threads on many CPUs (dunehv's SMP issue). Each check prints one
 * machine-readable verdict, "smp: ok <id> - <detail>" or "smp: not ok <id> -
 * <detail>", and the program exits with the number of failed checks.
 *
 *   smp threads N    N Dune threads at once, each checking its own work
 *   smp migrate N    a Dune thread moved between CPUs N times by another
 *                    thread (sched_setaffinity) keeps its registers and memory
 *   smp munmap N     munmap on one CPU while a Dune thread on the other reads
 *                    the page: after munmap returns, every access faults
 *   smp lifetimes N  N Dune thread lifetimes, alternating between CPUs
 *   smp hotplug N    CPU 1 offlined and onlined N times while 4 Dune threads
 *                    compute and check their work
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dune.h"

#define VERDICT_PROGRAM "smp"
#include "verdict.h"

static int current_cpu(void)
{
	unsigned cpu = 0;
	syscall(SYS_getcpu, &cpu, NULL, NULL); /* from Dune: a system call through Linux */
	return (int)cpu;
}

static int pin(pid_t tid, int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(tid, sizeof(set), &set);
}

static int ncpus(void) { return (int)sysconf(_SC_NPROCESSORS_ONLN); }

/* ---- N threads at once ---- */

#define MAX_THREADS 64
static volatile int threads_entered, threads_go;
static uint64_t thread_cpus_seen[MAX_THREADS];

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static void *thread_body(void *arg)
{
	long i = (long)arg;
	if (dune_enter())
		return (void *)-1l;
	__atomic_add_fetch(&threads_entered, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&threads_go, __ATOMIC_ACQUIRE))
		current_cpu(); /* wait in Dune mode, with system calls */
	uint64_t *buf = malloc(64 * 1024);
	uint64_t x = (uint64_t)i, sum = 0, check = 0;
	for (int round = 0; round < 200; round++) {
		for (int k = 0; k < 8192; k++)
			buf[k] = x = mix(x + (uint64_t)k);
		for (int k = 0; k < 8192; k++)
			sum += buf[k];
		thread_cpus_seen[i] |= 1ull << (current_cpu() & 63);
	}
	/* the same computation in Linux mode's terms: plain arithmetic */
	x = (uint64_t)i;
	for (int round = 0; round < 200; round++)
		for (int k = 0; k < 8192; k++)
			check += x = mix(x + (uint64_t)k);
	free(buf);
	return (void *)(long)(sum == check ? 0 : 1);
}

static void mode_threads(int n)
{
	pthread_t t[MAX_THREADS];
	if (n > MAX_THREADS)
		n = MAX_THREADS;
	for (long i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, thread_body, (void *)i))
			n = (int)i;
	while (__atomic_load_n(&threads_entered, __ATOMIC_SEQ_CST) < n)
		usleep(1000);
	verdict(1, "threads.all-in-dune", "%d threads are in Dune mode at once", n);
	__atomic_store_n(&threads_go, 1, __ATOMIC_RELEASE);
	int bad = 0;
	uint64_t cpus = 0;
	for (int i = 0; i < n; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += r != NULL;
		cpus |= thread_cpus_seen[i];
	}
	verdict(bad == 0, "threads.results", "%d of %d threads computed their checksum right", n - bad, n);
	verdict(__builtin_popcountll(cpus) >= (ncpus() < 2 ? ncpus() : 2), "threads.cpus",
		"the threads ran on %d CPUs (mask %#llx)", __builtin_popcountll(cpus), (unsigned long long)cpus);
}

/* ---- migration ---- */

static volatile pid_t mover_tid;
static volatile int mover_stop, mover_cpu_now, mover_ready;
static volatile uint64_t mover_rounds, mover_errors;
static volatile uint64_t mover_memory[512];

/* Registers: a value kept live in callee-saved registers across the
 * system call (where the hypervisor's VMCS may move), checked after. */
static void *mover_body(void *arg)
{
	(void)arg;
	mover_tid = (pid_t)syscall(SYS_gettid);
	if (dune_enter())
		return (void *)-1l;
	mover_ready = 1;
	uint64_t a = 0x1111111111111111ull, b = 0x2222222222222222ull, c = 0x3333333333333333ull;
	while (!mover_stop) {
		register uint64_t r12 __asm__("r12") = a, r13 __asm__("r13") = b, r14 __asm__("r14") = c;
		__asm__ volatile("" : "+r"(r12), "+r"(r13), "+r"(r14));
		int cpu = current_cpu();
		__asm__ volatile("" : "+r"(r12), "+r"(r13), "+r"(r14));
		/* a spin in Dune mode without exits to Linux but the timer's */
		for (volatile int spin = 0; spin < 2000; spin++)
			;
		if (r12 != a || r13 != b || r14 != c)
			mover_errors++;
		uint64_t k = mover_rounds % 512;
		mover_memory[k] = a ^ k;
		if (mover_memory[k] != (a ^ k))
			mover_errors++;
		a = mix(a);
		b = a + 1;
		c = ~a;
		mover_cpu_now = cpu;
		mover_rounds++;
	}
	return NULL;
}

static void mode_migrate(int n)
{
	pthread_t t;
	int cpus = ncpus();
	if (cpus < 2) {
		verdict(0, "migrate.cpus", "needs 2 CPUs, %d online", cpus);
		return;
	}
	pthread_create(&t, NULL, mover_body, NULL);
	while (!mover_ready)
		usleep(1000);
	int moved = 0, seen_moves = 0;
	for (int i = 0; i < n; i++) {
		int target = i % 2;
		if (pin(mover_tid, target) == 0)
			moved++;
		uint64_t r0 = mover_rounds;
		/* wait until the thread reports from the target CPU */
		for (int w = 0; w < 200000 && (mover_cpu_now != target || mover_rounds < r0 + 2); w++)
			sched_yield();
		seen_moves += mover_cpu_now == target;
	}
	mover_stop = 1;
	void *r;
	pthread_join(t, &r);
	verdict(r == NULL, "migrate.thread", "the Dune thread ran %llu rounds and returned", (unsigned long long)mover_rounds);
	verdict(moved == n && seen_moves == n, "migrate.moves", "%d of %d moves asked, %d seen from the target CPU", moved, n,
		seen_moves);
	verdict(mover_errors == 0, "migrate.state", "%llu register or memory mismatches across the moves",
		(unsigned long long)mover_errors);
}

/* ---- munmap on one CPU while a Dune thread reads on the other ---- */

/* A page address in dune-abi's mmap window (the guest page tables map the
 * window whole; an address outside it has no guest-physical address at all),
 * picked by the first mmap and reused with MAP_FIXED every round. */
static volatile uint64_t *race_page;
#define RACE_ADDR race_page
static volatile uint64_t race_gen, race_unmapped, race_seen, race_faulted, race_stale, race_stop;
static volatile uint64_t race_faults;

static void race_pgflt(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	(void)fec;
	(void)tf;
	/* the page is gone: map a zero page there and let the access complete */
	race_faults++;
	mmap((void *)(addr & ~0xfffull), 4096, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void *race_body(void *arg)
{
	(void)arg;
	pin(0, 1);
	if (dune_enter())
		return (void *)-1l;
	dune_register_pgflt_handler(race_pgflt);
	while (!race_stop) {
		uint64_t gen = race_gen;
		if (!gen || race_faulted == gen)
			continue;
		uint64_t unmapped = race_unmapped; /* read before the page */
		uint64_t v = *RACE_ADDR;
		if (v == gen)
			race_seen = gen;
		if (unmapped == gen) {
			if (v == gen)
				race_stale++; /* old data after munmap returned */
			race_faulted = gen;
		}
	}
	return NULL;
}

static void mode_munmap(int n)
{
	pthread_t t;
	if (ncpus() < 2) {
		verdict(0, "munmap.cpus", "needs 2 CPUs");
		return;
	}
	pin(0, 0);
	race_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (race_page == MAP_FAILED) {
		verdict(0, "munmap.rounds", "mmap failed");
		return;
	}
	/* kept mapped until the first round replaces it (MAP_FIXED), so that no
	 * other mapping (the thread's stack) is placed there meanwhile */
	pthread_create(&t, NULL, race_body, NULL);
	int rounds = 0;
	for (uint64_t gen = 1; gen <= (uint64_t)n; gen++) {
		volatile uint64_t *p = mmap((void *)RACE_ADDR, 4096, PROT_READ | PROT_WRITE,
					    MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			break;
		*p = gen;
		race_gen = gen;
		while (race_seen != gen) /* the Dune thread has the page in its EPT */
			sched_yield();
		munmap((void *)RACE_ADDR, 4096);
		race_unmapped = gen;
		while (race_faulted != gen)
			sched_yield();
		rounds++;
	}
	race_stop = 1;
	pthread_join(t, NULL);
	verdict(rounds == n, "munmap.rounds", "%d of %d munmaps while the page was in use on the other CPU", rounds, n);
	verdict(race_stale == 0, "munmap.no-stale-data", "%llu reads returned the old data after munmap returned",
		(unsigned long long)race_stale);
	verdict(race_faults >= (uint64_t)rounds, "munmap.faults", "%llu accesses faulted into the process (at least one per munmap)",
		(unsigned long long)race_faults);
}

/* ---- lifetimes ---- */

static void *lifetime_body(void *arg)
{
	pin(0, (int)(long)arg);
	if (dune_enter())
		return (void *)-1l;
	return (void *)(long)current_cpu();
}

static void mode_lifetimes(int n)
{
	int ok = 0, cpus = ncpus();
	uint64_t seen = 0;
	for (int i = 0; i < n; i++) {
		pthread_t t;
		void *r;
		if (pthread_create(&t, NULL, lifetime_body, (void *)(long)(i % cpus)))
			break;
		pthread_join(t, &r);
		if ((long)r >= 0) {
			ok++;
			seen |= 1ull << ((long)r & 63);
		}
	}
	verdict(ok == n, "lifetimes.count", "%d of %d Dune thread lifetimes", ok, n);
	verdict(__builtin_popcountll(seen) == (cpus > 64 ? 64 : cpus), "lifetimes.cpus", "spread over %d CPUs",
		__builtin_popcountll(seen));
}

/* ---- CPU hotplug under running Dune threads ---- */

static volatile int hot_stop;
static volatile uint64_t hot_rounds[4], hot_bad[4];

static void *hot_body(void *arg)
{
	long i = (long)arg;
	if (dune_enter())
		return (void *)-1l;
	uint64_t buf[256];
	while (!hot_stop) {
		uint64_t x = (uint64_t)i + hot_rounds[i], sum = 0, check = 0;
		for (int k = 0; k < 256; k++)
			sum += buf[k] = x = mix(x + (uint64_t)k);
		current_cpu();
		for (int k = 0; k < 256; k++)
			check += buf[k];
		hot_bad[i] += sum != check;
		hot_rounds[i]++;
	}
	return NULL;
}

static int set_online(int on)
{
	FILE *f = fopen("/sys/devices/system/cpu/cpu1/online", "w");
	if (!f)
		return -1;
	int r = fprintf(f, "%d\n", on) < 0;
	r |= fclose(f) != 0;
	return r ? -1 : 0;
}

static void mode_hotplug(int n)
{
	pthread_t t[4];
	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hot_body, (void *)i);
	int cycles = 0;
	for (int i = 0; i < n; i++) {
		uint64_t r0 = hot_rounds[0] + hot_rounds[1] + hot_rounds[2] + hot_rounds[3];
		if (set_online(0) || set_online(1))
			break;
		/* the threads make progress after each cycle */
		for (int w = 0; w < 100000 && hot_rounds[0] + hot_rounds[1] + hot_rounds[2] + hot_rounds[3] < r0 + 8; w++)
			sched_yield();
		cycles++;
	}
	hot_stop = 1;
	int bad_threads = 0;
	uint64_t rounds = 0, bad = 0;
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad_threads += r != NULL;
		rounds += hot_rounds[i];
		bad += hot_bad[i];
	}
	verdict(cycles == n, "hotplug.cycles", "CPU 1 offlined and onlined %d of %d times", cycles, n);
	verdict(bad_threads == 0 && bad == 0 && rounds > 0, "hotplug.dune-threads",
		"4 Dune threads ran %llu rounds across the cycles, %llu wrong", (unsigned long long)rounds,
		(unsigned long long)bad);
	verdict(ncpus() >= 2, "hotplug.online", "%d CPUs online after the cycles", ncpus());
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: smp threads|migrate|munmap|lifetimes|hotplug N\n");
		return 2;
	}
	int n = atoi(argv[2]);
	if (dune_init(1)) {
		verdict(0, "init", "dune_init failed");
		return 1;
	}
	if (!strcmp(argv[1], "threads"))
		mode_threads(n);
	else if (!strcmp(argv[1], "migrate"))
		mode_migrate(n);
	else if (!strcmp(argv[1], "munmap"))
		mode_munmap(n);
	else if (!strcmp(argv[1], "lifetimes"))
		mode_lifetimes(n);
	else if (!strcmp(argv[1], "hotplug"))
		mode_hotplug(n);
	else
		return 2;
	return verdict_failures;
}
