/* SPDX-License-Identifier: MIT */
/* make bench-apps, sthreads: create+join of a process (fork), a pthread
 * and an sthread (recycled, on a fresh slot, and the very first one, which
 * also starts its worker), and a context switch (ping-pong over two pipes)
 * between two processes, two pthreads and two sthreads. Prints "stbench:
 * KEY TICKS" lines, time stamp counter ticks per operation (in Bochs the
 * TSC counts emulated instructions, not cycles), then "stbench: done". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <x86intrin.h>

#include "sthread.h"

#define N_FORK 40
#define N_PTHREAD 200
#define N_STHREAD 200
#define N_FRESH 40
#define ROUNDS 200

static int ping[2], pong[2]; /* made before sthread_init: in the snapshot */

static void *noop(void *arg) { return arg; }

/* ping-pong: the first side writes ping and reads pong, the other the reverse */
static void *side(void *arg)
{
	long first = (long)arg;
	char c = 'x';
	for (int i = 0; i < ROUNDS; i++) {
		if (first) {
			if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1)
				return (void *)1;
		} else {
			if (read(ping[0], &c, 1) != 1 || write(pong[1], &c, 1) != 1)
				return (void *)1;
		}
	}
	return NULL;
}

static void report(const char *key, unsigned long long ticks, int n) { printf("stbench: %s %llu\n", key, ticks / (unsigned)n); }

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (pipe(ping) || pipe(pong))
		return 1;
	int r = sthread_init();
	if (r) {
		printf("stbench: sthread_init failed: %d\n", r);
		return 1;
	}
	sc_t sc;
	sc_init(&sc);
	sthread_t st;
	void *ret;

	unsigned long long t0 = __rdtsc();
	for (int i = 0; i < N_FORK; i++) {
		pid_t pid = fork();
		if (!pid)
			_exit(0);
		waitpid(pid, NULL, 0);
	}
	report("fork", __rdtsc() - t0, N_FORK);

	t0 = __rdtsc();
	for (int i = 0; i < N_PTHREAD; i++) {
		pthread_t th;
		pthread_create(&th, NULL, noop, NULL);
		pthread_join(th, NULL);
	}
	report("pthread", __rdtsc() - t0, N_PTHREAD);

	t0 = __rdtsc();
	int bad = sthread_create(&st, &sc, noop, NULL) || sthread_join(st, &ret);
	report("sthread-first", __rdtsc() - t0, 1);

	t0 = __rdtsc();
	for (int i = 0; i < N_STHREAD; i++)
		bad += sthread_create(&st, &sc, noop, NULL) || sthread_join(st, &ret);
	report("sthread-recycled", __rdtsc() - t0, N_STHREAD);

	unsigned long long fresh = 0;
	for (int i = 0; i < N_FRESH; i++) {
		sthread_trim();
		t0 = __rdtsc();
		bad += sthread_create(&st, &sc, noop, NULL) || sthread_join(st, &ret);
		fresh += __rdtsc() - t0;
	}
	report("sthread-fresh", fresh, N_FRESH);

	/* switches: 2 per round */
	t0 = __rdtsc();
	pid_t pid = fork();
	if (!pid)
		_exit(side((void *)0L) != NULL);
	bad += side((void *)1L) != NULL;
	waitpid(pid, NULL, 0);
	report("switch-process", __rdtsc() - t0, 2 * ROUNDS);

	t0 = __rdtsc();
	pthread_t a, b;
	pthread_create(&a, NULL, side, (void *)1L);
	pthread_create(&b, NULL, side, (void *)0L);
	pthread_join(a, &ret);
	bad += ret != NULL;
	pthread_join(b, &ret);
	bad += ret != NULL;
	report("switch-pthread", __rdtsc() - t0, 2 * ROUNDS);

	sc_t sa, sb;
	sc_init(&sa);
	sc_fd_add(&sa, ping[1], PROT_WRITE);
	sc_fd_add(&sa, pong[0], PROT_READ);
	sc_init(&sb);
	sc_fd_add(&sb, ping[0], PROT_READ);
	sc_fd_add(&sb, pong[1], PROT_WRITE);
	sthread_t sta, stb;
	t0 = __rdtsc();
	bad += sthread_create(&sta, &sa, side, (void *)1L) != 0;
	bad += sthread_create(&stb, &sb, side, (void *)0L) != 0;
	bad += sthread_join(sta, &ret) || ret != NULL;
	bad += sthread_join(stb, &ret) || ret != NULL;
	report("switch-sthread", __rdtsc() - t0, 2 * ROUNDS);

	struct sthread_stats s;
	sthread_get_stats(&s);
	printf("stbench: pcid %d\n", s.pcid);
	printf("stbench: failures %d\n", bad);
	printf("stbench: done\n");
	return bad ? 1 : 0;
}
