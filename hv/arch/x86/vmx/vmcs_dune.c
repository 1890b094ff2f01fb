/* VMCS programming for Dune contexts (dune-abi 1.8; SDM Vol. 3C 25.3 guest
 * state, 25.6-25.8 controls). The process runs in 64-bit ring 0 with its own
 * EPT and VPID; anything that could reach hardware or Linux's state exits. */
#include "arch/x86/vmx/vmcs_dune.h"

#include "arch/x86/arch.h"
#include "arch/x86/ept.h"
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/vmx/vmcs_host.h"
#include "arch/x86/vmx/vmx_ops.h"
#include "backend.h"

u64 dune_guest_cr4(const struct hv *hv) { return (dune_cr4_features() | CR4_VMXE) & hv->arch.ctl.cr4_fixed1; }

struct dune_segment {
	enum vmcs_field16 sel;
	enum vmcs_field_nat base;
	enum vmcs_field32 limit, ar;
	u32 access_rights;
};

static const struct dune_segment dune_segments[] = {
	{VMCS_GUEST_CS_SEL, VMCS_GUEST_CS_BASE, VMCS_GUEST_CS_LIMIT, VMCS_GUEST_CS_AR, DUNE_CODE_AR},
	{VMCS_GUEST_SS_SEL, VMCS_GUEST_SS_BASE, VMCS_GUEST_SS_LIMIT, VMCS_GUEST_SS_AR, DUNE_DATA_AR},
	{VMCS_GUEST_DS_SEL, VMCS_GUEST_DS_BASE, VMCS_GUEST_DS_LIMIT, VMCS_GUEST_DS_AR, DUNE_DATA_AR},
	{VMCS_GUEST_ES_SEL, VMCS_GUEST_ES_BASE, VMCS_GUEST_ES_LIMIT, VMCS_GUEST_ES_AR, DUNE_DATA_AR},
	{VMCS_GUEST_FS_SEL, VMCS_GUEST_FS_BASE, VMCS_GUEST_FS_LIMIT, VMCS_GUEST_FS_AR, DUNE_DATA_AR},
	{VMCS_GUEST_GS_SEL, VMCS_GUEST_GS_BASE, VMCS_GUEST_GS_LIMIT, VMCS_GUEST_GS_AR, DUNE_DATA_AR},
};

