/* Host-state fields shared by every VMCS a CPU runs (SDM 25.5). */
#ifndef HV_VMCS_HOST_H
#define HV_VMCS_HOST_H

#include "hv.h"

/* Writes the host-state area of the current VMCS for cpu; returns 0 or the
 * field VMWRITE refused. */
u32 vmcs_write_host_state(struct hv *hv, struct hv_cpu *cpu);

#endif
