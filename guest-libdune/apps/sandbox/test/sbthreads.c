/* SPDX-License-Identifier: MIT */
/* An ordinary dynamically linked glibc program (no libdune) with POSIX
 * threads and posix_spawn, for dune-sandbox's clone support; sbtest.sh
 * runs it sandboxed.
 * Each check prints "sbthreads: ok|not ok sandbox.threads.<id> - ..."
 * (test/verdict.h) and the exit
 * status is the number of failures. It judges itself: the same program
 * natively passes the same checks. */
#define _GNU_SOURCE
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define VERDICT_PROGRAM "sbthreads"
#include "../../../test/verdict.h"

#define NTHREADS 4
#define ROUNDS 20000

/* counter: a mutex and an atomic, shared by NTHREADS threads */
static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static atomic_long atomic_counter;
static __thread long mine; /* each thread's own */
static pid_t tids[NTHREADS];

static void *count(void *arg)
{
	long idx = (long)arg;
	for (int i = 0; i < ROUNDS; i++) {
		pthread_mutex_lock(&counter_lock);
		counter++;
		pthread_mutex_unlock(&counter_lock);
		atomic_fetch_add(&atomic_counter, 1);
		mine++;
	}
	tids[idx] = gettid();
	return (void *)(mine * 10 + idx);
}

static void check_counter(void)
{
	pthread_t th[NTHREADS];
	long ret_ok = 1;
	for (long i = 0; i < NTHREADS; i++)
		if (pthread_create(&th[i], NULL, count, (void *)i)) {
			verdict(0, "sandbox.threads.counter", "pthread_create failed");
			return;
		}
	for (long i = 0; i < NTHREADS; i++) {
		void *ret;
		pthread_join(th[i], &ret);
		ret_ok &= (long)ret == ROUNDS * 10 + i;
	}
	verdict(counter == NTHREADS * ROUNDS && atomic_counter == NTHREADS * ROUNDS, "sandbox.threads.counter",
		"%d threads x %d: mutex count %ld, atomic count %ld", NTHREADS, ROUNDS, counter, (long)atomic_counter);
	int distinct = 1;
	for (int i = 0; i < NTHREADS; i++)
		for (int j = 0; j < i; j++)
			distinct &= tids[i] != tids[j] && tids[i] != getpid() && tids[i] > 0;
	verdict(ret_ok && mine == 0 && distinct, "sandbox.threads.tls-and-tids",
		"each thread's __thread counter was its own (main's still %ld), tids distinct from each other and the pid",
		mine);
}

/* condvar: a producer and a consumer through a one-slot queue */
static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cond = PTHREAD_COND_INITIALIZER;
static int q_full, q_value;
#define ITEMS 2000

static void *produce(void *arg)
{
	(void)arg;
	for (int i = 1; i <= ITEMS; i++) {
		pthread_mutex_lock(&q_lock);
		while (q_full)
			pthread_cond_wait(&q_cond, &q_lock);
		q_value = i;
		q_full = 1;
		pthread_cond_broadcast(&q_cond);
		pthread_mutex_unlock(&q_lock);
	}
	return NULL;
}

static void check_condvar(void)
{
	pthread_t th;
	long sum = 0;
	pthread_create(&th, NULL, produce, NULL);
	for (int i = 0; i < ITEMS; i++) {
		pthread_mutex_lock(&q_lock);
		while (!q_full)
			pthread_cond_wait(&q_cond, &q_lock);
		sum += q_value;
		q_full = 0;
		pthread_cond_broadcast(&q_cond);
		pthread_mutex_unlock(&q_lock);
	}
	pthread_join(th, NULL);
	verdict(sum == (long)ITEMS * (ITEMS + 1) / 2, "sandbox.threads.condvar", "%d items through a condition variable, sum %ld", ITEMS,
		sum);
}

/* churn: more threads, one after another, than a process may have Dune
 * contexts at once (64): each one's context and stack must come back */
#define CHURN 100
static void *give(void *arg) { return arg; }
static void *exit_early(void *arg)
{
	pthread_exit((char *)arg + 1);
	return NULL;
}

static void check_churn(void)
{
	int ok = 1;
	for (long i = 0; i < CHURN && ok; i++) {
		pthread_t th;
		void *ret;
		if (pthread_create(&th, NULL, (i & 1) ? give : exit_early, (void *)i) || pthread_join(th, &ret))
			ok = 0;
		else
			ok = (long)ret == ((i & 1) ? i : i + 1);
	}
	verdict(ok, "sandbox.threads.churn", "%d threads created and joined one after another (half by pthread_exit)", CHURN);
}

