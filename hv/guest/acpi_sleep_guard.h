/* Linux's accesses to the ACPI sleep registers (acpi_sleep_guard.c). */
#ifndef HV_ACPI_SLEEP_GUARD_H
#define HV_ACPI_SLEEP_GUARD_H

#include "core/exit.h"
#include "core/hv.h"

/* Finds the sleep registers (the FADT, else a PIIX4) and traps their bytes
 * in Linux's I/O bitmaps; on the boot CPU, before any CPU is launched. */
void acpi_sleep_guard_init(struct hv *hv);

/* The I/O exit of Linux's vCPUs: only trapped ports exit. */
void acpi_sleep_guard_io(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e);

#endif
