/* A virtual CPU: Linux's on each physical CPU, and each Dune context's. The
 * physical CPU (struct hv_cpu) runs one vCPU at a time, hv_cpu.current;
 * exits are handled on the vCPU that took them. Its general registers live
 * here while it does not run and are saved here at every exit; the rest of
 * its state lives in the backend's control block (arch). */
#ifndef HV_CORE_VCPU_H
#define HV_CORE_VCPU_H

#include "backend_types.h"
#include "core/types.h"
#include "include/dunehv/abi.h"

/* General-purpose registers in the order of the register numbers exit
 * qualifications and the ModRM byte use (SDM Table 28-3): rax, rcx, rdx,
 * rbx, rsp (unused: RSP lives in the guest-state area), rbp, rsi, rdi,
 * r8..r15. */
struct guest_regs {
	u64 gpr[16];
};
enum gpr_index { GPR_RAX, GPR_RCX, GPR_RDX, GPR_RBX, GPR_RSP, GPR_RBP, GPR_RSI, GPR_RDI, GPR_R8, GPR_R9, GPR_R10 };
_Static_assert(sizeof(struct guest_regs) == sizeof(((struct dunehv_ctx_run *)0)->gpr), "run struct GPR order");

enum vcpu_kind { VCPU_LINUX, VCPU_DUNE, VCPU_NR_KINDS };

struct hv_cpu;

struct vcpu {
	struct guest_regs regs;  /* first: the exit stub saves and loads them here */
	struct arch_vcpu arch;   /* the backend's part: VMX's VMCS, SVM's VMCB */
	enum vcpu_kind kind;
	u16 tlb_tag;             /* the tag of its cached translations: VMX's VPID, SVM's ASID */
	bool nmi_pending;        /* Linux's: an NMI the hypervisor took, to give to Linux */
	bool mce_pending;        /* Linux's: a machine check the hypervisor took, for Linux's handler */
	u64 kernel_gs_base;      /* VMX: IA32_KERNEL_GS_BASE and CR2 are not in the */
	u64 cr2;                 /* VMCS (SDM 27.3.1): arch_vcpu_unswitched_save/_load */
};

#endif
