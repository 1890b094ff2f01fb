/* Speculation barriers at the switches between distrusting contexts, where
 * KVM puts them (arch/x86/kvm/vmx/vmenter.S, vmx.c): Dune ring 0 and Linux
 * ring 0 run in the same predictor mode (guest supervisor), and both run
 * beside the hypervisor's own code.
 * - RSB fill at every VM exit: the guest's return predictions must not steer
 *   the hypervisor's RETs (Linux's FILL_RETURN_BUFFER, 32 entries).
 * - IBPB (IA32_PRED_CMD, SDM Vol. 4 2.1 / Intel's "Speculative Execution Side
 *   Channel Mitigations") when a Dune context leaves the CPU for Linux: its
 *   indirect-branch predictions must not steer Linux's kernel, nor the next
 *   Dune process; KVM does it when another VM's vCPU is loaded.
 * - VERW before every VM entry on CPUs with MD_CLEAR that are not MDS_NO:
 *   CPU buffers keep no data of the hypervisor or of the other guest (MDS).
 * - L1D flush (IA32_FLUSH_CMD) before every VM entry on L1TF-affected CPUs
 *   (neither RDCL_NO nor SKIP_L1DFL_VMENTRY in IA32_ARCH_CAPABILITIES).
 * Chosen once from the boot CPU; `mitigations = off` in dunehv.cfg turns
 * them all off (for benchmarks). The choice is pure: host-testable. */
#ifndef HV_SPEC_BARRIERS_H
#define HV_SPEC_BARRIERS_H

#include "core/types.h"
#include "include/dunehv/abi.h"

/* IA32_ARCH_CAPABILITIES bits (SDM Vol. 4 Table 2-2) */
#define ARCH_CAP_RDCL_NO BIT(0)
#define ARCH_CAP_SKIP_L1DFL_VMENTRY BIT(3)
#define ARCH_CAP_MDS_NO BIT(5)

/* What the CPU offers: CPUID.(EAX=7,ECX=0):EDX bits 26 (IBRS/IBPB), 10
 * (MD_CLEAR), 28 (L1D_FLUSH), 29 (IA32_ARCH_CAPABILITIES), and that MSR. */
struct spec_caps {
	bool ibpb, md_clear, l1d_flush, has_arch_capabilities;
	u64 arch_capabilities;
	bool amd; /* AMD (and Hygon): not affected by L1TF or MDS (Linux's cpu_vuln_whitelist) */
};

static inline u32 spec_barriers_choose(const struct spec_caps *c, bool enabled)
{
	if (!enabled)
		return 0;
	u64 ac = c->has_arch_capabilities ? c->arch_capabilities : 0;
	u32 b = DUNEHV_SPEC_RSB_FILL;
	if (c->ibpb)
		b |= DUNEHV_SPEC_IBPB;
	if (c->amd)
		return b;
	if (c->md_clear && !(ac & ARCH_CAP_MDS_NO))
		b |= DUNEHV_SPEC_VERW;
	if (!(ac & (ARCH_CAP_RDCL_NO | ARCH_CAP_SKIP_L1DFL_VMENTRY)))
		b |= c->l1d_flush ? DUNEHV_SPEC_L1D_FLUSH : DUNEHV_SPEC_L1TF_OPEN;
	return b;
}

struct hv;

/* The barriers in use (DUNEHV_SPEC_*), read by the VM entry/exit code. */
extern u32 spec_barrier_flags;

/* Reads the boot CPU's capabilities, chooses, logs the choice. */
void spec_barriers_init(struct hv *hv);

/* A Dune context left this CPU for Linux. */
void spec_barrier_dune_to_linux(void);

#endif
