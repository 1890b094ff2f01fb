/* SPDX-License-Identifier: MIT */
/* An ordinary dynamically linked glibc program (no libdune) with signal
 * handlers, for dune-sandbox's signal delivery; sbtest.sh runs it
 * sandboxed. Each check prints "sbsignals: ok|not ok sandbox.signals.<id> -
 * ..." (test/verdict.h); the exit status is the number of failures. It
 * judges itself: natively it passes the same checks. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define VERDICT_PROGRAM "sbsignals"
#include "../../../test/verdict.h"

static volatile sig_atomic_t hits, last_sig, last_code, last_pid;
static volatile uintptr_t last_addr;

static void on_signal(int sig, siginfo_t *info, void *uc)
{
	(void)uc;
	hits++;
	last_sig = sig;
	last_code = info->si_code;
	last_pid = info->si_pid;
	last_addr = (uintptr_t)info->si_addr;
}

static void handle(int sig, int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | flags;
	sigaction(sig, &sa, NULL);
}

static void arm_timer_ms(int ms)
{
	struct itimerval it = {.it_value = {ms / 1000, (ms % 1000) * 1000}};
	setitimer(ITIMER_REAL, &it, NULL);
}

/* raise: the handler runs at the return of the system call that sent it */
static void check_raise(void)
{
	handle(SIGUSR1, 0);
	hits = 0;
	raise(SIGUSR1);
	verdict(hits == 1 && last_sig == SIGUSR1 && last_code == SI_TKILL && last_pid == getpid(),
		"sandbox.signals.raise", "raise(SIGUSR1): handler ran %d time(s), signal %d, si_code %d, si_pid %d", (int)hits,
		(int)last_sig, (int)last_code, (int)last_pid);
}

/* a timer while the program computes (no system call): the handler runs
 * all the same */
static void check_async(void)
{
	handle(SIGALRM, 0);
	hits = 0;
	arm_timer_ms(50);
	unsigned long spins = 0;
	while (!hits && spins < 4000000000ul)
		spins++;
	verdict(hits == 1 && last_sig == SIGALRM, "sandbox.signals.async", "SIGALRM in a loop without system calls: %d, after %lu spins",
		(int)hits, spins);
}

/* a blocking read: without SA_RESTART it fails with EINTR; with it, it
 * goes on after the handler and gets the data a child writes later */
static void check_eintr_and_restart(void)
{
	int p[2];
	char c = 0;
	(void)!pipe(p);
	handle(SIGALRM, 0);
	hits = 0;
	arm_timer_ms(50);
	ssize_t n = read(p[0], &c, 1);
	int e = errno;
	verdict(n == -1 && e == EINTR && hits == 1, "sandbox.signals.eintr", "read of an empty pipe, SIGALRM without SA_RESTART: %zd (%s), handler %d",
		n, strerror(e), (int)hits);
	handle(SIGALRM, SA_RESTART);
	hits = 0;
	pid_t child = fork();
	if (child == 0) {
		usleep(300000);
		(void)!write(p[1], "r", 1);
		_exit(0);
	}
	arm_timer_ms(50);
	n = read(p[0], &c, 1);
	waitpid(child, NULL, 0);
	verdict(n == 1 && c == 'r' && hits == 1, "sandbox.signals.restart", "the same with SA_RESTART: %zd byte '%c', handler %d", n,
		c ? c : '?', (int)hits);
	close(p[0]), close(p[1]);
}

/* blocked: pending until unblocked, then delivered at once */
static void check_mask(void)
{
	handle(SIGUSR2, 0);
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR2);
	hits = 0;
	sigprocmask(SIG_BLOCK, &m, NULL);
	raise(SIGUSR2);
	int while_blocked = hits;
	sigprocmask(SIG_UNBLOCK, &m, NULL);
	verdict(while_blocked == 0 && hits == 1, "sandbox.signals.mask", "SIGUSR2 raised while blocked: %d, after unblocking: %d", while_blocked,
		(int)hits);
}

