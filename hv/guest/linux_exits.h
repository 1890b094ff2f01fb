/* Exits of Linux's vCPUs (linux_exits.c). */
#ifndef HV_LINUX_EXITS_H
#define HV_LINUX_EXITS_H

#include "core/exit.h"
#include "core/hv.h"

/* Counts and handles an exit of Linux's vCPU v on cpu. */
void linux_vmexit(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e);

/* The CPUID exit, the same for Linux and for Dune contexts (cpuid_exit.c). */
void guest_emulate_cpuid(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e);

#endif
