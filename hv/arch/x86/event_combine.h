/* How an exception raised while another event is delivered combines with it
 * (SDM Vol. 3A 6.15 Table 6-5 "Conditions for generating a double fault").
 * Pure: the events are given as interruption-information words (the format
 * of SDM Vol. 3C 25.8.3, the one both VMX and this code use). */
#ifndef HV_EVENT_COMBINE_H
#define HV_EVENT_COMBINE_H

#include "core/types.h"

enum event_combination {
	EVENT_DELIVER_SECOND, /* deliver the new exception (first was benign) */
	EVENT_DOUBLE_FAULT,   /* contributory/page fault on top of one: #DF */
	EVENT_TRIPLE_FAULT,   /* an exception while delivering #DF: shutdown */
};

/* Outcome of raising exception `second` while the event described by the
 * interruption-information word first_info was being delivered. */
enum event_combination event_combine(u32 first_info, u8 second);

/* Whether the exception pushes an error code (SDM Vol. 3A 6.13). */
bool exception_has_error_code(u8 vector);

/* The exception to queue when *vector is raised while the event of
 * pending_info waits for delivery (both backends' injection words share
 * the layout, APM Vol. 2 15.20): unchanged, or #DF with error code 0;
 * *has_error stays only where the vector has one. false: a triple fault. */
bool event_exception_to_queue(u32 pending_info, u8 *vector, bool *has_error, u32 *error_code);

#endif
