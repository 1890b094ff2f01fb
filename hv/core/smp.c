/* Cross-CPU requests and stopping every CPU (see smp.h). */
#include "core/smp.h"

#include "arch/x86/apic_icr.h"
#include "arch/x86/arch.h"
#include "backend.h"
#include "guest/init_sipi.h"

volatile u8 *lapic_mmio(u64 apic_base) { return phys_to_virt(apic_base & APIC_BASE_ADDR_MASK); }

void lapic_send_icr(u32 low, u32 dest)
{
	u64 base = rdmsr(MSR_IA32_APIC_BASE);
	if (base & APIC_BASE_X2APIC_ENABLE) {
		/* SDM Vol. 3A 11.12.9: one 64-bit write, destination in bits 63:32 */
		wrmsr(MSR_X2APIC_ICR, ((u64)dest << 32) | low);
		return;
	}
	/* SDM Vol. 3A 11.6.1: destination in ICR high bits 31:24, then the low
	 * half sends. The host maps the APIC page 1:1; MTRRs make it UC. */
	volatile u32 *apic = (volatile u32 *)lapic_mmio(base);
	for (unsigned spin = 0; spin < 1000000 && (apic[XAPIC_ICR_LOW / 4] & ICR_DELIVERY_PENDING); spin++)
		cpu_relax();
	apic[XAPIC_ICR_HIGH / 4] = dest << 24;
	apic[XAPIC_ICR_LOW / 4] = low;
}

void lapic_send_nmi(u32 apic_id) { lapic_send_icr(ICR_DELIVERY_NMI | ICR_LEVEL_ASSERT, apic_id); }

static void send_ipi(struct hv_cpu *target)
{
	__atomic_add_fetch(&target->nmi_ipis_sent, 1, __ATOMIC_SEQ_CST);
	lapic_send_nmi(target->apic_id);
}

bool smp_nmi_is_ipi(struct hv_cpu *self)
{
	u64 sent = __atomic_load_n(&self->nmi_ipis_sent, __ATOMIC_SEQ_CST);
	if (self->nmi_ipis_seen == sent)
		return false;
	self->nmi_ipis_seen = sent; /* all IPIs sent so far may have merged into this NMI */
	return true;
}

static void do_request(struct hv_cpu *self, enum smp_request request, u64 arg)
{
	switch (request) {
	case SMP_REQ_INIT:
		init_sipi_post_init(self);
		break;
	case SMP_REQ_EVICT_VCPU:
		arch_vcpu_evict((struct vcpu *)(uintptr_t)arg);
		break;
	case SMP_REQ_FLUSH_GPT:
		arch_vcpu_flush_gpt((struct vcpu *)(uintptr_t)arg);
		break;
	case SMP_REQ_NONE:
	case SMP_REQ_PARKED:
	case SMP_REQ_PING:
		break;
	}
}

void smp_serve(struct hv_cpu *self)
{
	smp_stop_if_requested(self);
	u32 request = __atomic_load_n(&self->mailbox.request, __ATOMIC_ACQUIRE);
	if (request == SMP_REQ_NONE || request == SMP_REQ_PARKED)
		return;
	do_request(self, (enum smp_request)request, self->mailbox.arg);
	__atomic_store_n(&self->mailbox.request, SMP_REQ_NONE, __ATOMIC_RELEASE);
	__atomic_store_n(&self->mailbox.done, 1, __ATOMIC_RELEASE);
}

void smp_wait_u32(struct hv_cpu *self, volatile u32 *flag, u32 value)
{
	while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) != value) {
		smp_serve(self);
		cpu_relax();
	}
}

/* Takes target's mailbox and posts request in it: true if posted (the
 * caller sends the IPI and waits), false if the target is parked (nothing
 * cached there, nothing active there). The caller releases the mailbox. */
