/* SPDX-License-Identifier: MIT */
/* Traps in Dune mode: the IDT, handler registration and dispatch. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "dune.h"
#include "libdune_priv.h"

static dune_intr_cb intr_cbs[256];
static dune_pgflt_cb pgflt_cb;
static dune_syscall_cb syscall_cb;
/* The IDT is a page of the pool, not a global: a program may give ring 3
 * a page table of its own in which its globals are other pages (libsthread
 * maps snapshots there, dune_set_user_cr3), and the CPU must find the
 * real IDT through any page table ring 3 runs on. */
struct idt_gate *dune_idt;

extern char __dune_trap_stubs[];

int dune_idt_init(void)
{
	_Static_assert(256 * sizeof(struct idt_gate) == PGSIZE, "the IDT is one page");
	struct page *pg = dune_page_alloc();
	if (!pg)
		return -ENOMEM;
	dune_idt = (struct idt_gate *)dune_page2pa(pg);
	for (int v = 0; v < 256; v++) {
		uint64_t h = (uint64_t)(__dune_trap_stubs + 16 * v);
		struct idt_gate *g = &dune_idt[v];
		g->off_lo = (uint16_t)h;
		g->sel = GD_KT;
		g->ist = 1; /* every trap on the thread's trap stack: the red zone stays intact */
		g->type = 0x8e; /* present, DPL 0, interrupt gate */
		g->off_mid = (uint16_t)(h >> 16);
		g->off_hi = (uint32_t)(h >> 32);
		g->zero = 0;
	}
	dune_idt[T_BRKPT].type = 0xee; /* INT3 allowed from ring 3 */
	return 0;
}

int dune_register_intr_handler(int vec, dune_intr_cb cb)
{
	if (vec < 0 || vec > 255)
		return -EINVAL;
	intr_cbs[vec] = cb;
	return 0;
}

int dune_register_signal_handler(int signum, dune_intr_cb cb)
{
	return dune_register_intr_handler(DUNE_SIGNAL_INTR_BASE + signum, cb);
}

void dune_register_pgflt_handler(dune_pgflt_cb cb) { pgflt_cb = cb; }
/* SYSCALL from ring 3 (after dune_jump_to_user) goes to this handler. */
void dune_register_syscall_handler(dune_syscall_cb cb) { syscall_cb = cb; }

/* dune.S's ring-3 SYSCALL path, on TRAP_STACK in ring 0: the handler decides
 * (dune_passthrough_syscall, dune_ret_from_user, or its own answer in rax).
 * Without one the process stops, as upstream's. */
void dune_syscall_from_user(struct dune_tf *tf)
{
	if (syscall_cb) {
		syscall_cb(tf);
		return;
	}
	dune_printf("dune: system call %lu from ring 3 and no syscall handler\n", tf->rax);
	dune_dump_trap_frame(tf);
	dune_die();
}

/* A Linux signal handler, and the same function for the signal's Dune
 * vector (DUNE_SIGNAL_INTR_BASE + sig, upstream's convention). Linux runs
 * the handler in Linux mode: the session ends with DUNE_RET_SIGNAL, the
 * handler runs, and libdune re-enters Dune where the thread stopped. */
__sighandler_t dune_signal(int sig, __sighandler_t cb)
{
	if (signal(sig, cb) == SIG_ERR)
		return SIG_ERR;
	dune_register_intr_handler(DUNE_SIGNAL_INTR_BASE + sig, (dune_intr_cb)(void (*)(void))cb);
	return NULL;
}

void dune_dump_trap_frame(struct dune_tf *tf)
{
	dune_printf("dune: --- trap frame ---\n");
	dune_printf("dune: RIP 0x%016lx RSP 0x%016lx RFLAGS 0x%016lx CS 0x%x SS 0x%x ERR 0x%x\n", tf->rip, tf->rsp,
		    tf->rflags, tf->cs, tf->ss, tf->err);
	dune_printf("dune: RAX 0x%016lx RBX 0x%016lx RCX 0x%016lx RDX 0x%016lx\n", tf->rax, tf->rbx, tf->rcx, tf->rdx);
	dune_printf("dune: RSI 0x%016lx RDI 0x%016lx RBP 0x%016lx R8  0x%016lx\n", tf->rsi, tf->rdi, tf->rbp, tf->r8);
}

void dune_trap(struct dune_tf *tf, int vector);
void dune_trap(struct dune_tf *tf, int vector)
{
	if (intr_cbs[vector]) {
		intr_cbs[vector](tf);
		return;
	}
	if (vector == T_PGFLT) {
		uintptr_t cr2;
		__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
		if (pgflt_cb) {
			pgflt_cb(cr2, tf->err, tf);
			return;
		}
		dune_printf("dune: unhandled page fault at 0x%lx (error 0x%x)\n", cr2, tf->err);
	} else {
		dune_printf("dune: unhandled exception %d\n", vector);
	}
	dune_dump_trap_frame(tf);
	dune_die();
}
