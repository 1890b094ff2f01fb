/* Linux's VMCB (AMD64 APM Vol. 2 15.5 "VMRUN Instruction", Appendix B). */
#ifndef HV_SVM_VMCB_LINUX_H
#define HV_SVM_VMCB_LINUX_H

#include "arch/x86/svm/svm_defs.h"
#include "core/hv.h"

/* Fills vmcb for Linux's vCPU on cpu: the intercepts Linux runs under
 * (none at steady state), its nested page tables and permission maps, and
 * the guest state where the loader's trampoline stood (bc). */
void vmcb_setup_linux(struct hv *hv, struct hv_cpu *cpu, struct vmcb *vmcb, const struct hv_boot_cpu *bc);

/* The VMCB's segment attribute (APM Table B-2) of a segment in the VMX
 * access-rights format that arch/x86/segment.h decodes into; an unusable
 * segment has none. */
u16 svm_segment_attrib(u32 access_rights);

/* Linux's NMI blocking as the backend keeps it (vcpu.c) dropped, with its
 * IRET intercept and step: after INIT. */
void svm_forget_nmi_blocking(struct vcpu *v);

#endif
