/* Host GDT/TSS/IDT of one CPU and root-mode exception handling. */
#ifndef HV_HOST_CPU_H
#define HV_HOST_CPU_H

#include "core/hv.h"

/* Frame built by the exception stubs in entry.asm (then the CPU's frame). */
struct host_exception_frame {
	u64 gpr[16]; /* rax, rcx, rdx, rbx, (unused), rbp, rsi, rdi, r8..r15 */
	u64 vector, error_code;
	u64 rip, cs, rflags, rsp, ss;
};

/* Fills cpu->gdt, tss and idt; stack_top and ist_stack_top[] must be set. */
void host_cpu_init_tables(struct hv_cpu *cpu);

void host_exception(struct host_exception_frame *f);

#endif
