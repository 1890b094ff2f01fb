/* SPDX-License-Identifier: MIT */
/*
 * Breakpoints in Dune mode for debuggers that know only Linux mode (gdb,
 * strace -i, any ptrace tracer), through DUNE_TRAP_ENABLE, as upstream's
 * libdune meant it:
 * 1. INT3 in Dune mode ends the session with DUNE_RET_INTERRUPT, vector 3
 *    (#BP is intercepted, dune-abi 1.8); RIP is the INT3's own address (SDM
 *    27.5.1: an exception that causes a VM exit does not complete).
 * 2. libdune arms a trap at the next instruction, then runs the INT3 again
 *    in Linux mode with the Dune registers: the tracer gets its SIGTRAP and
 *    sees (and may change) the registers as the Dune code had them.
 * 3. When the thread is scheduled in again at that RIP (the tracer let it
 *    go), dune.ko continues it in __dune_debug_notify with the registers as
 *    the tracer left them; libdune disarms the trap and re-enters Dune with
 *    them, on the thread's exit stack.
 * Single-stepping in Dune mode (#DB) is not supported: the process stops
 * with a message.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dune.h"
#include "libdune_priv.h"

void __dune_debug_iret(struct dune_config *conf, uint64_t rip) __attribute__((noreturn));
void __dune_debug_notify(struct dune_trap_regs *regs, void *priv);
void __dune_call_on_stack(void *top, void (*fn)(struct dune_config *), struct dune_config *arg)
	__attribute__((noreturn));
void dune_debug_notify(struct dune_trap_regs *regs, struct dune_config *conf) __attribute__((noreturn));

static __thread struct dune_trap_regs trap_regs;

/* The code byte at addr, read without faulting (the Dune code may run at
 * addresses only its own page tables map). */
static int code_byte(uint64_t addr)
{
	uint8_t b;
	struct iovec local = {&b, 1}, remote = {(void *)(uintptr_t)addr, 1};
	return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == 1 ? b : -1;
}

bool dune_debug_breakpoint(struct dune_config *conf)
{
	if (conf->status != T_BRKPT || code_byte(conf->rip) != 0xcc)
		return false; /* not a one-byte INT3 (INT 3 as CD 03 is not replayed) */
	uint64_t int3 = conf->rip;
	struct dune_trap_config tc = {
		.trigger_rip = int3 + 1,
		.notify_func = __dune_debug_notify,
		.regs = &trap_regs,
		.regs_size = sizeof(trap_regs),
		.priv = conf,
		.delay = 0,
	};
	if (ioctl(dune_fd, DUNE_TRAP_ENABLE, &tc))
		return false;
	conf->rflags &= ~0x100ull; /* TF */
	__dune_debug_iret(conf, int3);
}

void dune_debug_notify(struct dune_trap_regs *r, struct dune_config *conf)
{
	conf->rax = r->rax, conf->rbx = r->rbx, conf->rcx = r->rcx, conf->rdx = r->rdx;
	conf->rsi = r->rsi, conf->rdi = r->rdi, conf->rsp = r->rsp, conf->rbp = r->rbp;
	conf->r8 = r->r8, conf->r9 = r->r9, conf->r10 = r->r10, conf->r11 = r->r11;
	conf->r12 = r->r12, conf->r13 = r->r13, conf->r14 = r->r14, conf->r15 = r->r15;
	conf->rip = r->rip;
	/* no single-stepping in Dune mode (TF); IOPL stays the Dune code's
	 * (3 in ring 0, 0 in ring 3: how dune.S's SYSCALL entry tells the rings
	 * apart), not the Linux-mode value the tracer saw */
	conf->rflags = (r->rflags & ~0x3100ull) | (conf->rflags & 0x3000ull);
	ioctl(dune_fd, DUNE_TRAP_DISABLE);
	__dune_call_on_stack(dune_exit_stack_top(), dune_reenter, conf);
}
