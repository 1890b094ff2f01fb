/* The SVM backend's vCPU operations (hv/backend.h) on the VMCB (AMD64 APM
 * Vol. 2 Chapter 15): the guest registers it holds (Appendix B), event
 * injection (15.20), instruction skipping with or without NRIPS (15.7.1),
 * the TLB flushes by ASID (15.16) and the dump of a VMCB; the INIT and SIPI
 * states are init_state.c's. */
#include <stddef.h>

#include "arch/x86/apic_icr.h"
#include "arch/x86/arch.h"
#include "arch/x86/dune_state.h"
#include "arch/x86/event_combine.h"
#include "arch/x86/machine_check.h"
#include "arch/x86/svm/svm_defs.h"
#include "arch/x86/svm/svm_ops.h"
#include "arch/x86/svm/vmcb_linux.h"
#include "arch/x86/vectors.h"
#include "backend.h"
#include "core/dune_ctx.h"
#include "core/hv.h"

/* arch/x86/svm/entry.asm reaches these through GS and the vCPU pointer. */
_Static_assert(offsetof(struct hv_cpu, current) == 8, "entry.asm CPU_CURRENT_VCPU");
_Static_assert(offsetof(struct hv_cpu, serve_before_entry) == 16, "entry.asm CPU_SERVE_BEFORE_ENTRY");
_Static_assert(offsetof(struct hv_cpu, arch) + offsetof(struct arch_cpu, host_state_pa) == 24, "entry.asm CPU_HOST_STATE_PA");
_Static_assert(offsetof(struct vcpu, regs) == 0, "entry.asm: registers at the start of struct vcpu");
_Static_assert(offsetof(struct vcpu, arch) + offsetof(struct arch_vcpu, vmcb_pa) == 128, "entry.asm VCPU_VMCB_PA");
_Static_assert(DUNE_CTX_FIRST_TLB_TAG + DUNEHV_CTX_MAX <= SVM_ASID_SLOTS, "struct arch_cpu.asid_user covers every tag");

static struct vmcb *vmcb_of(struct vcpu *v) { return phys_to_virt(v->arch.vmcb_pa); }

u64 arch_vcpu_rip(struct vcpu *v) { return vmcb_of(v)->save.rip; }
u64 arch_vcpu_rsp(struct vcpu *v) { return vmcb_of(v)->save.rsp; }
u64 arch_vcpu_rflags(struct vcpu *v) { return vmcb_of(v)->save.rflags; }
void arch_vcpu_set_rip(struct vcpu *v, u64 rip) { vmcb_of(v)->save.rip = rip; }
void arch_vcpu_set_rsp(struct vcpu *v, u64 rsp) { vmcb_of(v)->save.rsp = rsp; }
void arch_vcpu_set_rflags(struct vcpu *v, u64 rflags)
{
	/* A Dune context's RFLAGS come from Linux's struct: reserved bits and
	 * VM go (dune_state.h), as on VMX. */
	vmcb_of(v)->save.rflags = v->kind == VCPU_DUNE ? dune_sanitize_rflags(rflags) : rflags;
}
unsigned arch_vcpu_cpl(struct vcpu *v) { return vmcb_of(v)->save.cpl & 3; }
u64 arch_vcpu_visible_cr4(struct vcpu *v) { return vmcb_of(v)->save.cr4; }

void arch_vcpu_set_cr2(struct vcpu *v, u64 cr2) { vmcb_of(v)->save.cr2 = cr2; }

/* Each VMCB holds its CR2 and, through VMSAVE/VMLOAD, its KernelGsBase
 * (APM 15.5.2): nothing is left in the CPU to switch. */
void arch_vcpu_unswitched_save(struct vcpu *v) { (void)v; }
void arch_vcpu_unswitched_load(struct vcpu *v) { (void)v; }

u64 arch_vcpu_gpr(struct vcpu *v, unsigned n) { return n == GPR_RSP ? vmcb_of(v)->save.rsp : v->regs.gpr[n & 15]; }

