/* SPDX-License-Identifier: MIT */
/* dune_init and dune_enter: the process's guest-physical layout and page
 * tables, and each thread's entry into Dune mode (GDT, TSS, IDT). */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <asm/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dune.h"
#include "libdune_priv.h"

int dune_fd = -1;
ptent_t *pgroot;
uintptr_t phys_limit, mmap_base, stack_base;
static __thread struct dune_percpu *percpu;
static bool precise; /* dune_init(0): only what was mapped at init, and each thread's stack */

int dune_init(bool map_full)
{
	struct dune_layout layout;
	dune_fd = open("/dev/dune", O_RDWR);
	if (dune_fd < 0) {
		fprintf(stderr, "dune: cannot open /dev/dune: %s (is dune.ko loaded under dunehv?)\n", strerror(errno));
		return -errno;
	}
	if (ioctl(dune_fd, DUNE_GET_LAYOUT, &layout)) {
		fprintf(stderr, "dune: DUNE_GET_LAYOUT failed: %s\n", strerror(errno));
		return -errno;
	}
	phys_limit = layout.phys_limit;
	mmap_base = layout.base_map;
	stack_base = layout.base_stack;
	/* Dune mode reaches only the guest-physical windows of the layout
	 * (dune-abi 2.1): low memory, the mmap window, the stack window. A
	 * position-independent executable sits where Linux put it (around
	 * 0x555555554000 on x86-64), outside all three: it would fault on its
	 * first instruction in Dune mode. */
	uintptr_t text = (uintptr_t)getauxval(AT_PHDR), pa;
	if (text && !dune_va_range_to_pa(text, 1, &pa)) {
		fprintf(stderr,
			"dune: this program is a position-independent executable loaded at %#lx, which Dune mode cannot "
			"reach (its windows: below %#lx, the mmap window at %#lx, the stack window at %#lx); link it "
			"with -no-pie (libdune.pc's Libs add it)\n",
			(unsigned long)text, (unsigned long)(phys_limit - GPA_STACK_SIZE - GPA_MAP_SIZE),
			(unsigned long)mmap_base, (unsigned long)stack_base);
		return -ENOEXEC;
	}
	if (dune_page_init()) {
		fprintf(stderr, "dune: cannot reserve the page pool at 0x%llx\n", (unsigned long long)PAGEBASE);
		return -ENOMEM;
	}
	struct page *root = dune_page_alloc();
	if (!root)
		return -ENOMEM;
	pgroot = (ptent_t *)dune_page2pa(root);
	precise = !map_full;
	int r = dune_setup_mappings(map_full);
	if (r) {
		fprintf(stderr, "dune: building the page tables failed: %d\n", r);
		return r;
	}
	return dune_idt_init();
}

static struct dune_percpu *create_percpu(void)
{
	struct dune_percpu *p = mmap(NULL, sizeof(*p) + TRAP_STACK_SIZE + EXIT_STACK_SIZE, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, sizeof(*p));
	p->percpu_ptr = (uint64_t)p;
	p->syscall_fn = (uint64_t)dune_syscall_from_user;
	p->return_fn = (uint64_t)__dune_return_from_trap;
	p->trap_stack = (char *)p + sizeof(*p);
	p->exit_stack = (char *)p->trap_stack + TRAP_STACK_SIZE;
	uint64_t trap_top = ((uint64_t)p->trap_stack + TRAP_STACK_SIZE) & ~15ull;
	p->tss.rsp[0] = trap_top;
	for (int i = 0; i < 7; i++)
		p->tss.ist[i] = trap_top;
	p->tss.iomb = sizeof(p->tss);
	p->gdt[GD_KT / 8] = 0x00af9b000000ffffull; /* 64-bit code, DPL 0 */
	p->gdt[GD_KD / 8] = 0x00cf93000000ffffull;
	p->gdt[GD_UD / 8] = 0x00cff3000000ffffull;
	p->gdt[GD_UT / 8] = 0x00affb000000ffffull; /* 64-bit code, DPL 3 */
	uint64_t base = (uint64_t)&p->tss, limit = sizeof(p->tss) - 1;
	p->gdt[GD_TSS / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) | (((base >> 24) & 0xff) << 56);
	p->gdt[GD_TSS / 8 + 1] = base >> 32;
	return p;
}

/* First thing in Dune mode: our descriptor tables and segments. */
static void load_descriptor_tables(struct dune_percpu *p)
{
	/* LTR marks the TSS busy; a forked child inherits the parent's busy
	 * descriptor and would #GP on LTR: make it available again. */
	p->gdt[GD_TSS / 8] &= ~(0x2ull << 40);
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) gdtr = {sizeof(p->gdt) - 1, (uint64_t)p->gdt},
				  idtr = {256 * sizeof(struct idt_gate) - 1, (uint64_t)dune_idt};
	__asm__ volatile("lgdt %0\n\t"
			 "lidt %1\n\t"
			 "mov %2, %%ax\n\t"
			 "mov %%ax, %%ss\n\t"
			 "mov %%ax, %%ds\n\t"
			 "mov %%ax, %%es\n\t"
			 "pushq %3\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "mov %4, %%ax\n\t"
			 "ltr %%ax\n\t"
			 :
			 : "m"(gdtr), "m"(idtr), "i"(GD_KD), "i"((long)GD_KT), "i"(GD_TSS)
			 : "rax", "memory");
	/* GS base: this thread's block (FS base stays the thread's TLS) */
	uint64_t gs = (uint64_t)p;
	__asm__ volatile("wrmsr" ::"c"(0xc0000101), "a"((uint32_t)gs), "d"((uint32_t)(gs >> 32)));
}

