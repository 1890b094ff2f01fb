// SPDX-License-Identifier: GPL-2.0
/*
 * System calls of Dune threads, run by the thread itself.
 *
 * Upstream Dune called sys_call_table entries from its module, which needs
 * unexported symbols and broke with every kernel. Here the DUNE_ENTER (or
 * DUNE_RESUME) ioctl returns to user mode into a small trampoline page with
 * the context's registers, executes the system call with SYSCALL, and
 * continues the session with DUNE_RESUME, passing the result. So every
 * system call, present or future, runs with the thread's own credentials and
 * Linux's own semantics: signals (handlers run in Linux mode, on the
 * thread's stack below the red zone), restarts, ptrace, seccomp, execve.
 *
 * fork/vfork/clone/clone3: the child starts in normal Linux mode where the
 * Dune code made the call (dune-abi 1.9): at RCX when the VMCALL came from
 * libdune's LSTAR trampoline, else after the VMCALL, with the context's
 * registers and RAX = 0. Without a new stack the child takes its RIP and RSP
 * from below the parent's red zone; with a new stack from just below it.
 */
#define pr_fmt(fmt) "dune: " fmt

#include <linux/mman.h>
#include <linux/mm.h>
#include <linux/ptrace.h>
#include <linux/sched/task_stack.h>
#include <linux/uaccess.h>
#include <uapi/linux/sched.h>

#include "dune_priv.h"

enum { G_RAX, G_RCX, G_RDX, G_RBX, G_RSP, G_RBP, G_RSI, G_RDI, G_R8, G_R9, G_R10, G_R11, G_R12, G_R13, G_R14, G_R15 };

/* Entry points in the trampoline page. */
#define T_PLAIN 0
#define T_FORK 32
#define T_NEWSTACK 64
#define T_PARENT 96
#define REDZONE 128
#define FORK_FRAME 16

static void put_bytes(u8 *page, unsigned int *at, const u8 *b, unsigned int n)
{
	memcpy(page + *at, b, n);
	*at += n;
}

/* jnz rel8 to T_PARENT from the current position */
static void put_jnz_parent(u8 *page, unsigned int *at)
{
	u8 jnz[2] = {0x75, (u8)(T_PARENT - (*at + 2))};

	put_bytes(page, at, jnz, 2);
}

static void build_trampoline(u8 *page, int fd)
{
	static const u8 syscall_insn[] = {0x0f, 0x05};
	static const u8 test_rax[] = {0x48, 0x85, 0xc0};
	unsigned int at;

	memset(page, 0xcc, PAGE_SIZE); /* int3 everywhere else */
	/* T_PLAIN: syscall; jmp parent */
	at = T_PLAIN;
	put_bytes(page, &at, syscall_insn, 2);
	{
		u8 jmp[2] = {0xeb, (u8)(T_PARENT - (at + 2))};

		put_bytes(page, &at, jmp, 2);
	}
	/* T_FORK: the child pops its RIP and RSP from the frame below the red zone */
	at = T_FORK;
	put_bytes(page, &at, syscall_insn, 2);
	put_bytes(page, &at, test_rax, 3);
	put_jnz_parent(page, &at);
	put_bytes(page, &at, (const u8[]){0x48, 0x8b, 0x0c, 0x24}, 4);       /* mov rcx, [rsp] */
	put_bytes(page, &at, (const u8[]){0x48, 0x8b, 0x64, 0x24, 0x08}, 5); /* mov rsp, [rsp+8] */
	put_bytes(page, &at, (const u8[]){0xff, 0xe1}, 2);                   /* jmp rcx */
	/* T_NEWSTACK: the child finds its RIP just below its new stack */
	at = T_NEWSTACK;
	put_bytes(page, &at, syscall_insn, 2);
	put_bytes(page, &at, test_rax, 3);
	put_jnz_parent(page, &at);
	put_bytes(page, &at, (const u8[]){0x48, 0x8b, 0x4c, 0x24, 0xf8}, 5); /* mov rcx, [rsp-8] */
	put_bytes(page, &at, (const u8[]){0xff, 0xe1}, 2);                   /* jmp rcx */
	/* T_PARENT: ioctl(fd, DUNE_RESUME, result) continues the session */
	at = T_PARENT;
	put_bytes(page, &at, (const u8[]){0x48, 0x89, 0xc2}, 3); /* mov rdx, rax */
	{
		u8 mov_edi[5] = {0xbf}, mov_esi[5] = {0xbe}, mov_eax[5] = {0xb8, 16, 0, 0, 0}; /* SYS_ioctl */
		u32 cmd = DUNE_RESUME, ufd = (u32)fd;

		memcpy(mov_edi + 1, &ufd, 4);
		memcpy(mov_esi + 1, &cmd, 4);
		put_bytes(page, &at, mov_edi, 5);
		put_bytes(page, &at, mov_esi, 5);
		put_bytes(page, &at, mov_eax, 5);
	}
	put_bytes(page, &at, syscall_insn, 2);
	put_bytes(page, &at, (const u8[]){0x0f, 0x0b}, 2); /* ud2: DUNE_RESUME never returns here */
}

