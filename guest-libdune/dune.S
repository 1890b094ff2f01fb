/* SPDX-License-Identifier: MIT */
/* libdune's assembly: entering Dune mode, the system-call trampoline mapped
 * at the host's LSTAR, and the trap entry stubs. */
	.intel_syntax noprefix
	.text

/*
 * long __dune_enter(struct dune_config *conf, void *exit_stack_top, int fd)
 *
 * Enters Dune mode with DUNE_ENTER. The context starts at __dune_ret with
 * this thread's stack, so in Dune mode __dune_enter returns 0 to its caller.
 * The ioctl itself is made on exit_stack_top: when the session ends, the
 * thread comes back there in Linux mode (never on the Dune code's live
 * stack) and calls dune_on_exit(conf), which does not return. If the ioctl
 * fails at once, __dune_enter returns its (negative) result.
 */
/* The SysV callee-saved registers, saved by __dune_enter and
 * dune_jump_to_user; __dune_restore_and_ret (and dune_ret_from_user) pop
 * them and return. */
	.macro SAVE_CALLEE_SAVED
	push rbx
	push rbp
	push r12
	push r13
	push r14
	push r15
	.endm
	.macro RESTORE_CALLEE_SAVED
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	.endm

	.globl __dune_enter
__dune_enter:
	SAVE_CALLEE_SAVED
	mov [rdi + 0x38], rsp              /* conf->rsp (DUNE_CFG_RSP) */
	lea rax, [rip + __dune_ret]
	mov [rdi + 0x88], rax              /* conf->rip (DUNE_CFG_RIP) */
	mov r13, rdi                       /* kept by the kernel across the syscall */
	mov rsp, rsi
	mov edi, edx                       /* fd */
	mov esi, 0x80b0e901                /* DUNE_ENTER */
	mov rdx, r13
	mov eax, 16                        /* SYS_ioctl */
	syscall
	test rax, rax
	js 1f
	mov rdi, r13                       /* Linux mode again: the session ended */
	and rsp, -16
	call dune_on_exit
	ud2
1:	mov rsp, [r13 + 0x38]              /* DUNE_ENTER failed: back to the caller */
	jmp __dune_restore_and_ret

/* The context's first instruction (Dune mode, ring 0): return 0. */
__dune_ret:
	xor eax, eax
__dune_restore_and_ret:
	RESTORE_CALLEE_SAVED
	ret

/*
 * Ring 0 and ring 3 (the boundary). GS base points at the thread's block
 * (struct dune_percpu, upstream's layout) in ring 0 only. Ring 3 has a GS
 * base of its own (it may change it: WRGSBASE, a segment load), and the
 * block's address waits in IA32_KERNEL_GS_BASE, which ring 3 cannot touch:
 * every way from ring 3 into ring 0 starts with SWAPGS, every way back ends
 * with it, as Linux's entry code does (SDM Vol. 2B SWAPGS). Nothing ring 3
 * can write decides where ring 0 runs:
 * - a trap from ring 3 is told by the CS the CPU pushed;
 * - SYSCALL pushes nothing, so the caller's RFLAGS.IOPL (in R11) tells:
 *   ring 0 always runs with IOPL 3 (set at every entry from ring 3 and on
 *   every return to ring 0), ring 3 with IOPL 0, and ring 3 cannot raise
 *   it (POPF and IRET change IOPL only at CPL 0, SDM Vol. 1 3.4.3.3);
 * - a frame returning to ring 3 gets CS 0x33, SS 0x2b and IOPL 0 (no NT
 *   or VM either), and a non-canonical RIP becomes a #GP of ring 3 instead
 *   of a fault of the IRETQ in ring 0 after its SWAPGS.
 * The dunehv hypervisor passes IA32_KERNEL_GS_BASE through to Dune contexts
 * and switches it with the context (an extension of dune-abi 1.8, where it
 * ended the session). in_usermode is kept up to date, for upstream's
 * layout, but never trusted.
 */
