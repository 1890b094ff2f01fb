/* Cross-CPU requests with acknowledgement, and stopping every CPU.
 *
 * A CPU running Linux as a guest takes no exits, so a request reaches it by
 * an NMI IPI: Linux's VMCS has NMI exiting (SDM 25.6.1), its VMCB the NMI
 * intercept (APM Vol. 2 15.13), so the NMI makes it exit, and a CPU in the
 * hypervisor serves its mailbox before its next entry and while it waits
 * for anything. An NMI that comes after the exit handler's last look is
 * caught by the entry stub (vmx/entry.asm "The entry window"; svm/entry.asm
 * with CLGI), so a request never waits for a later exit. The
 * requester holds the target's mailbox for the round trip (Jailhouse's
 * request/acknowledge shape), and serves its own mailbox while it waits, so
 * two CPUs asking each other never deadlock.
 *
 * Telling our NMIs from Linux's: each IPI bumps the target's nmi_ipis_sent
 * before it is sent; an NMI that finds nmi_ipis_seen behind it is ours and
 * is consumed, any other NMI is Linux's and is delivered to Linux. NMIs are
 * latched (one pending at most, SDM Vol. 3A 11.5.1), so a Linux NMI that
 * arrives while one of ours is pending merges with it and is lost, as two
 * of Linux's own NMIs would merge. */
#ifndef HV_SMP_H
#define HV_SMP_H

#include "core/hv.h"

enum smp_request {
	SMP_REQ_NONE,
	SMP_REQ_EVICT_VCPU, /* arch_vcpu_evict(arg, a struct vcpu *) on the target */
	SMP_REQ_FLUSH_GPT,  /* arch_vcpu_flush_gpt(arg, a struct vcpu *) on the target */
	SMP_REQ_PARKED,  /* not a request: the target waits for SIPI (smp_park) */
	SMP_REQ_PING,       /* nothing: a round trip (test_hooks.c) */
	SMP_REQ_INIT,       /* an emulated INIT: the target waits for SIPI before its next entry (init_sipi.c) */
};

/* Runs request on target and returns once the target acknowledged it. On
 * the calling CPU itself the request is done in place. */
void smp_call(struct hv_cpu *self, struct hv_cpu *target, enum smp_request request, u64 arg);

/* smp_call with a bound: gives up after timeout_tsc TSC ticks, taking the
 * request back if the target has not begun it. The TSC ticks from posting
 * to the acknowledgement, or -1 if it never came (test_hooks.c). */
s64 smp_call_bounded(struct hv_cpu *self, struct hv_cpu *target, enum smp_request request, u64 arg, u64 timeout_tsc);

/* Before a CPU enters wait-for-SIPI, where NMIs are blocked (SDM 25.4.2):
 * it has evicted every Dune vCPU cached on it and flushed its TLBs, so a
 * parked CPU holds nothing a request could be about; smp_call skips it.
 * smp_unpark reopens the mailbox when its SIPI arrives. */
void smp_park(struct hv_cpu *self);
void smp_unpark(struct hv_cpu *self);

/* Serves this CPU's mailbox (call before VM entry and in every wait loop). */
void smp_serve(struct hv_cpu *self);

/* An NMI arrived on this CPU: true if it was one of the hypervisor's IPIs
 * (consumed), false if it is Linux's. */
bool smp_nmi_is_ipi(struct hv_cpu *self);

/* Sends NMIs that make every other started CPU stop (panic path); waits at
 * most a little for them to say they stopped. */
void smp_stop_others(struct hv_cpu *self);

/* The NMI handler in root mode calls this: a stop request halts the CPU here. */
void smp_stop_if_requested(struct hv_cpu *self);

/* The xAPIC register page of IA32_APIC_BASE value apic_base, as the host
 * maps it (1:1; the MTRRs make it UC). */
volatile u8 *lapic_mmio(u64 apic_base);

/* Sends the IPI of ICR low half low to destination dest (an APIC ID, or
 * the field as the ICR's), in whichever mode the local APIC is now. */
void lapic_send_icr(u32 low, u32 dest);

/* Sends an NMI IPI to the CPU with this local APIC ID (xAPIC or x2APIC,
 * whichever mode the local APIC is in now, SDM Vol. 3A 11.6.1, 11.12.9). */
void lapic_send_nmi(u32 apic_id);

/* spin_lock that serves this CPU's mailbox while it waits: a lock holder
 * may be waiting for this CPU's acknowledgement. */
void smp_spin_lock(struct hv_cpu *self, struct spinlock *lock);

/* Spins with PAUSE until *flag reads value, serving this CPU's mailbox. */
void smp_wait_u32(struct hv_cpu *self, volatile u32 *flag, u32 value);

#endif
