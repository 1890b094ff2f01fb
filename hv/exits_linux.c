/* VM-exit handlers for Linux as the guest, and the one dispatch table that
 * routes exits to them (SDM Vol. 3C Chapter 26 "Instructions that cause VM
 * exits", Chapter 28 "VM exits"). */
#include "arch.h"
#include "event.h"
#include "exit_dispatch.h"
#include "guest_state.h"
#include "dune_hypercall.h"
#include "hypercall.h"
#include "init_sipi.h"
#include "smp.h"
#include "vmcs_linux.h"

static struct log_ring *cpu_log(struct hv_cpu *cpu) { return &cpu->hv->log; }

static bool is_vmx_msr(u32 msr) { return msr >= MSR_IA32_VMX_FIRST && msr <= MSR_IA32_VMX_LAST + 1; }

/* RDMSR (SDM 26.1.3; MSR bitmap 25.6.9): VMX MSRs do not exist for Linux,
 * FEATURE_CONTROL reads as locked with VMX off, MSRs outside the bitmap's
 * ranges are read natively and #GP if the CPU refuses. */
static void handle_rdmsr(struct hv_cpu *cpu)
{
	struct guest_regs *r = cpu->regs;
	u32 msr = (u32)r->gpr[GPR_RCX];
	u64 value;
	if (is_vmx_msr(msr)) {
		event_inject_exception(cpu, VEC_GP, true, 0);
		return;
	}
	if (msr == MSR_IA32_FEATURE_CONTROL) {
		value = (rdmsr(MSR_IA32_FEATURE_CONTROL) & ~(FEATURE_CONTROL_VMX_INSIDE_SMX | FEATURE_CONTROL_VMX_OUTSIDE_SMX)) |
			FEATURE_CONTROL_LOCKED;
	} else if (msr_safe_read(msr, &value)) {
		event_inject_exception(cpu, VEC_GP, true, 0);
		return;
	}
	r->gpr[GPR_RAX] = (u32)value;
	r->gpr[GPR_RDX] = value >> 32;
	guest_skip_instruction();
}

/* WRMSR: VMX and FEATURE_CONTROL writes #GP (locked); IA32_APIC_BASE may not
 * move the APIC window onto the hypervisor's memory; others run natively. */
static void handle_wrmsr(struct hv_cpu *cpu)
{
	struct hv *hv = cpu->hv;
	struct guest_regs *r = cpu->regs;
	u32 msr = (u32)r->gpr[GPR_RCX];
	u64 value = ((r->gpr[GPR_RDX] & 0xffffffffull) << 32) | (r->gpr[GPR_RAX] & 0xffffffffull);
	if (is_vmx_msr(msr) || msr == MSR_IA32_FEATURE_CONTROL) {
		event_inject_exception(cpu, VEC_GP, true, 0);
		return;
	}
	if (msr == MSR_IA32_APIC_BASE &&
	    ranges_overlap(value & ~0xfffull & ((1ull << hv->facts.phys_addr_bits) - 1), PAGE_SIZE,
			   hv->boot->hv_phys_base, hv->boot->hv_phys_size)) {
		log_printf(cpu_log(cpu), LOG_WARN, "refused IA32_APIC_BASE = %#llx: inside hypervisor memory",
			   (unsigned long long)value);
		event_inject_exception(cpu, VEC_GP, true, 0);
		return;
	}
	if (msr_safe_write(msr, value)) {
		event_inject_exception(cpu, VEC_GP, true, 0);
		return;
	}
	guest_skip_instruction();
}

