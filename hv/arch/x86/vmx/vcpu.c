/* The VMX backend's vCPU operations (hv/backend.h) on the VMCS: which VMCS
 * this CPU runs (SDM Vol. 3C 25.11 "Software use of the VMCS"), the guest
 * registers it holds (25.4 "Guest-state area"), event injection (28.6) and
 * the flushes of cached translations (29.4.3). */
#include <stddef.h>

#include "arch/x86/arch.h"
#include "arch/x86/machine_check.h"
#include "arch/x86/vmx/event.h"
#include "arch/x86/vmx/guest_state.h"
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/vmx/vmcs_dune.h"
#include "arch/x86/vmx/vmcs_host.h"
#include "arch/x86/vmx/vmx_ops.h"
#include "backend.h"
#include "core/hv.h"

/* arch/x86/vmx/entry.asm reaches these through GS and the vCPU pointer. */
_Static_assert(offsetof(struct hv_cpu, current) == 8, "entry.asm CPU_CURRENT_VCPU");
_Static_assert(offsetof(struct hv_cpu, serve_before_entry) == 16, "entry.asm CPU_SERVE_BEFORE_ENTRY");
_Static_assert(offsetof(struct vcpu, regs) == 0, "entry.asm: registers at the start of struct vcpu");
_Static_assert(offsetof(struct vcpu, arch) + offsetof(struct arch_vcpu, launched) == 128, "entry.asm VCPU_LAUNCHED");

u64 arch_vcpu_rip(struct vcpu *v) { (void)v; return vmcs_readnat(VMCS_GUEST_RIP); }
u64 arch_vcpu_rsp(struct vcpu *v) { (void)v; return vmcs_readnat(VMCS_GUEST_RSP); }
u64 arch_vcpu_rflags(struct vcpu *v) { (void)v; return vmcs_readnat(VMCS_GUEST_RFLAGS); }
void arch_vcpu_set_rip(struct vcpu *v, u64 rip) { (void)v; vmcs_writenat(VMCS_GUEST_RIP, rip); }
void arch_vcpu_set_rsp(struct vcpu *v, u64 rsp) { (void)v; vmcs_writenat(VMCS_GUEST_RSP, rsp); }
unsigned arch_vcpu_cpl(struct vcpu *v) { (void)v; return guest_cpl(); }
u64 arch_vcpu_visible_cr4(struct vcpu *v) { (void)v; return guest_visible_cr4(); }

void arch_vcpu_set_rflags(struct vcpu *v, u64 rflags)
{
	/* A Dune context's RFLAGS come from Linux's struct: SDM 27.3.1.4
	 * refuses reserved bits and VM in 64-bit mode. */
	vmcs_writenat(VMCS_GUEST_RFLAGS, v->kind == VCPU_DUNE ? dune_sanitize_rflags(rflags) : rflags);
}

void arch_vcpu_set_cr2(struct vcpu *v, u64 cr2)
{
	(void)v;
	write_cr2(cr2);
}

void arch_vcpu_unswitched_save(struct vcpu *v)
{
	v->kernel_gs_base = rdmsr(MSR_IA32_KERNEL_GS_BASE);
	v->cr2 = read_cr2();
}

void arch_vcpu_unswitched_load(struct vcpu *v)
{
	wrmsr(MSR_IA32_KERNEL_GS_BASE, v->kernel_gs_base);
	write_cr2(v->cr2);
}

u64 arch_vcpu_gpr(struct vcpu *v, unsigned n)
{
	return n == GPR_RSP ? vmcs_readnat(VMCS_GUEST_RSP) : v->regs.gpr[n & 15];
}