void arch_vcpu_skip_instruction(struct vcpu *v, const struct hv_exit *e)
{
	struct vmcb *vmcb = vmcb_of(v);
	vmcb->save.rip += e->instruction_length;
	vmcb->control.interrupt_shadow = 0; /* an STI or MOV SS shadow ends with the instruction */
	/* Linux single-stepping (EFLAGS.TF) over an instruction the hypervisor
	 * emulated (CPUID, a hypercall, an MSR, an xAPIC write): an intercepted
	 * instruction does not execute (APM 15.7), so the single-step #DB it
	 * would have raised is injected here, DR6.BS set, as the CPU sets it
	 * (APM Vol. 2 13.1.1.4); a debugger's step stops right after it. As on
	 * VMX, Linux's vCPU only. */
	if (v->kind == VCPU_LINUX && (vmcb->save.rflags & RFLAGS_TF)) {
		vmcb->save.dr6 |= DR6_BS;
		arch_vcpu_inject_exception(v, VEC_DB, false, 0);
	}
}

bool arch_vcpu_inject_exception(struct vcpu *v, u8 vector, bool has_error, u32 error_code)
{
	struct vmcb_control *c = &vmcb_of(v)->control;
	/* EVENTINJ's low half has the layout of the interruption-information
	 * word event_combine reads (APM 15.20; SDM 25.8.3). */
	if (!event_exception_to_queue((u32)c->event_inj, &vector, &has_error, &error_code))
		return false;
	c->event_inj = vector | ((u64)EVENT_TYPE_EXCEPTION << EVENT_TYPE_SHIFT) | EVENT_VALID |
		       (has_error ? EVENT_ERROR_VALID | ((u64)error_code << 32) : 0);
	return true;
}

/*
 * NMI blocking. A CPU that delivered an NMI takes no other until an IRET
 * has run (SDM Vol. 3A 6.7.1). SVM keeps no such state for a guest whose
 * NMIs the host intercepts, and EVENTINJ goes in whatever the guest's
 * state (APM 15.20): a second NMI injected while Linux's handler still
 * ran on its IST stack, before Linux's entry code copied the frame the
 * first left there, would overwrite that frame. So the backend keeps
 * Linux's NMI blocking, as KVM does on CPUs without vNMI: an injected NMI
 * blocks the next and intercepts IRET (APM 15.9); the IRET's exit comes
 * before it runs (15.7), so it is single-stepped (RFLAGS.TF, #DB
 * intercepted, 15.12), and the #DB trap right after it ends the blocking;
 * an NMI held meanwhile goes in at that entry.
 */
static void block_nmis_until_iret(struct vcpu *v)
{
	v->arch.nmi_blocked = true;
	vmcb_of(v)->control.intercept_misc1 |= INTERCEPT1_IRET;
}

static void stop_nmi_iret_step(struct vcpu *v)
{
	struct vmcb_control *c = &vmcb_of(v)->control;
	v->arch.nmi_iret_stepping = false;
	c->intercept_exceptions &= ~BIT(VEC_DB);
}

/* No blocking, no step: after INIT (init_state.c). */
void svm_forget_nmi_blocking(struct vcpu *v)
{
	stop_nmi_iret_step(v);
	v->arch.nmi_blocked = false;
	vmcb_of(v)->control.intercept_misc1 &= ~INTERCEPT1_IRET;
}

/* DR6's bits of the debug conditions a step can meet besides its own BS:
 * B0-B3 (a data breakpoint on the IRET's stack reads) and BD. */
#define DR6_OWN_CONDITIONS (0xfull | BIT(13))

