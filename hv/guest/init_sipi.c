/* INIT and SIPI for Linux's virtual CPUs (SDM Vol. 3C 26.2 "Other causes of
 * VM exits": INIT signals and SIPIs; 25.4.2 the wait-for-SIPI activity state;
 * Vol. 3A 10.1.1 Table 10-1 "processor state following power-up, reset or
 * INIT"; 10.4 MP initialization; AMD64 APM Vol. 2 15.13.3 INIT intercept,
 * 15.29 VM_CR.R_INIT).
 *
 * Linux's INIT-SIPI-SIPI to start or restart a CPU (boot, CPU hotplug) and
 * the firmware's own AP wake-ups arrive here. The CPU never leaves the
 * hypervisor: INIT puts Linux's virtual CPU into the INIT state of Table
 * 10-1, and the SIPI that follows starts it in real mode at vector << 12
 * (the backend writes both states). An offline CPU stays a guest, halted
 * or waiting.
 *
 * VMX: INIT is blocked in root operation and makes a CPU in non-root
 * operation exit; the CPU then waits in the wait-for-SIPI activity state,
 * where the SIPI exits. A SIPI that arrives while this CPU is still in root
 * mode handling the INIT is lost, as on a CPU that has not finished its
 * INIT, so that path is short and does not log (a log line can wait for
 * the serial port and the log lock); the counters say what happened.
 *
 * SVM (ARCH_SIPI_IN_HOST): no wait-for-SIPI state exists and a SIPI to a
 * CPU not waiting is dropped, and QEMU resets a CPU on INIT even with the
 * INIT intercept, so INIT never reaches a CPU under the hypervisor: Linux's
 * ICR writes are seen (apic_icr.c) and INIT/SIPI emulated here. The sender
 * posts INIT to the target with an acknowledged request (SMP_REQ_INIT):
 * from the acknowledgement on the target counts as waiting, so a SIPI sent
 * right after is kept even if the target has not taken the INIT yet (Linux
 * sends them back to back on AMD). The target takes the INIT before its
 * next entry and waits in the hypervisor, serving requests, until a SIPI's
 * vector is posted. */
#include "guest/init_sipi.h"

#include "arch/x86/arch.h"
#include "backend.h"
#include "core/smp.h"
#include "guest/dune_hypercall.h"

void linux_vcpu_init_signal(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	(void)e;
	cpu->inits++;
	v->nmi_pending = false; /* nothing is delivered to a CPU waiting for SIPI */
	if (ARCH_SIPI_IN_HOST) {
		/* An INIT exit of its own (an INIT not sent through the ICR) forgets
		 * any SIPI; an emulated INIT keeps one that came after it. */
		if (__atomic_load_n(&cpu->sipi_wait, __ATOMIC_ACQUIRE) == SIPI_RUNNING)
			__atomic_store_n(&cpu->sipi_vector, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&cpu->sipi_wait, SIPI_WAITING, __ATOMIC_RELEASE);
	}
	/* NMIs are blocked while it waits (SDM 25.4.2): it cannot serve other
	 * CPUs' requests, so it first drops everything they could ask about. */
	dune_release_cpu(cpu);
	smp_park(cpu);
	arch_vcpu_init_state(cpu, v);
}

void linux_vcpu_sipi(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	/* SIPIs exit only in wait-for-SIPI (SDM 26.2). */
	cpu->sipis++;
	v->nmi_pending = false;
	arch_vcpu_start_at_sipi(v, e->sipi_vector);
	smp_unpark(cpu);
}

void init_sipi_post_init(struct hv_cpu *cpu)
{
	if (__atomic_load_n(&cpu->sipi_wait, __ATOMIC_ACQUIRE) != SIPI_RUNNING)
		return; /* waiting already: INIT again changes nothing */
	__atomic_store_n(&cpu->sipi_vector, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&cpu->sipi_wait, SIPI_INIT_POSTED, __ATOMIC_RELEASE);
}

void init_sipi_send_init(struct hv_cpu *self, struct hv_cpu *target)
{
	/* A parked target waits for SIPI already: smp_call skips it. */
	smp_call(self, target, SMP_REQ_INIT, 0);
}

void init_sipi_send_sipi(struct hv_cpu *target, u8 vector)
{
	if (__atomic_load_n(&target->sipi_wait, __ATOMIC_ACQUIRE) != SIPI_RUNNING)
		__atomic_store_n(&target->sipi_vector, SIPI_POSTED | vector, __ATOMIC_RELEASE);
}

void init_sipi_before_entry(struct hv_cpu *cpu)
{
	if (__atomic_load_n(&cpu->sipi_wait, __ATOMIC_ACQUIRE) == SIPI_INIT_POSTED) {
		if (cpu->current->kind == VCPU_DUNE)
			dune_run_end_by_init(cpu); /* ends the run, then INIT as below */
		else
			linux_vcpu_init_signal(cpu, &cpu->linux_vcpu, NULL);
	}
	u32 posted;
	while (!((posted = __atomic_load_n(&cpu->sipi_vector, __ATOMIC_ACQUIRE)) & SIPI_POSTED)) {
		smp_serve(cpu);
		cpu_relax();
	}
	const struct hv_exit sipi = {.kind = HV_EXIT_SIPI, .sipi_vector = (u8)posted};
	__atomic_store_n(&cpu->sipi_wait, SIPI_RUNNING, __ATOMIC_RELEASE);
	__atomic_store_n(&cpu->sipi_vector, 0, __ATOMIC_RELEASE);
	linux_vcpu_sipi(cpu, &cpu->linux_vcpu, &sipi);
}
