/* The interface between the vendor-neutral hypervisor (core/, guest/) and
 * its virtualization backend (arch/x86/vmx/ or arch/x86/svm/, the Makefile's
 * BACKEND). As in Jailhouse, one image is built per backend: these are plain functions, no indirect calls on the
 * exit path. Everything the core knows of an exit is struct hv_exit; the
 * backend's own encodings stay behind this line, but for the counters'
 * histogram and the diagnostics of an exit the core cannot name. */
#ifndef HV_BACKEND_H
#define HV_BACKEND_H

#include "core/exit.h"
#include "core/vcpu.h"

struct hv;
struct hv_cpu;
struct dune_ctx;
struct dunehv_ctx_create;

/* From now on every access by Linux that touches port exits (HV_EXIT_IO).
 * Machine-wide; only before the CPUs are launched (hv_init). */
void arch_linux_trap_port(struct hv *hv, u16 port);

/* The exit v just took, decoded. Unless the entry failed, an event whose
 * delivery the exit interrupted is queued again for the next entry. */
void arch_exit_decode(struct hv_cpu *cpu, struct vcpu *v, struct hv_exit *e);

/* Guest state beyond the general registers, of the vCPU loaded on this CPU. */
u64 arch_vcpu_rip(struct vcpu *v);
u64 arch_vcpu_rsp(struct vcpu *v);
u64 arch_vcpu_rflags(struct vcpu *v);
void arch_vcpu_set_rip(struct vcpu *v, u64 rip);
void arch_vcpu_set_rsp(struct vcpu *v, u64 rsp);
void arch_vcpu_set_rflags(struct vcpu *v, u64 rflags);
unsigned arch_vcpu_cpl(struct vcpu *v);
u64 arch_vcpu_visible_cr4(struct vcpu *v);
/* The guest's CR2 (a #PF it is about to take): VMX leaves CR2 the CPU's
 * (SDM 27.3.1), SVM keeps it in the VMCB (APM Appendix B). */
void arch_vcpu_set_cr2(struct vcpu *v, u64 cr2);
/* The guest state a switch between Linux's vCPU and a Dune context on this
 * CPU leaves in the CPU's registers (VMX: IA32_KERNEL_GS_BASE and CR2,
 * which are not in the VMCS, SDM 27.3.1; kept in struct vcpu by software.
 * SVM: none, the VMCB holds CR2 and VMSAVE/VMLOAD KernelGsBase). _save
 * keeps what the vCPU leaving the CPU had there, _load puts v's back. */
void arch_vcpu_unswitched_save(struct vcpu *v);
void arch_vcpu_unswitched_load(struct vcpu *v);
/* General register by its 4-bit number (SDM Table 28-3), RSP included. */
u64 arch_vcpu_gpr(struct vcpu *v, unsigned n);

/* Moves RIP past the instruction that exited. */
void arch_vcpu_skip_instruction(struct vcpu *v, const struct hv_exit *e);

/* Queues hardware exception vector for the next entry, combined with an
 * event already queued (SDM Vol. 3A Table 6-5); false, with nothing queued,
 * when the combination is a triple fault. */
bool arch_vcpu_inject_exception(struct vcpu *v, u8 vector, bool has_error, u32 error_code);

/* Gives v->mce_pending and v->nmi_pending to Linux's vCPU as soon as it
 * can take them (a #MC before an NMI). */
void arch_vcpu_deliver_events(struct vcpu *v);

/* An NMI in root mode interrupted the instruction at *rip: if that lies in
 * the entry stub between its last test of hv_cpu.serve_before_entry and the
 * VM-entry instruction, *rip goes back to that test (VMX: entry.asm). */
void arch_entry_window_rewind(u64 *rip);

/* The next entry of Dune vCPU v exits before the guest runs an instruction
 * (with the time slice's exit), so that Linux's vCPU gets an event it holds;
 * where the CPU has no timer for a time slice, the run goes on. */
void arch_vcpu_end_time_slice(struct hv_cpu *cpu, struct vcpu *v);

/* The next entry of Dune vCPU v runs for at most one time slice before an
 * HV_EXIT_TIME_SLICE (where the CPU has a timer for it). */
void arch_vcpu_start_time_slice(struct hv_cpu *cpu, struct vcpu *v);

/* Makes v the vCPU this CPU enters next. arrived: v ran on another CPU
 * before (or nowhere), its per-CPU state here is refreshed and its TLB
 * tags flushed. */
void arch_vcpu_load(struct hv_cpu *cpu, struct vcpu *v, bool arrived);
/* v must not stay cached on this CPU (it moves, or goes away). */
void arch_vcpu_evict(struct vcpu *v);
/* Translations of v's guest-physical space cached on this CPU go. */
void arch_vcpu_flush_gpt(struct vcpu *v);
/* Every translation of every guest cached on this CPU goes. A flush the
 * CPU refuses stops the hypervisor (hv_panic): a stale translation could
 * reach memory that is no longer the guest's. */
