/* One const exit-dispatch table per kind of guest, indexed by basic exit
 * reason, with per-reason counters (Jailhouse/ACRN style). Pure. */
#ifndef HV_EXIT_DISPATCH_H
#define HV_EXIT_DISPATCH_H

#include "hv.h"

typedef void (*exit_handler_fn)(struct hv_cpu *cpu);

struct exit_table {
	exit_handler_fn handler[DUNEHV_NR_EXIT_REASONS];
	exit_handler_fn unexpected; /* reasons without a handler: dump + stop */
};

/* Counts the exit in counters and calls its handler (or table->unexpected). */
void exit_dispatch(const struct exit_table *table, struct exit_counters *counters, struct hv_cpu *cpu,
		   u32 basic_reason);

#endif
