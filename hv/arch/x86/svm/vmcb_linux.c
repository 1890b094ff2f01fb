/* Linux's VMCB: intercepts (AMD64 APM Vol. 2 15.9-15.14), nested paging
 * (15.25), and the guest state of the CPU as the loader left it (15.5.1,
 * Appendix B). */
#include "arch/x86/svm/vmcb_linux.h"

#include "arch/x86/arch.h"
#include "arch/x86/segment.h"
#include "arch/x86/svm/svm_ops.h"

u16 svm_segment_attrib(u32 access_rights)
{
	if (access_rights & SEG_AR_UNUSABLE)
		return 0;
	return (u16)((access_rights & 0xff) | ((access_rights >> 4) & 0xf00));
}

static void set_segment(struct vmcb_segment *s, const struct segment_state *st)
{
	s->selector = st->selector;
	s->attrib = svm_segment_attrib(st->access_rights);
	s->limit = st->limit;
	s->base = st->base;
}

/* The firmware's segments, decoded from its GDT. */
static void write_guest_segments(struct vmcb_save *g)
{
	struct descriptor_table_reg gdtr, idtr;
	sgdt(&gdtr);
	sidt(&idtr);
	const void *gdt = phys_to_virt(gdtr.base); /* firmware GDT, identity mapped */
	struct vmcb_segment *segs[] = {&g->es, &g->cs, &g->ss, &g->ds, &g->fs, &g->gs};
	u16 selectors[] = {read_es(), read_cs(), read_ss(), read_ds(), read_fs(), read_gs()};
	for (unsigned i = 0; i < 6; i++) {
		struct segment_state s;
		segment_from_gdt(gdt, gdtr.limit, selectors[i], false, &s);
		set_segment(segs[i], &s);
	}
	g->fs.base = rdmsr(MSR_IA32_FS_BASE);
	g->gs.base = rdmsr(MSR_IA32_GS_BASE);
	/* OVMF runs without a TR; VMRUN does not check it, and VMLOAD takes
	 * a busy 64-bit TSS at 0 as real hardware would hold after LTR. */
	struct segment_state tr;
	segment_from_gdt(gdt, gdtr.limit, read_tr(), true, &tr);
	if (tr.access_rights & SEG_AR_UNUSABLE)
		tr = (struct segment_state){.selector = 0, .base = 0, .limit = 0x67, .access_rights = SEG_AR_TSS64_BUSY};
	set_segment(&g->tr, &tr);
	struct segment_state ldt;
	segment_from_gdt(gdt, gdtr.limit, read_ldtr(), true, &ldt);
	set_segment(&g->ldtr, &ldt);
	g->gdtr = (struct vmcb_segment){.base = gdtr.base, .limit = gdtr.limit};
	g->idtr = (struct vmcb_segment){.base = idtr.base, .limit = idtr.limit};
}

void vmcb_setup_linux(struct hv *hv, struct hv_cpu *cpu, struct vmcb *vmcb, const struct hv_boot_cpu *bc)
{
	struct vmcb_control *c = &vmcb->control;
	struct vmcb_save *g = &vmcb->save;

	/* Intercepts (15.9-15.14): none Linux meets at steady state (but its
	 * xAPIC writes, through the NPT: guest/apic_icr.c). NMIs exit, so that
	 * other CPUs' requests reach a CPU running Linux; an INIT that does not
	 * come from Linux's ICR writes exits and is taken as INIT
	 * (guest/init_sipi.c) instead of resetting the CPU out of the
	 * hypervisor's control; the
	 * SVM instructions (VMRUN's intercept is required, 15.5.1) and SKINIT
	 * give #UD, as on a CPU without SVM; VMMCALL is the hypercall. */
	c->intercept_misc1 = INTERCEPT1_NMI | INTERCEPT1_INIT | INTERCEPT1_CPUID | INTERCEPT1_INVD | INTERCEPT1_IOIO_PROT |
			     INTERCEPT1_MSR_PROT | INTERCEPT1_SHUTDOWN;
	c->intercept_misc2 = INTERCEPT2_VMRUN | INTERCEPT2_VMMCALL | INTERCEPT2_VMLOAD | INTERCEPT2_VMSAVE |
			     INTERCEPT2_STGI | INTERCEPT2_CLGI | INTERCEPT2_SKINIT | INTERCEPT2_XSETBV;
	c->iopm_base_pa = hv->arch.iopm_pa;
	c->msrpm_base_pa = hv->arch.msrpm_pa;
	c->guest_asid = cpu->linux_vcpu.tlb_tag;
	c->tlb_control = TLB_CONTROL_FLUSH_ALL; /* nothing cached from before may be used */
	/* 15.21.1: without V_INTR_MASKING the guest's RFLAGS.IF masks the
	 * physical interrupts, which go straight to Linux's IDT. */
	c->v_intr = 0;
	c->np_control = NP_ENABLE;
	c->n_cr3 = hv->arch.linux_ncr3;

	/* Guest state: exactly where the loader's trampoline stood. EFER.SVME
	 * must be set in the guest's EFER (15.5.1); Linux reads it without. */
	write_guest_segments(g);
	g->cpl = 0;
	g->efer = rdmsr(MSR_IA32_EFER) | EFER_SVME;
	g->cr0 = read_cr0();
	g->cr3 = bc->guest_cr3;
	g->cr4 = read_cr4();
	g->dr6 = 0xffff0ff0;
	g->dr7 = read_dr7();
	g->rflags = bc->guest_rflags;
	g->rip = bc->guest_rip;
	g->rsp = bc->guest_rsp;
	g->g_pat = rdmsr(MSR_IA32_PAT);
	u64 dbgctl = 0;
	if (!msr_safe_read(MSR_IA32_DEBUGCTL, &dbgctl)) /* not every model has it (Bochs' ryzen has not) */
		g->dbgctl = dbgctl;
	g->sysenter_cs = rdmsr(MSR_IA32_SYSENTER_CS);
	g->sysenter_esp = rdmsr(MSR_IA32_SYSENTER_ESP);
	g->sysenter_eip = rdmsr(MSR_IA32_SYSENTER_EIP);
	g->star = rdmsr(MSR_STAR);
	g->lstar = rdmsr(MSR_LSTAR);
	g->cstar = rdmsr(MSR_CSTAR);
	g->sfmask = rdmsr(MSR_SFMASK);
	g->kernel_gs_base = rdmsr(MSR_IA32_KERNEL_GS_BASE);
}
