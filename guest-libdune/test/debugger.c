/* A ptrace tracer and a Dune process (guest-libdune/debug.c): INT3 in Dune
 * mode stops the process for its tracer with the Dune code's registers; the
 * tracer changes one, continues, and the Dune code goes on in Dune mode with
 * the changed value. Prints "debugger: <what> OK|FAIL" and a done line. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../dune.h"

#define CHECK_PREFIX "debugger: "
#include "check.h"

extern char after_breakpoint[];

static int in_dune(void)
{
	unsigned short cs;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return (cs & 3) == 0;
}

static void tracee(void)
{
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
		_exit(2);
	raise(SIGSTOP);
	if (dune_init_and_enter())
		_exit(3);
	uint64_t seen;
	/* RBX = 0x1234 at the breakpoint; the tracer makes it 0x5678 */
	__asm__ volatile("mov $0x1234, %%rbx\n\t"
			 "int3\n\t"
			 ".globl after_breakpoint\n"
			 "after_breakpoint:\n\t"
			 "mov %%rbx, %0"
			 : "=r"(seen)
			 :
			 : "rbx", "memory");
	_exit(seen == 0x5678 && in_dune() ? 0 : seen == 0x1234 ? 4 : 5);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	pid_t pid = fork();
	if (pid == 0)
		tracee();
	int st;
	waitpid(pid, &st, 0); /* its SIGSTOP */
	CHECK(WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP, "tracee stopped before entering Dune");
	ptrace(PTRACE_CONT, pid, NULL, NULL);
	waitpid(pid, &st, 0);
	struct user_regs_struct regs = {0};
	int stopped = WIFSTOPPED(st) && WSTOPSIG(st) == SIGTRAP;
	if (stopped)
		ptrace(PTRACE_GETREGS, pid, NULL, &regs);
	CHECK(stopped && regs.rip == (uint64_t)after_breakpoint && regs.rbx == 0x1234,
	      "INT3 in Dune mode stops the tracee with SIGTRAP, RIP past the INT3 and the Dune code's RBX (0x%llx)",
	      (unsigned long long)regs.rbx);
	if (stopped) {
		regs.rbx = 0x5678;
		ptrace(PTRACE_SETREGS, pid, NULL, &regs);
		ptrace(PTRACE_CONT, pid, NULL, NULL);
		waitpid(pid, &st, 0);
	}
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "after PTRACE_CONT the code continues in Dune mode with the tracer's RBX (exit %d)",
	      WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	if (!WIFEXITED(st) && !WIFSIGNALED(st)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	printf("debugger: done failures=%d\n", check_failures);
	return check_failures ? 1 : 0;
}
