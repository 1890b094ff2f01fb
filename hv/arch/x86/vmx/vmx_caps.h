/* Can this CPU run dunehv, and with which VMX controls? A pure function of the
 * CPUID bits and VMX capability MSRs (SDM Vol. 3D Appendix A), so that the
 * verdict for every failure path is host-testable. */
#ifndef HV_VMX_CAPS_H
#define HV_VMX_CAPS_H

#include "core/types.h"

struct vmx_cpu_facts {
	bool cpuid_vmx;        /* CPUID.1:ECX[5] */
	bool cpuid_rdtscp;     /* CPUID.80000001:EDX[27] */
	bool cpuid_invpcid;    /* CPUID.7.0:EBX[10] */
	bool cpuid_xsaves;     /* CPUID.D.1:EAX[3] */
	bool cpuid_xsave;      /* CPUID.1:ECX[26] */
	bool cpuid_waitpkg;    /* CPUID.7.0:ECX[5] */
	unsigned phys_addr_bits; /* CPUID.80000008:EAX[7:0] */
	u64 feature_control;   /* IA32_FEATURE_CONTROL */
	/* VMX capability MSRs; only meaningful when cpuid_vmx */
	u64 basic, pinbased, procbased, exit, entry, misc;
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	u64 procbased2, ept_vpid_cap;
	u64 true_pinbased, true_procbased, true_exit, true_entry;
};

enum vmx_verdict {
	VMX_USABLE = 0,
	VMX_NO_CPU_SUPPORT,  /* no VMX at all (e.g. AMD, QEMU TCG, VMX hidden by a hypervisor) */
	VMX_LOCKED_OFF,      /* IA32_FEATURE_CONTROL locked with VMX disabled */
	VMX_NO_SECONDARY,    /* no secondary processor-based controls */
	VMX_NO_EPT,
	VMX_NO_UNRESTRICTED_GUEST,
	VMX_NO_VPID,
	VMX_EPT_UNSUITABLE,  /* no 4-level walk or no write-back paging structures */
	VMX_CONTROL_MISSING, /* some other required control cannot be set */
};

/* Controls to program into the VMCS (SDM 25.6-25.8), already adjusted to the
 * allowed-0/allowed-1 settings of the capability MSRs. */
struct vmx_controls {
	u32 pinbased, procbased, procbased2, exit, entry;      /* Linux */
	u32 dune_pinbased, dune_procbased, dune_procbased2, dune_exit, dune_entry; /* Dune contexts */
	bool ept_2m, ept_1g;
	/* INVEPT/INVVPID type for one context: single-context where the CPU
	 * has it, else all-context (SDM 31.3; KVM's choice too) */
	u8 invept_one, invvpid_one;
	bool feature_control_write; /* FEATURE_CONTROL is unlocked: set lock + VMX */
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	u32 vmcs_revision;
	u32 dune_time_slice;  /* VMX-preemption timer value for one Dune run, 0 = no timer */
};

/* TSC cycles a Dune context may run before Linux gets the CPU back even if
 * no interrupt arrives (about a millisecond on current CPUs). */
#define DUNE_TIME_SLICE_TSC (1u << 22)

/* Decides; on failure writes one line saying what is missing into why. */
enum vmx_verdict vmx_evaluate(const struct vmx_cpu_facts *f, struct vmx_controls *out, char *why, size_t why_len);

/* Whether two CPUs' controls are the same, every field the VMCSes use
 * (FEATURE_CONTROL's lock state is each CPU's own and may differ). */
bool vmx_controls_compatible(const struct vmx_controls *a, const struct vmx_controls *b);

/* Reads the facts from the running CPU (reads VMX MSRs only if CPUID has VMX). */
void vmx_read_facts(struct vmx_cpu_facts *f);

#endif