static bool mailbox_post(struct hv_cpu *self, struct hv_cpu *target, enum smp_request request, u64 arg)
{
	struct smp_mailbox *m = &target->mailbox;
	while (__atomic_exchange_n(&m->owner_lock, 1, __ATOMIC_ACQUIRE)) {
		smp_serve(self);
		cpu_relax();
	}
	m->arg = arg;
	__atomic_store_n(&m->done, 0, __ATOMIC_RELAXED);
	u32 expected = SMP_REQ_NONE;
	if (!__atomic_compare_exchange_n(&m->request, &expected, (u32)request, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST))
		return false;
	__atomic_add_fetch(&self->requests_sent, 1, __ATOMIC_RELAXED);
	return true;
}

static void mailbox_release(struct hv_cpu *target) { __atomic_store_n(&target->mailbox.owner_lock, 0, __ATOMIC_RELEASE); }

void smp_call(struct hv_cpu *self, struct hv_cpu *target, enum smp_request request, u64 arg)
{
	if (target == self) {
		do_request(self, request, arg);
		return;
	}
	if (mailbox_post(self, target, request, arg)) {
		send_ipi(target);
		smp_wait_u32(self, &target->mailbox.done, 1);
	}
	mailbox_release(target);
}

s64 smp_call_bounded(struct hv_cpu *self, struct hv_cpu *target, enum smp_request request, u64 arg, u64 timeout_tsc)
{
	struct smp_mailbox *m = &target->mailbox;
	s64 elapsed = -1;
	if (mailbox_post(self, target, request, arg)) {
		u64 t0 = rdtsc();
		send_ipi(target);
		while (!__atomic_load_n(&m->done, __ATOMIC_ACQUIRE) && rdtsc() - t0 < timeout_tsc) {
			smp_serve(self);
			cpu_relax();
		}
		u32 expected = request;
		if (__atomic_load_n(&m->done, __ATOMIC_ACQUIRE))
			elapsed = (s64)(rdtsc() - t0);
		else if (!__atomic_compare_exchange_n(&m->request, &expected, SMP_REQ_NONE, false, __ATOMIC_SEQ_CST,
						      __ATOMIC_SEQ_CST))
			smp_wait_u32(self, &m->done, 1); /* the target began it just now: let it finish */
	}
	mailbox_release(target);
	return elapsed;
}

void smp_stop_if_requested(struct hv_cpu *self)
{
	if (!__atomic_load_n(&self->stop_requested, __ATOMIC_ACQUIRE))
		return;
	__atomic_store_n(&self->stopped, 1, __ATOMIC_RELEASE);
	cli();
	for (;;)
		hlt(); /* NMIs keep arriving here and return to this loop */
}

void smp_stop_others(struct hv_cpu *self)
{
	struct hv *hv = self->hv;
	for (u32 i = 0; i < hv->cpu_count; i++) {
		struct hv_cpu *c = hv->cpus[i];
		if (!c || c == self)
			continue;
		__atomic_store_n(&c->stop_requested, 1, __ATOMIC_RELEASE);
		send_ipi(c);
	}
	for (u32 i = 0; i < hv->cpu_count; i++) {
		struct hv_cpu *c = hv->cpus[i];
		for (unsigned spin = 0; c && c != self && spin < 10000000 && !__atomic_load_n(&c->stopped, __ATOMIC_ACQUIRE);
		     spin++)
			cpu_relax();
	}
}

void smp_spin_lock(struct hv_cpu *self, struct spinlock *lock)
{
	while (__atomic_exchange_n(&lock->locked, 1, __ATOMIC_ACQUIRE)) {
		smp_serve(self);
		cpu_relax();
	}
}

void smp_park(struct hv_cpu *self)
{
	for (;;) {
		u32 expected = SMP_REQ_NONE;
		if (__atomic_compare_exchange_n(&self->mailbox.request, &expected, SMP_REQ_PARKED, false,
						__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST) ||
		    expected == SMP_REQ_PARKED)
			break;
		smp_serve(self); /* a request got in first */
	}
	/* Whatever was cached before, and whatever an unmap skipped for us. */
	arch_cpu_flush_all(self);
}

void smp_unpark(struct hv_cpu *self)
{
	u32 expected = SMP_REQ_PARKED;
	__atomic_compare_exchange_n(&self->mailbox.request, &expected, SMP_REQ_NONE, false, __ATOMIC_SEQ_CST,
				    __ATOMIC_SEQ_CST);
}
