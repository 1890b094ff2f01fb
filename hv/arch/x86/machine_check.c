/* Pure decisions on machine checks (see machine_check.h). */
#include "arch/x86/machine_check.h"

#include "arch/x86/vmx/vmx_defs.h"

enum machine_check_route machine_check_route(enum machine_check_origin origin, u64 mcg_status)
{
	switch (origin) {
	case MC_IN_ROOT:
		return (mcg_status & MCG_STATUS_RIPV) ? MC_HOLD_FOR_LINUX : MC_PANIC;
	case MC_ENTERING_LINUX:
		return MC_HOLD_FOR_LINUX;
	case MC_IN_DUNE:
		return MC_END_DUNE_RUN;
	}
	return MC_PANIC;
}

enum machine_check_delivery machine_check_delivery(u32 queued_info, bool waiting_for_sipi)
{
	if (waiting_for_sipi)
		return MC_DELIVER_DROP;
	return (queued_info & INTR_INFO_VALID) ? MC_DELIVER_AFTER_EVENT : MC_DELIVER_NOW;
}
