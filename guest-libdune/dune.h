/* SPDX-License-Identifier: MIT */
/*
 * libdune for dunehv: the user-level side of Dune. API after upstream
 * libdune's dune.h (project-dune/dune): a process calls dune_init() once and
 * dune_enter() per thread; from then on it runs in ring 0 of its own VMX
 * context with its own page tables, GDT/TSS and IDT, while its system calls
 * (SYSCALL, or VMCALL) still go to Linux.
 *
 * Implemented: entry (map_full and precise mode), page tables (dune_vm_*),
 * the page pool, trap/interrupt/page-fault/signal/syscall handler
 * registration, ring 3 (dune_jump_to_user), dune_signal, the vsyscall page,
 * ELF reading (dune_elf_*), procmap, dune_printf, dune_die,
 * dune_passthrough_syscall. Not yet: the APIC/IPI helpers, dune_enter_ex.
 */
#ifndef LIBDUNE_DUNE_H
#define LIBDUNE_DUNE_H

#include <stdbool.h>
#include <stdint.h>
#include <elf.h>
#include <signal.h>
#include <sys/types.h>

#include "../linux-shim/dune.h"
#include "fpu.h"

typedef uint64_t ptent_t;
typedef uint64_t physaddr_t;

/* Trap numbers */
#define T_DIVIDE 0
#define T_DEBUG 1
#define T_NMI 2
#define T_BRKPT 3
#define T_OFLOW 4
#define T_BOUND 5
#define T_ILLOP 6
#define T_DEVICE 7
#define T_DBLFLT 8
#define T_TSS 10
#define T_SEGNP 11
#define T_STACK 12
#define T_GPFLT 13
#define T_PGFLT 14
#define T_FPERR 16
#define T_ALIGN 17
#define T_MCHK 18
#define T_SIMDERR 19
#define T_SYSCALL 48

/* Trap frame (upstream layout: 168 bytes packed) */
struct dune_tf {
	uint64_t rdi, rsi, rdx, rcx, r8, r9, r10, r11;
	uint64_t rbx, rbp, r12, r13, r14, r15, rax;
	uint32_t err;
	uint32_t pad1;
	uint64_t rip;
	uint16_t cs;
	uint16_t pad2[3];
	uint64_t rflags;
	uint64_t rsp;
	uint16_t ss;
	uint16_t pad3[3];
} __attribute__((packed));

#define ARG0(tf) ((tf)->rdi)
#define ARG1(tf) ((tf)->rsi)
#define ARG2(tf) ((tf)->rdx)
#define ARG3(tf) ((tf)->rcx)
#define ARG4(tf) ((tf)->r8)
#define ARG5(tf) ((tf)->r9)

typedef void (*dune_intr_cb)(struct dune_tf *tf);
typedef void (*dune_pgflt_cb)(uintptr_t addr, uint64_t fec, struct dune_tf *tf);
typedef void (*dune_syscall_cb)(struct dune_tf *tf);

/* Page-table permissions (dune_vm_*) */
#define PERM_NONE 0
#define PERM_R 0x0001
#define PERM_W 0x0002
#define PERM_X 0x0004
#define PERM_U 0x0008
#define PERM_UC 0x0010
#define PERM_COW 0x0020
#define PERM_USR1 0x1000
#define PERM_USR2 0x2000
#define PERM_USR3 0x3000
#define PERM_BIG 0x0100
#define PERM_BIG_1GB 0x0200
#define PERM_SCODE (PERM_R | PERM_X)
#define PERM_STEXT (PERM_R | PERM_W)
#define PERM_SSTACK PERM_STEXT
#define PERM_UCODE (PERM_R | PERM_U | PERM_X)
#define PERM_UTEXT (PERM_R | PERM_U | PERM_W)
#define PERM_USTACK PERM_UTEXT

#define PTE_P 0x001
#define PTE_W 0x002
#define PTE_U 0x004
#define PTE_PWT 0x008
#define PTE_PCD 0x010
#define PTE_A 0x020
#define PTE_D 0x040
#define PTE_PS 0x080
#define PTE_G 0x100
#define PTE_COW 0x200
#define PTE_NX 0x8000000000000000ull
#define PTE_ADDR(pte) ((physaddr_t)(pte) & 0x000ffffffffff000ull)

#define FEC_P 0x1
#define FEC_W 0x2
#define FEC_U 0x4
#define FEC_RSV 0x8
#define FEC_I 0x10

#define CREATE_NONE 0
#define CREATE_NORMAL 1
#define CREATE_BIG 2
#define CREATE_BIG_1GB 3

#define PGSIZE 4096
#define PAGEBASE 0x200000000ull
#define MAX_PAGES (1ull << 20)

/* The guest-physical layout from DUNE_GET_LAYOUT */
extern uintptr_t phys_limit, mmap_base, stack_base;
extern ptent_t *pgroot;

