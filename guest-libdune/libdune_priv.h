/* SPDX-License-Identifier: MIT */
#ifndef LIBDUNE_PRIV_H
#define LIBDUNE_PRIV_H

#include <stdbool.h>
#include <stdint.h>

/* GDT selectors, as Linux's so that the host's STAR works for SYSCALL/SYSRET */
#define GD_KT 0x10
#define GD_KD 0x18
#define GD_UD 0x28
#define GD_UT 0x30
#define GD_TSS 0x38
#define NR_GDT_ENTRIES 9

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
} __attribute__((packed));

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomb;
} __attribute__((packed));

#define TRAP_STACK_SIZE (64 * 1024)
#define EXIT_STACK_SIZE (64 * 1024)

/* Per-thread block (GS base points at it in Dune ring 0; while ring 3
 * runs it waits in IA32_KERNEL_GS_BASE, dune.S). */
struct dune_percpu {
	uint64_t percpu_ptr;
	uint64_t tmp;
	uint64_t kfs_base;
	uint64_t ufs_base;
	uint64_t in_usermode;
	struct tss64 tss;
	uint64_t gdt[NR_GDT_ENTRIES];
	struct dune_config conf;
	void *trap_stack;
	void *exit_stack;
	/* dune_set_user_cr3 (ours): the page table ring 3 runs on, and the
	 * one every entry from ring 3 switches back to before anything else
	 * (0: ring 3 shares ring 0's); tmp2 is the entry code's scratch. */
	uint64_t user_cr3;
	uint64_t kernel_cr3;
	uint64_t tmp2;
	/* where the SYSCALL entry's copy at LSTAR calls and returns to: it
	 * cannot reach them RIP-relative, and absolute addresses in its code
	 * would be text relocations (no libdune.so, DT_TEXTREL in a PIE) */
	uint64_t syscall_fn;
	uint64_t return_fn;
} __attribute__((aligned(64)));

/* dune.S's offsets of the fields above */
#define PERCPU_USER_CR3_OFF 0x198
#define PERCPU_KERNEL_CR3_OFF 0x1a0
#define PERCPU_TMP2_OFF 0x1a8
#define PERCPU_SYSCALL_FN_OFF 0x1b0
#define PERCPU_RETURN_FN_OFF 0x1b8

extern struct idt_gate *dune_idt; /* a page of its own: see trap.c */
extern int dune_fd;
int dune_idt_init(void);
int dune_setup_mappings(bool map_full);
int dune_map_regions_of(void *a, void *b);
int dune_page_init(void);
void dune_on_exit(struct dune_config *conf) __attribute__((noreturn));
void dune_reenter(struct dune_config *conf) __attribute__((noreturn));
void *dune_exit_stack_top(void);
bool dune_debug_breakpoint(struct dune_config *conf);
long __dune_enter(struct dune_config *conf, void *exit_stack_top, int fd);
void dune_syscall_from_user(struct dune_tf *tf);      /* trap.c, from dune.S's SYSCALL entry */
extern char __dune_return_from_trap[];                /* dune.S */

#endif
