/* Linux's local APIC writes that the backend intercepts (see apic_icr.c). */
#ifndef HV_GUEST_APIC_ICR_H
#define HV_GUEST_APIC_ICR_H

#include "core/exit.h"
#include "core/hv.h"

/* HV_EXIT_APIC_WRITE: a write of Linux's xAPIC page, done for it. */
void linux_apic_write(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e);

/* A WRMSR of the x2APIC ICR (MSR 0x830) by Linux: false where the CPU
 * would refuse it (#GP for Linux). */
bool linux_x2apic_icr_write(struct hv_cpu *cpu, u64 value);

#endif