void arch_cpu_flush_all(struct hv_cpu *cpu);

/* Linux's vCPU: INIT puts it into the INIT state, waiting for SIPI; SIPI
 * starts it in real mode at vector << 12. */
void arch_vcpu_init_state(struct hv_cpu *cpu, struct vcpu *v);
void arch_vcpu_start_at_sipi(struct vcpu *v, u8 vector);

/* A control-register access of Linux's vCPU (the backend owns CR policy,
 * which depends on what its hardware forces). */
void arch_linux_cr_access(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e);

/* HV_EXIT_NMI_IRET: where the CPU does not block NMIs for Linux after one
 * was injected (SVM), the backend does, until the handler's IRET has run;
 * its exits come here. */
void arch_linux_nmi_iret(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e);

/* An MSR the backend owns for Linux (VMX: its capability MSRs and
 * FEATURE_CONTROL; SVM: EFER, which lives in the VMCB, and the SVM MSRs):
 * ARCH_MSR_DONE (a read's *value is set; a write is done), ARCH_MSR_FAULT
 * (#GP for Linux) or ARCH_MSR_NOT_MINE (the core's policy applies). */
enum arch_msr_result { ARCH_MSR_NOT_MINE, ARCH_MSR_DONE, ARCH_MSR_FAULT };
enum arch_msr_result arch_linux_msr_read(struct hv_cpu *cpu, struct vcpu *v, u32 msr, u64 *value);
enum arch_msr_result arch_linux_msr_write(struct hv_cpu *cpu, struct vcpu *v, u32 msr, u64 value);

/* A Dune context's vCPU: its control block set up for the machine state of
 * dune-abi 1.8 and the creation record, or freed. 0, -HV_ENOMEM or -HV_EIO. */
int arch_dune_vcpu_create(struct hv_cpu *cpu, struct dune_ctx *c, const struct dunehv_ctx_create *cr);
void arch_dune_vcpu_free(struct hv *hv, struct dune_ctx *c);

/* What all Dune contexts share in the backend (VMX: the MSR bitmap that
 * lets only the FS/GS bases through; SVM: that MSR permission map and an
 * I/O permission map refusing every port): 0 or -HV_ENOMEM. */
int arch_dune_setup(struct hv *hv);

/* A Dune context's guest-physical page tables (VMX: its EPT; SVM: its
 * nested page tables; arch/x86/dune_gpt.c for both), rooted at
 * c->gpt_root (a zeroed pool page); map and unmap under c->lock. Leaf
 * levels: 1 (4 KiB), 2 (2 MiB), 3 (1 GiB), up to arch_gpt_max_level(). A
 * leaf maps gpa to hpa, write-back, with access HV_ACCESS_*; tables below
 * the root are charged to c->table_pages up to c->quota and to c->account
 * up to its limit, and leave DUNE_POOL_RESERVE pages in the pool. 0,
 * -HV_EINVAL, -HV_EEXIST (smaller pages still mapped there), -HV_ENOMEM
 * or -HV_EDQUOT. Unmap returns the number of leaves removed and unlinks
 * the tables it emptied into *detached (start with 0); once every CPU that
 * may cache the context's paths was flushed, arch_gpt_free_detached
 * returns them to the pool and uncharges them (under c->lock). Free
 * returns every table to the pool, the root included (not the pages the
 * leaves mapped), and uncharges them. */
unsigned arch_gpt_max_level(struct hv *hv);
int arch_gpt_map(struct hv *hv, struct dune_ctx *c, u64 gpa, u64 hpa, unsigned level, u32 access);
u64 arch_gpt_unmap(struct hv *hv, struct dune_ctx *c, u64 gpa, u64 size, u64 *detached);
void arch_gpt_free_detached(struct hv *hv, struct dune_ctx *c, u64 detached);
void arch_gpt_free(struct hv *hv, struct dune_ctx *c);

/* The backend's code of an exit the core made up (a triple fault while
 * injecting, an emulated INIT): upstream Dune reports VMX reasons to the
 * process. */
u32 arch_vendor_reason(enum hv_exit_kind kind);

/* DUNEHV_VENDOR_* of the backend: what its exit codes and counter slots number. */
u32 arch_vendor(void);

/* Name of the backend's exit code, for log lines. */
const char *arch_exit_reason_name(u32 vendor_reason);

/* The control block and registers of v, to the log at error level. */
void arch_vcpu_dump(struct hv_cpu *cpu, struct vcpu *v);

#endif