int dune_trampoline_install(struct dune_vcpu *v, int fd)
{
	unsigned long addr;
	u8 *code;
	int n;

	code = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!code)
		return -ENOMEM;
	build_trampoline(code, fd);
	addr = vm_mmap(NULL, 0, PAGE_SIZE, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, 0);
	if (IS_ERR_VALUE(addr)) {
		kfree(code);
		return (int)addr;
	}
	/* write into the read-only page as ptrace would (copy-on-write) */
	n = access_process_vm(current, addr, code, PAGE_SIZE, FOLL_FORCE | FOLL_WRITE);
	kfree(code);
	if (n != PAGE_SIZE)
		return -EFAULT;
	v->tramp = addr;
	v->fd = fd;
	return 0;
}

/* The user address a fork child resumes at (dune-abi 1.9). */
static u64 child_rip(const struct dunehv_ctx_run *run)
{
	/* run->rip is already past the VMCALL */
	return run->rip < TASK_SIZE_MAX ? run->rip : run->gpr[G_RCX];
}

/* New stack of a clone/clone3 call, 0 if none (fork and vfork have none:
 * their argument registers hold anything). */
static u64 new_stack(u64 nr, const struct dunehv_ctx_run *run)
{
	struct clone_args args;

	if (nr == __NR_clone)
		return run->gpr[G_RSI];
	if (nr != __NR_clone3 || run->gpr[G_RSI] < CLONE_ARGS_SIZE_VER0)
		return 0; /* a short clone3 struct: the kernel refuses the call itself */
	if (copy_from_user(&args, (void __user *)run->gpr[G_RDI], CLONE_ARGS_SIZE_VER0))
		return 0;
	return args.stack ? args.stack + args.stack_size : 0;
}

/* Returns the system call number (the ioctl's result: RAX in the trampoline),
 * or an error the caller gives to the process as the call's result instead
 * of running it: -EFAULT when a child's resume frame cannot be written,
 * -ENOSYS for a number with bit 63 set. */
long dune_syscall_redirect(struct dune_vcpu *v)
{
	const struct dunehv_ctx_run *run = v->run;
	struct pt_regs *regs = current_pt_regs();
	u64 nr = run->gpr[G_RAX], rsp = run->rsp, sp, entry = T_PLAIN;

	/* No such call (Linux answers -ENOSYS too); and a negative number would
	 * read as an error, or a restart code, in the ioctl's return value. */
	if ((long)nr < 0)
		return -ENOSYS;

	/* The context's registers become the thread's: the call's arguments,
	 * and for a fork child everything it continues with. */
	regs->di = run->gpr[G_RDI];
	regs->si = run->gpr[G_RSI];
	regs->dx = run->gpr[G_RDX];
	regs->r10 = run->gpr[G_R10];
	regs->r8 = run->gpr[G_R8];
	regs->r9 = run->gpr[G_R9];
	regs->bx = run->gpr[G_RBX];
	regs->bp = run->gpr[G_RBP];
	regs->r12 = run->gpr[G_R12];
	regs->r13 = run->gpr[G_R13];
	regs->r14 = run->gpr[G_R14];
	regs->r15 = run->gpr[G_R15];
	regs->sp = rsp - REDZONE;

	if (nr == __NR_fork || nr == __NR_vfork || nr == __NR_clone || nr == __NR_clone3) {
		sp = new_stack(nr, run);
		if (sp) {
			if (put_user(child_rip(run), (u64 __user *)(sp - 8)))
				return -EFAULT;
			entry = T_NEWSTACK;
		} else {
			regs->sp = rsp - REDZONE - FORK_FRAME;
			if (put_user(child_rip(run), (u64 __user *)regs->sp) ||
			    put_user(rsp, (u64 __user *)(regs->sp + 8)))
				return -EFAULT;
			entry = T_FORK;
		}
	}
	regs->ip = v->tramp + entry;
	regs->flags = v->entry_regs.flags;
	v->in_trampoline = true;
	return (long)nr; /* becomes RAX: the system call number */
}