#define PERCPU_TMP        8
#define PERCPU_KFS_BASE   16
#define PERCPU_UFS_BASE   24
#define PERCPU_IN_USER    32
#define PERCPU_RSP0       44              /* TSS.rsp0: "TRAP_STACK" */
#define PERCPU_USER_CR3   0x198           /* libdune_priv.h (checked there) */
#define PERCPU_KERNEL_CR3 0x1a0
#define PERCPU_TMP2       0x1a8
#define PERCPU_SYSCALL_FN 0x1b0
#define PERCPU_RETURN_FN  0x1b8
#define PERCPU_IST1       76              /* TSS.ist1: where every trap lands */
#define TRAP_STACK_SIZE   (64 * 1024)     /* libdune_priv.h */
#define MSR_FS_BASE       0xc0000100
#define TF_SIZE           168             /* struct dune_tf */
#define TF_ERR            120
#define TF_RIP            128
#define TF_CS             136
#define TF_RFLAGS         144
#define TF_SS             160
#define RFLAGS_IOPL       0x3000
#define RFLAGS_RING3      0x250fd5        /* what ring 3 may have: arithmetic, TF, IF, DF, RF, AC, ID; no IOPL, NT, VM */
#define USER_CS           0x33            /* GD_UT | 3 */
#define USER_SS           0x2b            /* GD_UD | 3 */
#define LANDING           128             /* bytes at the top of the trap stack */

/* The GPRs of a struct dune_tf below rax (rdi at the lowest address);
 * rcx_slot is what goes where rcx does. */
	.macro SAVE_GPRS rcx_slot
	push r15
	push r14
	push r13
	push r12
	push rbp
	push rbx
	push r11
	push r10
	push r9
	push r8
	push \rcx_slot
	push rdx
	push rsi
	push rdi
	.endm

/* SAVE_GPRS's inverse */
	.macro POP_GPRS
	pop rdi
	pop rsi
	pop rdx
	pop rcx
	pop r8
	pop r9
	pop r10
	pop r11
	pop rbx
	pop rbp
	pop r12
	pop r13
	pop r14
	pop r15
	pop rax
	.endm

/* FS base := [gs:\off] (the thread's TLS in ring 0, the user's in ring 3) */
	.macro LOAD_FS_BASE off
	mov ecx, MSR_FS_BASE
	mov eax, dword ptr gs:[\off]
	mov edx, dword ptr gs:[\off + 4]
	wrmsr
	.endm

/* Entered from ring 3: ring 0's page table first, if ring 3 has its own
 * (dune_set_user_cr3). Until then nothing but the thread's block and the
 * stack the CPU chose is touched: ring 3's table may hold other pages at
 * the addresses of globals. RAX is kept (via the block). */
	.macro KERNEL_CR3_FROM_RING3
	mov gs:[PERCPU_TMP2], rax
	mov rax, gs:[PERCPU_KERNEL_CR3]
	test rax, rax
	jz .Lsame_cr3\@
	mov cr3, rax
.Lsame_cr3\@:
	mov rax, gs:[PERCPU_TMP2]
	.endm

/* RFLAGS.IOPL := 3, ring 0's mark (POPF sets IOPL at CPL 0 only) */
	.macro SET_RING0_IOPL
	pushfq
	or qword ptr [rsp], RFLAGS_IOPL
	popfq
	.endm

/*
 * SYSCALL jumps to the host's LSTAR with RCX = return address and R11 =
 * RFLAGS, in ring 0, on the caller's stack: libdune maps this code there.
 * From ring 0 (IOPL 3 in R11) it is a system call for Linux: VMCALL hands it
 * over (dune-abi 1.9), then flags are restored and we return. From ring 3
 * (IOPL 0) it goes, after SWAPGS and on TRAP_STACK (never ring 3's stack),
 * to the registered syscall handler with a struct dune_tf (r10 in the rcx
 * slot), and returns to ring 3 with IRETQ (never SYSRET, which faults in
 * ring 0 on a non-canonical RCX).
 */
	.globl __dune_syscall, __dune_syscall_end
__dune_syscall:
	test r11d, RFLAGS_IOPL
	jz 1f
	vmcall
	push r11
	popfq
	jmp rcx
1:	swapgs                             /* GS base: the thread's block */
	KERNEL_CR3_FROM_RING3
	mov gs:[PERCPU_TMP], rsp
	mov rsp, gs:[PERCPU_RSP0]
	push USER_SS                       /* ss */
	push qword ptr gs:[PERCPU_TMP]     /* rsp */
	push r11                           /* rflags */
	push USER_CS                       /* cs */
	push rcx                           /* rip */
	push 0                             /* err */
	push rax
	SAVE_GPRS r10                      /* r10 in the rcx slot: ARG3 of a system call */
	SET_RING0_IOPL
	mov qword ptr gs:[PERCPU_IN_USER], 0
	LOAD_FS_BASE PERCPU_KFS_BASE
	mov rdi, rsp
	mov rbx, rsp
	and rsp, -16
	cld
	call gs:[PERCPU_SYSCALL_FN]        /* dune_syscall_from_user; this copy runs at LSTAR */
	mov rsp, rbx
	jmp gs:[PERCPU_RETURN_FN]          /* __dune_return_from_trap */
