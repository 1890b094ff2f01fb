/* SPDX-License-Identifier: MIT */
/* An ordinary dynamically linked glibc program (no libdune) that waits on
 * descriptors the ways event loops do: epoll, eventfd, timerfd, ppoll,
 * select and pselect6, signalfd. sbtest.sh runs it sandboxed. Each check
 * prints "sbevents: ok|not ok sandbox.events.<id> - ..." (test/verdict.h);
 * the exit status is the number of failures. It judges itself: natively it passes the same checks. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define VERDICT_PROGRAM "sbevents"
#include "../../../test/verdict.h"

static void check_epoll(void)
{
	int ep = epoll_create1(EPOLL_CLOEXEC), efd = eventfd(0, EFD_NONBLOCK), p[2];
	if (ep < 0 || efd < 0 || pipe(p)) {
		verdict(0, "sandbox.events.epoll", "setup: %s", strerror(errno));
		return;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 7}, out[4];
	epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
	ev.data.u64 = 9;
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	int none = epoll_wait(ep, out, 4, 0);
	uint64_t one = 3;
	(void)!write(efd, &one, 8);
	(void)!write(p[1], "x", 1);
	int n = epoll_wait(ep, out, 4, 1000);
	uint64_t sum = 0;
	for (int i = 0; i < n; i++)
		sum += out[i].data.u64;
	uint64_t got = 0;
	(void)!read(efd, &got, 8);
	sigset_t mask;
	sigemptyset(&mask);
	int n2 = epoll_pwait(ep, out, 4, 0, &mask); /* the pipe still has its byte */
	verdict(none == 0 && n == 2 && sum == 16 && got == 3 && n2 == 1 && out[0].data.u64 == 9, "sandbox.events.epoll",
		"epoll over an eventfd and a pipe: %d then %d ready (data sum %llu), the eventfd read %llu, epoll_pwait %d",
		none, n, (unsigned long long)sum, (unsigned long long)got, n2);
	close(ep), close(efd), close(p[0]), close(p[1]);
}

static void check_timerfd(void)
{
	int t = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec its = {.it_value = {0, 20 * 1000 * 1000}}, old, cur;
	int r = timerfd_settime(t, 0, &its, &old);
	int g = timerfd_gettime(t, &cur);
	struct pollfd pfd = {.fd = t, .events = POLLIN};
	struct timespec limit = {5, 0};
	int n = ppoll(&pfd, 1, &limit, NULL);
	uint64_t expirations = 0;
	ssize_t k = read(t, &expirations, 8);
	verdict(t >= 0 && !r && !g && n == 1 && k == 8 && expirations == 1, "sandbox.events.timerfd-ppoll",
		"a 20 ms timerfd: ppoll saw it (%d), %llu expiration read", n, (unsigned long long)expirations);
	close(t);
}

static void check_select(void)
{
	int p[2];
	(void)!pipe(p);
	(void)!write(p[1], "y", 1);
	fd_set rd, wr;
	FD_ZERO(&rd);
	FD_ZERO(&wr);
	FD_SET(p[0], &rd);
	FD_SET(p[1], &wr);
	struct timeval tv = {1, 0};
	int n = select(p[1] + 1, &rd, &wr, NULL, &tv);
	int both = FD_ISSET(p[0], &rd) && FD_ISSET(p[1], &wr);
	char c;
	(void)!read(p[0], &c, 1);
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	struct timespec ts = {0, 1000 * 1000};
	sigset_t mask;
	sigemptyset(&mask);
	int n2 = pselect(p[0] + 1, &rd, NULL, NULL, &ts, &mask); /* nothing to read now: times out */
	/* a descriptor that is not the program's (1000: natively nothing,
	 * which Linux ignores past the end of the descriptor table; in the
	 * sandbox the monitor's /dev/dune, refused with EBADF): never ready */
	fd_set bad;
	FD_ZERO(&bad);
	FD_SET(1000, &bad);
	struct timeval zero = {0, 0};
	errno = 0;
	int n3 = select(1001, &bad, NULL, NULL, &zero), e3 = errno;
	verdict(n == 2 && both && n2 == 0 && (n3 == 0 || (n3 == -1 && e3 == EBADF)), "sandbox.events.select",
		"select on a pipe's two ends: %d ready; pselect on an empty pipe: %d; descriptor 1000: %d (%s)", n, n2, n3,
		strerror(e3));
	close(p[0]), close(p[1]);
}

static void check_signalfd(void)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int fd = signalfd(-1, &mask, 0);
	kill(getpid(), SIGUSR1);
	sigset_t pending;
	sigpending(&pending);
	int was_pending = sigismember(&pending, SIGUSR1);
	struct signalfd_siginfo si;
	ssize_t k = read(fd, &si, sizeof(si));
	verdict(fd >= 0 && was_pending && k == sizeof(si) && si.ssi_signo == SIGUSR1 &&
				    si.ssi_pid == (uint32_t)getpid(), "sandbox.events.signalfd",
		"a blocked SIGUSR1 to itself: pending %d, read from a signalfd: signal %u from pid %u", was_pending,
		si.ssi_signo, si.ssi_pid);
	close(fd);
}

int main(void)
{
	check_epoll();
	check_timerfd();
	check_select();
	check_signalfd();
	printf("sbevents: failures=%d\n", verdict_failures);
	return verdict_failures;
}