void arch_linux_nmi_iret(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	struct vmcb *vmcb = vmcb_of(v);
	struct vmcb_save *g = &vmcb->save;
	struct arch_vcpu *a = &v->arch;
	if (e->vendor_reason == SVM_EXIT_IRET && a->nmi_blocked && !a->nmi_iret_stepping) {
		/* The first IRET since the NMI went in, not yet run: as on the
		 * CPU, it ends the blocking, whichever handler it returns from
		 * (Linux's NMI entry expects that of a #DB's or #PF's IRET
		 * inside its handler). Step over it. */
		vmcb->control.intercept_misc1 &= ~INTERCEPT1_IRET;
		a->nmi_iret_stepping = true;
		a->nmi_iret_rip = g->rip;
		a->nmi_step_guest_tf = g->rflags & RFLAGS_TF;
		a->nmi_step_dr6 = g->dr6;
		g->rflags |= RFLAGS_TF;
		vmcb->control.intercept_exceptions |= BIT(VEC_DB);
		return;
	}
	if (e->vendor_reason != SVM_EXIT_EXCEPTION_BASE + VEC_DB || !a->nmi_iret_stepping) {
		arch_vcpu_dump(cpu, v);
		hv_panic(cpu, "NMI IRET exit %#x with no NMI handler of Linux's to end (blocked %d, stepping %d)",
			 e->vendor_reason, a->nmi_blocked, a->nmi_iret_stepping);
	}
	/* The #DB of the step. TF is what the IRET popped (or, where the IRET
	 * did not complete, Linux's own again); DR6 loses the step's BS. */
	stop_nmi_iret_step(v);
	u64 own = (g->dr6 & ~a->nmi_step_dr6) & DR6_OWN_CONDITIONS;
	g->dr6 = a->nmi_step_dr6 | own;
	if (g->rip == a->nmi_iret_rip) {
		/* A fault-type #DB at the IRET itself (an instruction breakpoint
		 * or BD): Linux's, and the handler goes on; the IRET is caught
		 * again when it runs. */
		g->rflags = (g->rflags & ~RFLAGS_TF) | (a->nmi_step_guest_tf ? RFLAGS_TF : 0);
		block_nmis_until_iret(v);
		arch_vcpu_inject_exception(v, VEC_DB, false, 0);
		return;
	}
	a->nmi_blocked = false;
	if (a->nmi_step_guest_tf || own) {
		/* Linux's own trap after the IRET: its single step, a data breakpoint. */
		g->dr6 |= a->nmi_step_guest_tf ? DR6_BS : 0;
		arch_vcpu_inject_exception(v, VEC_DB, false, 0);
	}
}

/* A held #MC first, then a held NMI, each when no other event is queued
 * for this entry (EVENTINJ holds one) and, for an NMI, when Linux is not in
 * its handler of the last one (NMI blocking, above); what waits goes in at
 * a later exit (for a blocked NMI: the step past the handler's IRET). */
void arch_vcpu_deliver_events(struct vcpu *v)
{
	if (!v->mce_pending && !v->nmi_pending)
		return;
	struct vmcb_control *c = &vmcb_of(v)->control;
	if (v->mce_pending) {
		switch (machine_check_delivery((u32)c->event_inj, false)) {
		case MC_DELIVER_AFTER_EVENT:
			return;
		case MC_DELIVER_NOW:
			c->event_inj = VEC_MC | ((u64)EVENT_TYPE_EXCEPTION << EVENT_TYPE_SHIFT) | EVENT_VALID;
			break;
		case MC_DELIVER_DROP:
			break;
		}
		v->mce_pending = false;
		return;
	}
	if (!(c->event_inj & EVENT_VALID) && !c->interrupt_shadow && !v->arch.nmi_blocked) {
		c->event_inj = VEC_NMI | ((u64)EVENT_TYPE_NMI << EVENT_TYPE_SHIFT) | EVENT_VALID;
		v->nmi_pending = false;
		block_nmis_until_iret(v);
	}
}

/* No timer for Dune time slices yet on SVM: the run goes on until the
 * context exits (backend.h allows it). */
void arch_vcpu_start_time_slice(struct hv_cpu *cpu, struct vcpu *v) { (void)cpu, (void)v; }
void arch_vcpu_end_time_slice(struct hv_cpu *cpu, struct vcpu *v) { (void)cpu, (void)v; }

/* entry.asm closes its window with CLGI instead (see there). */
void arch_entry_window_rewind(u64 *rip) { (void)rip; }

/* The next VMRUN of v flushes its ASID's translations on this CPU (APM
 * 15.16.1: TLB_CONTROL; all ASIDs where the CPU cannot flush one). */
static void flush_on_next_entry(struct hv_cpu *cpu, struct vcpu *v)
{
	vmcb_of(v)->control.tlb_control = cpu->hv->arch.ctl.flush_by_asid ? TLB_CONTROL_FLUSH_ASID : TLB_CONTROL_FLUSH_ALL;
}

