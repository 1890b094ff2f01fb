/* SPDX-License-Identifier: MIT */
/* libdune's vsyscall page, mapped at 0xffffffffff600000 (the legacy
 * vsyscall ABI): gettimeofday at +0, time at +0x400, getcpu at +0x800.
 * SYSCALL works in both rings: from ring 0 it reaches Linux through the
 * LSTAR trampoline, from ring 3 the registered syscall handler. */
	.intel_syntax noprefix
	.section .text.dune_vsyscall, "ax"
	.balign 4096
	.globl __dune_vsyscall_page
__dune_vsyscall_page:
	mov eax, 96                        /* gettimeofday */
	syscall
	ret
	.balign 1024, 0xcc
	mov eax, 201                       /* time */
	syscall
	ret
	.balign 1024, 0xcc
	mov eax, 309                       /* getcpu */
	syscall
	ret
	.balign 4096, 0xcc
	.section .note.GNU-stack, "", @progbits
