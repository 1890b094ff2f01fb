/* SPDX-License-Identifier: MIT */
/* Output and system calls from Dune mode. */
#include <stdarg.h>
#include <stdio.h>
#include <sys/syscall.h>

#include "dune.h"

/* A system call by VMCALL (Linux x86-64 convention). */
static long vmcall6(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	register long r10 __asm__("r10") = a3, r8 __asm__("r8") = a4, r9 __asm__("r9") = a5;
	long ret = nr;
	__asm__ volatile("vmcall"
			 : "+a"(ret)
			 : "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
			 : "memory", "rcx", "r11");
	return ret;
}

int dune_printf(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	return (int)vmcall6(SYS_write, 1, (long)buf, n, 0, 0, 0);
}

void dune_die(void)
{
	vmcall6(SYS_exit_group, 1, 0, 0, 0, 0, 0);
	__builtin_unreachable();
}

void dune_passthrough_syscall(struct dune_tf *tf)
{
	tf->rax = (uint64_t)vmcall6((long)tf->rax, (long)tf->rdi, (long)tf->rsi, (long)tf->rdx, (long)tf->rcx,
				    (long)tf->r8, (long)tf->r9);
}

void *dune_mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
	return (void *)vmcall6(SYS_mmap, (long)addr, (long)length, prot, flags, fd, offset);
}
