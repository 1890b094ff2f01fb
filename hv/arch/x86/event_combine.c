/* Pure part of event injection: SDM Vol. 3A 6.15, Table 6-5. */
#include "arch/x86/event_combine.h"

#include "arch/x86/vmx/vmx_defs.h"

static bool is_contributory(u8 v) { return v == VEC_DE || v == VEC_TS || v == VEC_NP || v == VEC_SS || v == VEC_GP; }

enum event_combination event_combine(u32 first_info, u8 second)
{
	if (!(first_info & INTR_INFO_VALID))
		return EVENT_DELIVER_SECOND;
	u32 type = (first_info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT;
	u8 first = (u8)(first_info & INTR_INFO_VECTOR_MASK);
	if (type != INTR_TYPE_HW_EXCEPTION)
		return EVENT_DELIVER_SECOND; /* interrupts, NMIs, software events are benign */
	if (first == VEC_DF)
		return EVENT_TRIPLE_FAULT;
	bool second_serious = is_contributory(second) || second == VEC_PF;
	if (is_contributory(first) && is_contributory(second))
		return EVENT_DOUBLE_FAULT;
	if (first == VEC_PF && second_serious)
		return EVENT_DOUBLE_FAULT;
	return EVENT_DELIVER_SECOND;
}