void arch_vcpu_load(struct hv_cpu *cpu, struct vcpu *v, bool arrived)
{
	struct vmcb *vmcb = vmcb_of(v);
	/* A VMCB may run on any CPU (APM 15.5); a vCPU that arrives flushes
	 * what its ASID may hold here from an earlier stay, and so does one
	 * whose ASID another context used here last (shared ASIDs, vmcb_dune.c). */
	u32 asid = vmcb->control.guest_asid;
	if (arrived || cpu->arch.asid_user[asid] != v)
		flush_on_next_entry(cpu, v);
	cpu->arch.asid_user[asid] = v;
	/* XSAVES/XRSTORS run at a Dune context's CPL 0, and SVM cannot make
	 * them #UD as VMX does: with IA32_XSS 0 they reach no supervisor
	 * state component of Linux's (PASID, CET, ...), as KVM switches XSS
	 * around its guests. Linux's writes of XSS exit (setup.c). */
	if (cpu->arch.linux_xss)
		wrmsr(MSR_IA32_XSS, v->kind == VCPU_DUNE ? 0 : cpu->arch.linux_xss);
	if (v->kind == VCPU_DUNE) {
		/* SYSCALL leads where Linux's LSTAR points, as on VMX, which
		 * does not switch it: libdune maps its trampoline there
		 * (DUNE_GET_SYSCALL). The VMCB holds the state VMLOAD loads
		 * (15.5.2): Linux's, as its last VMSAVE on this CPU left it. */
		const struct vmcb_save *l = &vmcb_of(&cpu->linux_vcpu)->save;
		vmcb->save.star = l->star;
		vmcb->save.lstar = l->lstar;
		vmcb->save.cstar = l->cstar;
		vmcb->save.sfmask = l->sfmask;
	}
	cpu->current = v;
}

void arch_vcpu_evict(struct vcpu *v) { (void)v; }

void arch_vcpu_flush_gpt(struct vcpu *v) { flush_on_next_entry(this_cpu(), v); }

void arch_cpu_flush_all(struct hv_cpu *cpu) { vmcb_of(&cpu->linux_vcpu)->control.tlb_control = TLB_CONTROL_FLUSH_ALL; }

/* Linux's CR accesses do not exit under SVM (no fixed bits to keep). */
void arch_linux_cr_access(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	(void)e;
	arch_vcpu_dump(cpu, v);
	hv_panic(cpu, "unexpected control-register exit under SVM");
}

/* EFER is the VMCB's (APM 15.5.1): Linux sees it without SVME, and every
 * write keeps SVME set, which VMRUN requires; the SVM MSRs say SVM is
 * disabled and locked, as on a CPU whose firmware turned it off. */
enum arch_msr_result arch_linux_msr_read(struct hv_cpu *cpu, struct vcpu *v, u32 msr, u64 *value)
{
	(void)cpu;
	if (msr == MSR_IA32_EFER) {
		*value = vmcb_of(v)->save.efer & ~EFER_SVME;
		return ARCH_MSR_DONE;
	}
	if (msr == MSR_VM_CR) {
		*value = VM_CR_SVMDIS | VM_CR_LOCK;
		return ARCH_MSR_DONE;
	}
	return msr == MSR_VM_HSAVE_PA ? ARCH_MSR_FAULT : ARCH_MSR_NOT_MINE;
}

enum arch_msr_result arch_linux_msr_write(struct hv_cpu *cpu, struct vcpu *v, u32 msr, u64 value)
{
	if (msr == MSR_IA32_EFER) {
		/* Reserved bits, and bits the CPU lacks, #GP (APM 3.1.7). */
		u64 known = BIT(0) | EFER_LME | EFER_LMA | EFER_NXE | BIT(13) | BIT(14) | BIT(15);
		if (value & ~known || (value & EFER_SVME))
			return ARCH_MSR_FAULT;
		if ((value & EFER_NXE) && !cpu->hv->arch.facts.cpuid_nx)
			return ARCH_MSR_FAULT;
		struct vmcb_save *g = &vmcb_of(v)->save;
		/* LMA is the CPU's to set (with LME and PG); it is kept. */
		g->efer = (value & ~EFER_LMA) | (g->efer & EFER_LMA) | EFER_SVME;
		return ARCH_MSR_DONE;
	}
	if (msr == MSR_IA32_XSS) {
		/* Linux's runs on this CPU; what the CPU refuses is #GP for Linux. */
		if (msr_safe_write(MSR_IA32_XSS, value))
			return ARCH_MSR_FAULT;
		cpu->arch.linux_xss = value;
		return ARCH_MSR_DONE;
	}
	if (msr == MSR_VM_CR || msr == MSR_VM_HSAVE_PA)
		return ARCH_MSR_FAULT;
	if (msr == MSR_IA32_APIC_BASE && (value & APIC_BASE_ADDR_MASK) != cpu->hv->arch.apic_page) {
		/* The APIC window stays where Linux's NPT keeps it read-only
		 * (setup.c), or its ICR writes would not exit. */
		log_printf(&cpu->hv->log, LOG_WARN, "refused IA32_APIC_BASE = %#llx: the APIC stays at %#llx under SVM",
			   (unsigned long long)value, (unsigned long long)cpu->hv->arch.apic_page);
		return ARCH_MSR_FAULT;
	}
	return ARCH_MSR_NOT_MINE;
}

