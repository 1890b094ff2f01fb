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
#include "init_sipi.h"
#include "smp.h"
#include "vmcs_dune.h"
#include "vmcs_host.h"
#include "vmx_ops.h"

static void return_to_linux(struct hv_cpu *cpu, u32 exit_kind);

s64 hc_ctx_run(struct hv_cpu *cpu, u64 handle, u64 token, u64 run_gpa)
{
	struct hv *hv = cpu->hv;
	int err;
	/* The reference is held for the whole run, dropped in return_to_linux. */
	struct dune_ctx *c = dune_ctx_get(&hv->dune, handle, token, &err);
	if (!c)
		return err;
	s64 r = 0;
	struct dunehv_ctx_run *run = phys_to_virt(run_gpa);
	u32 inject = DUNEHV_INJECT_NONE;
	if (!guest_buffer_ok(hv->boot, run_gpa, sizeof(struct dunehv_ctx_run)))
		r = -HV_EFAULT;
	else if (c->broken)
		r = -HV_EIO;
	else if ((inject = run->inject) != DUNEHV_INJECT_NONE && inject != DUNEHV_INJECT_PAGE_FAULT)
		r = -HV_EINVAL;
	else if (__atomic_exchange_n(&c->running, 1, __ATOMIC_ACQUIRE))
		r = -HV_EBUSY; /* one CPU at a time */
	if (r) {
		dune_ctx_put(&hv->dune, c);
		return r;
	}

	/* A context runs on whichever CPU its Linux thread calls from. Arriving
	 * on another CPU (SDM 25.11.1: a VMCS is active on one CPU at a time):
	 * VMCLEAR on the old CPU, acknowledged, before VMPTRLD here; then flush
	 * the context's VPID and EPTP here, which may hold translations from an
	 * earlier stay or from an earlier user of the VPID (KVM does the same on
	 * vCPU migration). Under c->lock, so that an unmap either sees this CPU
	 * as last_cpu or removed its entries before this flush. */
	smp_spin_lock(cpu, &c->lock);
	bool arriving = c->last_cpu != cpu->index;
	if (arriving) {
		if (c->active && c->last_cpu != DUNE_CTX_NO_CPU && hv->cpus[c->last_cpu]) {
			smp_call(cpu, hv->cpus[c->last_cpu], SMP_REQ_VMCLEAR, c->vmcs_pa);
			__atomic_add_fetch(&hv->dune_migrations, 1, __ATOMIC_RELAXED);
		}
		c->active = false;
		c->launched = false; /* VMCLEAR cleared the launch state */
		c->last_cpu = cpu->index;
		invvpid_single_context(c->vpid);
		invept_single_context(c->eptp);
	}
	c->active = true;
	spin_unlock(&c->lock);

	/* Park Linux: past its VMCALL, registers saved for the way back. */
	guest_skip_instruction();
	cpu->linux_regs = *cpu->regs;
	cpu->linux_kernel_gs_base = rdmsr(MSR_IA32_KERNEL_GS_BASE);
	cpu->linux_cr2 = read_cr2();
	if (!vmptrld(c->vmcs_pa))
		hv_panic(cpu, "VMPTRLD of Dune context failed");
	/* The host-state area names this CPU's stack, GS base and tables. */
	if (arriving && vmcs_write_host_state(hv, cpu))
		hv_panic(cpu, "VMWRITE of a Dune context's host state failed");

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
	cpu->current_ctx = NULL;
	__atomic_store_n(&c->running, 0, __ATOMIC_RELEASE);
	dune_ctx_put(&cpu->hv->dune, c);

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
		/* An IPI (its request is served before the next entry) or Linux's
		 * NMI, delivered when Linux resumes. */
		if (!smp_nmi_is_ipi(cpu))
			cpu->nmi_pending = true;
		return_to_linux(cpu, DUNEHV_CTX_EXIT_INTERRUPT);
		return;
	}
	u8 vector = (u8)(info & INTR_INFO_VECTOR_MASK);
	return_to_linux(cpu, (vector == VEC_DB || vector == VEC_BP) ? DUNEHV_CTX_EXIT_EXCEPTION : DUNEHV_CTX_EXIT_UNHANDLED);
}

static void dune_interrupt(struct hv_cpu *cpu) { return_to_linux(cpu, DUNEHV_CTX_EXIT_INTERRUPT); }

/* An INIT for this CPU while a Dune context ran: the run ends, and the INIT
 * goes to Linux's virtual CPU, whose VMCS is current again. */
static void dune_init_signal(struct hv_cpu *cpu)
{
	return_to_linux(cpu, DUNEHV_CTX_EXIT_INTERRUPT);
	linux_vcpu_init_signal(cpu);
}
static void dune_ept_violation(struct hv_cpu *cpu) { return_to_linux(cpu, DUNEHV_CTX_EXIT_EPT); }
static void dune_unhandled(struct hv_cpu *cpu) { return_to_linux(cpu, DUNEHV_CTX_EXIT_UNHANDLED); }

static const struct exit_table dune_exit_table = {
	.handler = {
		[EXIT_REASON_EXCEPTION_NMI] = dune_exception_or_nmi,
		[EXIT_REASON_EXTERNAL_INTERRUPT] = dune_interrupt,
		[EXIT_REASON_INIT] = dune_init_signal,
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

/* This CPU is about to wait for SIPI (INIT): no Dune VMCS may stay active on
 * it, since it cannot take a VMCLEAR request there (smp_park). */
void dune_release_cpu(struct hv_cpu *cpu)
{
	struct hv *hv = cpu->hv;
	for (unsigned i = 0; i < DUNEHV_CTX_MAX; i++) {
		struct dune_ctx *c = &hv->dune.ctx[i];
		if (!__atomic_load_n(&c->live, __ATOMIC_ACQUIRE) || c->last_cpu != cpu->index || !c->active)
			continue;
		smp_spin_lock(cpu, &c->lock);
		if (c->live && c->last_cpu == cpu->index && c->active) {
			vmclear(c->vmcs_pa); /* SDM 31.3: launch state clear, data in memory */
			c->active = false;
			c->launched = false;
		}
		spin_unlock(&c->lock);
	}
}
