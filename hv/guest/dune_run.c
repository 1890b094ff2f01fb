/* Running a Dune context's vCPU on the CPU Linux called from, and coming back.
 *
 * DUNEHV_HC_CTX_RUN arrives as Linux's hypercall. Linux's vCPU stays as it
 * is (its registers in its struct vcpu, RIP already past the hypercall; what
 * the switch leaves in the CPU saved there, backend.h), the context's vCPU is
 * loaded and entered with the registers from Linux's struct dunehv_ctx_run.
 * Exits the hypervisor can answer itself (CPUID, a hypercall from ring 3)
 * resume the context; the others write the context's registers and the exit
 * into the struct and load Linux's vCPU again, with RAX = 0. External
 * interrupts, NMIs, machine checks and the end of a time slice always go back to Linux, so a
 * spinning Dune process stays preemptible and killable, even with interrupts
 * off in its RFLAGS. Nothing here knows the backend's encodings. */
#include <string.h>

#include "arch/x86/arch.h"
#include "arch/x86/spec_barriers.h"
#include "arch/x86/machine_check.h"
#include "backend.h"
#include "core/exit_dispatch.h"
#include "core/guest_mem.h"
#include "core/smp.h"
#include "guest/dune_hypercall.h"
#include "guest/init_sipi.h"
#include "guest/linux_exits.h"

_Static_assert(HV_ACCESS_READ == DUNEHV_ACCESS_READ && HV_ACCESS_WRITE == DUNEHV_ACCESS_WRITE &&
		       HV_ACCESS_EXEC == DUNEHV_ACCESS_EXEC && HV_FAULT_GLA_VALID == DUNEHV_FAULT_GLA_VALID &&
		       HV_FAULT_PAGE_WALK == DUNEHV_FAULT_PAGE_WALK,
	       "fault access bits are the ABI's");

static void return_to_linux(struct hv_cpu *cpu, struct vcpu *v, u32 exit_kind, const struct hv_exit *e);

/* A triple fault the hypervisor itself found (an exception it could not
 * deliver): reported as the backend would have. */
static void end_with_triple_fault(struct hv_cpu *cpu, struct vcpu *v)
{
	const struct hv_exit e = {.kind = HV_EXIT_TRIPLE_FAULT, .vendor_reason = arch_vendor_reason(HV_EXIT_TRIPLE_FAULT)};
	return_to_linux(cpu, v, DUNEHV_CTX_EXIT_UNHANDLED, &e);
}

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
	 * from another CPU, it is first evicted there (acknowledged; SDM 25.11.1:
	 * a VMCS is active on one CPU at a time). Under c->lock, so that an
	 * unmap either sees this CPU as last_cpu or removed its entries before
	 * the flush that loading an arrived vCPU does. */
	struct vcpu *v = &c->vcpu;
	smp_spin_lock(cpu, &c->lock);
	bool arriving = c->last_cpu != cpu->index;
	if (arriving) {
		if (c->last_cpu != DUNE_CTX_NO_CPU && hv->cpus[c->last_cpu]) {
			smp_call(cpu, hv->cpus[c->last_cpu], SMP_REQ_EVICT_VCPU, (u64)(uintptr_t)v);
			__atomic_add_fetch(&hv->dune_migrations, 1, __ATOMIC_RELAXED);
		}
		c->last_cpu = cpu->index;
	}
	spin_unlock(&c->lock);

	/* Linux's vCPU waits; what the switch leaves in the CPU is kept
	 * (backend.h: VMX's KERNEL_GS_BASE and CR2). */
	struct vcpu *linux_vcpu = &cpu->linux_vcpu;
	arch_vcpu_unswitched_save(linux_vcpu);
	arch_vcpu_load(cpu, v, arriving);
	arch_vcpu_unswitched_load(v);
	run->inject = DUNEHV_INJECT_NONE;
	memcpy(v->regs.gpr, run->gpr, sizeof(v->regs.gpr));
	arch_vcpu_set_rip(v, run->rip);
	arch_vcpu_set_rsp(v, run->rsp);
	arch_vcpu_set_rflags(v, run->rflags);
	arch_vcpu_start_time_slice(cpu, v);
	cpu->running_ctx = c;
	cpu->run_gpa = run_gpa;
	if (inject == DUNEHV_INJECT_PAGE_FAULT) {
		/* SDM 27.6.1.2 (APM 15.20): the entry delivers the #PF through
		 * the context's IDT, as if its own page tables had refused the
		 * access. */
		arch_vcpu_set_cr2(v, run->inject_cr2);
		if (!arch_vcpu_inject_exception(v, VEC_PF, true, run->inject_error_code & DUNEHV_PF_ERROR_MASK))
			end_with_triple_fault(cpu, v); /* a #PF while delivering #DF */
	}
	return 0;
}

