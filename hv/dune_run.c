/* Running a Dune context on the CPU Linux called from, and coming back.
 *
 * DUNEHV_HC_CTX_RUN arrives as Linux's VMCALL. The hypervisor parks Linux
 * (its registers, KERNEL_GS_BASE and CR2; RIP already past the VMCALL), makes
 * the context's VMCS current and resumes the context with the registers from
 * Linux's struct dunehv_ctx_run. Exits the hypervisor can answer itself
 * (CPUID, VMCALL from ring 3) resume the context; the others write the
 * context's registers and the exit into the struct and resume Linux after its
 * VMCALL, with RAX = 0. External interrupts, NMIs and the end of a time slice
 * (VMX-preemption timer) always go back to Linux, so a spinning Dune process
 * stays preemptible and killable, even with interrupts off in its RFLAGS. */
#include <string.h>

#include "arch.h"
#include "dune_hypercall.h"
#include "event.h"
#include "exit_dispatch.h"
#include "guest_mem.h"
#include "guest_state.h"
#include "vmcs_dune.h"
#include "vmx_ops.h"

static void return_to_linux(struct hv_cpu *cpu, u32 exit_kind);

s64 hc_ctx_run(struct hv_cpu *cpu, u64 handle, u64 token, u64 run_gpa)
{
	struct hv *hv = cpu->hv;
	int err;
	struct dune_ctx *c = dune_ctx_lookup(&hv->dune, handle, token, &err);
	if (!c)
		return err;
	if (!guest_buffer_ok(hv->boot, run_gpa, sizeof(struct dunehv_ctx_run)))
		return -HV_EFAULT;
	if (c->broken)
		return -HV_EIO;
	struct dunehv_ctx_run *run = phys_to_virt(run_gpa);
	u32 inject = run->inject;
	if (inject != DUNEHV_INJECT_NONE && inject != DUNEHV_INJECT_PAGE_FAULT)
		return -HV_EINVAL;
	/* One CPU at a time, and (until VMCS migration by IPI exists) the CPU
	 * that launched it (SDM 25.11.1: a VMCS is active on one CPU). */
	if (c->launched && c->last_cpu != cpu->index)
		return -HV_EBUSY;
	if (__atomic_exchange_n(&c->running, 1, __ATOMIC_ACQUIRE))
		return -HV_EBUSY;

	/* Park Linux: past its VMCALL, registers saved for the way back. */
	guest_skip_instruction();
	cpu->linux_regs = *cpu->regs;
	cpu->linux_kernel_gs_base = rdmsr(MSR_IA32_KERNEL_GS_BASE);
	cpu->linux_cr2 = read_cr2();
	if (!vmptrld(c->vmcs_pa))
		hv_panic(cpu, "VMPTRLD of Dune context failed");

	/* CR2 is not part of the guest state in the VMCS (SDM 27.3.1): the
	 * context's own value goes in by hand, Linux's comes back on the way out. */
	write_cr2(c->cr2);
	run->inject = DUNEHV_INJECT_NONE;
	memcpy(cpu->regs->gpr, run->gpr, sizeof(cpu->regs->gpr));
	vmcs_writenat(VMCS_GUEST_RIP, run->rip);
	vmcs_writenat(VMCS_GUEST_RSP, run->rsp);
	vmcs_writenat(VMCS_GUEST_RFLAGS, dune_sanitize_rflags(run->rflags));
	wrmsr(MSR_IA32_KERNEL_GS_BASE, c->kernel_gs_base);
	if (hv->ctl.dune_time_slice)
		vmcs_write32(VMCS_GUEST_PREEMPTION_TIMER, hv->ctl.dune_time_slice);
	cpu->current_ctx = c;
	cpu->run_gpa = run_gpa;
	cpu->launch_pending = !c->launched;
	if (inject == DUNEHV_INJECT_PAGE_FAULT) {
		/* SDM 27.6.1.2: VM entry delivers the #PF through the context's
		 * IDT, as if its own page tables had refused the access. */
		write_cr2(run->inject_cr2);
		if (!event_try_inject_exception(VEC_PF, true, run->inject_error_code & DUNEHV_PF_ERROR_MASK)) {
			/* a #PF while delivering #DF: the process triple-faulted */
			cpu->exit_reason = EXIT_REASON_TRIPLE_FAULT;
			cpu->exit_qualification = 0;
			return_to_linux(cpu, DUNEHV_CTX_EXIT_UNHANDLED);
		}
	}
	return HC_SWITCHED_TO_DUNE;
}

/* Ends the run: the context's state and the exit go to Linux's struct, Linux
 * resumes after its VMCALL with RAX = 0. */
