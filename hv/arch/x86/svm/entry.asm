; The SVM backend's entry loop (64-bit, linked at HV_VIRT_BASE; AMD64 APM
; Vol. 2 15.5 "VMRUN Instruction", 15.17 "Global Interrupt Flag"). VMRUN
; switches only part of the state: the host's FS, GS, TR, LDTR and the
; SYSCALL/SYSENTER MSRs are the guest's after it until VMLOAD of the host
; state (saved once per CPU, setup.c), so the stub keeps the vCPU and the
; two addresses on its stack across VMRUN, where #VMEXIT restores RSP.
; It saves the guest's general registers into the current vCPU's struct
; guest_regs (RAX through the VMCB), calls vmexit_handler with GIF set, and
; enters whichever vCPU is current then.
;
; The entry window: CLGI comes before the last look at
; hv_cpu.serve_before_entry. An NMI from then on is held (GIF = 0) and, as
; the VMCB intercepts NMIs, makes the guest exit at once after VMRUN; the
; host takes it at the STGI after that exit. So no NMI waits for a later
; exit, without the rewind VMX needs (arch_entry_window_rewind is a no-op).
bits 64
default rel

section .text

extern vmexit_handler
extern vmentry_serve
extern spec_barrier_flags          ; arch/x86/spec_barriers.h: DUNEHV_SPEC_*
extern spec_verw_selector

%define SPEC_RSB_FILL  0x1         ; DUNEHV_SPEC_* (include/dunehv/abi.h)
%define SPEC_VERW      0x4

; Offsets checked by static asserts in arch/x86/svm/vcpu.c
%define CPU_CURRENT_VCPU 8         ; struct hv_cpu.current
%define CPU_SERVE_BEFORE_ENTRY 16  ; struct hv_cpu.serve_before_entry
%define CPU_HOST_STATE_PA 24       ; struct hv_cpu.arch.host_state_pa
%define VCPU_VMCB_PA 128           ; struct vcpu.arch.vmcb_pa (after 16 GPRs)
%define VMCB_RAX 0x5f8             ; struct vmcb.save.rax

%include "rsb_fill.inc"            ; FILL_RETURN_BUFFER
%include "guest_gprs.inc"          ; STORE_/LOAD_GUEST_GPRS_BUT_RAX

; void svm_run_loop(u64 stack_top): never returns.
global svm_run_loop
svm_run_loop:
	mov rsp, rdi               ; 16-byte aligned, as after a call's return address is popped
global svm_entry
svm_entry:
	clgi                       ; APM 15.17: NMIs, interrupts and INIT wait from here
	cmp dword [gs:CPU_SERVE_BEFORE_ENTRY], 0
	jne .serve
	test dword [rel spec_barrier_flags], SPEC_VERW
	jz .no_verw
	verw [rel spec_verw_selector]
.no_verw:
	mov rax, [gs:CPU_CURRENT_VCPU]
	push rax                   ; [rsp+16] after the next two: the vCPU
	push qword [gs:CPU_HOST_STATE_PA] ; [rsp+8]
	mov rbx, [rax + VCPU_VMCB_PA]
	push rbx                   ; [rsp]: the VMCB (identity-mapped: pa == va)
	mov rcx, [rax]
	mov [rbx + VMCB_RAX], rcx  ; the guest's RAX goes in through the VMCB
	LOAD_GUEST_GPRS_BUT_RAX
	mov rax, [rsp]
	vmload                     ; RAX: the guest's FS, GS, TR, LDTR, SYSCALL/SYSENTER MSRs
	sti                        ; GIF = 0 still holds interrupts; VMRUN saves IF = 1 for the
	vmrun                      ; host: 15.21.1, with V_INTR_MASKING (Dune contexts) the host's
	cli                        ; IF masks physical interrupts, so they end the run (INTR exit)
	vmsave                     ; RAX: ... and back into its VMCB (GIF = 0 after #VMEXIT)
	mov rax, [rsp + 16]        ; the vCPU
	STORE_GUEST_GPRS_BUT_RAX
	mov rbx, [rsp]
	mov rcx, [rbx + VMCB_RAX]
	mov [rax], rcx
	mov rax, [rsp + 8]
	vmload                     ; RAX: the host's GS base (this CPU's block), TR, ...
	add rsp, 24
	FILL_RETURN_BUFFER
	stgi                       ; a held NMI is taken now, by the host's handler
	call vmexit_handler
	jmp svm_entry
.serve:
	stgi
	call vmentry_serve
	jmp svm_entry

section .note.GNU-stack noalloc noexec nowrite progbits
