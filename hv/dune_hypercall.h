/* Hypercalls that manage Dune contexts (DUNEHV_HC_CTX_*), from Linux ring 0. */
#ifndef HV_DUNE_HYPERCALL_H
#define HV_DUNE_HYPERCALL_H

#include "hv.h"

/* Value of DUNEHV_HC_CTX_RUN when it switched the CPU to the context: Linux's
 * registers were saved and must not be touched by the VMCALL handler. */
#define HC_SWITCHED_TO_DUNE ((s64)0x7fffffffffffff01ll)

int dune_setup(struct hv *hv);
s64 hc_ctx_create(struct hv_cpu *cpu, u64 gpa, u64 size);
s64 hc_ctx_map(struct hv_cpu *cpu, u64 handle, u64 token, u64 gpa, u64 hpa_flags);
s64 hc_ctx_unmap(struct hv_cpu *cpu, u64 handle, u64 token, u64 gpa, u64 size);
s64 hc_ctx_destroy(struct hv_cpu *cpu, u64 handle, u64 token);
s64 hc_ctx_run(struct hv_cpu *cpu, u64 handle, u64 token, u64 run_gpa);
u64 dune_ctx_pages(struct hv *hv);

/* Exit of a Dune context (called by vmexit_handler when cpu->current_ctx). */
void dune_vmexit(struct hv_cpu *cpu, u32 full_reason);
/* VMLAUNCH/VMRESUME of a Dune context failed: back to Linux. */
void dune_entry_instruction_failed(struct hv_cpu *cpu);
/* VMCLEARs every Dune VMCS active on this CPU (before it waits for SIPI). */
void dune_release_cpu(struct hv_cpu *cpu);

#endif