static void return_to_linux(struct hv_cpu *cpu, u32 exit_kind)
{
	struct dune_ctx *c = cpu->current_ctx;
	struct dunehv_ctx_run *run = phys_to_virt(cpu->run_gpa);
	memcpy(run->gpr, cpu->regs->gpr, sizeof(run->gpr));
	run->rip = vmcs_readnat(VMCS_GUEST_RIP);
	run->rsp = vmcs_readnat(VMCS_GUEST_RSP);
	run->rflags = vmcs_readnat(VMCS_GUEST_RFLAGS);
	run->exit = exit_kind;
	run->vmx_reason = cpu->exit_reason;
	run->qualification = cpu->exit_qualification;
	run->gpa = vmcs_read64(VMCS_GUEST_PHYSICAL_ADDRESS);
	run->gla = vmcs_readnat(VMCS_GUEST_LINEAR_ADDRESS);
	run->intr_info = vmcs_read32(VMCS_EXIT_INTR_INFO);
	run->cpl = guest_cpl();
	run->instruction_length = vmcs_read32(VMCS_EXIT_INSTRUCTION_LENGTH);

	c->kernel_gs_base = rdmsr(MSR_IA32_KERNEL_GS_BASE);
	wrmsr(MSR_IA32_KERNEL_GS_BASE, cpu->linux_kernel_gs_base);
	c->cr2 = read_cr2();
	write_cr2(cpu->linux_cr2);
	c->last_cpu = cpu->index;
	cpu->current_ctx = NULL;
	__atomic_store_n(&c->running, 0, __ATOMIC_RELEASE);

	if (!vmptrld(cpu->vmcs_pa))
		hv_panic(cpu, "VMPTRLD of Linux's VMCS failed");
	*cpu->regs = cpu->linux_regs;
	cpu->regs->gpr[GPR_RAX] = 0;
}

/* VMCALL is the process's system call from ring 0 (dune-abi 1.9). From ring
 * 3 it is never forwarded (upstream's sandbox bypass): the sandboxed code
 * gets #UD, which its ring-0 monitor handles. */
static void dune_vmcall(struct hv_cpu *cpu)
{
	if (guest_cpl() != 0) {
		if (!event_try_inject_exception(VEC_UD, false, 0)) {
			cpu->exit_reason = EXIT_REASON_TRIPLE_FAULT;
			return_to_linux(cpu, DUNEHV_CTX_EXIT_UNHANDLED);
		}
		return;
	}
	guest_skip_instruction();
	return_to_linux(cpu, DUNEHV_CTX_EXIT_SYSCALL);
}

static void dune_exception_or_nmi(struct hv_cpu *cpu)
{
	u32 info = vmcs_read32(VMCS_EXIT_INTR_INFO);
	u32 type = (info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT;
	if (type == INTR_TYPE_NMI) {
		cpu->nmi_pending = true; /* Linux's NMI: delivered when Linux resumes */
		return_to_linux(cpu, DUNEHV_CTX_EXIT_INTERRUPT);
		return;
	}
	u8 vector = (u8)(info & INTR_INFO_VECTOR_MASK);
	return_to_linux(cpu, (vector == VEC_DB || vector == VEC_BP) ? DUNEHV_CTX_EXIT_EXCEPTION : DUNEHV_CTX_EXIT_UNHANDLED);
}

static void dune_interrupt(struct hv_cpu *cpu) { return_to_linux(cpu, DUNEHV_CTX_EXIT_INTERRUPT); }
static void dune_ept_violation(struct hv_cpu *cpu) { return_to_linux(cpu, DUNEHV_CTX_EXIT_EPT); }
static void dune_unhandled(struct hv_cpu *cpu) { return_to_linux(cpu, DUNEHV_CTX_EXIT_UNHANDLED); }

static const struct exit_table dune_exit_table = {
	.handler = {
		[EXIT_REASON_EXCEPTION_NMI] = dune_exception_or_nmi,
		[EXIT_REASON_EXTERNAL_INTERRUPT] = dune_interrupt,
		[EXIT_REASON_CPUID] = guest_emulate_cpuid,
		[EXIT_REASON_VMCALL] = dune_vmcall,
		[EXIT_REASON_EPT_VIOLATION] = dune_ept_violation,
		[EXIT_REASON_PREEMPTION_TIMER] = dune_interrupt, /* time slice over */
	},
	/* Everything else ends the session (DUNE_RET_UNHANDLED_VMEXIT): the
	 * process misbehaved, the machine is fine. */
	.unexpected = dune_unhandled,
};

void dune_vmexit(struct hv_cpu *cpu, u32 full_reason)
{
	struct dune_ctx *c = cpu->current_ctx;
	if (full_reason & EXIT_REASON_ENTRY_FAILURE) {
		/* Bad guest state (SDM 27.8): the context cannot run again. */
		c->broken = true;
		cpu->dune_exits.total++;
		log_printf(&cpu->hv->log, LOG_WARN, "Dune context VM entry failed: reason %#x qualification %#llx", full_reason,
			   (unsigned long long)cpu->exit_qualification);
		return_to_linux(cpu, DUNEHV_CTX_EXIT_UNHANDLED);
		return;
	}
	c->launched = true;
	exit_dispatch(&dune_exit_table, &cpu->dune_exits, cpu, cpu->exit_reason);
}

void dune_entry_instruction_failed(struct hv_cpu *cpu)
{
	struct dune_ctx *c = cpu->current_ctx;
	log_printf(&cpu->hv->log, LOG_ERROR, "VMLAUNCH/VMRESUME of a Dune context failed: VM-instruction error %u",
		   vmcs_read32(VMCS_VM_INSTRUCTION_ERROR));
	c->broken = true;
	cpu->exit_reason = 0xffff;
	return_to_linux(cpu, DUNEHV_CTX_EXIT_UNHANDLED);
}