/* nested: a thread that starts a thread */
static void *inner(void *arg) { return (char *)arg + 2; }
static void *outer(void *arg)
{
	pthread_t th;
	void *ret = NULL;
	if (pthread_create(&th, NULL, inner, arg) || pthread_join(th, &ret))
		return NULL;
	return ret;
}

static void check_nested(void)
{
	pthread_t th;
	void *ret = NULL;
	pthread_create(&th, NULL, outer, (void *)40);
	pthread_join(th, &ret);
	verdict((long)ret == 42, "sandbox.threads.nested", "a thread's own thread returned %ld", (long)ret);
}

/* memory: threads map, fill, check, unmap and malloc at once (each with
 * its own malloc arena, which glibc makes with mmap, munmap and mprotect) */
#define MAPS 40
static void *churn_memory(void *arg)
{
	unsigned seed = (unsigned)(long)arg;
	for (int i = 0; i < MAPS; i++) {
		size_t len = (size_t)(1 + rand_r(&seed) % 64) * 4096;
		unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *m = malloc(300000 + i);
		if (p == MAP_FAILED || !m)
			return (void *)1;
		memset(p, (int)(long)arg, len);
		memset(m, (int)(long)arg, 300000);
		for (size_t k = 0; k < len; k += 4096)
			if (p[k] != (unsigned char)(long)arg)
				return (void *)2;
		if (m[299999] != (char)(long)arg)
			return (void *)3;
		munmap(p, len);
		free(m);
	}
	return NULL;
}

static void check_memory(void)
{
	pthread_t th[NTHREADS];
	long bad = 0;
	for (long i = 0; i < NTHREADS; i++)
		pthread_create(&th[i], NULL, churn_memory, (void *)(i + 1));
	for (long i = 0; i < NTHREADS; i++) {
		void *ret;
		pthread_join(th[i], &ret);
		bad |= (long)ret;
	}
	verdict(!bad, "sandbox.threads.memory", "%d threads each mapped, checked and unmapped %d ranges and malloc'd 300 KB blocks (%ld)",
		NTHREADS, MAPS, bad);
}

/* fork from a thread: the child has that thread only, and exits */
static void *fork_here(void *arg)
{
	(void)arg;
	pid_t pid = fork();
	if (pid == 0)
		_exit(42);
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return (void *)-1;
	return (void *)(long)(WIFEXITED(st) ? WEXITSTATUS(st) : -2);
}

static void check_fork(void)
{
	pthread_t th;
	void *ret = NULL;
	pthread_create(&th, NULL, fork_here, NULL);
	pthread_join(th, &ret);
	verdict((long)ret == 42, "sandbox.threads.fork-in-thread", "a thread forked; its child's exit status %ld", (long)ret);
}

/* posix_spawn: glibc's clone(CLONE_VM | CLONE_VFORK) on a stack of its own */
extern char **environ;
static void check_spawn(void)
{
	pid_t pid;
	int st = -1;
	char *argv[] = {"busybox", "sh", "-c", "exit 5", NULL};
	int e = posix_spawn(&pid, "/bin/busybox", NULL, NULL, argv, environ);
	if (!e && waitpid(pid, &st, 0) != pid)
		st = -1;
	char *bad[] = {"nothing", NULL};
	int e2 = posix_spawn(&pid, "/nonexistent/program", NULL, NULL, bad, environ), st2 = -1;
	if (!e2 && waitpid(pid, &st2, 0) != pid)
		st2 = -1;
	/* a missing program: glibc's error from the child, or (a fork-like
	 * child, as in the sandbox) the child's exit status 127 */
	bool missing_ok = e2 == ENOENT || (!e2 && WIFEXITED(st2) && WEXITSTATUS(st2) == 127);
	verdict(!e && WIFEXITED(st) && WEXITSTATUS(st) == 5 && missing_ok, "sandbox.threads.posix-spawn",
		"posix_spawn of busybox sh: exit status %d; of a missing program: error %d, status %#x", WEXITSTATUS(st), e2,
		st2);
}

int main(void)
{
	check_counter();
	check_condvar();
	check_churn();
	check_nested();
	check_memory();
	check_fork();
	check_spawn();
	printf("sbthreads: failures=%d\n", verdict_failures);
	return verdict_failures;
}
