/* A Dune context's VMCB (dune-abi 1.8; AMD64 APM Vol. 2 15.9-15.14
 * intercepts, 15.25 nested paging, Appendix B guest state) and what all
 * contexts share: the permission maps that refuse every port and every MSR
 * but the FS/GS bases. The process runs in 64-bit ring 0 with its own NPT
 * and ASID; the same things exit as on VMX (vmx/vmcs_dune.c). */
#include <string.h>

#include "arch/x86/arch.h"
#include "arch/x86/dune_state.h"
#include "arch/x86/svm/msrpm.h"
#include "arch/x86/svm/svm_defs.h"
#include "arch/x86/svm/svm_ops.h"
#include "arch/x86/svm/vmcb_check.h"
#include "arch/x86/svm/vmcb_linux.h"
#include "arch/x86/vectors.h"
#include "backend.h"
#include "core/dune_ctx.h"
#include "core/hv.h"

int arch_dune_setup(struct hv *hv)
{
	/* 15.10.1, 15.11: every port and every MSR exits (all bits set), but
	 * FS_BASE, GS_BASE and KERNEL_GS_BASE: they are the context's own, in
	 * its VMCB (VMLOAD/VMSAVE, 15.5.2), as VMX's MSR bitmap lets them
	 * through. */
	u64 iopm = page_pool_alloc_pages(&hv->pool, SVM_IOPM_PAGES, 1),
	    msrpm = page_pool_alloc_pages(&hv->pool, SVM_MSRPM_PAGES, 1);
	if (!iopm || !msrpm)
		return -HV_ENOMEM;
	memset(phys_to_virt(iopm), 0xff, SVM_IOPM_PAGES * PAGE_SIZE);
	u8 *map = phys_to_virt(msrpm);
	memset(map, 0xff, SVM_MSRPM_PAGES * PAGE_SIZE);
	for (u32 msr = MSR_IA32_FS_BASE; msr <= MSR_IA32_KERNEL_GS_BASE; msr++)
		msrpm_set(map, msr, true, true, false);
	hv->arch.dune_iopm_pa = iopm;
	hv->arch.dune_msrpm_pa = msrpm;
	return 0;
}

/* 15.25.5: 1 GiB nested leaves where the CPU has 1 GiB pages. */
unsigned arch_gpt_max_level(struct hv *hv) { return hv->arch.ctl.npt_1g ? 3 : 2; }

/* 15.16: the context's ASID is its TLB tag; where the CPU has fewer ASIDs
 * than there are contexts, tags share the ASIDs above Linux's, and a CPU
 * flushes one whenever another context used it there last (vcpu.c). */
static u32 dune_asid(const struct hv *hv, u16 tag)
{
	u32 n = hv->arch.ctl.nr_asids;
	return tag < n ? tag : DUNE_CTX_FIRST_TLB_TAG + (u32)(tag - DUNE_CTX_FIRST_TLB_TAG) % (n - DUNE_CTX_FIRST_TLB_TAG);
}

static void set_flat(struct vmcb_segment *s, u32 access_rights)
{
	*s = (struct vmcb_segment){.selector = 0, .attrib = svm_segment_attrib(access_rights), .limit = 0xffffffff, .base = 0};
}