/* SIGSEGV: a handler that makes the page writable and returns (the store
 * then runs again, as a generational GC's write barrier does), and one
 * that leaves by siglongjmp */
static volatile char *page;
static sigjmp_buf escape;
static void on_segv_fix(int sig, siginfo_t *info, void *uc)
{
	on_signal(sig, info, uc);
	mprotect((void *)page, 4096, PROT_READ | PROT_WRITE);
}
static void on_segv_jump(int sig, siginfo_t *info, void *uc)
{
	on_signal(sig, info, uc);
	siglongjmp(escape, 1);
}

static void check_segv(void)
{
	page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv_fix;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	hits = 0;
	page[100] = 42; /* faults once, then stores */
	verdict(hits == 1 && page[100] == 42 && last_addr == (uintptr_t)(page + 100) && last_code == SEGV_ACCERR,
		"sandbox.signals.segv-return", "a store to a read-only page: handler %d (si_addr %s, si_code %d), stored %d", (int)hits,
		last_addr == (uintptr_t)(page + 100) ? "right" : "wrong", (int)last_code, page[100]);
	sa.sa_sigaction = on_segv_jump;
	sigaction(SIGSEGV, &sa, NULL);
	hits = 0;
	volatile int jumped = 0;
	volatile uintptr_t nowhere = 16; /* nothing mapped there */
	if (sigsetjmp(escape, 1) == 0)
		*(volatile int *)nowhere = 1;
	else
		jumped = 1;
	verdict(jumped && hits == 1 && last_addr == 16 && last_code == SEGV_MAPERR, "sandbox.signals.segv-longjmp",
		"a store to address 16: handler %d, si_addr %#lx, si_code %d, left by siglongjmp %d", (int)hits,
		(unsigned long)last_addr, (int)last_code, jumped);
	signal(SIGSEGV, SIG_DFL);
}

/* SIGCHLD from a child's exit */
static void check_sigchld(void)
{
	handle(SIGCHLD, 0);
	hits = 0;
	pid_t child = fork();
	if (child == 0)
		_exit(3);
	int st = 0;
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	for (int i = 0; i < 100 && !hits; i++)
		usleep(1000);
	verdict(hits == 1 && last_sig == SIGCHLD && last_pid == child && WEXITSTATUS(st) == 3, "sandbox.signals.sigchld",
		"a child's exit: SIGCHLD handler %d, si_pid %s", (int)hits, last_pid == child ? "the child's" : "wrong");
	signal(SIGCHLD, SIG_DFL);
}

/* SA_ONSTACK: the handler runs on the sigaltstack, which reports itself
 * in use there */
static char alt[65536] __attribute__((aligned(16)));
static volatile uintptr_t handler_sp;
static volatile int alt_flags_inside;
static void on_alt(int sig)
{
	(void)sig;
	volatile char here;
	handler_sp = (uintptr_t)&here;
	stack_t cur;
	sigaltstack(NULL, &cur);
	alt_flags_inside = cur.ss_flags;
}

static void check_altstack(void)
{
	stack_t ss = {.ss_sp = alt, .ss_size = sizeof(alt)}, old;
	int r = sigaltstack(&ss, &old);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alt;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	int inside = handler_sp > (uintptr_t)alt && handler_sp <= (uintptr_t)alt + sizeof(alt);
	stack_t after;
	sigaltstack(NULL, &after);
	verdict(!r && (old.ss_flags & SS_DISABLE) && inside && alt_flags_inside == SS_ONSTACK && after.ss_flags == 0,
		"sandbox.signals.altstack", "sigaltstack %d (none before: %d); the handler ran %s it, flags there %d, after %d", r,
		(old.ss_flags & SS_DISABLE) != 0, inside ? "on" : "off", alt_flags_inside, after.ss_flags);
	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, NULL);
	signal(SIGUSR1, SIG_DFL);
}

int main(void)
{
	check_raise();
	check_async();
	check_eintr_and_restart();
	check_mask();
	check_segv();
	check_sigchld();
	check_altstack();
	printf("sbsignals: failures=%d\n", verdict_failures);
	return verdict_failures;
}
