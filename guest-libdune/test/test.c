/* The checks of upstream's test/test against our libdune: a process in Dune
 * mode runs each sub-test in a forked child (which starts in Linux mode and
 * enters Dune itself). fork: a Dune process forks, the child enters Dune
 * and exits 69. pthread: a new thread enters Dune and returns 0x666.
 * signal: dune_signal(SIGUSR1) and kill(getpid()) run the handler before
 * kill returns. Output as upstream's: "==== Test <name> - passed". */
#include <err.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../dune.h"

#define PASSED 255

/* Something only ring 0 may do: reload CR3 (a #GP in Linux mode). */
static int in_dune_ring0(void)
{
	dune_flush_tlb();
	return 1;
}

static int fork_test(void)
{
	if (dune_enter() || !in_dune_ring0())
		return 1;
	pid_t pid = fork();
	if (pid < 0)
		return 3;
	if (pid == 0) {
		if (dune_enter() || !in_dune_ring0())
			exit(1);
		exit(69);
	}
	int st;
	if (!in_dune_ring0())
		return 4;
	if (waitpid(pid, &st, 0) != pid)
		err(5, "waitpid");
	return WIFEXITED(st) && WEXITSTATUS(st) == 69 ? PASSED : 6;
}

static void *thread_body(void *arg)
{
	(void)arg;
	if (dune_enter() || !in_dune_ring0())
		return NULL;
	return (void *)0x666;
}

static int pthread_test(void)
{
	pthread_t t;
	void *ret;
	if (dune_enter() || !in_dune_ring0())
		return 1;
	if (pthread_create(&t, NULL, thread_body, NULL))
		err(1, "pthread_create");
	if (pthread_join(t, &ret))
		return 4;
	if (ret != (void *)0x666)
		return 5;
	return in_dune_ring0() ? PASSED : 6;
}

static volatile int signal_seen;
static void on_usr1(int sig) { signal_seen = sig == SIGUSR1 ? 666 : -1; }

static int signal_test(void)
{
	if (dune_enter())
		return 1;
	if (dune_signal(SIGUSR1, on_usr1) == SIG_ERR)
		err(1, "dune_signal");
	if (kill(getpid(), SIGUSR1))
		err(1, "kill");
	return signal_seen == 666 && in_dune_ring0() ? PASSED : 2;
}

static const struct {
	const char *name;
	int (*fn)(void);
} tests[] = {{"fork", fork_test}, {"pthread", pthread_test}, {"signal", signal_test}};

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (dune_init_and_enter()) {
		printf("failed to initialize dune\n");
		return 1;
	}
	printf("Doing tests\n");
	int failed = 0;
	for (unsigned i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		printf("==== Running test %s\n", tests[i].name);
		pid_t pid = fork();
		if (pid < 0)
			err(1, "fork");
		if (pid == 0)
			exit(tests[i].fn());
		int st;
		if (waitpid(pid, &st, 0) != pid)
			err(1, "waitpid");
		int rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		printf("==== Test %s - %s%s", tests[i].name, rc == PASSED ? "passed" : "FAILED",
		       WIFSIGNALED(st) ? " [crashed]" : "");
		if (rc != PASSED) {
			printf(" rc %d\n", rc);
			failed++;
		} else {
			printf("\n");
		}
	}
	printf("Done all tests\n");
	return failed ? 1 : 0;
}