int dune_enter(void)
{
	if (dune_fd < 0)
		return -EINVAL;
	if (!percpu) {
		percpu = create_percpu();
		if (!percpu)
			return -ENOMEM;
	}
	if (precise) {
		/* this thread's block and stacks, and the stack it runs on */
		uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
		if (dune_map_regions_of(percpu, (void *)sp))
			return -ENOMEM;
	}
	unsigned long fs;
	syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
	percpu->kfs_base = fs; /* ring 0 keeps the thread's TLS */
	percpu->in_usermode = 0;
	struct dune_config *conf = &percpu->conf;
	memset(conf, 0, sizeof(*conf)); /* vcpu 0: a new context for this thread */
	conf->rflags = 0x3002; /* IOPL 3: ring 0's mark for the SYSCALL entry (dune.S) */
	conf->cr3 = (uint64_t)pgroot;
	void *exit_top = (void *)(((uint64_t)percpu->exit_stack + EXIT_STACK_SIZE) & ~15ull);
	long r = __dune_enter(conf, exit_top, dune_fd);
	if (r)
		return (int)r; /* still in Linux mode */
	/* Dune mode, ring 0 */
	load_descriptor_tables(percpu);
	return 0;
}

_Static_assert(offsetof(struct dune_percpu, user_cr3) == PERCPU_USER_CR3_OFF &&
		       offsetof(struct dune_percpu, kernel_cr3) == PERCPU_KERNEL_CR3_OFF &&
		       offsetof(struct dune_percpu, tmp2) == PERCPU_TMP2_OFF &&
		       offsetof(struct dune_percpu, syscall_fn) == PERCPU_SYSCALL_FN_OFF &&
		       offsetof(struct dune_percpu, return_fn) == PERCPU_RETURN_FN_OFF,
	       "dune.S's offsets");

void dune_set_user_cr3(uint64_t user_cr3, uint64_t kernel_cr3)
{
	percpu->user_cr3 = user_cr3;
	percpu->kernel_cr3 = kernel_cr3;
}

unsigned long dune_get_user_fs(void) { return percpu ? percpu->ufs_base : 0; }
void dune_set_user_fs(unsigned long fs_base)
{
	if (percpu)
		percpu->ufs_base = fs_base;
}

void dune_get_thread_block(uintptr_t *start, size_t *len)
{
	*start = (uintptr_t)percpu;
	*len = percpu ? sizeof(*percpu) + TRAP_STACK_SIZE + EXIT_STACK_SIZE : 0;
}

void *dune_exit_stack_top(void) { return (void *)(((uint64_t)percpu->exit_stack + EXIT_STACK_SIZE) & ~15ull); }

static dune_signal_reentry_cb signal_reentry;
void dune_register_signal_reentry_hook(dune_signal_reentry_cb cb) { signal_reentry = cb; }
static dune_debug_trap_cb debug_trap_hook;
void dune_register_debug_trap_hook(dune_debug_trap_cb cb) { debug_trap_hook = cb; }

/* How a session ended: returns to re-enter, or ends the thread/process. */
static void session_ended(struct dune_config *conf)
{
	switch (conf->ret) {
	case DUNE_RET_EXIT:
		syscall(conf->rax == SYS_exit_group ? SYS_exit_group : SYS_exit, conf->status);
		break;
	case DUNE_RET_SIGNAL:
		/* the signal was delivered on the way here (Linux-mode handlers):
		 * the hook may change where the context goes on, then carry on */
		if (signal_reentry)
			signal_reentry(conf);
		return;
	case DUNE_RET_EPT_VIOLATION:
		fprintf(stderr, "dune: exit due to EPT violation at rip 0x%llx\n", (unsigned long long)conf->rip);
		exit(1);
	case DUNE_RET_INTERRUPT:
		if (debug_trap_hook && debug_trap_hook(conf))
			return; /* the hook says where the context goes on */
		dune_debug_breakpoint(conf); /* returns only when it is not one */
		fprintf(stderr, "dune: exit due to interrupt %lld at rip 0x%llx%s\n", (long long)conf->status,
			(unsigned long long)conf->rip,
			conf->status == T_DEBUG ? " (single-stepping in Dune mode is not supported)" : "");
		exit(1);
	case DUNE_RET_UNHANDLED_VMEXIT:
		fprintf(stderr, "dune: exit due to unhandled VM exit %lld at rip 0x%llx\n", (long long)conf->status,
			(unsigned long long)conf->rip);
		exit(1);
	default:
		fprintf(stderr, "dune: exit due to unknown reason %lld\n", (long long)conf->ret);
		exit(1);
	}
}

/* Re-enters where the context stopped, for as long as sessions end in a
 * way that allows it (on the thread's exit stack, in Linux mode). */
void dune_reenter(struct dune_config *conf)
{
	for (;;) {
		long r = ioctl(dune_fd, DUNE_ENTER, conf);
		if (r) {
			fprintf(stderr, "dune: re-entering failed: %s\n", strerror(errno));
			exit(1);
		}
		session_ended(conf);
	}
}

/* The session ended (Linux mode, on the thread's exit stack). */
void dune_on_exit(struct dune_config *conf)
{
	session_ended(conf);
	dune_reenter(conf);
}
