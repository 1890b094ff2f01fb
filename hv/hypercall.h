/* Hypercalls from Linux ring 0 (ABI in include/dunehv/abi.h). */
#ifndef HV_HYPERCALL_H
#define HV_HYPERCALL_H

#include "hv.h"

/* Executes hypercall nr with arguments a0, a1 and *a2 (in/out: RDX).
 * Returns the value for RAX: >= 0 or a negative errno. */
s64 hypercall_linux(struct hv_cpu *cpu, u64 nr, u64 a0, u64 a1, u64 *a2);

#endif
