/* The SVM backend's parts of a vCPU (struct vcpu.arch) and of a CPU
 * (struct hv_cpu.arch): a vCPU's VMCB (AMD64 APM
 * Vol. 2 15.5 "VMRUN Instruction"; a VMCB may be run on any CPU, one at a
 * time); its TLB tag, the ASID (15.16), is struct vcpu.tlb_tag. */
#ifndef HV_SVM_VCPU_H
#define HV_SVM_VCPU_H

#include "core/types.h"

/* What the log calls a refused guest-physical access. */
#define ARCH_GPA_FAULT_NAME "nested page fault"

struct arch_vcpu {
	u64 vmcb_pa;   /* first: entry.asm's VCPU_VMCB_PA */
	/* Linux's NMI blocking, which SVM does not keep for a guest (vcpu.c,
	 * "NMI blocking"): */
	bool nmi_blocked;       /* an injected NMI's handler runs: no other NMI goes in */
	bool nmi_iret_stepping; /* its IRET is being single-stepped (TF set, #DB intercepted) */
	bool nmi_step_guest_tf; /* Linux's own RFLAGS.TF at that IRET */
	u64 nmi_iret_rip;       /* where that IRET is */
	u64 nmi_step_dr6;       /* Linux's DR6 before the step */
};

/* ASIDs a CPU keeps track of: Linux's and one per Dune context slot, at
 * most (DUNE_CTX_FIRST_TLB_TAG + DUNEHV_CTX_MAX, checked in vcpu.c). */
#define SVM_ASID_SLOTS 258

struct vcpu;

/* The SVM backend's part of a physical CPU (struct hv_cpu.arch). */
struct arch_cpu {
	u64 host_state_pa; /* first: entry.asm's CPU_HOST_STATE_PA, what VMSAVE keeps of the host (15.5.2) */
	u64 hsave_pa;      /* VM_HSAVE_PA: where VMRUN keeps the rest of it (15.30.4) */
	u64 linux_xss;     /* Linux's IA32_XSS here: 0 while a Dune context runs (vcpu.c) */
	struct vcpu *asid_user[SVM_ASID_SLOTS]; /* the vCPU that ran last here with each ASID */
};

#endif
