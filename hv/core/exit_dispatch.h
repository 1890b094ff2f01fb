/* One const exit-dispatch table per kind of vCPU, indexed by the core's exit
 * kind, with counters by the backend's reason code (Jailhouse/ACRN style).
 * Pure. */
#ifndef HV_EXIT_DISPATCH_H
#define HV_EXIT_DISPATCH_H

#include "core/exit.h"
#include "core/hv.h"

typedef void (*exit_handler_fn)(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e);

struct exit_table {
	exit_handler_fn handler[HV_NR_EXIT_KINDS];
	exit_handler_fn unexpected; /* kinds without a handler */
};

/* Counts the exit in counters (by e->counter) and calls the handler of
 * its kind (or table->unexpected). */
void exit_dispatch(const struct exit_table *table, struct exit_counters *counters, struct hv_cpu *cpu,
		   struct vcpu *v, const struct hv_exit *e);

#endif
