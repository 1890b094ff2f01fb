/* Real-mode trampoline hvprobe's SIPI test starts an offline CPU at
 * (smptest.c). It runs at a page below 1 MiB, copied there with its data
 * area patched: it reports that it ran and the CPUID signature it sees,
 * switches to flat 32-bit protected mode and reads the hypervisor's memory,
 * which must fault rather than return data: #PF from the hypervisor's
 * handler of the refused access where it knows the linear address (VMX's
 * exit qualification gives it), #GP where it does not (SVM's nested page
 * fault outside 64-bit code). State codes: 1 running, 2 reading, 3 the read
 * faulted with #PF, 4 the read returned data, 5 another exception, 6 the
 * read faulted with #GP. */
#define ST_STATE  0xe00
#define ST_SIG_EBX 0xe04
#define ST_SIG_ECX 0xe08
#define ST_LEAK   0xe0c
#define ST_ERR    0xe10
#define ST_HVADDR 0xe14
#define ST_BASE   0xe18
#define ST_VECTOR 0xe1c
#define FAR_PTR   0xe20
#define GDT_DESC  0xe30
#define IDT_DESC  0xe38

	.section .rodata, "a"
	.globl hvprobe_sipi_start, hvprobe_sipi_end, hvprobe_sipi_pm32, hvprobe_sipi_pf, hvprobe_sipi_gp, hvprobe_sipi_other
	.code16
	.balign 16
hvprobe_sipi_start:
	cli
	movw %cs, %ax
	movw %ax, %ds
	movl $1, ST_STATE
	movl $0x40000000, %eax
	xorl %ecx, %ecx
	cpuid
	movl %ebx, ST_SIG_EBX
	movl %ecx, ST_SIG_ECX
	movl ST_BASE, %ebx
	lgdtl GDT_DESC
	lidtl IDT_DESC
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl *FAR_PTR
	.code32
hvprobe_sipi_pm32:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	leal 0xff0(%ebx), %esp
	movl $2, ST_STATE(%ebx)
	movl ST_HVADDR(%ebx), %esi
	movl (%esi), %eax
	movl %eax, ST_LEAK(%ebx)
	movl $4, ST_STATE(%ebx)
1:	hlt
	jmp 1b
hvprobe_sipi_pf:
	movl $14, %ecx
	movl $3, %edx
	jmp 5f
hvprobe_sipi_gp:
	movl $13, %ecx
	movl $6, %edx
5:	popl %eax
	movl %eax, ST_ERR(%ebx)
	movl %ecx, ST_VECTOR(%ebx)
	movl %edx, ST_STATE(%ebx)
2:	hlt
	jmp 2b
hvprobe_sipi_other:
	movl $5, ST_STATE(%ebx)
3:	hlt
	jmp 3b
hvprobe_sipi_end:
	.section .note.GNU-stack, "", @progbits
