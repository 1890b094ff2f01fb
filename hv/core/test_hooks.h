/* Test-only hypercalls (dunehv.cfg test_hooks = on; -EPERM otherwise):
 * a CPU's entry window widened on purpose, and a request or an NMI sent
 * into it, timed; the real value of an MTRR behind Linux's copy
 * (include/dunehv/abi.h, DUNEHV_HC_TEST_*). */
#ifndef HV_CORE_TEST_HOOKS_H
#define HV_CORE_TEST_HOOKS_H

#include "core/hv.h"

/* Called by vmexit_handler after its last look at the mailbox when a delay
 * is armed for this CPU: waits it out without serving anything. */
void test_entry_delay(struct hv_cpu *cpu);

s64 hc_test_entry_delay(struct hv_cpu *self, u64 cpu_index, u64 delay_tsc);
s64 hc_test_window_kick(struct hv_cpu *self, u64 cpu_index, u64 kind, u64 timeout_tsc);
s64 hc_test_host_mtrr(struct hv_cpu *self, u64 msr);

#endif
