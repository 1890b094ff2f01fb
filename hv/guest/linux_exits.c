/* VM-exit handlers of Linux's vCPUs, and the one dispatch table that routes
 * their exits (SDM Vol. 3C Chapter 26 "Instructions that cause VM exits",
 * Chapter 28 "VM exits"), on the core's decoded exits (core/exit.h). */
#include "arch/x86/apic_icr.h"
#include "arch/x86/arch.h"
#include "arch/x86/linux_msr_policy.h"
#include "arch/x86/xcr0.h"
#include "arch/x86/machine_check.h"
#include "backend.h"
#include "core/exit_dispatch.h"
#include "core/hypercall.h"
#include "core/smp.h"
#include "guest/acpi_sleep_guard.h"
#include "guest/apic_icr.h"
#include "guest/dune_hypercall.h"
#include "guest/init_sipi.h"
#include "guest/linux_exits.h"

/* RDMSR (SDM 26.1.3, MSR bitmap 25.6.9; APM Vol. 2 15.11): the backend's
 * own MSRs as it says (VMX's do not exist for Linux, SVM's EFER is the
 * VMCB's), the MTRRs from Linux's copy (core/mtrr.h), MSRs outside the
 * bitmap's ranges are read natively and #GP if the CPU refuses. */
static void handle_rdmsr(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	struct guest_regs *r = &v->regs;
	u32 msr = (u32)r->gpr[GPR_RCX];
	u64 value;
	enum arch_msr_result own = arch_linux_msr_read(cpu, v, msr, &value);
	if (own == ARCH_MSR_FAULT) {
		linux_vcpu_inject(cpu, v, VEC_GP, true, 0);
		return;
	}
	if (own == ARCH_MSR_DONE) {
		/* value is set */
	} else if (mtrr_msr_exists(&cpu->linux_mtrr, msr)) {
		value = mtrr_shadow_read(&cpu->linux_mtrr, msr);
	} else if (msr_safe_read(msr, &value)) {
		linux_vcpu_inject(cpu, v, VEC_GP, true, 0);
		return;
	}
	r->gpr[GPR_RAX] = (u32)value;
	r->gpr[GPR_RDX] = value >> 32;
	arch_vcpu_skip_instruction(v, e);
}

/* WRMSR: the backend's own MSRs as it says (VMX's and FEATURE_CONTROL #GP,
 * SVM's EFER keeps SVME), the trace and PEBS MSRs #GP
 * (arch/x86/linux_msr_policy.h); the MTRRs go to Linux's copy
 * (core/mtrr.h) after the CPU's checks; IA32_APIC_BASE may not move the APIC
 * window onto the hypervisor's memory; others run natively. */
static void handle_wrmsr(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	struct hv *hv = cpu->hv;
	struct guest_regs *r = &v->regs;
	u32 msr = (u32)r->gpr[GPR_RCX];
	u64 value = ((r->gpr[GPR_RDX] & 0xffffffffull) << 32) | (r->gpr[GPR_RAX] & 0xffffffffull);
	enum arch_msr_result own = arch_linux_msr_write(cpu, v, msr, value);
	if (own == ARCH_MSR_FAULT || (own == ARCH_MSR_NOT_MINE && linux_may_not_write_msr(msr))) {
		linux_vcpu_inject(cpu, v, VEC_GP, true, 0);
		return;
	}
	if (own == ARCH_MSR_DONE) {
		arch_vcpu_skip_instruction(v, e);
		return;
	}
	if (msr == MSR_X2APIC_ICR) { /* intercepted where INIT/SIPI are emulated (apic_icr.c) */
		if (linux_x2apic_icr_write(cpu, value))
			arch_vcpu_skip_instruction(v, e);
		else
			linux_vcpu_inject(cpu, v, VEC_GP, true, 0);
		return;
	}
	if (mtrr_msr_exists(&cpu->linux_mtrr, msr)) {
		if (mtrr_shadow_write(&cpu->linux_mtrr, msr, value))
			arch_vcpu_skip_instruction(v, e);
		else
			linux_vcpu_inject(cpu, v, VEC_GP, true, 0);
		return;
	}
	if (msr == MSR_IA32_APIC_BASE &&
	    ranges_overlap(value & ~0xfffull & ((1ull << hv->phys_addr_bits) - 1), PAGE_SIZE,
			   hv->boot->hv_phys_base, hv->boot->hv_phys_size)) {
		log_printf(&cpu->hv->log, LOG_WARN, "refused IA32_APIC_BASE = %#llx: inside hypervisor memory",
			   (unsigned long long)value);
		linux_vcpu_inject(cpu, v, VEC_GP, true, 0);
		return;
	}
	if (msr_safe_write(msr, value)) {
		linux_vcpu_inject(cpu, v, VEC_GP, true, 0);
		return;
	}
	arch_vcpu_skip_instruction(v, e);
}

