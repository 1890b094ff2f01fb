#include "exit_dispatch.h"

void exit_dispatch(const struct exit_table *table, struct exit_counters *counters, struct hv_cpu *cpu,
		   u32 basic_reason)
{
	exit_handler_fn fn = NULL;
	counters->total++;
	if (basic_reason < DUNEHV_NR_EXIT_REASONS) {
		counters->count[basic_reason]++;
		fn = table->handler[basic_reason];
	}
	(fn ? fn : table->unexpected)(cpu);
}
