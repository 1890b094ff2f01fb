/* VMX exit information (SDM Vol. 3C 28.2 "Recording VM-exit information")
 * decoded into the core's struct hv_exit; the basic exit reason stays as
 * the vendor code the counters are indexed by. */
#include "arch/x86/vmx/event.h"
#include "arch/x86/vmx/vmcs.h"
#include "backend.h"
#include "core/hv.h"

static enum hv_exit_kind kind_of(u32 basic_reason)
{
	switch (basic_reason) {
	case EXIT_REASON_EXTERNAL_INTERRUPT: return HV_EXIT_INTERRUPT;
	case EXIT_REASON_PREEMPTION_TIMER: return HV_EXIT_TIME_SLICE;
	case EXIT_REASON_INIT: return HV_EXIT_INIT;
	case EXIT_REASON_SIPI: return HV_EXIT_SIPI;
	case EXIT_REASON_NMI_WINDOW: return HV_EXIT_NMI_WINDOW;
	case EXIT_REASON_TRIPLE_FAULT: return HV_EXIT_TRIPLE_FAULT;
	case EXIT_REASON_CPUID: return HV_EXIT_CPUID;
	case EXIT_REASON_VMCALL: return HV_EXIT_HYPERCALL;
	case EXIT_REASON_RDMSR: return HV_EXIT_MSR_READ;
	case EXIT_REASON_WRMSR: return HV_EXIT_MSR_WRITE;
	case EXIT_REASON_CR_ACCESS: return HV_EXIT_CR_ACCESS;
	case EXIT_REASON_XSETBV: return HV_EXIT_XSETBV;
	case EXIT_REASON_INVD: return HV_EXIT_INVD;
	case EXIT_REASON_EPT_VIOLATION: return HV_EXIT_GPA_FAULT;
	case EXIT_REASON_IO_INSTRUCTION: return HV_EXIT_IO;
	case EXIT_REASON_GETSEC:
	case EXIT_REASON_VMCLEAR:
	case EXIT_REASON_VMLAUNCH:
	case EXIT_REASON_VMPTRLD:
	case EXIT_REASON_VMPTRST:
	case EXIT_REASON_VMREAD:
	case EXIT_REASON_VMRESUME:
	case EXIT_REASON_VMWRITE:
	case EXIT_REASON_VMXOFF:
	case EXIT_REASON_VMXON:
	case EXIT_REASON_INVEPT:
	case EXIT_REASON_INVVPID:
	case EXIT_REASON_VMFUNC:
		return HV_EXIT_VIRT_INSN;
	default:
		return HV_EXIT_UNKNOWN;
	}
}

/* SDM 28.2.3: after a fault or NMI exit in the middle of an IRET that had
 * unblocked NMIs, blocking by NMI is restored before the guest resumes (or
 * is given an exception instead of the IRET's completion). */
static void restore_nmi_blocking(bool unblocked_by_iret)
{
	if (unblocked_by_iret && !(vmcs_read32(VMCS_IDT_VECTORING_INFO) & INTR_INFO_VALID))
		vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY) | INTERRUPTIBILITY_NMI);
}

void arch_exit_decode(struct hv_cpu *cpu, struct vcpu *v, struct hv_exit *e)
{
	(void)cpu;
	u32 reason = vmcs_read32(VMCS_EXIT_REASON);
	*e = (struct hv_exit){
		.vendor_reason = reason & EXIT_REASON_BASIC_MASK,
		.counter = (u16)(reason & EXIT_REASON_BASIC_MASK),
		.vendor_qualification = vmcs_readnat(VMCS_EXIT_QUALIFICATION),
		.instruction_length = vmcs_read32(VMCS_EXIT_INSTRUCTION_LENGTH),
	};
	if (reason & EXIT_REASON_ENTRY_FAILURE) {
		/* SDM 27.8: the guest state was refused, or (27.9) a machine check
		 * arrived while it was loaded; nothing was delivered either way. */
		e->kind = e->vendor_reason == EXIT_REASON_ENTRY_FAIL_MACHINE_CHECK ? HV_EXIT_MACHINE_CHECK
										   : HV_EXIT_ENTRY_FAILED;
		return;
	}
	v->arch.launched = 1; /* an exit after VMLAUNCH: VMRESUME from now on (SDM 31.3) */
	/* The injection fields held what this entry delivered (SDM 27.6): clear
	 * them, and queue again an event the exit interrupted (28.2.4). */
	vmcs_write32(VMCS_ENTRY_INTR_INFO, 0);
	event_requeue_interrupted();
	e->kind = kind_of(e->vendor_reason);
	if (e->vendor_reason == EXIT_REASON_EXCEPTION_NMI) {
		/* SDM 28.2.2: interruption information of the exception or NMI. */
		u32 info = vmcs_read32(VMCS_EXIT_INTR_INFO);
		restore_nmi_blocking(info & INTR_INFO_NMI_UNBLOCKED_BY_IRET);
		if (((info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT) == INTR_TYPE_NMI) {
			e->kind = HV_EXIT_NMI;
			return;
		}
		e->exception.vector = (u8)(info & INTR_INFO_VECTOR_MASK);
		/* An intercepted #MC: processor state is suspect (SDM 28.1). */
		e->kind = e->exception.vector == VEC_MC ? HV_EXIT_MACHINE_CHECK : HV_EXIT_EXCEPTION;
		e->exception.has_error = info & INTR_INFO_ERROR_CODE_VALID;
		e->exception.error_code = e->exception.has_error ? vmcs_read32(VMCS_EXIT_INTR_ERROR_CODE) : 0;
	} else if (e->kind == HV_EXIT_GPA_FAULT) {
		/* SDM 28.2.1 Table 28-7: EPT-violation exit qualification. */
		u64 q = e->vendor_qualification;
		restore_nmi_blocking(q & EPT_VIOLATION_NMI_UNBLOCKED);
		e->fault.gpa = vmcs_read64(VMCS_GUEST_PHYSICAL_ADDRESS);
		e->fault.access = ((q & EPT_VIOLATION_READ) ? HV_ACCESS_READ : 0) |
				  ((q & EPT_VIOLATION_WRITE) ? HV_ACCESS_WRITE : 0) |
				  ((q & EPT_VIOLATION_FETCH) ? HV_ACCESS_EXEC : 0);
		if (q & EPT_VIOLATION_LINEAR_VALID) {
			e->fault.gla = vmcs_readnat(VMCS_GUEST_LINEAR_ADDRESS);
			e->fault.access |= HV_FAULT_GLA_VALID | ((q & EPT_VIOLATION_LINEAR_FINAL) ? 0 : HV_FAULT_PAGE_WALK);
		}
	} else if (e->kind == HV_EXIT_IO) {
		/* SDM 28.2.1 Table 28-5: size - 1 in bits 2:0, IN in bit 3, string
		 * in bit 4, the port in bits 31:16. */
		u64 q = e->vendor_qualification;
		e->io.size = (u8)((q & 7) + 1);
		e->io.in = q & BIT(3);
		e->io.string = q & BIT(4);
		e->io.port = (u16)(q >> 16);
	} else if (e->kind == HV_EXIT_SIPI) {
		/* SDM 28.2.1 Table 28-1: a SIPI's qualification is its vector. */
		e->sipi_vector = (u8)e->vendor_qualification;
	}
}
