#include "core/exit_dispatch.h"

void exit_dispatch(const struct exit_table *table, struct exit_counters *counters, struct hv_cpu *cpu,
		   struct vcpu *v, const struct hv_exit *e)
{
	exit_handler_fn fn = NULL;
	counters->total++;
	if (e->counter < DUNEHV_NR_EXIT_REASONS)
		counters->count[e->counter]++;
	if ((unsigned)e->kind < HV_NR_EXIT_KINDS)
		fn = table->handler[e->kind];
	(fn ? fn : table->unexpected)(cpu, v, e);
}