/* XSETBV always exits (SDM 26.1.2); replayed after the checks of SDM Vol. 1
 * 13.3 so the host never takes a #GP on the guest's behalf. */
static void handle_xsetbv(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	struct guest_regs *r = &v->regs;
	u64 value = ((r->gpr[GPR_RDX] & 0xffffffffull) << 32) | (r->gpr[GPR_RAX] & 0xffffffffull);
	u32 index = (u32)r->gpr[GPR_RCX];
	bool ok = index == 0 && arch_vcpu_cpl(v) == 0 && (arch_vcpu_visible_cr4(v) & CR4_OSXSAVE) &&
		  xcr0_valid(value, cpu->hv->xcr0_supported);
	if (!ok) {
		linux_vcpu_inject(cpu, v, VEC_GP, true, 0);
		return;
	}
	xsetbv(0, value);
	arch_vcpu_skip_instruction(v, e);
}

/* INVD would drop the hypervisor's dirty cache lines: write back instead. */
static void handle_invd(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	(void)cpu;
	wbinvd();
	arch_vcpu_skip_instruction(v, e);
}

/* VMX instructions, GETSEC: Linux was told there is no VMX/SMX, so #UD. */
static void handle_undefined_instruction(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	(void)e;
	linux_vcpu_inject(cpu, v, VEC_UD, false, 0);
}

/* A guest-physical fault (EPT violation, SDM 29.3.3.2). Linux's identity map
 * lacks only the hypervisor's memory: the access is refused with a fault the
 * guest handles (kernel: #PF with RSVD set, which Linux's fixup turns into
 * -EFAULT without retrying; user: #GP, i.e. SIGSEGV), counted and logged. */
static void handle_gpa_fault(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	struct hv *hv = cpu->hv;
	u64 gpa = e->fault.gpa, gla = e->fault.gla;
	u32 access = e->fault.access;
	bool in_hv = ranges_overlap(gpa, 1, hv->boot->hv_phys_base, hv->boot->hv_phys_size);
	u64 n = in_hv ? __atomic_add_fetch(&hv->hv_memory_violations, 1, __ATOMIC_RELAXED) : 0;
	if (!in_hv || n <= 16 || (n & (n - 1)) == 0) /* rate-limited: 16, then powers of two */
		log_printf(&hv->log, LOG_WARN, "%s #%llu: %s%s%s at gpa %#llx gla %#llx rip %#llx (%s)", ARCH_GPA_FAULT_NAME,
			   (unsigned long long)n, (access & HV_ACCESS_READ) ? "r" : "", (access & HV_ACCESS_WRITE) ? "w" : "",
			   (access & HV_ACCESS_EXEC) ? "x" : "", (unsigned long long)gpa, (unsigned long long)gla,
			   (unsigned long long)arch_vcpu_rip(v), in_hv ? "hypervisor memory" : "unmapped guest-physical address");
	if (arch_vcpu_cpl(v) == 0 && (access & HV_FAULT_GLA_VALID)) {
		u32 error = BIT(0) /* P */ | BIT(3) /* RSVD */ | ((access & HV_ACCESS_WRITE) ? BIT(1) : 0) |
			    ((access & HV_ACCESS_EXEC) ? BIT(4) : 0);
		arch_vcpu_set_cr2(v, gla); /* VMX: not switched (SDM 27.3.1), the CPU's; SVM: the VMCB's */
		linux_vcpu_inject(cpu, v, VEC_PF, true, error);
	} else {
		linux_vcpu_inject(cpu, v, VEC_GP, true, 0);
	}
}

static void handle_triple_fault(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	(void)e;
	arch_vcpu_dump(cpu, v);
	hv_panic(cpu, "Linux triple-faulted (a crash, or a reboot by triple fault)");
}

/* VMCALL: dunehv hypercalls, from Linux ring 0 only (others get #UD). The
 * VMCALL is done either way: RIP moves past it first. DUNEHV_HC_CTX_RUN may
 * switch this CPU to a Dune context; Linux's RAX is then written when the
 * run ends. */
