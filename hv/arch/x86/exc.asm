; x86 entry points of the hypervisor core in root mode (64-bit, linked at
; HV_VIRT_BASE):
; - host exception stubs: one per vector, for exceptions/NMIs in root mode.
; - msr_safe_read/msr_safe_write: RDMSR/WRMSR whose #GP is recovered.
bits 64
default rel

section .text

extern host_exception

; struct host_exception_frame order (host_cpu.h): rax rcx rdx rbx rsp rbp rsi
; rdi r8..r15, then vector, error code and the CPU's frame
%macro PUSH_GPRS 0
	push r15
	push r14
	push r13
	push r12
	push r11
	push r10
	push r9
	push r8
	push rdi
	push rsi
	push rbp
	push 0          ; rsp slot
	push rbx
	push rdx
	push rcx
	push rax
%endmacro

%macro POP_GPRS 0
	pop rax
	pop rcx
	pop rdx
	pop rbx
	add rsp, 8
	pop rbp
	pop rsi
	pop rdi
	pop r8
	pop r9
	pop r10
	pop r11
	pop r12
	pop r13
	pop r14
	pop r15
%endmacro

; Exception stubs: push a dummy error code where the CPU pushes none
; (SDM Vol. 3A 6.13), then the vector; the common path saves GPRs.
%macro EXC_STUB 1
exc_stub_%1:
%if (%1 = 8) || (%1 >= 10 && %1 <= 14) || (%1 = 17) || (%1 = 21) || (%1 = 29) || (%1 = 30)
%else
	push 0
%endif
	push %1
	jmp exception_common
	align 16
%endmacro

align 16
%assign v 0
%rep 256
	EXC_STUB v
%assign v v+1
%endrep

exception_common:
	PUSH_GPRS
	mov rdi, rsp
	mov rbx, rsp
	and rsp, -16
	cld
	call host_exception
	mov rsp, rbx
	POP_GPRS
	add rsp, 16                ; vector and error code
	iretq

; int msr_safe_read(u32 msr, u64 *value): 0, or -1 if RDMSR raised #GP
global msr_safe_read, msr_safe_read_insn, msr_safe_read_fault
msr_safe_read:
	mov ecx, edi
msr_safe_read_insn:
	rdmsr
	shl rdx, 32
	or rax, rdx
	mov [rsi], rax
	xor eax, eax
	ret
msr_safe_read_fault:
	mov eax, -1
	ret

; int msr_safe_write(u32 msr, u64 value): 0, or -1 if WRMSR raised #GP
global msr_safe_write, msr_safe_write_insn, msr_safe_write_fault
msr_safe_write:
	mov ecx, edi
	mov rax, rsi
	mov rdx, rsi
	shr rdx, 32
msr_safe_write_insn:
	wrmsr
	xor eax, eax
	ret
msr_safe_write_fault:
	mov eax, -1
	ret

section .rodata
global host_exception_stubs
align 8
host_exception_stubs:
%assign v 0
%rep 256
	dq exc_stub_ %+ v
%assign v v+1
%endrep

section .note.GNU-stack noalloc noexec nowrite progbits
