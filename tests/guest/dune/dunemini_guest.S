/* Code that runs inside a Dune context (64-bit ring 0, our page tables),
 * entered through /dev/dune by dunemini.c. System calls are VMCALLs with
 * the Linux x86-64 convention. Results go to the dunemini_result array. */
	.intel_syntax noprefix
	.text
	.globl dunemini_guest
dunemini_guest:
	/* 0: CPUID inside Dune (answered by the hypervisor) */
	mov eax, 0x40000000
	cpuid
	mov [rip + dunemini_result + 0], rbx
	/* 1: write(1, msg, len) */
	mov eax, 1
	mov edi, 1
	lea rsi, [rip + msg]
	mov edx, 31 /* strlen(msg) */
	vmcall
	mov [rip + dunemini_result + 8], rax
	/* 2: getpid() */
	mov eax, 39
	vmcall
	mov [rip + dunemini_result + 16], rax
	/* 3: touch every page of the buffer (EPT faults filled from the
	 * process's pages), then read back */
	mov rdi, [rip + dunemini_buf]
	mov rcx, [rip + dunemini_buf_pages]
	xor rax, rax
1:	mov [rdi], rax
	add rax, 1
	add rdi, 4096
	dec rcx
	jnz 1b
	mov rdi, [rip + dunemini_buf]
	mov rcx, [rip + dunemini_buf_pages]
	xor rdx, rdx
	xor rax, rax
2:	cmp [rdi], rax
	jne 3f
	add rdx, 1
3:	add rax, 1
	add rdi, 4096
	dec rcx
	jnz 2b
	mov [rip + dunemini_result + 24], rdx
	/* 4: fork(); the child runs on in Linux mode and exits with 69 */
	mov eax, 57
	vmcall
	test rax, rax
	jz child
	mov [rip + dunemini_result + 32], rax
	/* 5: wait4(pid, &status, 0, 0) */
	mov rdi, rax
	lea rsi, [rip + dunemini_result + 40]
	xor edx, edx
	xor r10, r10
	mov eax, 61
	vmcall
	/* 6: exit_group(7): ends the session with DUNE_RET_EXIT, status 7 */
	mov eax, 231
	mov edi, 7
	vmcall
	ud2
child:
	/* Linux mode (CPL 3): a real system call */
	mov eax, 231
	mov edi, 69
	syscall
	ud2

	.section .rodata
msg:	.ascii "dunemini: hello from Dune mode\n"
	.section .note.GNU-stack, "", @progbits

/* Small guests for dunemini's other modes. */
	.intel_syntax noprefix
	.text
	.globl dunemini_exit0, dunemini_spin, dunemini_trap_notify, dunemini_thread, dunemini_signal, dunemini_read_secret
dunemini_exit0:                 /* exit_group(0) at once */
	mov eax, 231
	xor edi, edi
	vmcall
	ud2
dunemini_spin:                  /* never stops by itself */
	jmp dunemini_spin
dunemini_trap_notify:           /* DUNE_TRAP notify_func (Linux mode): align, call the C part */
	and rsp, -16
	call dunemini_trap_notify_c
	ud2
dunemini_thread:                /* check in, wait for the release, then exit this thread only */
	lock inc qword ptr [rip + dunemini_entered]
1:	pause
	cmp qword ptr [rip + dunemini_release], 0
	je 1b
	mov eax, 60
	xor edi, edi
	vmcall
	ud2
	.globl dunemini_touch
dunemini_touch:                 /* see dunemini.h */
	mov r9, rdi
	mov rcx, rsi
1:	mov byte ptr [r9], 1
	add r9, rdx
	dec rcx
	jnz 1b
	test r8, r8
	jz 2f
	mov rsi, r8                     /* munmap(rdi, r8) */
	mov eax, 11
	vmcall
2:	lock inc qword ptr [rip + dunemini_entered]
3:	pause
	cmp qword ptr [rip + dunemini_release], 0
	je 3b
	mov eax, 60
	xor edi, edi
	vmcall
	ud2
dunemini_signal:                /* kill(getpid(), SIGUSR1), then report the handler's flag */
	mov eax, 39
	vmcall
	mov rdi, rax
	mov esi, 10
	mov eax, 62
	vmcall
	mov rax, [rip + dunemini_sig_flag]
	mov [rip + dunemini_result + 48], rax
	mov eax, 231
	xor edi, edi
	vmcall
	ud2
dunemini_read_secret:           /* read [dunemini_probe_addr]: must be this process's own memory */
	mov rax, [rip + dunemini_probe_addr]
	mov rax, [rax]
	mov [rip + dunemini_result + 56], rax
	mov eax, 231
	xor edi, edi
	vmcall
	ud2
	.section .note.GNU-stack, "", @progbits
