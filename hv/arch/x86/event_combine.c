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

bool exception_has_error_code(u8 vector)
{
	return vector == VEC_DF || (vector >= VEC_TS && vector <= VEC_PF) || vector == VEC_AC;
}

bool event_exception_to_queue(u32 pending_info, u8 *vector, bool *has_error, u32 *error_code)
{
	switch (event_combine(pending_info, *vector)) {
	case EVENT_TRIPLE_FAULT:
		return false;
	case EVENT_DOUBLE_FAULT:
		*vector = VEC_DF;
		*has_error = true;
		*error_code = 0;
		break;
	case EVENT_DELIVER_SECOND:
		break;
	}
	*has_error = *has_error && exception_has_error_code(*vector);
	return true;
}
