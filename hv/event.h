/* Event injection into the guest (SDM Vol. 3C 27.2.4 IDT-vectoring info,
 * 28.6 event injection; Vol. 3A 6.15 Table 6-5 double-fault conditions). */
#ifndef HV_EVENT_H
#define HV_EVENT_H

#include "types.h"

enum event_combination {
	EVENT_DELIVER_SECOND, /* deliver the new exception (first was benign) */
	EVENT_DOUBLE_FAULT,   /* contributory/page fault on top of one: #DF */
	EVENT_TRIPLE_FAULT,   /* an exception while delivering #DF: shutdown */
};

/* Outcome of raising exception `second` while the event described by the
 * interruption-information word first_info was being delivered (pure). */
enum event_combination event_combine(u32 first_info, u8 second);

struct hv_cpu;

/* Re-queues an event whose delivery the VM exit interrupted (ACRN's lesson):
 * copies IDT-vectoring information into the VM-entry injection fields. */
void event_requeue_interrupted(struct hv_cpu *cpu);

/* Injects hardware exception vector (error code if has_error) at the next
 * VM entry, combining with a re-queued event per Table 6-5; false (nothing
 * injected) when the combination is a triple fault. */
bool event_try_inject_exception(u8 vector, bool has_error, u32 error_code);

/* Linux's guest: as above, and a triple fault stops the machine. */
void event_inject_exception(struct hv_cpu *cpu, u8 vector, bool has_error, u32 error_code);

#endif
