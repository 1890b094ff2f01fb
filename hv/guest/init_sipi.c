/* INIT and SIPI for Linux's virtual CPUs (SDM Vol. 3C 26.2 "Other causes of
 * VM exits": INIT signals and SIPIs; 25.4.2 the wait-for-SIPI activity state;
 * Vol. 3A 10.1.1 Table 10-1 "processor state following power-up, reset or
 * INIT"; 10.4 MP initialization).
 *
 * INIT is blocked in VMX root operation and makes a CPU in non-root
 * operation exit, so Linux's INIT-SIPI-SIPI to start or restart a CPU (boot,
 * CPU hotplug) and the firmware's own AP wake-ups arrive here. The CPU never
 * leaves VMX: INIT puts Linux's virtual CPU into the INIT state of Table 10-1
 * in the wait-for-SIPI activity state, and the SIPI that follows starts it
 * in real mode at vector << 12 (the backend writes both states). An
 * offline CPU stays a VMX guest, halted or waiting.
 *
 * A SIPI is only taken in the wait-for-SIPI state (SDM 26.2); one that
 * arrives while this CPU is still in root mode handling the INIT is lost,
 * as on a CPU that has not finished its INIT. So the INIT path is short and
 * does not log (a log line can wait for the serial port and the log lock);
 * the counters say what happened. */
#include "guest/init_sipi.h"

#include "backend.h"
#include "core/smp.h"
#include "guest/dune_hypercall.h"

void linux_vcpu_init_signal(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	(void)e;
	cpu->inits++;
	v->nmi_pending = false; /* nothing is delivered to a CPU waiting for SIPI */
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
	arch_vcpu_start_at_sipi(v, e->sipi_vector);
	smp_unpark(cpu);
}
