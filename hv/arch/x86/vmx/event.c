/* Event injection on the current VMCS (SDM Vol. 3C 27.2.4, 28.6). */
#include "arch/x86/vmx/event.h"

#include "arch/x86/vmx/vmcs.h"

void event_requeue_interrupted(void)
{
	u32 info = vmcs_read32(VMCS_IDT_VECTORING_INFO);
	if (!(info & INTR_INFO_VALID))
		return;
	/* SDM 28.6.1.1: same format; bit 12 is undefined here and must be 0 on entry. */
	vmcs_write32(VMCS_ENTRY_INTR_INFO, info & ~(u32)INTR_INFO_NMI_UNBLOCKED_BY_IRET);
	if (info & INTR_INFO_ERROR_CODE_VALID)
		vmcs_write32(VMCS_ENTRY_EXCEPTION_ERROR_CODE, vmcs_read32(VMCS_IDT_VECTORING_ERROR_CODE));
	u32 type = (info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT;
	if (type == INTR_TYPE_SW_INTERRUPT || type == INTR_TYPE_PRIV_SW_EXCEPTION || type == INTR_TYPE_SW_EXCEPTION)
		vmcs_write32(VMCS_ENTRY_INSTRUCTION_LENGTH, vmcs_read32(VMCS_EXIT_INSTRUCTION_LENGTH));
}

bool event_try_inject_exception(u8 vector, bool has_error, u32 error_code)
{
	if (!event_exception_to_queue(vmcs_read32(VMCS_ENTRY_INTR_INFO), &vector, &has_error, &error_code))
		return false;
	u32 info = vector | (INTR_TYPE_HW_EXCEPTION << INTR_INFO_TYPE_SHIFT) | INTR_INFO_VALID |
		   (has_error ? INTR_INFO_ERROR_CODE_VALID : 0);
	vmcs_write32(VMCS_ENTRY_INTR_INFO, info);
	if (has_error)
		vmcs_write32(VMCS_ENTRY_EXCEPTION_ERROR_CODE, error_code);
	return true;
}
