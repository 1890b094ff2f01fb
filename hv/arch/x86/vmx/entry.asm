; The VM-exit entry point of the VMX backend (64-bit, linked at HV_VIRT_BASE).
; vmexit_entry is the VMCS host RIP (SDM Vol. 3C 28.5 "Loading host state"):
; it saves the guest's general registers into the current vCPU's struct
; guest_regs (struct vcpu offset 0, reached through hv_cpu.current at GS:),
; calls vmexit_handler, and enters whichever vCPU is current then, with its
; registers: VMLAUNCH if its VMCS is not launched yet, else VMRESUME.
;
; The entry window: vmexit_handler's last look at the mailbox and at Linux's
; held events comes before the VM-entry instruction. An NMI taken in root
; mode (a cross-CPU request, or Linux's own NMI) sets hv_cpu.serve_before_entry
; (host_exception); the flag is tested at vmentry_window_start, and an NMI that
; interrupts anything from there up to the VMLAUNCH instruction returns to
; vmentry_window_start (host_exception rewinds its RIP), so the test sees it.
; Either way vmentry_serve runs before the entry. Otherwise an NMI arriving
; after the last check would wait for the guest's next VM exit, and an idle
; Linux vCPU has none: the sender of a request would spin without bound.
; (KVM closes the same window by entering with interrupts off and checking
; its requests after that; an NMI cannot be masked, hence the rewind.)
bits 64
default rel

section .text

extern vmexit_handler
extern vmentry_serve
extern vm_entry_instruction_failed
extern spec_barrier_flags          ; arch/x86/spec_barriers.h: DUNEHV_SPEC_*
extern spec_verw_selector

%define SPEC_RSB_FILL  0x1         ; DUNEHV_SPEC_* (include/dunehv/abi.h)
%define SPEC_VERW      0x4
%define SPEC_L1D_FLUSH 0x8
%define MSR_IA32_FLUSH_CMD 0x10b

; Offsets checked by static asserts in arch/x86/vmx/vcpu.c
%define CPU_CURRENT_VCPU 8        ; struct hv_cpu.current
%define CPU_SERVE_BEFORE_ENTRY 16 ; struct hv_cpu.serve_before_entry
%define VCPU_LAUNCHED    128      ; struct vcpu.arch.launched (after 16 GPRs)

; struct guest_regs: rax rcx rdx rbx rsp rbp rsi rdi r8..r15 (8 bytes each)
%macro SAVE_GUEST_GPRS 0
	push rax
	mov rax, [gs:CPU_CURRENT_VCPU]
	STORE_GUEST_GPRS_BUT_RAX
	pop qword [rax]            ; the guest's RAX; RSP is in the VMCS
%endmacro

%include "rsb_fill.inc"         ; FILL_RETURN_BUFFER
%include "guest_gprs.inc"          ; STORE_/LOAD_GUEST_GPRS_BUT_RAX

global vmexit_entry
vmexit_entry:
	SAVE_GUEST_GPRS            ; host RSP is 16-byte aligned at the exit
	FILL_RETURN_BUFFER
	call vmexit_handler
global vmentry_window_start
vmentry_window_start:
	cmp dword [gs:CPU_SERVE_BEFORE_ENTRY], 0
	jne entry_serve_again
	; L1TF: the guest finds no hypervisor or other guest data in the L1D
	; (IA32_FLUSH_CMD, as KVM's vmx_l1d_flush); MDS: nor in the CPU's
	; buffers (VERW with a data segment, as KVM's CLEAR_CPU_BUFFERS). Only
	; the guest's own registers are loaded after them. An NMI rewound to
	; vmentry_window_start runs them again.
	test dword [rel spec_barrier_flags], SPEC_L1D_FLUSH
	jz .no_l1d_flush
	mov ecx, MSR_IA32_FLUSH_CMD
	mov eax, 1
	xor edx, edx
	wrmsr
.no_l1d_flush:
	test dword [rel spec_barrier_flags], SPEC_VERW
	jz .no_verw
	verw [rel spec_verw_selector]
.no_verw:
	mov rax, [gs:CPU_CURRENT_VCPU]
	cmp byte [rax + VCPU_LAUNCHED], 0
	LOAD_GUEST_GPRS_BUT_RAX    ; MOV leaves the flags of the CMP
	mov rax, [rax]
	je entry_launch
	vmresume                   ; SDM 31.3: returns only on VMfail
	jmp entry_failed
entry_launch:
global vmentry_window_end
vmentry_window_end:            ; the last instruction an NMI is rewound from
	vmlaunch                   ; SDM 31.3: first entry of this VMCS
entry_failed:
	SAVE_GUEST_GPRS
	call vm_entry_instruction_failed  ; back to Linux, or stops the machine
	jmp vmentry_window_start
entry_serve_again:             ; host RSP as after vmexit_handler: aligned
	call vmentry_serve
	jmp vmentry_window_start

section .note.GNU-stack noalloc noexec nowrite progbits