__dune_syscall_end:

/* Trap stubs: error code (dummy where the CPU pushes none), RAX, vector. */
	.macro TRAP_STUB vec
	.align 16
trap_stub_\vec:
	.if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
	.else
	push 0
	.endif
	push rax
	mov eax, \vec
	jmp trap_common
	.endm

	.align 16
	.globl __dune_trap_stubs
__dune_trap_stubs:
	.altmacro
	.set vec, 0
	.rept 256
	TRAP_STUB %vec
	.set vec, vec + 1
	.endr

/*
 * Every trap lands on IST1 at the top of the thread's trap stack (so a
 * ring-0 trap never writes into the interrupted code's red zone). That top
 * is only a landing zone (LANDING bytes): the 7 words there (rax, err, rip, cs, rflags, rsp,
 * ss) move at once to where the handler runs: below the interrupted stack's
 * red zone if the trap interrupted a handler on the trap stack (a fault in a
 * handler), else just below the landing zone. Then the GPRs are saved so the
 * stack holds a struct dune_tf, dune_trap(tf, vector) runs, and IRETQ
 * resumes; GS and FS base, IOPL and in_usermode follow ring 3 <-> ring 0.
 */
trap_common:
	test qword ptr [rsp + 24], 3       /* interrupted cs (rax, err, rip, cs) */
	jz 0f
	swapgs                             /* from ring 3: GS base, the thread's block */
	KERNEL_CR3_FROM_RING3
0:	push rbx                           /* scratch; the 7 words are at rsp + 16 */
	push rcx
	mov rbx, gs:[PERCPU_IST1]
	test qword ptr [rsp + 16 + 24], 3  /* interrupted cs */
	jnz 2f
	mov rcx, [rsp + 16 + 40]           /* interrupted rsp */
	sub rcx, rbx
	add rcx, TRAP_STACK_SIZE           /* rsp - base: below LANDING if nested */
	cmp rcx, TRAP_STACK_SIZE - LANDING
	jae 2f                             /* (unsigned: also catches rsp < base) */
	mov rbx, [rsp + 16 + 40]
	sub rbx, 128                       /* nested: below its red zone */
	and rbx, -16
	jmp 3f
2:	sub rbx, LANDING
3:	sub rbx, 56
	.set slot, 0                       /* rax, err, rip, cs, rflags, rsp, ss */
	.rept 7
	mov rcx, [rsp + 16 + slot * 8]
	mov [rbx + slot * 8], rcx
	.set slot, slot + 1
	.endr
	pop rcx
	xchg rbx, [rsp]                    /* rbx restored, new stack in [rsp] */
	mov rsp, [rsp]
	SAVE_GPRS rcx
	mov r12d, eax                      /* vector */
	test qword ptr [rsp + TF_CS], 3
	jz trap_dispatch
	SET_RING0_IOPL
	mov qword ptr gs:[PERCPU_IN_USER], 0
	LOAD_FS_BASE PERCPU_KFS_BASE
trap_dispatch:                        /* rsp = struct dune_tf, r12d = vector */
	mov rdi, rsp
	mov esi, r12d
	mov rbx, rsp
	and rsp, -16
	cld
	call dune_trap
	mov rsp, rbx
	.globl __dune_return_from_trap
__dune_return_from_trap:              /* rsp = struct dune_tf */
	test qword ptr [rsp + TF_CS], 3
	jnz to_ring3
	or qword ptr [rsp + TF_RFLAGS], RFLAGS_IOPL
	POP_GPRS
	add rsp, 8                         /* error code */
	iretq
to_ring3:
	mov rax, [rsp + TF_RIP]
	shl rax, 16
	sar rax, 16
	cmp rax, [rsp + TF_RIP]
	jne bad_ring3_rip
	mov qword ptr [rsp + TF_CS], USER_CS
	mov qword ptr [rsp + TF_SS], USER_SS
	and qword ptr [rsp + TF_RFLAGS], RFLAGS_RING3
	or qword ptr [rsp + TF_RFLAGS], 2
	LOAD_FS_BASE PERCPU_UFS_BASE
	mov qword ptr gs:[PERCPU_IN_USER], 1
	mov rax, gs:[PERCPU_USER_CR3]      /* ring 3's own page table, if it has one */
	test rax, rax
	jz 4f
	mov cr3, rax
4:	POP_GPRS
	add rsp, 8                         /* error code */
	swapgs                             /* GS base: ring 3's own */
	iretq                              /* cannot fault: selectors and RIP checked */
