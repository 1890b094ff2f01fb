; long dunehv_launch(struct hv_boot_info *bi, u64 entry, struct hv_boot_cpu *cpu)
; [SysV ABI; called on the boot CPU and, through MP services, on each AP]
;
; Records the current CPU state as this CPU's guest state (RIP = .resume,
; RSP, RFLAGS, CR3) in *cpu, switches to the hypervisor's page tables and the
; CPU's start-up stack and calls hv_entry(bi, cpu->index). On success
; hv_entry never returns: VMLAUNCH makes this CPU continue at .resume in VMX
; non-root operation, which returns 0 to the C caller, now a guest. On
; failure hv_entry returns a negative code and we go back to the firmware's
; CR3 and stack.
bits 64
default rel

; offsets (checked by static asserts in boot/main.c)
%define BI_HOST_CR3      48
%define CPU_GUEST_RIP     0
%define CPU_GUEST_RSP     8
%define CPU_GUEST_RFLAGS 16
%define CPU_GUEST_CR3    24
%define CPU_STACK_TOP    32
%define CPU_INDEX        40

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
	mov r13, rdx
	mov r14, rsi
	mov rax, [rsp]
	mov [r13 + CPU_GUEST_RFLAGS], rax
	mov rax, cr3
	mov [r13 + CPU_GUEST_CR3], rax
	lea rax, [.resume]
	mov [r13 + CPU_GUEST_RIP], rax
	mov [r13 + CPU_GUEST_RSP], rsp
	mov rax, [r12 + BI_HOST_CR3]
	mov cr3, rax                    ; identity map keeps this code reachable
	mov rsp, [r13 + CPU_STACK_TOP]
	mov rdi, r12
	mov esi, [r13 + CPU_INDEX]
	call r14                        ; hv_entry(bi, index): returns only on failure
	mov rcx, [r13 + CPU_GUEST_CR3]
	mov cr3, rcx
	mov rsp, [r13 + CPU_GUEST_RSP]
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
