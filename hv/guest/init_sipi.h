/* INIT and SIPI exits of Linux's virtual CPUs (see init_sipi.c). */
#ifndef HV_INIT_SIPI_H
#define HV_INIT_SIPI_H

#include "core/exit.h"
#include "core/hv.h"

/* Puts Linux's vCPU v on this CPU into the INIT state, waiting for SIPI. */
void linux_vcpu_init_signal(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e);

/* Starts a vCPU waiting for SIPI in real mode at the exit's vector. */
void linux_vcpu_sipi(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e);

#endif
