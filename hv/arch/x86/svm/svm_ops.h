/* The SVM instructions the backend runs outside its entry stub (AMD64 APM
 * Vol. 3: VMSAVE, VMLOAD, INVLPGA, CLGI, STGI), and its entry loop. */
#ifndef HV_SVM_OPS_H
#define HV_SVM_OPS_H

#include "core/types.h"

/* APM Vol. 3 VMSAVE: FS, GS, TR, LDTR (with their hidden state),
 * KernelGsBase, STAR, LSTAR, CSTAR, SFMASK and SYSENTER_CS/ESP/EIP to the
 * VMCB-format page at pa. */
static inline void svm_vmsave(u64 pa) { __asm__ volatile("vmsave %%rax" ::"a"(pa) : "memory"); }

/* arch/x86/svm/entry.asm: switches to stack_top and enters the current
 * vCPU, then handles its exits and enters again, for good. */
__attribute__((noreturn)) void svm_run_loop(u64 stack_top);

#endif
