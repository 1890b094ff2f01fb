/* VMCS parts shared by Linux's VMCS and the Dune contexts' VMCSs: the
 * host-state area (SDM 25.5) and the execution controls (SDM 25.6-25.8). */
#ifndef HV_VMCS_HOST_H
#define HV_VMCS_HOST_H

#include "core/hv.h"

/* Writes the host-state area of the current VMCS for cpu; returns 0 or the
 * field VMWRITE refused. */
u32 vmcs_write_host_state(struct hv *hv, struct hv_cpu *cpu);

/* What differs between the VMCSs in the control area. */
struct vmcs_execution_setup {
	u32 pinbased, procbased, procbased2, exit, entry;
	u32 exception_bitmap;
	u64 msr_bitmap_pa, eptp;
	u64 io_bitmap_pa[2];    /* A (ports 0-0x7fff), B; used with PROC_USE_IO_BITMAPS */
	u16 vpid;
};

/* Writes the controls of s, and zeroes the fields both kinds leave unused
 * (CR3 targets, MSR load/store lists, event injection, TSC offset, XSS
 * exiting); returns 0 or the field VMWRITE refused. */
u32 vmcs_write_execution_controls(const struct vmcs_execution_setup *s);

#endif