/* MOV to CR0/CR4 that touches a host-owned bit (SDM 26.1.3, 28.2.1 Table 28-3). */
static void handle_cr_access(struct hv_cpu *cpu)
{
	const struct vmx_controls *c = &cpu->hv->ctl;
	u64 q = cpu->exit_qualification;
	unsigned cr = q & 0xf, access = (q >> 4) & 3, reg = (q >> 8) & 0xf;
	if (access != 0 || (cr != 0 && cr != 4)) {
		vmcs_dump(cpu);
		hv_panic(cpu, "unexpected control-register access (qualification %#llx)", (unsigned long long)q);
	}
	u64 value = guest_gpr(cpu, reg);
	if (value >> 32) {
		event_inject_exception(cpu, VEC_GP, true, 0);
		return;
	}
	if (cr == 0) {
		/* SDM 2.5 / 11.5.1: PG without PE and NW without CD are invalid. */
		if (((value & CR0_PG) && !(value & CR0_PE)) || ((value & BIT(29)) && !(value & BIT(30)))) {
			event_inject_exception(cpu, VEC_GP, true, 0);
			return;
		}
		u64 old = vmcs_readnat(VMCS_GUEST_CR0);
		u64 efer = vmcs_read64(VMCS_GUEST_IA32_EFER);
		u32 entry = vmcs_read32(VMCS_ENTRY_CONTROLS);
		/* IA-32e mode follows PG when EFER.LME is set (SDM 10.8.5). */
		if (!(old & CR0_PG) && (value & CR0_PG) && (efer & EFER_LME)) {
			efer |= EFER_LMA;
			entry |= ENTRY_IA32E_MODE_GUEST;
		} else if ((old & CR0_PG) && !(value & CR0_PG) && (efer & EFER_LMA)) {
			efer &= ~EFER_LMA;
			entry &= ~(u32)ENTRY_IA32E_MODE_GUEST;
		}
		vmcs_write64(VMCS_GUEST_IA32_EFER, efer);
		vmcs_write32(VMCS_ENTRY_CONTROLS, entry);
		vmcs_writenat(VMCS_GUEST_CR0, vmx_fixed_cr0(c, value, true));
		vmcs_writenat(VMCS_CR0_READ_SHADOW, value);
	} else {
		/* Linux may not enable VMX (hidden in CPUID) nor bits the CPU lacks. */
		if ((value & CR4_VMXE) || (value & ~c->cr4_fixed1)) {
			event_inject_exception(cpu, VEC_GP, true, 0);
			return;
		}
		vmcs_writenat(VMCS_GUEST_CR4, vmx_fixed_cr4(c, value | CR4_VMXE));
		vmcs_writenat(VMCS_CR4_READ_SHADOW, value);
	}
	guest_skip_instruction();
}

/* XSETBV always exits (SDM 26.1.2); replayed after the checks of SDM Vol. 1
 * 13.3 so the host never takes a #GP on the guest's behalf. */
static void handle_xsetbv(struct hv_cpu *cpu)
{
	struct guest_regs *r = cpu->regs;
	u64 value = ((r->gpr[GPR_RDX] & 0xffffffffull) << 32) | (r->gpr[GPR_RAX] & 0xffffffffull);
	u32 index = (u32)r->gpr[GPR_RCX];
	bool ok = index == 0 && guest_cpl() == 0 && (guest_visible_cr4() & CR4_OSXSAVE) &&
		  (value & 1) && !(value & ~cpu->hv->xcr0_supported) && !((value & 4) && !(value & 2)) &&
		  /* AVX-512 state components go together and need AVX */
		  (((value >> 5) & 7) == 0 || (((value >> 5) & 7) == 7 && (value & 4)));
	if (!ok) {
		event_inject_exception(cpu, VEC_GP, true, 0);
		return;
	}
	xsetbv(0, value);
	guest_skip_instruction();
}

/* INVD would drop the hypervisor's dirty cache lines: write back instead. */
static void handle_invd(struct hv_cpu *cpu)
{
	(void)cpu;
	wbinvd();
	guest_skip_instruction();
}

/* VMX instructions, GETSEC: Linux was told there is no VMX/SMX, so #UD. */
static void handle_undefined_instruction(struct hv_cpu *cpu) { event_inject_exception(cpu, VEC_UD, false, 0); }

/* EPT violation (SDM 29.3.3.2, qualification Table 28-7). Linux's identity map
 * lacks only the hypervisor's memory: the access is refused with a fault the
 * guest handles (kernel: #PF with RSVD set, which Linux's fixup turns into
 * -EFAULT without retrying; user: #GP, i.e. SIGSEGV), counted and logged. */
