/* Hypercalls from Linux ring 0 (ABI in include/dunehv/abi.h). */
#ifndef HV_HYPERCALL_H
#define HV_HYPERCALL_H

#include "core/hv.h"

/* Executes the hypercall in the registers of Linux's vCPU v (RAX = function,
 * arguments in RDI, RSI, RDX, R10, R8; RDX may be an output too). Returns
 * the value for RAX: >= 0 or a negative errno. After a DUNEHV_HC_CTX_RUN
 * that switched this CPU to a Dune context, cpu->current is no longer v and
 * v's RAX is written when the run ends. */
s64 hypercall_linux(struct hv_cpu *cpu, struct vcpu *v);

#endif
