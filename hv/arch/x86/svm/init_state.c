/* The SVM backend's INIT and SIPI for Linux's vCPUs: the INIT state of Intel
 * SDM Vol. 3A 10.1.1 Table 10-1 (AMD64 APM Vol. 2 14.1.3 "Processor
 * Initialization State") written into the VMCB, and the start in real mode
 * at vector << 12 that a SIPI gives (APM 16.5). SVM runs a real-mode guest
 * under nested paging as it is (15.19 "Paged Real Mode" is for guests
 * without it). The CPU waits for the SIPI in the hypervisor
 * (guest/init_sipi.c): the VMCB only needs the state. */
#include "arch/x86/arch.h"
#include "arch/x86/segment.h"
#include "arch/x86/svm/svm_defs.h"
#include "arch/x86/svm/svm_ops.h"
#include "arch/x86/svm/vmcb_linux.h"
#include "backend.h"
#include "core/hv.h"

#define INIT_CR0 0x60000010ull /* CD, NW, ET */
#define REAL_MODE_CODE_AR 0x9b /* present, DPL 0, code, readable, accessed */
#define REAL_MODE_DATA_AR 0x93 /* present, DPL 0, data, writable, accessed */
#define BUSY_TSS32_AR 0x8b
#define POWER_ON_PAT 0x0007040600070406ull

static struct vmcb *vmcb_of(struct vcpu *v) { return phys_to_virt(v->arch.vmcb_pa); }

static void set_real_mode_segment(struct vmcb_segment *s, u16 selector, u64 base, u32 ar)
{
	*s = (struct vmcb_segment){.selector = selector, .attrib = svm_segment_attrib(ar), .limit = 0xffff, .base = base};
}

void arch_vcpu_init_state(struct hv_cpu *cpu, struct vcpu *v)
{
	struct vmcb *vmcb = vmcb_of(v);
	struct vmcb_save *g = &vmcb->save;
	struct vmcb_control *c = &vmcb->control;
	/* Table 10-1: registers zero but EDX (the CPU signature), RFLAGS 2. */
	struct cpuid_regs id;
	cpuid_count(1, 0, &id);
	for (unsigned i = 0; i < 16; i++)
		v->regs.gpr[i] = 0;
	v->regs.gpr[GPR_RDX] = id.eax;
	g->rsp = 0;
	g->rip = 0xfff0;
	g->rflags = 0x2;
	g->cr0 = INIT_CR0;
	g->cr2 = 0;
	g->cr3 = 0;
	g->cr4 = 0;
	if (cpu->hv->arch.facts.cpuid_xsave)
		xsetbv(0, 1); /* XCR0 = x87 only after INIT (SDM Vol. 1 13.3); not in the VMCB */
	g->dr6 = 0xffff0ff0;
	g->dr7 = 0x400;
	g->dbgctl = 0;
	g->efer = EFER_SVME; /* VMRUN requires SVME (15.5.1); Linux reads EFER without it (vcpu.c) */
	g->g_pat = POWER_ON_PAT;
	g->sysenter_cs = g->sysenter_esp = g->sysenter_eip = 0;
	g->cpl = 0;
	set_real_mode_segment(&g->cs, 0xf000, 0xffff0000ull, REAL_MODE_CODE_AR);
	struct vmcb_segment *data[] = {&g->ds, &g->es, &g->fs, &g->gs, &g->ss};
	for (unsigned i = 0; i < 5; i++)
		set_real_mode_segment(data[i], 0, 0, REAL_MODE_DATA_AR);
	g->gdtr = (struct vmcb_segment){.limit = 0xffff};
	g->idtr = (struct vmcb_segment){.limit = 0xffff};
	set_real_mode_segment(&g->ldtr, 0, 0, SEG_AR_LDT);
	set_real_mode_segment(&g->tr, 0, 0, BUSY_TSS32_AR);
	/* Nothing is delivered to a CPU waiting for SIPI; Linux's translations
	 * of its ASID go (CR3 and paging changed without a MOV, 15.16). */
	c->event_inj = 0;
	c->interrupt_shadow = 0;
	svm_forget_nmi_blocking(v);
	c->tlb_control = cpu->hv->arch.ctl.flush_by_asid ? TLB_CONTROL_FLUSH_ASID : TLB_CONTROL_FLUSH_ALL;
}

void arch_vcpu_start_at_sipi(struct vcpu *v, u8 vector)
{
	struct vmcb_save *g = &vmcb_of(v)->save;
	set_real_mode_segment(&g->cs, (u16)vector << 8, (u64)vector << 12, REAL_MODE_CODE_AR);
	g->rip = 0;
}
