/* Event injection on the current VMCS (SDM Vol. 3C 27.2.4 IDT-vectoring
 * information, 28.6 event injection). */
#ifndef HV_EVENT_H
#define HV_EVENT_H

#include "arch/x86/event_combine.h"

/* Re-queues an event whose delivery the VM exit interrupted (ACRN's lesson):
 * copies IDT-vectoring information into the VM-entry injection fields. */
void event_requeue_interrupted(void);

/* Injects hardware exception vector (error code if has_error) at the next
 * VM entry, combining with a re-queued event per Table 6-5; false (nothing
 * injected) when the combination is a triple fault. */
bool event_try_inject_exception(u8 vector, bool has_error, u32 error_code);

#endif
