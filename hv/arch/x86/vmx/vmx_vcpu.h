/* The VMX backend's part of a vCPU (struct vcpu.arch): its VMCS and where
 * that VMCS stands (SDM Vol. 3C 25.1 "Overview", 25.11.3 "Initializing a
 * VMCS": a VMCS is active on at most one CPU, launched or clear). */
#ifndef HV_VMX_VCPU_H
#define HV_VMX_VCPU_H

#include "core/types.h"

/* What the log calls a refused guest-physical access. */
#define ARCH_GPA_FAULT_NAME "EPT violation"

struct arch_vcpu {
	u8 launched;  /* first: entry.asm's VCPU_LAUNCHED; VMLAUNCH done, VMRESUME from now on */
	bool active;  /* VMPTRLD done on the vCPU's CPU and not VMCLEARed since */
	bool nmi_window_exiting; /* the VMCS has NMI-window exiting on (SDM 25.6.2) */
	u64 vmcs_pa;
	u64 eptp;     /* EPT pointer (SDM 25.6.11) of the vCPU's guest-physical space */
};

/* The VMX backend's part of a physical CPU (struct hv_cpu.arch). */
struct arch_cpu {
	u64 vmxon_pa; /* the VMXON region (SDM 25.11.5) */
};

#endif
