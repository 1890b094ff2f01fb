/* Test hooks for the entry window (see test_hooks.h and entry.asm). */
#include "core/test_hooks.h"

#include "arch/x86/arch.h"
#include "core/smp.h"

void test_entry_delay(struct hv_cpu *cpu)
{
	u64 delay = __atomic_exchange_n(&cpu->test_entry_delay_tsc, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&cpu->test_in_entry_delay, 1, __ATOMIC_SEQ_CST);
	for (u64 t0 = rdtsc(); rdtsc() - t0 < delay;)
		cpu_relax(); /* no smp_serve here: this is the window */
	__atomic_store_n(&cpu->test_in_entry_delay, 0, __ATOMIC_SEQ_CST);
}

s64 hc_test_entry_delay(struct hv_cpu *self, u64 cpu_index, u64 delay_tsc)
{
	if (!self->hv->cfg.test_hooks)
		return -HV_EPERM;
	struct hv_cpu *target = hv_cpu_by_index(self->hv, cpu_index);
	if (!target || delay_tsc == 0)
		return -HV_EINVAL;
	__atomic_store_n(&target->test_entry_delay_tsc, delay_tsc, __ATOMIC_SEQ_CST);
	return 0;
}

s64 hc_test_host_mtrr(struct hv_cpu *self, u64 msr)
{
	if (!self->hv->cfg.test_hooks)
		return -HV_EPERM;
	if (msr > 0xffffffffull || !mtrr_msr_exists(&self->linux_mtrr, (u32)msr))
		return -HV_EINVAL;
	return (s64)rdmsr((u32)msr); /* MTRRs hold no more than 52 bits */
}

s64 hc_test_window_kick(struct hv_cpu *self, u64 cpu_index, u64 kind, u64 timeout_tsc)
{
	if (!self->hv->cfg.test_hooks)
		return -HV_EPERM;
	struct hv_cpu *target = hv_cpu_by_index(self->hv, cpu_index);
	if (!target || target == self || (kind != DUNEHV_TEST_KICK_REQUEST && kind != DUNEHV_TEST_KICK_NMI))
		return -HV_EINVAL;
	u64 t0 = rdtsc();
	while (!__atomic_load_n(&target->test_in_entry_delay, __ATOMIC_SEQ_CST)) {
		if (rdtsc() - t0 >= timeout_tsc)
			return -HV_ETIMEDOUT;
		smp_serve(self);
		cpu_relax();
	}
	if (kind == DUNEHV_TEST_KICK_NMI) {
		/* Not counted in nmi_ipis_sent: the target takes it for Linux's. */
		lapic_send_nmi(target->apic_id);
		return 0;
	}
	s64 elapsed = smp_call_bounded(self, target, SMP_REQ_PING, 0, timeout_tsc);
	return elapsed >= 0 ? elapsed : -HV_ETIMEDOUT;
}