u32 arch_vendor_reason(enum hv_exit_kind kind)
{
	return kind == HV_EXIT_TRIPLE_FAULT ? SVM_EXIT_SHUTDOWN : kind == HV_EXIT_INIT ? SVM_EXIT_INIT : 0xffff;
}

static const char *const gpr_names[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
					  "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

/* The VMCB's control fields and guest state, then the registers. */
void arch_vcpu_dump(struct hv_cpu *cpu, struct vcpu *v)
{
	struct log_ring *log = &cpu->hv->log;
	if (!v)
		return;
	const struct vmcb *vmcb = vmcb_of(v);
	const struct vmcb_control *c = &vmcb->control;
	const struct vmcb_save *g = &vmcb->save;
	log_printf(log, LOG_ERROR, "VMCB %#llx: exit %#llx (%s) info1 %#llx info2 %#llx intinfo %#llx eventinj %#llx",
		   (unsigned long long)v->arch.vmcb_pa, (unsigned long long)c->exit_code,
		   arch_exit_reason_name((u32)c->exit_code), (unsigned long long)c->exit_info1,
		   (unsigned long long)c->exit_info2, (unsigned long long)c->exit_int_info, (unsigned long long)c->event_inj);
	log_printf(log, LOG_ERROR, "  NMIs blocked %d, IRET at %#llx being stepped %d", v->arch.nmi_blocked,
		   (unsigned long long)v->arch.nmi_iret_rip, v->arch.nmi_iret_stepping);
	log_printf(log, LOG_ERROR, "  intercepts cr %#x dr %#x exc %#x misc %#x %#x; asid %u tlb %u np %#llx ncr3 %#llx next_rip %#llx",
		   c->intercept_cr, c->intercept_dr, c->intercept_exceptions, c->intercept_misc1, c->intercept_misc2,
		   c->guest_asid, c->tlb_control, (unsigned long long)c->np_control, (unsigned long long)c->n_cr3,
		   (unsigned long long)c->next_rip);
	log_printf(log, LOG_ERROR, "  rip %#llx rsp %#llx rflags %#llx cpl %u efer %#llx cr0 %#llx cr3 %#llx cr4 %#llx cr2 %#llx",
		   (unsigned long long)g->rip, (unsigned long long)g->rsp, (unsigned long long)g->rflags, g->cpl,
		   (unsigned long long)g->efer, (unsigned long long)g->cr0, (unsigned long long)g->cr3,
		   (unsigned long long)g->cr4, (unsigned long long)g->cr2);
	const struct vmcb_segment *segs[] = {&g->es, &g->cs, &g->ss, &g->ds, &g->fs, &g->gs, &g->tr, &g->ldtr};
	static const char *const names[] = {"es", "cs", "ss", "ds", "fs", "gs", "tr", "ldtr"};
	for (unsigned i = 0; i < 8; i++)
		log_printf(log, LOG_ERROR, "  %-4s sel %#06x attr %#05x limit %#x base %#llx", names[i], segs[i]->selector,
			   segs[i]->attrib, segs[i]->limit, (unsigned long long)segs[i]->base);
	for (unsigned i = 0; i < 16; i += 4)
		log_printf(log, LOG_ERROR, "  %-3s %016llx  %-3s %016llx  %-3s %016llx  %-3s %016llx", gpr_names[i],
			   (unsigned long long)v->regs.gpr[i], gpr_names[i + 1], (unsigned long long)v->regs.gpr[i + 1],
			   gpr_names[i + 2], (unsigned long long)v->regs.gpr[i + 2], gpr_names[i + 3],
			   (unsigned long long)v->regs.gpr[i + 3]);
}
