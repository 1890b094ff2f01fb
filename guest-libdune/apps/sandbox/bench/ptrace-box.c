/* SPDX-License-Identifier: MIT */
/* ptrace-box [--policy FILE] [--count] -- PROG ARGS...: PROG and every
 * process and thread it starts under PTRACE_SYSCALL, as strace-style
 * sandboxes do it: each system call stops the process twice (entry and
 * exit) and the tracer checks the path calls against dune-sandbox's path
 * rules (interpose.c). A refused call is skipped (orig_rax = -1) and
 * returns -EACCES. --count prints the number of system calls seen. Exit
 * status: PROG's, or 128+N. The reference point of make bench-sandbox. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/ptrace.h>

#include "interpose.h"

#define MAX_TRACEES 4096

static struct {
	int tid;
	long deny; /* the error of a refused call, set at its entry */
} tracees[MAX_TRACEES];

static long *deny_slot(int tid)
{
	for (int i = 0; i < MAX_TRACEES; i++)
		if (tracees[i].tid == tid)
			return &tracees[i].deny;
	for (int i = 0; i < MAX_TRACEES; i++)
		if (!tracees[i].tid) {
			tracees[i].tid = tid;
			tracees[i].deny = 0;
			return &tracees[i].deny;
		}
	return NULL;
}

static void forget(int tid)
{
	for (int i = 0; i < MAX_TRACEES; i++)
		if (tracees[i].tid == tid)
			tracees[i].tid = 0;
}

int main(int argc, char **argv)
{
	int i = 1;
	bool count = false;
	for (; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--policy") && i + 1 < argc)
			interpose_load_policy(argv[++i], "ptrace-box");
		else if (!strcmp(argv[i], "--count"))
			count = true;
		else
			break;
	}
	if (i + 1 >= argc || strcmp(argv[i], "--")) {
		fprintf(stderr, "usage: ptrace-box [--policy FILE] [--count] -- PROG [ARGS...]\n");
		return 126;
	}
	char **prog = argv + i + 1;
	pid_t child = fork();
	if (child == 0) {
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		execvp(prog[0], prog);
		fprintf(stderr, "ptrace-box: %s: %s\n", prog[0], strerror(errno));
		_exit(127);
	}
	int st;
	if (child < 0 || waitpid(child, &st, 0) != child) {
		perror("ptrace-box");
		return 126;
	}
	ptrace(PTRACE_SETOPTIONS, child, 0,
	       PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
		       PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL);
	ptrace(PTRACE_SYSCALL, child, 0, 0);
	unsigned long calls = 0;
	int status = 126, tid;
	/* until no tracee is left (ECHILD): new ones are attached at their
	 * fork, vfork or clone */
	while ((tid = waitpid(-1, &st, __WALL)) >= 0) {
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			if (tid == child)
				status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			forget(tid);
			continue;
		}
		if (!WIFSTOPPED(st))
			continue;
		int sig = WSTOPSIG(st), event = st >> 16, inject = 0;
		if (sig == (SIGTRAP | 0x80)) {
			struct ptrace_syscall_info info;
			long *deny = deny_slot(tid);
			if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, sizeof(info), &info) > 0 && deny) {
				if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
					calls++;
					*deny = interpose_check(tid, (long)info.entry.nr, (const uint64_t *)info.entry.args);
					if (*deny) {
						struct user_regs_struct regs;
						ptrace(PTRACE_GETREGS, tid, 0, &regs);
						regs.orig_rax = (unsigned long long)-1; /* skip it */
						ptrace(PTRACE_SETREGS, tid, 0, &regs);
					}
				} else if (info.op == PTRACE_SYSCALL_INFO_EXIT && *deny) {
					struct user_regs_struct regs;
					ptrace(PTRACE_GETREGS, tid, 0, &regs);
					regs.rax = (unsigned long long)*deny;
					ptrace(PTRACE_SETREGS, tid, 0, &regs);
					*deny = 0;
				}
			}
		} else if (event) {
			/* fork, clone, exec: nothing to do (a new tracee's first stop is a SIGSTOP) */
		} else if (sig != SIGSTOP && sig != SIGTRAP) {
			inject = sig; /* a signal for the tracee */
		}
		ptrace(PTRACE_SYSCALL, tid, 0, inject);
	}
	if (count)
		fprintf(stderr, "ptrace-box: %lu system calls\n", calls);
	return status;
}