/* Ends the run: the context's state and the exit go to Linux's struct,
 * Linux's vCPU is loaded again and resumes after its hypercall, RAX = 0. */
static void return_to_linux(struct hv_cpu *cpu, struct vcpu *v, u32 exit_kind, const struct hv_exit *e)
{
	struct dune_ctx *c = cpu->running_ctx;
	struct dunehv_ctx_run *run = phys_to_virt(cpu->run_gpa);
	memcpy(run->gpr, v->regs.gpr, sizeof(run->gpr));
	run->rip = arch_vcpu_rip(v);
	run->rsp = arch_vcpu_rsp(v);
	run->rflags = arch_vcpu_rflags(v);
	run->exit = exit_kind;
	run->cpl = arch_vcpu_cpl(v);
	run->fault_gpa = e->kind == HV_EXIT_GPA_FAULT ? e->fault.gpa : 0;
	run->fault_gla = e->kind == HV_EXIT_GPA_FAULT ? e->fault.gla : 0;
	run->fault_access = e->kind == HV_EXIT_GPA_FAULT ? e->fault.access : 0;
	run->vector = e->kind == HV_EXIT_EXCEPTION ? e->exception.vector : 0;
	run->instruction_length = e->instruction_length;
	run->vendor = arch_vendor();
	run->vendor_reason = e->vendor_reason;
	run->reserved = 0;
	run->vendor_qualification = e->vendor_qualification;

	arch_vcpu_unswitched_save(v);
	spec_barrier_dune_to_linux(); /* before Linux runs in the predictor mode the context had */
	struct vcpu *linux_vcpu = &cpu->linux_vcpu;
	arch_vcpu_unswitched_load(linux_vcpu);
	cpu->running_ctx = NULL;
	__atomic_store_n(&c->running, 0, __ATOMIC_RELEASE);
	dune_ctx_put(&cpu->hv->dune, c);

	arch_vcpu_load(cpu, linux_vcpu, false);
	linux_vcpu->regs.gpr[GPR_RAX] = 0;
}

/* The hypercall instruction is the process's system call from ring 0
 * (dune-abi 1.9). From ring 3 it is never forwarded (upstream's sandbox
 * bypass): the sandboxed code gets #UD, which its ring-0 monitor handles. */
static void dune_hypercall(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	if (arch_vcpu_cpl(v) != 0) {
		if (!arch_vcpu_inject_exception(v, VEC_UD, false, 0))
			end_with_triple_fault(cpu, v);
		return;
	}
	arch_vcpu_skip_instruction(v, e);
	return_to_linux(cpu, v, DUNEHV_CTX_EXIT_SYSCALL, e);
}

/* An IPI (its request is served before the next entry) or Linux's NMI,
 * delivered when Linux's vCPU resumes. */
static void dune_nmi(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	if (!smp_nmi_is_ipi(cpu))
		cpu->linux_vcpu.nmi_pending = true;
	return_to_linux(cpu, v, DUNEHV_CTX_EXIT_INTERRUPT, e);
}

/* #DB and #BP go to Linux (debuggers). A #UD exits only where the backend
 * looks for the hypercall among them (SVM: upstream libdune's VMCALL, which
 * is #UD on AMD); one that is not goes to the process's own IDT. Nothing
 * else is intercepted. */
static void dune_exception(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	u8 vector = e->exception.vector;
	if (vector == VEC_UD) {
		if (!arch_vcpu_inject_exception(v, VEC_UD, false, 0))
			end_with_triple_fault(cpu, v);
		return;
	}
	return_to_linux(cpu, v, (vector == VEC_DB || vector == VEC_BP) ? DUNEHV_CTX_EXIT_EXCEPTION : DUNEHV_CTX_EXIT_UNHANDLED, e);
}

static void dune_interrupt(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	return_to_linux(cpu, v, DUNEHV_CTX_EXIT_INTERRUPT, e);
}

/* An INIT for this CPU while a Dune context ran: the run ends, and the INIT
 * goes to Linux's vCPU, loaded again. */