static inline uintptr_t dune_mmap_addr_to_pa(void *ptr)
{
	return ((uintptr_t)ptr) - mmap_base + phys_limit - GPA_STACK_SIZE - GPA_MAP_SIZE;
}

static inline uintptr_t dune_stack_addr_to_pa(void *ptr)
{
	return ((uintptr_t)ptr) - stack_base + phys_limit - GPA_STACK_SIZE;
}

static inline uintptr_t dune_va_to_pa(void *ptr)
{
	if ((uintptr_t)ptr >= stack_base)
		return dune_stack_addr_to_pa(ptr);
	else if ((uintptr_t)ptr >= mmap_base)
		return dune_mmap_addr_to_pa(ptr);
	else
		return (uintptr_t)ptr;
}

/* Ours: the guest-physical address of [va, va + len), if one window
 * (dune-abi 2.1) holds all of it. */
extern bool dune_va_range_to_pa(uintptr_t va, size_t len, uintptr_t *pa);

/* Entry */
extern int dune_init(bool map_full);
extern int dune_enter(void);
static inline int dune_init_and_enter(void)
{
	int ret = dune_init(1);
	return ret ? ret : dune_enter();
}

/* Traps and system calls */
extern int dune_register_intr_handler(int vec, dune_intr_cb cb);
extern int dune_register_signal_handler(int signum, dune_intr_cb cb);
extern void dune_register_pgflt_handler(dune_pgflt_cb cb);
extern void dune_register_syscall_handler(dune_syscall_cb cb);
/* Ours: called in Linux mode, on the thread's exit stack, after a session
 * that a signal ended (the Linux-mode handlers have run) and before the
 * context is re-entered; it may change conf's registers (dune-sandbox
 * enters its program's signal handlers so). */
typedef void (*dune_signal_reentry_cb)(struct dune_config *conf);
extern void dune_register_signal_reentry_hook(dune_signal_reentry_cb cb);
/* Ours: called in Linux mode when a #BP or #DB (conf->status: the vector),
 * which the hypervisor hands to Linux for debuggers, ended the session;
 * returning true re-enters with conf as the hook left it, false goes on to
 * the debugger support (an INT3 replayed for a tracer) or the end. */
typedef bool (*dune_debug_trap_cb)(struct dune_config *conf);
extern void dune_register_debug_trap_hook(dune_debug_trap_cb cb);
/* Runs tf at ring 3 until a handler calls dune_ret_from_user(ret), then
 * returns ret. A system-call handler may call it again (nested: the inner
 * call's dune_ret_from_user returns to the handler). */
extern int dune_jump_to_user(struct dune_tf *tf);
extern void dune_ret_from_user(int ret) __attribute__((noreturn));
extern void dune_pop_trap_frame(struct dune_tf *tf) __attribute__((noreturn));
extern __sighandler_t dune_signal(int sig, __sighandler_t cb);
extern unsigned long dune_get_user_fs(void);
extern void dune_set_user_fs(unsigned long fs_base);
/* Ours: ring 3 of this thread runs on user_cr3 (a CR3 value: root, PCID,
 * no-flush bit), and every entry from ring 3 (system call, trap,
 * interrupt) loads kernel_cr3 before it touches anything but the thread's
 * block; both 0 (the default): ring 3 shares ring 0's page table. Ring 3's
 * table must map the thread's block, trap stack, GDT, IDT and libdune's
 * entry code as ring 0's does (supervisor-only is enough). */
extern void dune_set_user_cr3(uint64_t user_cr3, uint64_t kernel_cr3);
/* Ours: this thread's block (GDT, TSS, trap and exit stacks) after
 * dune_enter, which ring 3's own page table must map as ring 0's does. */
extern void dune_get_thread_block(uintptr_t *start, size_t *len);
extern void dune_passthrough_syscall(struct dune_tf *tf);
/* Ours: a system call to Linux from ring 0, with Linux's raw result
 * (-errno on failure); unused arguments are 0. */
static inline long dune_passthrough(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	struct dune_tf t = {.rax = (uint64_t)nr, .rdi = (uint64_t)a0, .rsi = (uint64_t)a1, .rdx = (uint64_t)a2,
			    .rcx = (uint64_t)a3 /* r10 */, .r8 = (uint64_t)a4, .r9 = (uint64_t)a5};
	dune_passthrough_syscall(&t);
	return (long)t.rax;
}
extern void dune_dump_trap_frame(struct dune_tf *tf);
extern int dune_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern void dune_die(void) __attribute__((noreturn));
extern void *dune_mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset);
static inline unsigned long dune_get_ticks(void)
{
	unsigned int a, d;
	__asm__ volatile("rdtsc" : "=a"(a), "=d"(d));
	return ((unsigned long)a) | (((unsigned long)d) << 32);
}

