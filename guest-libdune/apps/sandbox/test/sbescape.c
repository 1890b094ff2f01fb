/* SPDX-License-Identifier: MIT */
/* An ordinary static program (no libdune) that tries to get out of
 * dune-sandbox; sbtest.sh runs it there. One attack per run, named by
 * argv[1]; the ones that return print "escape: <name> refused (<how>)" and
 * exit 0, or "escape: <name> WORKED" and exit 1. The others must end the
 * program with a signal (sbtest.sh checks the status). The monitor is
 * linked at 0x60000000 (guest-libdune/Makefile). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#define MONITOR ((void *)0x60000000ul)

static int verdict(const char *name, int refused, const char *how)
{
	printf("escape: %s %s (%s)\n", name, refused ? "refused" : "WORKED", how);
	return refused ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *a = argc > 1 ? argv[1] : "";
	if (!strcmp(a, "write-from-monitor")) { /* Linux would read the monitor's memory for us */
		long r = syscall(SYS_write, 1, MONITOR, 16);
		return verdict(a, r == -1 && errno == EFAULT, strerror(errno));
	}
	if (!strcmp(a, "read-into-monitor")) { /* Linux would write the monitor's memory for us */
		int p[2];
		if (pipe(p))
			return 2;
		(void)!write(p[1], "xxxxxxxx", 8);
		long r = syscall(SYS_read, p[0], (char *)MONITOR + 0x1000, 8);
		return verdict(a, r == -1 && errno == EFAULT, strerror(errno));
	}
	if (!strcmp(a, "writev-into-monitor")) {
		struct iovec iov[2] = {{"ok", 2}, {MONITOR, 8}};
		long r = syscall(SYS_writev, 1, iov, 2);
		return verdict(a, r == -1 && errno == EFAULT, strerror(errno));
	}
	if (!strcmp(a, "path-in-monitor")) {
		long r = syscall(SYS_openat, -100, MONITOR, 0);
		return verdict(a, r == -1 && errno == EFAULT, strerror(errno));
	}
	if (!strcmp(a, "mprotect-monitor")) {
		long r = syscall(SYS_mprotect, MONITOR, 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
		return verdict(a, r == -1, strerror(errno));
	}
	if (!strcmp(a, "mmap-over-monitor")) {
		void *m = mmap(MONITOR, 4096, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return verdict(a, m == MAP_FAILED, strerror(errno));
	}
	if (!strcmp(a, "mremap")) { /* not an attack: the monitor's mremap keeps the data */
		size_t small = 1 << 20, big = 4 << 20;
		unsigned char *m = mmap(NULL, small, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			return 2;
		for (size_t i = 0; i < small; i += 4096)
			m[i] = (unsigned char)(i >> 12);
		unsigned char *g = mremap(m, small, big, MREMAP_MAYMOVE);
		if (g == MAP_FAILED) {
			printf("mremap: failed (%s)\n", strerror(errno));
			return 1;
		}
		size_t bad = 0;
		for (size_t i = 0; i < small; i += 4096)
			bad += g[i] != (unsigned char)(i >> 12);
		g[big - 1] = 1; /* the new part is there and writable */
		printf("mremap: 1 MiB grown to 4 MiB (%s), %zu pages differ\n", g == m ? "in place" : "moved", bad);
		return bad ? 1 : munmap(g, big) != 0;
	}
	if (!strcmp(a, "proc-self-mem")) { /* Linux would write the monitor's memory for us */
		int fd = open("/proc/self/mem", O_RDWR);
		int fd2 = open("/proc/thread-self/mem", O_RDONLY);
		return verdict(a, fd < 0 && errno == EACCES && fd2 < 0, strerror(errno));
	}
	if (!strcmp(a, "exec-then-hlt")) { /* the new image must be in a sandbox too */
		char *args[] = {argv[0], "hlt", NULL};
		execv("/proc/self/exe", args);
		return verdict(a, 0, strerror(errno));
	}
	if (!strcmp(a, "fork-then-hlt")) { /* and the child of a fork */
		pid_t pid = fork();
		if (pid == 0) {
			__asm__ volatile("hlt");
			_exit(0);
		}
		int st = 0;
		waitpid(pid, &st, 0);
		printf("escape: fork-then-hlt: child status 0x%x\n", st);
		return WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV ? 0 : 1;
	}
	if (!strcmp(a, "read-monitor")) /* a page fault: SIGSEGV */
		printf("escape: read-monitor WORKED (0x%x)\n", *(volatile uint32_t *)MONITOR);
	else if (!strcmp(a, "write-monitor"))
		*(volatile uint32_t *)((char *)MONITOR + 0x1000) = 0;
	else if (!strcmp(a, "vmcall")) /* #UD from ring 3: SIGILL */
		__asm__ volatile("vmcall" ::"a"(SYS_exit_group), "D"(0));
	else if (!strcmp(a, "hlt")) /* #GP: SIGSEGV */
		__asm__ volatile("hlt");
	else if (!strcmp(a, "cr-write")) /* #GP: SIGSEGV */
		__asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax");
	else
		return 2;
	printf("escape: %s WORKED\n", a);
	return 1;
}