static void handle_hypercall(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	if (arch_vcpu_cpl(v) != 0) {
		linux_vcpu_inject(cpu, v, VEC_UD, false, 0);
		return;
	}
	arch_vcpu_skip_instruction(v, e);
	s64 result = hypercall_linux(cpu, v);
	if (cpu->current == v)
		v->regs.gpr[GPR_RAX] = (u64)result;
}

/* A machine check while Linux's vCPU was entered (SDM 27.9): held for
 * Linux's own handler, at the instruction the entry was to resume. (One
 * while Linux runs never exits: its exception bitmap is empty.) */
static void handle_machine_check(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	(void)e;
	if (machine_check_route(MC_ENTERING_LINUX, 0) == MC_HOLD_FOR_LINUX)
		v->mce_pending = true;
	log_printf(&cpu->hv->log, LOG_WARN, "machine check during VM entry of Linux: given to Linux's handler");
}

/* The exception bitmap of Linux's VMCS is empty: an exception exit is a bug. */
static void handle_exception(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	arch_vcpu_dump(cpu, v);
	hv_panic(cpu, "exception %u exit from Linux, but the exception bitmap is empty", e->exception.vector);
}

/* With NMI exiting, every NMI exits (SDM 26.2): one of the hypervisor's
 * IPIs (served before the next entry), or Linux's own, delivered to it. */
static void handle_nmi(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	(void)e;
	if (!smp_nmi_is_ipi(cpu))
		v->nmi_pending = true;
}

/* Linux can take the held #MC or NMI now (SDM 26.7.6): it goes in at this
 * entry (arch_vcpu_deliver_events, before it, turns the window exits off). */
static void handle_nmi_window(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	(void)cpu;
	(void)v;
	(void)e;
}

/* The host's NMI handler took it already (smp_nmi_is_ipi there). */
static void handle_host_nmi(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	(void)cpu;
	(void)v;
	(void)e;
}

static void handle_cr_access(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e) { arch_linux_cr_access(cpu, v, e); }

static void handle_nmi_iret(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e) { arch_linux_nmi_iret(cpu, v, e); }

static void handle_entry_failed(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	arch_vcpu_dump(cpu, v);
	hv_panic(cpu, "VM entry of Linux failed, reason %u (%s), qualification %llu", e->vendor_reason,
		 arch_exit_reason_name(e->vendor_reason), (unsigned long long)e->vendor_qualification);
}

static void handle_unexpected(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	arch_vcpu_dump(cpu, v);
	hv_panic(cpu, "unexpected VM exit of Linux, reason %u (%s)", e->vendor_reason, arch_exit_reason_name(e->vendor_reason));
}

static const struct exit_table linux_exit_table = {
	.handler = {
		[HV_EXIT_ENTRY_FAILED] = handle_entry_failed,
		[HV_EXIT_EXCEPTION] = handle_exception,
		[HV_EXIT_NMI] = handle_nmi,
		[HV_EXIT_HOST_NMI] = handle_host_nmi,
		[HV_EXIT_TRIPLE_FAULT] = handle_triple_fault,
		[HV_EXIT_INIT] = linux_vcpu_init_signal,
		[HV_EXIT_SIPI] = linux_vcpu_sipi,
		[HV_EXIT_NMI_WINDOW] = handle_nmi_window,
		[HV_EXIT_CPUID] = guest_emulate_cpuid,
		[HV_EXIT_VIRT_INSN] = handle_undefined_instruction,
		[HV_EXIT_INVD] = handle_invd,
		[HV_EXIT_HYPERCALL] = handle_hypercall,
		[HV_EXIT_CR_ACCESS] = handle_cr_access,
		[HV_EXIT_MSR_READ] = handle_rdmsr,
		[HV_EXIT_MSR_WRITE] = handle_wrmsr,
		[HV_EXIT_GPA_FAULT] = handle_gpa_fault,
		[HV_EXIT_XSETBV] = handle_xsetbv,
		[HV_EXIT_MACHINE_CHECK] = handle_machine_check,
		[HV_EXIT_IO] = acpi_sleep_guard_io,
		[HV_EXIT_APIC_WRITE] = linux_apic_write,
		[HV_EXIT_NMI_IRET] = handle_nmi_iret,
	},
	.unexpected = handle_unexpected,
};

void linux_vmexit(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	exit_dispatch(&linux_exit_table, &cpu->exits[VCPU_LINUX], cpu, v, e);
}