static void handle_ept_violation(struct hv_cpu *cpu)
{
	struct hv *hv = cpu->hv;
	u64 q = cpu->exit_qualification;
	u64 gpa = vmcs_read64(VMCS_GUEST_PHYSICAL_ADDRESS);
	u64 gla = vmcs_readnat(VMCS_GUEST_LINEAR_ADDRESS);
	bool in_hv = ranges_overlap(gpa, 1, hv->boot->hv_phys_base, hv->boot->hv_phys_size);
	u64 n = in_hv ? __atomic_add_fetch(&hv->hv_memory_violations, 1, __ATOMIC_RELAXED) : 0;
	if (!in_hv || n <= 16 || (n & (n - 1)) == 0) /* rate-limited: 16, then powers of two */
		log_printf(cpu_log(cpu), LOG_WARN, "EPT violation #%llu: %s%s%s at gpa %#llx gla %#llx rip %#llx (%s)",
			   (unsigned long long)n, (q & EPT_VIOLATION_READ) ? "r" : "", (q & EPT_VIOLATION_WRITE) ? "w" : "",
			   (q & EPT_VIOLATION_FETCH) ? "x" : "", (unsigned long long)gpa, (unsigned long long)gla,
			   (unsigned long long)vmcs_readnat(VMCS_GUEST_RIP),
			   in_hv ? "hypervisor memory" : "unmapped guest-physical address");
	/* SDM 28.2.3: restore NMI blocking that an IRET cleared before the fault. */
	if ((q & EPT_VIOLATION_NMI_UNBLOCKED) && !(vmcs_read32(VMCS_IDT_VECTORING_INFO) & INTR_INFO_VALID))
		vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY) | INTERRUPTIBILITY_NMI);
	if (guest_cpl() == 0 && (q & EPT_VIOLATION_LINEAR_VALID)) {
		u32 error = BIT(0) /* P */ | BIT(3) /* RSVD */ | ((q & EPT_VIOLATION_WRITE) ? BIT(1) : 0) |
			    ((q & EPT_VIOLATION_FETCH) ? BIT(4) : 0);
		__asm__ volatile("mov %0, %%cr2" ::"r"(gla)); /* CR2 is not switched by VMX */
		event_inject_exception(cpu, VEC_PF, true, error);
	} else {
		event_inject_exception(cpu, VEC_GP, true, 0);
	}
}

static void handle_triple_fault(struct hv_cpu *cpu)
{
	vmcs_dump(cpu);
	hv_panic(cpu, "Linux triple-faulted (a crash, or a reboot by triple fault)");
}

/* VMCALL: dunehv hypercalls, from Linux ring 0 only (others get #UD). */
static void handle_vmcall(struct hv_cpu *cpu)
{
	if (guest_cpl() != 0) {
		event_inject_exception(cpu, VEC_UD, false, 0);
		return;
	}
	s64 result = hypercall_linux(cpu, cpu->regs);
	if (result == HC_SWITCHED_TO_DUNE)
		return; /* Linux is parked; it resumes when the context exits */
	cpu->regs->gpr[GPR_RAX] = (u64)result;
	guest_skip_instruction();
}

/* With NMI exiting, every NMI exits (SDM 26.2): one of the hypervisor's
 * IPIs (served before the next entry), or Linux's own, delivered to it. */
static void handle_exception_or_nmi(struct hv_cpu *cpu)
{
	u32 info = vmcs_read32(VMCS_EXIT_INTR_INFO);
	if (((info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT) != INTR_TYPE_NMI) {
		vmcs_dump(cpu);
		hv_panic(cpu, "exception exit from Linux (interruption info %#x), but the bitmap is empty", info);
	}
	/* SDM 28.2.3: restore NMI blocking an IRET cleared before the exit. */
	if ((info & INTR_INFO_NMI_UNBLOCKED_BY_IRET) && !(vmcs_read32(VMCS_IDT_VECTORING_INFO) & INTR_INFO_VALID))
		vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY) | INTERRUPTIBILITY_NMI);
	if (!smp_nmi_is_ipi(cpu))
		cpu->nmi_pending = true;
}

/* Linux unblocked NMIs (SDM 26.7.6): the pending one goes in now. */
static void handle_nmi_window(struct hv_cpu *cpu)
{
	(void)cpu;
	vmcs_write32(VMCS_PROC_BASED_CONTROLS, vmcs_read32(VMCS_PROC_BASED_CONTROLS) & ~(u32)PROC_NMI_WINDOW_EXITING);
}

static void handle_unexpected(struct hv_cpu *cpu)
{
	vmcs_dump(cpu);
	hv_panic(cpu, "unexpected VM exit, reason %u (%s)", cpu->exit_reason, vmx_exit_reason_name(cpu->exit_reason));
}

static const struct exit_table linux_exit_table = {
	.handler = {
		[EXIT_REASON_EXCEPTION_NMI] = handle_exception_or_nmi,
		[EXIT_REASON_TRIPLE_FAULT] = handle_triple_fault,
		[EXIT_REASON_INIT] = linux_vcpu_init_signal,
		[EXIT_REASON_SIPI] = linux_vcpu_sipi,
		[EXIT_REASON_NMI_WINDOW] = handle_nmi_window,
		[EXIT_REASON_CPUID] = guest_emulate_cpuid,
		[EXIT_REASON_GETSEC] = handle_undefined_instruction,
		[EXIT_REASON_INVD] = handle_invd,
		[EXIT_REASON_VMCALL] = handle_vmcall,
		[EXIT_REASON_VMCLEAR] = handle_undefined_instruction,
		[EXIT_REASON_VMLAUNCH] = handle_undefined_instruction,
		[EXIT_REASON_VMPTRLD] = handle_undefined_instruction,
		[EXIT_REASON_VMPTRST] = handle_undefined_instruction,
		[EXIT_REASON_VMREAD] = handle_undefined_instruction,
		[EXIT_REASON_VMRESUME] = handle_undefined_instruction,
		[EXIT_REASON_VMWRITE] = handle_undefined_instruction,
		[EXIT_REASON_VMXOFF] = handle_undefined_instruction,
		[EXIT_REASON_VMXON] = handle_undefined_instruction,
		[EXIT_REASON_CR_ACCESS] = handle_cr_access,
		[EXIT_REASON_RDMSR] = handle_rdmsr,
		[EXIT_REASON_WRMSR] = handle_wrmsr,
		[EXIT_REASON_EPT_VIOLATION] = handle_ept_violation,
		[EXIT_REASON_INVEPT] = handle_undefined_instruction,
		[EXIT_REASON_INVVPID] = handle_undefined_instruction,
		[EXIT_REASON_XSETBV] = handle_xsetbv,
		[EXIT_REASON_VMFUNC] = handle_undefined_instruction,
	},
	.unexpected = handle_unexpected,
};