static void dune_init_signal(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	return_to_linux(cpu, v, DUNEHV_CTX_EXIT_INTERRUPT, e);
	linux_vcpu_init_signal(cpu, &cpu->linux_vcpu, e);
}

void dune_run_end_by_init(struct hv_cpu *cpu)
{
	const struct hv_exit e = {.kind = HV_EXIT_INIT, .vendor_reason = arch_vendor_reason(HV_EXIT_INIT)};
	dune_init_signal(cpu, cpu->current, &e);
}

/* A machine check in the context or during its entry: Linux's handler runs
 * from dune.ko, as for one in the process's user mode (machine_check.h). */
static void dune_machine_check(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	if (machine_check_route(MC_IN_DUNE, 0) == MC_END_DUNE_RUN)
		return_to_linux(cpu, v, DUNEHV_CTX_EXIT_MACHINE_CHECK, e);
}

static void dune_gpa_fault(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	return_to_linux(cpu, v, DUNEHV_CTX_EXIT_FAULT, e);
}

/* Bad guest state (SDM 27.8, e.g. a non-canonical RIP from DUNE_ENTER): the
 * context cannot run again. A process can cause this at will, so the line
 * is rate-limited. */
static void dune_entry_failed(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	cpu->running_ctx->broken = true;
	log_limited(&cpu->hv->log, &cpu->hv->dune_entry_log_limit, rdtsc(), LOG_WARN,
		    "Dune context VM entry failed: reason %u qualification %#llx", e->vendor_reason,
		    (unsigned long long)e->vendor_qualification);
	return_to_linux(cpu, v, DUNEHV_CTX_EXIT_UNHANDLED, e);
}

/* Everything else ends the session (DUNE_RET_UNHANDLED_VMEXIT): the process
 * misbehaved, the machine is fine. */
static void dune_unhandled(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	return_to_linux(cpu, v, DUNEHV_CTX_EXIT_UNHANDLED, e);
}

static const struct exit_table dune_exit_table = {
	.handler = {
		[HV_EXIT_ENTRY_FAILED] = dune_entry_failed,
		[HV_EXIT_EXCEPTION] = dune_exception,
		[HV_EXIT_NMI] = dune_nmi,
		[HV_EXIT_INTERRUPT] = dune_interrupt,
		[HV_EXIT_HOST_NMI] = dune_interrupt, /* taken by the host already; Linux looks at what it left */
		[HV_EXIT_TIME_SLICE] = dune_interrupt,
		[HV_EXIT_INIT] = dune_init_signal,
		[HV_EXIT_CPUID] = guest_emulate_cpuid,
		[HV_EXIT_HYPERCALL] = dune_hypercall,
		[HV_EXIT_GPA_FAULT] = dune_gpa_fault,
		[HV_EXIT_MACHINE_CHECK] = dune_machine_check,
	},
	.unexpected = dune_unhandled,
};

void dune_vmexit(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	exit_dispatch(&dune_exit_table, &cpu->exits[VCPU_DUNE], cpu, v, e);
}

void dune_entry_instruction_failed(struct hv_cpu *cpu, struct vcpu *v, u32 vm_instruction_error)
{
	log_limited(&cpu->hv->log, &cpu->hv->dune_entry_log_limit, rdtsc(), LOG_ERROR,
		    "VM entry of a Dune context failed: VM-instruction error %u", vm_instruction_error);
	cpu->running_ctx->broken = true;
	const struct hv_exit e = {.kind = HV_EXIT_ENTRY_FAILED, .vendor_reason = 0xffff};
	return_to_linux(cpu, v, DUNEHV_CTX_EXIT_UNHANDLED, &e);
}

/* This CPU is about to wait for SIPI (INIT): no Dune vCPU may stay cached on
 * it, since it cannot take an eviction request there (smp_park). */
void dune_release_cpu(struct hv_cpu *cpu)
{
	struct hv *hv = cpu->hv;
	for (unsigned i = 0; i < DUNEHV_CTX_MAX; i++) {
		struct dune_ctx *c = &hv->dune.ctx[i];
		if (!__atomic_load_n(&c->live, __ATOMIC_ACQUIRE) || c->last_cpu != cpu->index)
			continue;
		smp_spin_lock(cpu, &c->lock);
		if (c->live && c->last_cpu == cpu->index)
			arch_vcpu_evict(&c->vcpu);
		spin_unlock(&c->lock);
	}
}
