/* Start-up of the hypervisor between the core (main.c) and its backend. */
#ifndef HV_CORE_SETUP_H
#define HV_CORE_SETUP_H

#include "core/hv.h"

/* Error codes returned to the loader (negative, see boot/launch.c). */
#define HV_ERR_BOOT_INFO -1
#define HV_ERR_UNUSABLE -2     /* the CPU cannot run the backend (no VMX/SVM, or a feature missing) */
#define HV_ERR_NOMEM -3
#define HV_ERR_VIRT_ON -4      /* VMXON, or EFER.SVME, failed */
#define HV_ERR_CONTROL_BLOCK -5 /* the VMCS or VMCB could not be set up */
#define HV_ERR_FIRST_ENTRY -6  /* VMLAUNCH or the first VMRUN of Linux failed */

/* The backend's machine-wide set-up, once on the boot CPU: 0, HV_ERR_UNUSABLE
 * (logged) or HV_ERR_NOMEM. */
long arch_hv_init(struct hv *hv);

/* The backend's per-CPU set-up on the CPU itself, ending in the launch of
 * its Linux vCPU; returns only on failure (logged). */
long arch_cpu_up(struct hv *hv, struct hv_cpu *cpu, const struct hv_boot_cpu *bc);

/* Logs that CPU index found the hypervisor's memory exhausted while it was
 * set up; returns HV_ERR_NOMEM. */
long hv_cpu_out_of_memory(struct hv *hv, u32 index);

/* From now on (until unpublished) other CPUs see cpu and may send it requests. */
void hv_cpu_publish(struct hv *hv, struct hv_cpu *cpu);
void hv_cpu_unpublish(struct hv *hv, struct hv_cpu *cpu);

#endif
