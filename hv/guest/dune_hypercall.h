/* Hypercalls that manage Dune contexts (DUNEHV_HC_CTX_*), from Linux ring 0. */
#ifndef HV_DUNE_HYPERCALL_H
#define HV_DUNE_HYPERCALL_H

#include "core/exit.h"
#include "core/hv.h"

s64 hc_ctx_create(struct hv_cpu *cpu, u64 gpa, u64 size);
s64 hc_ctx_map(struct hv_cpu *cpu, u64 handle, u64 token, u64 gpa, u64 hpa_flags);
s64 hc_ctx_unmap(struct hv_cpu *cpu, u64 handle, u64 token, u64 gpa, u64 size);
s64 hc_ctx_destroy(struct hv_cpu *cpu, u64 handle, u64 token);
s64 hc_ctx_run(struct hv_cpu *cpu, u64 handle, u64 token, u64 run_gpa);
u64 dune_ctx_pages(struct hv *hv);

/* DUNEHV_HC_CTX_RUN: on success this CPU's current vCPU is the context's;
 * Linux's vCPU gets RAX when the run ends. */

/* Counts and handles an exit of Dune vCPU v (dune_run.c). */
void dune_vmexit(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e);

/* An emulated INIT for this CPU while a Dune context is current: its run
 * ends as at an INIT exit, and Linux's vCPU takes the INIT (init_sipi.c). */
void dune_run_end_by_init(struct hv_cpu *cpu);
/* The entry instruction itself failed for Dune vCPU v: back to Linux. */
void dune_entry_instruction_failed(struct hv_cpu *cpu, struct vcpu *v, u32 vm_instruction_error);
/* Evicts every Dune vCPU cached on this CPU (before it waits for SIPI). */
void dune_release_cpu(struct hv_cpu *cpu);

#endif