static void setup_dune_vmcb(struct hv *hv, struct dune_ctx *c, struct vmcb *vmcb, const struct dunehv_ctx_create *cr)
{
	struct vmcb_control *k = &vmcb->control;
	struct vmcb_save *g = &vmcb->save;

	/* Intercepts (15.9-15.14), as VMX's Dune controls: interrupts, NMIs
	 * and INIT end the run (Linux takes them); CR0/CR4 writes, CR8, debug
	 * registers, ports, MSRs but the FS/GS bases, RDPMC (Linux's counters
	 * at CPL 0), INVD/WBINVD, MONITOR/MWAIT, XSETBV, task switches and the
	 * SVM instructions exit; #DB and #BP go to Linux (debuggers), #MC to
	 * its handler; #UD exits so that upstream libdune's VMCALL can be the
	 * system call it is on Intel (exit_decode.c), any other goes back to
	 * the process's IDT (guest/dune_run.c). */
	k->intercept_cr = BIT(16 + 0) | BIT(16 + 4) | BIT(8) | BIT(16 + 8);
	k->intercept_dr = 0xffffffffu;
	k->intercept_exceptions = BIT(VEC_DB) | BIT(VEC_BP) | BIT(VEC_MC) | BIT(VEC_UD);
	k->intercept_misc1 = INTERCEPT1_INTR | INTERCEPT1_NMI | INTERCEPT1_INIT | INTERCEPT1_RDPMC | INTERCEPT1_CPUID |
			     INTERCEPT1_INVD | INTERCEPT1_INVLPGA | INTERCEPT1_IOIO_PROT | INTERCEPT1_MSR_PROT |
			     INTERCEPT1_TASK_SWITCH | INTERCEPT1_SHUTDOWN;
	k->intercept_misc2 = INTERCEPT2_VMRUN | INTERCEPT2_VMMCALL | INTERCEPT2_VMLOAD | INTERCEPT2_VMSAVE |
			     INTERCEPT2_STGI | INTERCEPT2_CLGI | INTERCEPT2_SKINIT | INTERCEPT2_WBINVD |
			     INTERCEPT2_MONITOR | INTERCEPT2_MWAIT | INTERCEPT2_MWAIT_ARMED | INTERCEPT2_XSETBV;
	k->iopm_base_pa = hv->arch.dune_iopm_pa;
	k->msrpm_base_pa = hv->arch.dune_msrpm_pa;
	k->guest_asid = dune_asid(hv, c->vcpu.tlb_tag);
	k->tlb_control = TLB_CONTROL_NOTHING; /* its first load flushes (arch_vcpu_load: arrived) */
	/* 15.21.1: with V_INTR_MASKING the host's RFLAGS.IF (set at VMRUN,
	 * entry.asm) masks physical interrupts, not the process's: one with
	 * interrupts off is still interrupted, and the INTR intercept ends
	 * the run. */
	k->v_intr = V_INTR_MASKING;
	k->np_control = NP_ENABLE;
	k->n_cr3 = c->gpt_root;

	/* Guest state (Appendix B; dune-abi 1.8). EFER.SVME must be set in a
	 * guest's EFER (15.5.1). SYSCALL's MSRs are Linux's, copied at every
	 * load (vcpu.c), as VMX leaves them; SYSENTER's are 0. */
	set_flat(&g->cs, DUNE_CODE_AR);
	set_flat(&g->ss, DUNE_DATA_AR);
	set_flat(&g->ds, DUNE_DATA_AR);
	set_flat(&g->es, DUNE_DATA_AR);
	set_flat(&g->fs, DUNE_DATA_AR);
	set_flat(&g->gs, DUNE_DATA_AR);
	g->fs.base = cr->fs_base;
	g->gs.base = cr->gs_base;
	g->tr = (struct vmcb_segment){.selector = 0, .attrib = svm_segment_attrib(DUNE_TSS_AR), .limit = 0xff, .base = 0};
	g->ldtr = (struct vmcb_segment){0};
	g->gdtr = (struct vmcb_segment){0};
	g->idtr = (struct vmcb_segment){0};
	g->cpl = 0;
	g->efer = DUNE_EFER | EFER_SVME;
	g->cr0 = DUNE_CR0;
	g->cr3 = cr->cr3;
	g->cr4 = dune_cr4_features();
	g->dr6 = 0xffff0ff0;
	g->dr7 = 0x400;
	g->rflags = dune_sanitize_rflags(cr->rflags);
	g->rip = cr->rip;
	g->rsp = cr->rsp;
	g->g_pat = DUNE_PAT;
}

int arch_dune_vcpu_create(struct hv_cpu *cpu, struct dune_ctx *c, const struct dunehv_ctx_create *cr)
{
	struct hv *hv = cpu->hv;
	u64 vmcb = page_pool_alloc(&hv->pool);
	if (!vmcb)
		return -HV_ENOMEM;
	/* 15.5: a VMCB may run on any CPU, one at a time; no CPU caches it
	 * (VMCB clean bits are never set, 15.15). */
	c->vcpu.arch.vmcb_pa = vmcb;
	setup_dune_vmcb(hv, c, phys_to_virt(vmcb), cr);
	/* What the creation record gives (CR3, RFLAGS) was checked already;
	 * this catches the rest, as VMRUN would (vmcb_check.h). */
	const char *refused = vmcb_check_state(phys_to_virt(vmcb), hv->phys_addr_bits);
	if (refused) {
		log_printf(&hv->log, LOG_ERROR, "Dune context VMCB refused: %s", refused);
		return -HV_EIO; /* arch_dune_vcpu_free takes the page back */
	}
	return 0;
}

void arch_dune_vcpu_free(struct hv *hv, struct dune_ctx *c)
{
	if (c->vcpu.arch.vmcb_pa)
		page_pool_free(&hv->pool, c->vcpu.arch.vmcb_pa);
	c->vcpu.arch.vmcb_pa = 0;
}