/* Pages */
struct page {
	struct page *next;
	uint64_t ref;
};
extern struct page *pages;
extern struct page *dune_page_alloc(void);
extern void dune_page_free(struct page *pg);
extern void dune_page_stats(void);
static inline physaddr_t dune_page2pa(struct page *pg) { return PAGEBASE + ((physaddr_t)(pg - pages) << 12); }
static inline struct page *dune_pa2page(physaddr_t pa) { return &pages[(pa - PAGEBASE) >> 12]; }
static inline bool dune_page_isfrompool(physaddr_t pa) { return pa >= PAGEBASE && pa < PAGEBASE + MAX_PAGES * PGSIZE; }
static inline struct page *dune_page_get(struct page *pg) { pg->ref++; return pg; }
static inline void dune_page_put(struct page *pg) { if (--pg->ref == 0) dune_page_free(pg); }

/* /proc/self/maps (procmap.c) */
#define PROCMAP_TYPE_UNKNOWN 0x00
#define PROCMAP_TYPE_FILE 0x01
#define PROCMAP_TYPE_ANONYMOUS 0x02
#define PROCMAP_TYPE_HEAP 0x03
#define PROCMAP_TYPE_STACK 0x04
#define PROCMAP_TYPE_VSYSCALL 0x05
#define PROCMAP_TYPE_VDSO 0x06
#define PROCMAP_TYPE_VVAR 0x07

struct dune_procmap_entry {
	uintptr_t begin;
	uintptr_t end;
	uint64_t offset;
	bool r, w, x, p;
	char *path;
	int type;
};
typedef void (*dune_procmap_cb)(const struct dune_procmap_entry *);
extern void dune_procmap_iterate(dune_procmap_cb cb);
extern void dune_procmap_dump(void);

/* ELF images (elf.c) */
struct dune_elf {
	int fd;
	unsigned char *mem;
	int len;
	Elf64_Ehdr hdr;
	Elf64_Phdr *phdr;
	Elf64_Shdr *shdr;
	char *shdrstr;
	void *priv;
};
typedef int (*dune_elf_phcb)(struct dune_elf *elf, Elf64_Phdr *phdr);
typedef int (*dune_elf_shcb)(struct dune_elf *elf, const char *sname, int snum, Elf64_Shdr *shdr);
extern int dune_elf_open(struct dune_elf *elf, const char *path);
extern int dune_elf_open_mem(struct dune_elf *elf, void *mem, int len);
extern int dune_elf_close(struct dune_elf *elf);
extern int dune_elf_dump(struct dune_elf *elf);
extern int dune_elf_iter_sh(struct dune_elf *elf, dune_elf_shcb cb);
extern int dune_elf_iter_ph(struct dune_elf *elf, dune_elf_phcb cb);
extern int dune_elf_load_ph(struct dune_elf *elf, Elf64_Phdr *phdr, off_t off);

/* Page tables */
extern int dune_vm_lookup(ptent_t *root, void *va, int create, ptent_t **pte_out);
extern int dune_vm_map_phys(ptent_t *root, void *va, size_t len, void *pa, int perm);
extern int dune_vm_map_pages(ptent_t *root, void *va, size_t len, int perm);
extern int dune_vm_mprotect(ptent_t *root, void *va, size_t len, int perm);
extern void dune_vm_unmap(ptent_t *root, void *va, size_t len);
extern void dune_vm_free(ptent_t *root);
extern ptent_t *dune_vm_clone(ptent_t *root);
typedef int (*page_walk_cb)(const void *arg, ptent_t *ptep, void *va);
extern int dune_vm_page_walk(ptent_t *root, void *start_va, void *end_va, page_walk_cb cb, const void *arg);
extern void dune_vm_default_pgflt_handler(uintptr_t addr, uint64_t fec);

/* Calls cb(page, arg) for each 4 KiB page of [va, va + len) written since
 * the last call (its leaf entry's D bit, SDM 4.8), clears those bits and
 * flushes them from this CPU's TLB; cb may be NULL. Big pages on the way
 * are split into 4 KiB pages first (keeping their A and D bits: all their
 * pages count as written if the big page was). Pages nothing maps count as
 * clean. Other CPUs' TLBs are not flushed: call it where no other thread of
 * the process runs in Dune mode (a stopped world, as a collector has).
 * Not for the page pool's own range. The number of dirty pages, or -EINVAL
 * (va or len not page-aligned) or -ENOMEM (no page for a split). */
extern long dune_vm_collect_dirty(ptent_t *root, void *va, size_t len, void (*cb)(void *page, void *arg), void *arg);
static inline void dune_flush_tlb_one(unsigned long addr) { __asm__ volatile("invlpg (%0)" ::"r"(addr) : "memory"); }
static inline void dune_flush_tlb(void)
{
	unsigned long cr3;
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	__asm__ volatile("mov %0, %%cr3" ::"r"(cr3) : "memory");
}

#ifndef assert
#define assert(expr)                                                                             \
	do {                                                                                     \
		if (!(expr)) {                                                                   \
			dune_printf("assertion failed: %s at %s:%d\n", #expr, __FILE__, __LINE__); \
			dune_die();                                                              \
		}                                                                                \
	} while (0)
#endif

#endif
