; long dunehv_launch(struct hv_boot_info *bi, u64 entry)   [SysV ABI]
;
; Records the current CPU state as the guest's (RIP = .resume, RSP, RFLAGS,
; CR3), switches to the hypervisor's page tables and boot stack and calls
; hv_entry(bi). On success hv_entry never returns: VMLAUNCH makes this CPU
; continue at .resume in VMX non-root operation, which returns 0 to the C
; caller, now a guest. On failure hv_entry returns a negative code and we go
; back to the firmware's CR3 and stack.
bits 64
default rel

; offsets in struct hv_boot_info (checked by static asserts in main.c)
%define BI_HOST_CR3     48
%define BI_STACK_TOP    64
%define BI_GUEST_RIP    72
%define BI_GUEST_RSP    80
%define BI_GUEST_RFLAGS 88
%define BI_GUEST_CR3    96

section .text
global dunehv_launch
dunehv_launch:
	push rbx
	push rbp
	push r12
	push r13
	push r14
	push r15
	pushfq
	cli
	mov r12, rdi
	mov rax, [rsp]
	mov [r12 + BI_GUEST_RFLAGS], rax
	mov rax, cr3
	mov [r12 + BI_GUEST_CR3], rax
	lea rax, [.resume]
	mov [r12 + BI_GUEST_RIP], rax
	mov [r12 + BI_GUEST_RSP], rsp
	mov rax, [r12 + BI_HOST_CR3]
	mov cr3, rax                    ; identity map keeps this code reachable
	mov rsp, [r12 + BI_STACK_TOP]
	mov rdi, r12
	call rsi                        ; hv_entry(bi): returns only on failure
	mov rcx, [r12 + BI_GUEST_CR3]
	mov cr3, rcx
	mov rsp, [r12 + BI_GUEST_RSP]
	jmp .restore
.resume:                             ; first instruction of the guest
	xor eax, eax
.restore:
	popfq
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	ret

section .note.GNU-stack noalloc noexec nowrite progbits
