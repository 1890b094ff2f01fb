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
	.globl __dune_enter
__dune_enter:
	push rbx
	push rbp
	push r12
	push r13
	push r14
	push r15
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
	jmp 2f

/* The context's first instruction (Dune mode, ring 0): return 0. */
__dune_ret:
	xor eax, eax
2:	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	ret

/*
 * SYSCALL in ring 0 jumps to the host's LSTAR with RCX = return address and
 * R11 = RFLAGS: libdune maps this code there. VMCALL hands the system call
 * to Linux (dune-abi 1.9), then flags are restored and we return.
 */
	.globl __dune_syscall, __dune_syscall_end
__dune_syscall:
	vmcall
	push r11
	popfq
	jmp rcx
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

/* Saves the GPRs so the stack holds a struct dune_tf, calls
 * dune_trap(tf, vector), and returns from the trap with IRETQ. */
trap_common:
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
	push rcx
	push rdx
	push rsi
	push rdi
	mov rdi, rsp
	mov esi, eax
	mov rbx, rsp
	and rsp, -16
	cld
	call dune_trap
	mov rsp, rbx
	.globl dune_pop_trap_frame_from_stack
dune_pop_trap_frame_from_stack:
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
	add rsp, 8                         /* error code */
	iretq

/* void dune_pop_trap_frame(struct dune_tf *tf): resumes tf */
	.globl dune_pop_trap_frame
dune_pop_trap_frame:
	mov rsp, rdi
	jmp dune_pop_trap_frame_from_stack

	.section .note.GNU-stack, "", @progbits
