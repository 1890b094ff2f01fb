/* SPDX-License-Identifier: MIT */
/*
 * The Dune ABI between a process and /dev/dune, byte-compatible with
 * upstream Dune (project-dune/dune, the 2015+ ABI): ioctl numbers, packed
 * struct layouts, DUNE_RET_* codes and the guest-physical windows. Programs
 * linked against upstream libdune depend on every value here.
 * Usable from the kernel module and from user space.
 */
#ifndef DUNE_ABI_H
#define DUNE_ABI_H

#ifdef __KERNEL__
#include <linux/ioctl.h>
#include <linux/types.h>
#else
#include <linux/types.h>
#include <sys/ioctl.h>
#endif

#define DUNE_MINOR 233

/* ioctl numbers (type 233 = 0xE9) */
#define DUNE_ENTER        _IOR(DUNE_MINOR, 0x01, struct dune_config)     /* 0x80B0E901 */
#define DUNE_GET_SYSCALL  _IO(DUNE_MINOR, 0x02)                          /* 0xE902 */
#define DUNE_GET_LAYOUT   _IOW(DUNE_MINOR, 0x03, struct dune_layout)     /* 0x4018E903 */
#define DUNE_TRAP_ENABLE  _IOR(DUNE_MINOR, 0x04, struct dune_trap_config) /* 0x8029E904 */
#define DUNE_TRAP_DISABLE _IO(DUNE_MINOR, 0x05)                          /* 0xE905 */
#define IOCTL_DUNE_ENTER  0x80b0e901

/* How a Dune session ended (dune_config.ret) */
#define DUNE_RET_EXIT 1
#define DUNE_RET_EPT_VIOLATION 2
#define DUNE_RET_INTERRUPT 3
#define DUNE_RET_SIGNAL 4
#define DUNE_RET_UNHANDLED_VMEXIT 5
#define DUNE_RET_NOENTER 6

#define DUNE_SIGNAL_INTR_BASE 200

struct dune_config {
	__s64 ret;
	__u64 rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	__u64 r8, r9, r10, r11, r12, r13, r14, r15;
	__u64 rip, rflags, cr3;
	__s64 status;
	__u64 vcpu;
} __attribute__((packed));

#define DUNE_CFG_RET 0x00
#define DUNE_CFG_RAX 0x08
#define DUNE_CFG_RBX 0x10
#define DUNE_CFG_RCX 0x18
#define DUNE_CFG_RDX 0x20
#define DUNE_CFG_RSI 0x28
#define DUNE_CFG_RDI 0x30
#define DUNE_CFG_RSP 0x38
#define DUNE_CFG_RBP 0x40
#define DUNE_CFG_R8 0x48
#define DUNE_CFG_R9 0x50
#define DUNE_CFG_R10 0x58
#define DUNE_CFG_R11 0x60
#define DUNE_CFG_R12 0x68
#define DUNE_CFG_R13 0x70
#define DUNE_CFG_R14 0x78
#define DUNE_CFG_R15 0x80
#define DUNE_CFG_RIP 0x88
#define DUNE_CFG_RFLAGS 0x90
#define DUNE_CFG_CR3 0x98
#define DUNE_CFG_STATUS 0xa0
#define DUNE_CFG_VCPU 0xa8

struct dune_layout {
	__u64 phys_limit;
	__u64 base_map;
	__u64 base_stack;
} __attribute__((packed));

struct dune_trap_regs {
	__u64 rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	__u64 r8, r9, r10, r11, r12, r13, r14, r15;
	__u64 rip, rflags;
} __attribute__((packed));

typedef void (*dune_trap_notify_func)(struct dune_trap_regs *, void *);

struct dune_trap_config {
	__u64 trigger_rip;
	dune_trap_notify_func notify_func;
	struct dune_trap_regs *regs;
	__u64 regs_size;
	void *priv;
	__u8 delay;
} __attribute__((packed));

/* Guest-physical windows (dune-abi 2.1): [0, P-64G) identity, [P-64G, P-1G)
 * the mmap area from base_map, [P-1G, P) the stack from base_stack. */
#define GPA_STACK_SIZE ((__u64)1 << 30)
#define GPA_MAP_SIZE (((__u64)1 << 36) - GPA_STACK_SIZE)
#define LG_ALIGN(addr) (((addr) + (1ull << 30) - 1) & ~((1ull << 30) - 1))

#ifndef __KERNEL__
_Static_assert(sizeof(struct dune_config) == 176, "dune_config is 176 bytes");
_Static_assert(sizeof(struct dune_layout) == 24, "dune_layout is 24 bytes");
_Static_assert(sizeof(struct dune_trap_regs) == 144, "dune_trap_regs is 144 bytes");
_Static_assert(sizeof(struct dune_trap_config) == 41, "dune_trap_config is 41 bytes");
_Static_assert(DUNE_ENTER == 0x80b0e901, "DUNE_ENTER value");
_Static_assert(DUNE_GET_LAYOUT == 0x4018e903, "DUNE_GET_LAYOUT value");
_Static_assert(DUNE_TRAP_ENABLE == 0x8029e904, "DUNE_TRAP_ENABLE value");
#endif

#endif /* DUNE_ABI_H */