/* Gives Linux an NMI meant for it (SDM 28.6); while Linux blocks NMIs, or
 * another event goes in first, NMI-window exiting asks for the next chance
 * (SDM 26.7.6, virtual NMIs). A CPU waiting for SIPI takes no NMI. */
static void deliver_pending_nmi(struct hv_cpu *cpu)
{
	if (!cpu->nmi_pending)
		return;
	if (vmcs_read32(VMCS_GUEST_ACTIVITY_STATE) == 3 /* wait-for-SIPI */) {
		cpu->nmi_pending = false;
		return;
	}
	if ((vmcs_read32(VMCS_ENTRY_INTR_INFO) & INTR_INFO_VALID) ||
	    (vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY) & (INTERRUPTIBILITY_NMI | INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))) {
		vmcs_write32(VMCS_PROC_BASED_CONTROLS, vmcs_read32(VMCS_PROC_BASED_CONTROLS) | PROC_NMI_WINDOW_EXITING);
		return;
	}
	cpu->nmi_pending = false;
	vmcs_write32(VMCS_ENTRY_INTR_INFO, VEC_NMI | (INTR_TYPE_NMI << INTR_INFO_TYPE_SHIFT) | INTR_INFO_VALID);
}

/* Called by vmexit_entry (entry.asm) with the guest's registers. */
void vmexit_handler(struct guest_regs *regs)
{
	struct hv_cpu *cpu = this_cpu();
	u32 reason = vmcs_read32(VMCS_EXIT_REASON);
	cpu->regs = regs;
	cpu->exit_reason = reason & EXIT_REASON_BASIC_MASK;
	cpu->exit_qualification = vmcs_readnat(VMCS_EXIT_QUALIFICATION);
	if (cpu->current_ctx) { /* a Dune context exited (dune_run.c) */
		if (!(reason & EXIT_REASON_ENTRY_FAILURE)) {
			vmcs_write32(VMCS_ENTRY_INTR_INFO, 0);
			event_requeue_interrupted(cpu);
		}
		dune_vmexit(cpu, reason);
		if (!cpu->current_ctx)
			deliver_pending_nmi(cpu); /* back in Linux */
		smp_serve(cpu);
		cpu->regs = NULL;
		return;
	}
	if (reason & EXIT_REASON_ENTRY_FAILURE) {
		vmcs_dump(cpu);
		hv_panic(cpu, "VM entry failed, reason %u (%s), qualification %llu", cpu->exit_reason,
			 vmx_exit_reason_name(cpu->exit_reason), (unsigned long long)cpu->exit_qualification);
	}
	vmcs_write32(VMCS_ENTRY_INTR_INFO, 0);
	event_requeue_interrupted(cpu);
	exit_dispatch(&linux_exit_table, &cpu->linux_exits, cpu, cpu->exit_reason);
	if (!cpu->current_ctx)
		deliver_pending_nmi(cpu);
	smp_serve(cpu);
	cpu->regs = NULL;
}

/* VMLAUNCH/VMRESUME returned (SDM 31.4 VM-instruction errors). For a Dune
 * context Linux gets the failure back; for Linux itself the machine stops. */
void vm_entry_instruction_failed(struct guest_regs *regs)
{
	struct hv_cpu *cpu = this_cpu();
	cpu->regs = regs;
	if (cpu->current_ctx) {
		dune_entry_instruction_failed(cpu);
		cpu->regs = NULL;
		return;
	}
	vmcs_dump(cpu);
	hv_panic(cpu, "VMRESUME of Linux failed, VM-instruction error %u", vmcs_read32(VMCS_VM_INSTRUCTION_ERROR));
}