void arch_vcpu_skip_instruction(struct vcpu *v, const struct hv_exit *e)
{
	/* SDM 28.2.5: the exit's instruction length. */
	vmcs_writenat(VMCS_GUEST_RIP, vmcs_readnat(VMCS_GUEST_RIP) + e->instruction_length);
	/* Blocking by STI/MOV SS ends after the skipped instruction (the field: SDM 25.4.2). */
	u32 intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);
	if (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
		vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, intr & ~(u32)(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
	/* Linux single-stepping (EFLAGS.TF) over an instruction the hypervisor
	 * emulated (CPUID, a hypercall, an MSR): the single-step #DB the
	 * instruction would have raised is left pending for the entry, BS in
	 * the pending debug exceptions (delivered after VM entry, SDM 27.7.3),
	 * so a debugger's step stops right after it, not one instruction
	 * later. Linux's vCPU only: a Dune context's RFLAGS may be replaced by
	 * the process before its next entry, and BS without TF fails some
	 * entries (SDM 27.3.1.5). */
	if (v->kind == VCPU_LINUX && (vmcs_readnat(VMCS_GUEST_RFLAGS) & RFLAGS_TF))
		vmcs_writenat(VMCS_GUEST_PENDING_DBG_EXCEPTIONS,
			      vmcs_readnat(VMCS_GUEST_PENDING_DBG_EXCEPTIONS) | DR6_BS);
}

bool arch_vcpu_inject_exception(struct vcpu *v, u8 vector, bool has_error, u32 error_code)
{
	(void)v;
	return event_try_inject_exception(vector, has_error, error_code);
}

static void set_nmi_window_exiting(struct vcpu *v, bool on)
{
	if (v->arch.nmi_window_exiting == on)
		return;
	u32 proc = vmcs_read32(VMCS_PROC_BASED_CONTROLS);
	vmcs_write32(VMCS_PROC_BASED_CONTROLS, on ? proc | PROC_NMI_WINDOW_EXITING : proc & ~(u32)PROC_NMI_WINDOW_EXITING);
	v->arch.nmi_window_exiting = on;
}

/* A held #MC goes in first: a hardware exception without error code (SDM
 * 27.6.1), which HLT and blocking by STI or MOV SS do not hold off (27.3.1.5).
 * true: it waits behind an event this entry injects. */
static bool deliver_machine_check(struct vcpu *v, bool waiting_for_sipi)
{
	if (!v->mce_pending)
		return false;
	switch (machine_check_delivery(vmcs_read32(VMCS_ENTRY_INTR_INFO), waiting_for_sipi)) {
	case MC_DELIVER_AFTER_EVENT:
		return true;
	case MC_DELIVER_NOW:
		vmcs_write32(VMCS_ENTRY_INTR_INFO, VEC_MC | (INTR_TYPE_HW_EXCEPTION << INTR_INFO_TYPE_SHIFT) | INTR_INFO_VALID);
		break;
	case MC_DELIVER_DROP:
		break;
	}
	v->mce_pending = false;
	return false;
}

/* SDM 26.7.6 (NMI-window exiting), 28.6 (injection): while Linux blocks NMIs,
 * or another event goes in first, NMI-window exiting asks for the next
 * chance (for a held #MC too: the exit comes once the queued event is
 * delivered, or after Linux's IRET if that event was an NMI). A CPU waiting
 * for SIPI takes neither (SDM 25.4.2). */
void arch_vcpu_deliver_events(struct vcpu *v)
{
	if (!v->mce_pending && !v->nmi_pending) { /* the common case: nothing held, no VMREAD */
		set_nmi_window_exiting(v, false);
		return;
	}
	bool waiting_for_sipi = vmcs_read32(VMCS_GUEST_ACTIVITY_STATE) == ACTIVITY_WAIT_FOR_SIPI;
	bool window = deliver_machine_check(v, waiting_for_sipi);
	if (v->nmi_pending && waiting_for_sipi) {
		v->nmi_pending = false;
	} else if (v->nmi_pending) {
		if ((vmcs_read32(VMCS_ENTRY_INTR_INFO) & INTR_INFO_VALID) ||
		    (vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY) &
		     (INTERRUPTIBILITY_NMI | INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))) {
			window = true;
		} else {
			v->nmi_pending = false;
			vmcs_write32(VMCS_ENTRY_INTR_INFO, VEC_NMI | (INTR_TYPE_NMI << INTR_INFO_TYPE_SHIFT) | INTR_INFO_VALID);
		}
	}
	set_nmi_window_exiting(v, window);
}

/* VMX blocks NMIs for Linux itself (virtual-NMI blocking, SDM 25.4.2) and
 * intercepts no IRET: HV_EXIT_NMI_IRET is never decoded here. */
void arch_linux_nmi_iret(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	arch_vcpu_dump(cpu, v);
	hv_panic(cpu, "NMI IRET exit under VMX, reason %u", e->vendor_reason);
}

/* SDM 26.5.1: the VMX-preemption timer counts down from this value, at the
 * TSC rate shifted by IA32_VMX_MISC[4:0] (vmx_caps.c chose the value). */
void arch_vcpu_start_time_slice(struct hv_cpu *cpu, struct vcpu *v)
{
	(void)v;
	if (cpu->hv->arch.ctl.dune_time_slice)
		vmcs_write32(VMCS_GUEST_PREEMPTION_TIMER, cpu->hv->arch.ctl.dune_time_slice);
}

/* SDM 26.5.1: a VMX-preemption timer value of zero at VM entry makes the
 * exit come before the guest's first instruction. */
void arch_vcpu_end_time_slice(struct hv_cpu *cpu, struct vcpu *v)
{
	(void)v;
	if (cpu->hv->arch.ctl.dune_time_slice)
		vmcs_write32(VMCS_GUEST_PREEMPTION_TIMER, 0);
}