u32 vmcs_setup_dune(struct hv *hv, struct hv_cpu *cpu, struct dune_ctx *c, const struct dunehv_ctx_create *cr)
{
	const struct vmx_controls *ctl = &hv->arch.ctl;

	/* Controls (SDM 25.6-25.8). #DB and #BP go to Linux (debugger
	 * support), #MC to Linux's machine-check handler (machine_check.h);
	 * every other exception to the process's own IDT. */
	const struct vmcs_execution_setup exec = {
		.pinbased = ctl->dune_pinbased, .procbased = ctl->dune_procbased, .procbased2 = ctl->dune_procbased2,
		.exit = ctl->dune_exit, .entry = ctl->dune_entry, .exception_bitmap = BIT(VEC_DB) | BIT(VEC_BP) | BIT(VEC_MC),
		.msr_bitmap_pa = hv->arch.dune_msr_bitmap_pa, .eptp = c->vcpu.arch.eptp, .vpid = c->vcpu.tlb_tag,
	};
	u32 r = vmcs_write_execution_controls(&exec);
	if (r)
		return r;

	/* Every CR0/CR4 bit is host-owned: any change exits (SDM 25.6.6). */
	u64 cr4 = dune_guest_cr4(hv);
	WNAT(VMCS_CR0_GUEST_HOST_MASK, ~0ull);
	WNAT(VMCS_CR4_GUEST_HOST_MASK, ~0ull);
	WNAT(VMCS_CR0_READ_SHADOW, DUNE_CR0);
	WNAT(VMCS_CR4_READ_SHADOW, cr4);

	r = vmcs_write_host_state(hv, cpu);
	if (r)
		return r;

	/* Guest state (SDM 25.4; dune-abi 1.8). */
	WNAT(VMCS_GUEST_CR0, DUNE_CR0);
	WNAT(VMCS_GUEST_CR3, cr->cr3);
	WNAT(VMCS_GUEST_CR4, cr4);
	WNAT(VMCS_GUEST_DR7, 0x400);
	WNAT(VMCS_GUEST_RIP, cr->rip);
	WNAT(VMCS_GUEST_RSP, cr->rsp);
	WNAT(VMCS_GUEST_RFLAGS, dune_sanitize_rflags(cr->rflags));
	for (unsigned i = 0; i < ARRAY_SIZE(dune_segments); i++) {
		W16(dune_segments[i].sel, 0);
		WNAT(dune_segments[i].base, 0);
		W32(dune_segments[i].limit, 0xffffffff);
		W32(dune_segments[i].ar, dune_segments[i].access_rights);
	}
	WNAT(VMCS_GUEST_FS_BASE, cr->fs_base);
	WNAT(VMCS_GUEST_GS_BASE, cr->gs_base);
	W16(VMCS_GUEST_TR_SEL, 0);
	WNAT(VMCS_GUEST_TR_BASE, 0);
	W32(VMCS_GUEST_TR_LIMIT, 0xff);
	W32(VMCS_GUEST_TR_AR, DUNE_TSS_AR);
	W16(VMCS_GUEST_LDTR_SEL, 0);
	WNAT(VMCS_GUEST_LDTR_BASE, 0);
	W32(VMCS_GUEST_LDTR_LIMIT, 0);
	W32(VMCS_GUEST_LDTR_AR, 0x10000); /* unusable */
	WNAT(VMCS_GUEST_GDTR_BASE, 0);
	W32(VMCS_GUEST_GDTR_LIMIT, 0);
	WNAT(VMCS_GUEST_IDTR_BASE, 0);
	W32(VMCS_GUEST_IDTR_LIMIT, 0);
	W64(VMCS_GUEST_IA32_EFER, DUNE_EFER);
	W64(VMCS_GUEST_IA32_PAT, DUNE_PAT);
	W64(VMCS_GUEST_IA32_DEBUGCTL, 0);
	W32(VMCS_GUEST_IA32_SYSENTER_CS, 0);
	WNAT(VMCS_GUEST_IA32_SYSENTER_ESP, 0);
	WNAT(VMCS_GUEST_IA32_SYSENTER_EIP, 0);
	W32(VMCS_GUEST_INTERRUPTIBILITY, 0);
	W32(VMCS_GUEST_ACTIVITY_STATE, 0);
	WNAT(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, 0);
	return 0;
}

int arch_dune_vcpu_create(struct hv_cpu *cpu, struct dune_ctx *c, const struct dunehv_ctx_create *cr)
{
	struct hv *hv = cpu->hv;
	struct arch_vcpu *a = &c->vcpu.arch;
	a->vmcs_pa = page_pool_alloc(&hv->pool);
	if (!a->vmcs_pa)
		return -HV_ENOMEM;
	a->eptp = ept_pointer(c->gpt_root);
	/* SDM 25.2: the region starts with the VMCS revision identifier. */
	*(u32 *)phys_to_virt(a->vmcs_pa) = hv->arch.ctl.vmcs_revision;

	/* Program the new VMCS, then make Linux's current again (SDM 25.11.3). */
	u32 bad = 0;
	if (!vmclear(a->vmcs_pa) || !vmptrld(a->vmcs_pa))
		bad = ~0u;
	else
		bad = vmcs_setup_dune(hv, cpu, c, cr);
	if (!vmptrld(cpu->linux_vcpu.arch.vmcs_pa))
		hv_panic(cpu, "cannot make Linux's VMCS current again");
	/* SDM 25.11.1: a VMCS is active on one CPU at a time. VMCLEAR writes it
	 * back and leaves it inactive and clear, so its first run may be on any
	 * CPU (which flushes its VPID and EPTP there: they may have served an
	 * earlier context). */
	vmclear(a->vmcs_pa);
	a->active = false;
	a->launched = 0;
	if (bad) {
		log_printf(&hv->log, LOG_ERROR, "Dune context VMCS setup failed at field %#x", bad);
		return -HV_EIO;
	}
	return 0;
}

void arch_dune_vcpu_free(struct hv *hv, struct dune_ctx *c)
{
	struct arch_vcpu *a = &c->vcpu.arch;
	if (a->vmcs_pa)
		page_pool_free(&hv->pool, a->vmcs_pa);
	a->vmcs_pa = 0;
	a->eptp = 0;
}
