/* INIT and SIPI for Linux's virtual CPUs (see init_sipi.c). */
#ifndef HV_INIT_SIPI_H
#define HV_INIT_SIPI_H

#include "core/exit.h"
#include "core/hv.h"

/* struct hv_cpu.sipi_wait, where the backend emulates INIT/SIPI. */
enum sipi_wait {
	SIPI_RUNNING = 0,      /* Linux's vCPU runs */
	SIPI_INIT_POSTED = 1,  /* an emulated INIT arrived; taken before the next entry */
	SIPI_WAITING = 2,      /* in the INIT state, waiting in the hypervisor for SIPI */
};
#define SIPI_POSTED 0x100u /* struct hv_cpu.sipi_vector: a SIPI came, vector in bits 7:0 */

/* Puts Linux's vCPU v on this CPU into the INIT state, waiting for SIPI
 * (an INIT exit; e may be NULL for an emulated INIT). */
void linux_vcpu_init_signal(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e);

/* Starts a vCPU waiting for SIPI in real mode at the exit's vector. */
void linux_vcpu_sipi(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e);

/* Emulated INIT and SIPI (the SVM backend, apic_icr.c): self sends them to
 * target, which is under the hypervisor. INIT is acknowledged by target
 * before init_sipi_send_init returns, so a SIPI sent right after finds it
 * waiting; a SIPI to a CPU not waiting is lost, as on hardware. */
void init_sipi_send_init(struct hv_cpu *self, struct hv_cpu *target);
void init_sipi_send_sipi(struct hv_cpu *target, u8 vector);

/* SMP_REQ_INIT on the target (smp.c): it waits for SIPI from now on. */
void init_sipi_post_init(struct hv_cpu *cpu);

/* Before each entry where cpu->sipi_wait is set: takes a posted INIT and
 * waits in the hypervisor for the SIPI, serving requests meanwhile. */
void init_sipi_before_entry(struct hv_cpu *cpu);

#endif
