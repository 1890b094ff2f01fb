/* The consistency checks VMRUN makes of a VMCB (AMD64 APM Vol. 2 15.5.1,
 * "Canonicalization and Consistency Checks"), made in software before
 * Linux's first VMRUN, so that a state the CPU would refuse (firmware's
 * odd state, a bug of ours) ends in a native boot with the reason rather
 * than a VMEXIT_INVALID after the firmware's tables are gone. Pure,
 * host-testable. */
#ifndef HV_SVM_VMCB_CHECK_H
#define HV_SVM_VMCB_CHECK_H

#include "arch/x86/svm/svm_defs.h"

/* NULL where VMRUN would take vmcb, else the rule it breaks. phys_addr_bits:
 * CPUID Fn8000_0008 EAX[7:0]. */
const char *vmcb_check_state(const struct vmcb *vmcb, unsigned phys_addr_bits);

#endif