extern const char vmentry_window_start[], vmentry_window_end[];

void arch_entry_window_rewind(u64 *rip)
{
	if (*rip >= (u64)(uintptr_t)vmentry_window_start && *rip <= (u64)(uintptr_t)vmentry_window_end)
		*rip = (u64)(uintptr_t)vmentry_window_start;
}

/* Flushes one context's translations (SDM 29.4.3.1): single-context
 * INVEPT/INVVPID, or all-context where the CPU has no single-context type
 * (vmx_caps.c). A failed flush would let a translation outlive its
 * mapping: the hypervisor stops rather than run on. */
static void flush_ept(struct hv_cpu *cpu, u64 eptp)
{
	u8 type = cpu->hv->arch.ctl.invept_one;
	if (!invept(type, eptp))
		hv_panic(cpu, "INVEPT type %u of EPTP 0x%llx failed", type, (unsigned long long)eptp);
}

static void flush_vpid(struct hv_cpu *cpu, u16 vpid)
{
	u8 type = cpu->hv->arch.ctl.invvpid_one;
	if (!invvpid(type, vpid))
		hv_panic(cpu, "INVVPID type %u of VPID %u failed", type, vpid);
}

void arch_vcpu_load(struct hv_cpu *cpu, struct vcpu *v, bool arrived)
{
	if (arrived && v->kind == VCPU_DUNE) {
		/* It may hold translations here from an earlier stay, or from an
		 * earlier user of its VPID and EPTP (KVM flushes the same way on
		 * vCPU migration; SDM 29.4.3.3). */
		flush_vpid(cpu, v->tlb_tag);
		flush_ept(cpu, v->arch.eptp);
	}
	/* SDM 31.3 VMPTRLD: this VMCS becomes current and active on this CPU. */
	if (!vmptrld(v->arch.vmcs_pa))
		hv_panic(cpu, "VMPTRLD of a %s vCPU's VMCS failed", v->kind == VCPU_DUNE ? "Dune" : "Linux");
	v->arch.active = true;
	/* The host-state area names this CPU's stack, GS base and tables. */
	if (arrived && vmcs_write_host_state(cpu->hv, cpu))
		hv_panic(cpu, "VMWRITE of a VMCS's host state failed");
	cpu->current = v;
}

void arch_vcpu_evict(struct vcpu *v)
{
	if (!v->arch.active)
		return;
	/* SDM 31.3 VMCLEAR: the data goes to memory, the launch state is clear,
	 * and the VMCS may be made current on another CPU. */
	vmclear(v->arch.vmcs_pa);
	v->arch.active = false;
	v->arch.launched = 0;
}

void arch_vcpu_flush_gpt(struct vcpu *v) { flush_ept(this_cpu(), v->arch.eptp); }

void arch_cpu_flush_all(struct hv_cpu *cpu)
{
	if (!invept(INV_ALL_CONTEXTS, 0) || !invvpid(INV_ALL_CONTEXTS, 0))
		hv_panic(cpu, "all-context INVEPT/INVVPID failed");
}

const char *arch_exit_reason_name(u32 vendor_reason) { return vmx_exit_reason_name(vendor_reason); }

u32 arch_vendor(void) { return DUNEHV_VENDOR_VMX; }

u32 arch_vendor_reason(enum hv_exit_kind kind)
{
	return kind == HV_EXIT_TRIPLE_FAULT ? EXIT_REASON_TRIPLE_FAULT : kind == HV_EXIT_INIT ? EXIT_REASON_INIT : 0xffff;
}

static const char *const gpr_names[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
					  "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

void arch_vcpu_dump(struct hv_cpu *cpu, struct vcpu *v)
{
	struct log_ring *log = &cpu->hv->log;
	vmcs_dump(cpu);
	if (!v)
		return;
	for (unsigned i = 0; i < 16; i += 4)
		log_printf(log, LOG_ERROR, "  %-3s %016llx  %-3s %016llx  %-3s %016llx  %-3s %016llx", gpr_names[i],
			   (unsigned long long)v->regs.gpr[i], gpr_names[i + 1], (unsigned long long)v->regs.gpr[i + 1],
			   gpr_names[i + 2], (unsigned long long)v->regs.gpr[i + 2], gpr_names[i + 3],
			   (unsigned long long)v->regs.gpr[i + 3]);
}

/* Called by entry.asm when VMLAUNCH/VMRESUME returned (SDM 31.4). */
void vm_entry_instruction_failed(void);
void vm_entry_instruction_failed(void)
{
	vcpu_entry_instruction_failed(this_cpu(), vmcs_read32(VMCS_VM_INSTRUCTION_ERROR));
}