/* As if ring 3 had jumped there: #GP(0) from ring 3. The frame moves to
 * where trap_common puts a ring-3 trap's (the frame may sit in a caller's
 * stack frame above TSS.rsp0, with dune_jump_to_user's saved registers
 * below it), copied like memmove since the two may overlap. */
bad_ring3_rip:
	mov qword ptr [rsp + TF_ERR], 0
	mov rsi, rsp
	mov rdi, gs:[PERCPU_IST1]
	sub rdi, LANDING + TF_SIZE
	mov ecx, TF_SIZE / 8
	cmp rdi, rsi
	jbe 5f
	lea rsi, [rsi + TF_SIZE - 8]       /* destination above: copy from the top */
	lea rdi, [rdi + TF_SIZE - 8]
	std
	rep movsq
	cld
	lea rsp, [rdi + 8]
	jmp 6f
5:	rep movsq                          /* DF is clear in ring 0 here (cld before every call) */
	lea rsp, [rdi - TF_SIZE]
6:	mov r12d, 13
	jmp trap_dispatch

/* void dune_pop_trap_frame(struct dune_tf *tf): resumes tf (ring 0 or 3) */
	.globl dune_pop_trap_frame
dune_pop_trap_frame:
	mov rsp, rdi
	jmp __dune_return_from_trap

/*
 * int dune_jump_to_user(struct dune_tf *tf): runs tf in ring 3 (CS 0x33,
 * SS 0x2b). The ring-0 context is saved on this stack, and TSS.rsp0 points
 * at it: ring 3's system calls run their handler just below it, and
 * dune_ret_from_user(ret) comes back here, making this call return ret.
 * Calls nest: a system-call handler may run other ring-3 code this way (a
 * callgate); the outer call's TSS.rsp0 is saved here and restored at the
 * inner call's return.
 */
	.globl dune_jump_to_user
dune_jump_to_user:
	push qword ptr gs:[PERCPU_RSP0]
	SAVE_CALLEE_SAVED
	mov gs:[PERCPU_RSP0], rsp
	mov qword ptr [rdi + TF_CS], USER_CS      /* the return path sets SS */
	mov rsp, rdi
	jmp __dune_return_from_trap

/* void dune_ret_from_user(int ret): back to dune_jump_to_user's caller */
	.globl dune_ret_from_user
dune_ret_from_user:
	movsxd rax, edi
	mov rsp, gs:[PERCPU_RSP0]
	RESTORE_CALLEE_SAVED
	pop qword ptr gs:[PERCPU_RSP0]
	ret

/*
 * Debugger support (dune_debug.c), in Linux mode.
 *
 * void __dune_debug_iret(struct dune_config *conf, uint64_t rip): continue
 * at rip with the registers the Dune session ended with (IRETQ from ring 3
 * to ring 3 also restores RSP and RFLAGS), so that a debugger sees them.
 * struct dune_config offsets as linux-shim/dune.h's DUNE_CFG_*.
 */
	.globl __dune_debug_iret
__dune_debug_iret:
	push 0x2b                          /* ss */
	push qword ptr [rdi + 0x38]        /* rsp */
	push qword ptr [rdi + 0x90]        /* rflags */
	push 0x33                          /* cs */
	push rsi                           /* rip */
	mov rax, [rdi + 0x08]
	mov rbx, [rdi + 0x10]
	mov rcx, [rdi + 0x18]
	mov rdx, [rdi + 0x20]
	mov rsi, [rdi + 0x28]
	mov rbp, [rdi + 0x40]
	mov r8, [rdi + 0x48]
	mov r9, [rdi + 0x50]
	mov r10, [rdi + 0x58]
	mov r11, [rdi + 0x60]
	mov r12, [rdi + 0x68]
	mov r13, [rdi + 0x70]
	mov r14, [rdi + 0x78]
	mov r15, [rdi + 0x80]
	mov rdi, [rdi + 0x30]
	iretq

/* DUNE_TRAP notify_func: RDI = registers, RSI = priv, RSP = the debugged
 * code's stack less 128. Aligns the stack and calls the C part. */
	.globl __dune_debug_notify
__dune_debug_notify:
	and rsp, -16
	call dune_debug_notify
	ud2

/* void __dune_call_on_stack(void *top, void (*fn)(void *), void *arg) */
	.globl __dune_call_on_stack
__dune_call_on_stack:
	mov rsp, rdi
	mov rdi, rdx
	call rsi
	ud2

	.section .note.GNU-stack, "", @progbits
