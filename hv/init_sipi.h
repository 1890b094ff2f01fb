/* INIT and SIPI exits of Linux's virtual CPUs (see init_sipi.c). */
#ifndef HV_INIT_SIPI_H
#define HV_INIT_SIPI_H

#include "hv.h"

/* Puts Linux's vCPU on this CPU (current VMCS) into the INIT state, waiting
 * for SIPI. */
void linux_vcpu_init_signal(struct hv_cpu *cpu);

/* Starts a vCPU waiting for SIPI in real mode at the exit's vector. */
void linux_vcpu_sipi(struct hv_cpu *cpu);

#endif
