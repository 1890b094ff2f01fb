/* Hypercalls from Linux ring 0 (ABI in include/dunehv/abi.h). */
#ifndef HV_HYPERCALL_H
#define HV_HYPERCALL_H

#include "hv.h"

/* Executes the hypercall in the guest's registers (RAX = function, arguments
 * in RDI, RSI, RDX, R10, R8; RDX may be an output too). Returns the value for
 * RAX: >= 0 or a negative errno, or HC_SWITCHED_TO_DUNE when the CPU now runs
 * a Dune context and Linux's registers must be left alone. */
s64 hypercall_linux(struct hv_cpu *cpu, struct guest_regs *r);

#endif
