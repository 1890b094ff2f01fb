/* Per-CPU host environment: GDT, TSS, IDT and the handler for exceptions
 * taken in VMX root operation (SDM Vol. 3A 6.14 64-bit IDT, 8.7 64-bit TSS). */
#include "arch/x86/host_cpu.h"

#include <string.h>

#include "arch/x86/arch.h"
#include "arch/x86/machine_check.h"
#include "core/smp.h"
#include "backend.h"
#include "arch/x86/vmx/vmx_defs.h"

/* Segment descriptors (SDM 3.4.5): 64-bit code DPL0, data DPL0. */
#define GDT_CODE64 0x00af9b000000ffffull
#define GDT_DATA 0x00cf93000000ffffull

static void set_tss_descriptor(u64 *gdt, unsigned index, u64 base, u32 limit)
{
	gdt[index] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) /* present, available 64-bit TSS */ |
		     ((u64)(limit >> 16 & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt[index + 1] = base >> 32;
}

static void set_gate(struct idt_gate *g, u64 handler, u8 ist)
{
	g->offset_low = (u16)handler;
	g->selector = HOST_CS_SEL;
	g->ist = ist;
	g->type_attr = 0x8e; /* present, DPL0, 64-bit interrupt gate */
	g->offset_mid = (u16)(handler >> 16);
	g->offset_high = (u32)(handler >> 32);
	g->reserved = 0;
}

void host_cpu_init_tables(struct hv_cpu *cpu)
{
	memset(cpu->gdt, 0, sizeof(cpu->gdt));
	cpu->gdt[HOST_CS_SEL / 8] = GDT_CODE64;
	cpu->gdt[HOST_DS_SEL / 8] = GDT_DATA;
	memset(&cpu->tss, 0, sizeof(cpu->tss));
	for (unsigned i = 0; i < HOST_IST_STACKS; i++)
		cpu->tss.ist[i] = cpu->ist_stack_top[i]; /* TSS IST1 is ist[0] */
	cpu->tss.rsp[0] = cpu->stack_top;
	cpu->tss.iomap_base = sizeof(cpu->tss);
	set_tss_descriptor(cpu->gdt, HOST_TR_SEL / 8, (u64)(uintptr_t)&cpu->tss, sizeof(cpu->tss) - 1);
	for (unsigned v = 0; v < 256; v++) {
		u8 ist = v == VEC_NMI ? HOST_IST_NMI : v == VEC_DF ? HOST_IST_DF : v == VEC_MC ? HOST_IST_MC : 0;
		set_gate(&cpu->idt[v], host_exception_stubs[v], ist);
	}
}

/* MSR accesses that may fault, recovered in place (a tiny exception table). */
extern const char msr_safe_read_insn[], msr_safe_read_fault[], msr_safe_write_insn[], msr_safe_write_fault[];

static bool fixup_exception(struct host_exception_frame *f)
{
	if (f->vector != VEC_GP)
		return false;
	if (f->rip == (u64)(uintptr_t)msr_safe_read_insn) {
		f->rip = (u64)(uintptr_t)msr_safe_read_fault;
		return true;
	}
	if (f->rip == (u64)(uintptr_t)msr_safe_write_insn) {
		f->rip = (u64)(uintptr_t)msr_safe_write_fault;
		return true;
	}
	return false;
}

/* An NMI or a held #MC came in root mode, maybe after the exit handler's
 * last look at the mailbox and Linux's events: the entry stub looks again
 * (entry.asm, "The entry window"), also when this interrupted the stub
 * itself between that look and the VM-entry instruction. */
static void look_again_before_entry(struct hv_cpu *cpu, struct host_exception_frame *f)
{
	__atomic_store_n(&cpu->serve_before_entry, 1, __ATOMIC_RELAXED); /* read on this CPU only */
	arch_entry_window_rewind(&f->rip);
}

/* Called by the stubs in entry.asm for every vector taken in root mode. */
void host_exception(struct host_exception_frame *f)
{
	struct hv_cpu *cpu = this_cpu();
	if (f->vector == VEC_NMI) {
		smp_stop_if_requested(cpu);
		/* An IPI's request is served before the next VM entry (or by the
		 * wait loop this CPU is in); Linux's NMI is delivered then. */
		if (!smp_nmi_is_ipi(cpu))
			cpu->linux_vcpu.nmi_pending = true;
		look_again_before_entry(cpu, f);
		return;
	}
	if (f->vector == VEC_MC) {
		/* SDM Vol. 3B 16.3.1.2: with RIPV the interrupted code can go on;
		 * the banks stay as they are, for Linux's handler to read and
		 * clear once its vCPU takes the #MC. Without RIPV nothing can. */
		u64 status = rdmsr(MSR_IA32_MCG_STATUS);
		if (machine_check_route(MC_IN_ROOT, status) == MC_HOLD_FOR_LINUX) {
			cpu->linux_vcpu.mce_pending = true;
			look_again_before_entry(cpu, f);
			return;
		}
		hv_panic(cpu, "machine check in the hypervisor at rip %#llx, IA32_MCG_STATUS %#llx: cannot continue",
			 (unsigned long long)f->rip, (unsigned long long)status);
	}
	if (f->vector == VEC_SX)
		return; /* AMD's INIT redirected by VM_CR.R_INIT (APM 15.29, error code 1): the
			 * guest it interrupted took it at its INIT exit (guest/init_sipi.c) */
	if (fixup_exception(f))
		return;
	u64 cr2;
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	hv_panic(cpu, "host exception %llu (error %#llx) at rip %#llx rsp %#llx cr2 %#llx rax %#llx rdi %#llx",
		 (unsigned long long)f->vector, (unsigned long long)f->error_code, (unsigned long long)f->rip,
		 (unsigned long long)f->rsp, (unsigned long long)cr2, (unsigned long long)f->gpr[0],
		 (unsigned long long)f->gpr[7]);
}
