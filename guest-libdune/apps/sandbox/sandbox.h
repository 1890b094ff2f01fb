/* SPDX-License-Identifier: MIT */
/* dune-sandbox: an unmodified x86-64 Linux program at ring 3 of a Dune
 * process, under a monitor in the same process's ring 0 that sees each of
 * its system calls first (the Dune paper's sandbox, our own code on our
 * libdune). The parts:
 *   umem.c     the sandboxee's memory: which ranges are its own, their
 *              page-table entries (the only ones with the user bit), brk,
 *              and the checks on every pointer it passes
 *   loader.c   ELF loading (static and PT_INTERP, PIE or not), the initial
 *              stack and auxiliary vector
 *   signal.c   signals to the sandboxee's handlers: frames, rt_sigreturn
 *   threads.c  clone of threads (a monitor thread each), their exit,
 *              set_tid_address and futex
 *   syscalls.c the system-call table: what each argument is, checked before
 *              Linux sees it; calls it does not know are refused; fork and
 *              execve (a new monitor)
 *   policy.c   the policy file: path, net, syscall, limit and on-deny rules
 *   paths.c    paths resolved to their real path for the policy
 *   main.c     the command line, Dune entry, faults, running the program */
#ifndef SANDBOX_H
#define SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dune.h"

#define SB_PAGE 4096ul
#define SB_PAGE_DOWN(x) ((uintptr_t)(x) & ~(SB_PAGE - 1))
#define SB_PAGE_UP(x) (((uintptr_t)(x) + SB_PAGE - 1) & ~(SB_PAGE - 1))
#define SB_STACK_SIZE (8ul << 20)
#define SB_BRK_MAX (1ul << 30) /* address space reserved for brk after the program */


/* umem.c */
/* The lock on the sandboxee's memory list and the page tables (recursive). */
void sb_lock(void);
void sb_unlock(void);
int umem_init(void);
/* From now on the page tables are the CPU's: changes are flushed. */
void umem_entered(void);
/* Registers [start, start + len) as the sandboxee's with prot (PROT_*):
 * page-table entries with the user bit where prot allows access. */
int umem_add(uintptr_t start, size_t len, int prot);
/* True when all of [p, p + len) is the sandboxee's and accessible
 * (writable when write). */
bool umem_ok(uintptr_t p, size_t len, bool write);
/* True when all of [p, p + len) is the sandboxee's, whatever its protection. */
bool umem_owns(uintptr_t p, size_t len);
/* Copies the sandboxee's NUL-terminated string at p into buf (size n);
 * -EFAULT or -ENAMETOOLONG. */
int umem_strcpy(char *buf, size_t n, uintptr_t p);
/* True when [p, p + len) lies in a guest-physical window (dune-abi 2.1). */
bool umem_in_window(uintptr_t p, size_t len);
/* The emulated memory calls; each returns what the system call returns. */
long umem_mmap(uintptr_t addr, size_t len, int prot, int flags, int fd, long off);
long umem_munmap(uintptr_t addr, size_t len);
long umem_mprotect(uintptr_t addr, size_t len, int prot);
long umem_brk(uintptr_t want);
long umem_mremap(uintptr_t old, size_t old_len, size_t new_len, int flags);
void umem_set_brk_area(uintptr_t start); /* the reserved SB_BRK_MAX after the program */

/* loader.c */
struct sb_image {
	uintptr_t entry;     /* where ring 3 starts: the interpreter's entry, or the program's */
	uintptr_t stack;     /* the initial RSP */
	uintptr_t brk_start;
};
/* Loads path with argv/envp into the sandboxee's memory; on error a
 * message in err (size n) and a negative errno. */
int load_program(const char *path, char *const argv[], char *const envp[], struct sb_image *img, char *err, size_t n);

/* threads.c: clone with CLONE_THREAD (a: the call's arguments; tf: the
 * parent's registers), and the calls that act on one thread */
long sandbox_clone_thread(const uint64_t *a, const struct dune_tf *tf);
long sandbox_thread_exit(uint64_t status);
long sandbox_set_tid_address(uint64_t at);
long sandbox_futex(uint64_t *a);
void sandbox_thread_forked(void);

/* signal.c. A sigaction of the sandboxee's, in the kernel's layout. */
struct sb_sigaction {
	uint64_t handler, flags, restorer, mask;
};
void sandbox_signal_init(void);
void sandbox_signal_forked(void);
/* sigaltstack (sp: the caller's stack pointer) */
long sandbox_sigaltstack(uint64_t new_ss, uint64_t old_ss, uint64_t sp);
/* The monitor's Linux-mode disposition for sig, as the sandboxee's act says. */
long sandbox_signal_install(int sig, const struct sb_sigaction *act);
/* On the way back to ring 3 from system call nr (its result in tf->rax):
 * a signal this thread took, into the sandboxee's handler (fpu: its vector
 * registers, as saved on entry). */
void sandbox_signal_deliver(struct dune_tf *tf, long nr, struct fpu_area *fpu);
/* A fault in ring 3: true when it went to the sandboxee's handler. */
bool sandbox_signal_fault(int sig, int code, uintptr_t addr, struct dune_tf *tf);
long sandbox_sigreturn(struct dune_tf *tf, struct fpu_area *fpu);
/* syscalls.c: the sandboxee's sigaction for sig; back to SIG_DFL */
void sandbox_signal_action(int sig, struct sb_sigaction *act);
void sandbox_signal_reset(int sig);

/* syscalls.c */
void sandbox_syscall(struct dune_tf *tf);
extern int sandbox_log_fd;  /* --log, or -1 */
extern const char *sandbox_exe_path; /* what /proc/self/exe reads as for the sandboxee */
void sandbox_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* paths.c: path (relative to dirfd) made absolute with its links, "." and
 * ".." resolved, the last component followed only when follow says so;
 * a negative errno when its directory cannot be resolved. */
int sandbox_resolve(int dirfd, const char *path, bool follow, char *out /* PATH_MAX */);
/* The path an open descriptor names (/proc/self/fd). */
int sandbox_fd_path(int fd, char *out, size_t n);
bool sandbox_is_mem_file(const char *real);

/* policy.c */
enum policy_access { POLICY_DENY, POLICY_RO, POLICY_RW };
#define POLICY_MAX_SYSCALL 512
extern bool policy_kill_on_deny;
extern const char *policy_file;
int policy_load(const char *file, char *err, size_t n);
void policy_reset(void); /* back to the null policy */
/* 0 or -EACCES; *rule_line: the rule that decided (0: no rule). */
int policy_check_path(const char *real, bool write, int *rule_line);
int policy_check_net(bool bind, const void *sockaddr, size_t len, int *rule_line);
int policy_check_syscall(long nr); /* 0 or -EPERM */
bool policy_has_path_rules(void);
int policy_apply_limits(char *err, size_t n);
/* syscalls.c: a system call's number by its name, or -1. */
long sandbox_syscall_number(const char *name);

/* main.c: the monitor's own path, and the arguments that start a new
 * monitor for path with this one's settings (at most max, NULL-free);
 * returns how many it wrote. */
extern const char *sandbox_monitor_path;
unsigned sandbox_exec_argv(char **argv, unsigned max, char *path);
/* Ends the sandboxee (the process) with sig. */
void sandbox_kill(int sig) __attribute__((noreturn));
/* A descriptor the sandboxee may not touch. */
void sandbox_own_fd(int fd);
/* A line to stderr, from ring 0. */
void sb_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
