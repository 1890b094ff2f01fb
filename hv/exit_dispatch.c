#include "exit_dispatch.h"

void exit_dispatch(const struct exit_table *table, struct hv_cpu *cpu, u32 basic_reason)
{
	exit_handler_fn fn = NULL;
	cpu->total_exits++;
	if (basic_reason < DUNEHV_NR_EXIT_REASONS) {
		cpu->exit_count[basic_reason]++;
		fn = table->handler[basic_reason];
	}
	(fn ? fn : table->unexpected)(cpu);
}
