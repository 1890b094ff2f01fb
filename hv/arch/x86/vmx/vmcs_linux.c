/* VMCS programming for Linux as the guest (SDM Vol. 3C 25.3 guest-state area,
 * 25.5 host-state area, 25.6-25.8 controls, 27.2-27.3 VM-entry checks). */
#include "arch/x86/vmx/vmcs_linux.h"

#include "arch/x86/arch.h"
#include "arch/x86/vmx/guest_state.h"
#include "arch/x86/segment.h"
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/vmx/vmcs_host.h"

u64 vmx_fixed_cr0(const struct vmx_controls *c, u64 cr0, bool unrestricted)
{
	u64 must_be_one = c->cr0_fixed0;
	if (unrestricted) /* SDM 25.6.2: PE and PG may be 0 with unrestricted guest */
		must_be_one &= ~(CR0_PE | CR0_PG);
	return (cr0 | must_be_one) & c->cr0_fixed1;
}

u64 vmx_fixed_cr4(const struct vmx_controls *c, u64 cr4) { return (cr4 | c->cr4_fixed0) & c->cr4_fixed1; }


const struct guest_segment_fields guest_segment_fields[GUEST_NR_SEGMENTS] = {
	[GUEST_ES] = {VMCS_GUEST_ES_SEL, VMCS_GUEST_ES_BASE, VMCS_GUEST_ES_LIMIT, VMCS_GUEST_ES_AR},
	[GUEST_CS] = {VMCS_GUEST_CS_SEL, VMCS_GUEST_CS_BASE, VMCS_GUEST_CS_LIMIT, VMCS_GUEST_CS_AR},
	[GUEST_SS] = {VMCS_GUEST_SS_SEL, VMCS_GUEST_SS_BASE, VMCS_GUEST_SS_LIMIT, VMCS_GUEST_SS_AR},
	[GUEST_DS] = {VMCS_GUEST_DS_SEL, VMCS_GUEST_DS_BASE, VMCS_GUEST_DS_LIMIT, VMCS_GUEST_DS_AR},
	[GUEST_FS] = {VMCS_GUEST_FS_SEL, VMCS_GUEST_FS_BASE, VMCS_GUEST_FS_LIMIT, VMCS_GUEST_FS_AR},
	[GUEST_GS] = {VMCS_GUEST_GS_SEL, VMCS_GUEST_GS_BASE, VMCS_GUEST_GS_LIMIT, VMCS_GUEST_GS_AR},
};

/* Guest segment registers: the firmware's, decoded from its GDT (SDM 25.4.1). */
static u32 write_guest_segments(void)
{
	struct descriptor_table_reg gdtr, idtr;
	sgdt(&gdtr);
	sidt(&idtr);
	const void *gdt = phys_to_virt(gdtr.base); /* firmware GDT, identity mapped */
	u16 selectors[GUEST_NR_SEGMENTS] = {read_es(), read_cs(), read_ss(), read_ds(), read_fs(), read_gs()};
	for (unsigned i = 0; i < GUEST_NR_SEGMENTS; i++) {
		struct segment_state s;
		segment_from_gdt(gdt, gdtr.limit, selectors[i], false, &s);
		W16(guest_segment_fields[i].sel, s.selector);
		WNAT(guest_segment_fields[i].base, s.base);
		W32(guest_segment_fields[i].limit, s.limit);
		W32(guest_segment_fields[i].ar, s.access_rights);
	}
	WNAT(VMCS_GUEST_FS_BASE, rdmsr(MSR_IA32_FS_BASE));
	WNAT(VMCS_GUEST_GS_BASE, rdmsr(MSR_IA32_GS_BASE));

	/* TR: OVMF runs without one (TR = 0), which VM entry refuses; present a
	 * busy 64-bit TSS at 0 instead, as real hardware would hold after LTR. */
	struct segment_state tr;
	u16 tr_sel = read_tr();
	segment_from_gdt(gdt, gdtr.limit, tr_sel, true, &tr);
	if (tr.access_rights & SEG_AR_UNUSABLE) {
		tr = (struct segment_state){.selector = 0, .base = 0, .limit = 0x67, .access_rights = SEG_AR_TSS64_BUSY};
	}
	W16(VMCS_GUEST_TR_SEL, tr.selector);
	WNAT(VMCS_GUEST_TR_BASE, tr.base);
	W32(VMCS_GUEST_TR_LIMIT, tr.limit);
	W32(VMCS_GUEST_TR_AR, tr.access_rights | SEG_AR_TSS64_BUSY);

	struct segment_state ldt;
	segment_from_gdt(gdt, gdtr.limit, read_ldtr(), true, &ldt);
	W16(VMCS_GUEST_LDTR_SEL, ldt.selector);
	WNAT(VMCS_GUEST_LDTR_BASE, ldt.base);
	W32(VMCS_GUEST_LDTR_LIMIT, ldt.limit);
	W32(VMCS_GUEST_LDTR_AR, ldt.access_rights);

	WNAT(VMCS_GUEST_GDTR_BASE, gdtr.base);
	W32(VMCS_GUEST_GDTR_LIMIT, gdtr.limit);
	WNAT(VMCS_GUEST_IDTR_BASE, idtr.base);
	W32(VMCS_GUEST_IDTR_LIMIT, idtr.limit);
	return 0;
}

u32 vmcs_setup_linux(struct hv *hv, struct hv_cpu *cpu, const struct hv_boot_cpu *bi)
{
	const struct vmx_controls *c = &hv->arch.ctl;
	u64 efer = rdmsr(MSR_IA32_EFER);

	/* Controls (SDM 25.6-25.8): Linux runs without exits at steady state. */
	const struct vmcs_execution_setup exec = {
		.pinbased = c->pinbased, .procbased = c->procbased, .procbased2 = c->procbased2, .exit = c->exit,
		.entry = c->entry | ((efer & EFER_LMA) ? ENTRY_IA32E_MODE_GUEST : 0), .exception_bitmap = 0,
		.msr_bitmap_pa = hv->arch.msr_bitmap_pa,
		.io_bitmap_pa = {hv->arch.io_bitmap_pa[0], hv->arch.io_bitmap_pa[1]}, .eptp = hv->arch.linux_eptp, .vpid = HV_LINUX_TLB_TAG,
	};
	u32 r = vmcs_write_execution_controls(&exec);
	if (r)
		return r;

	/* CR0/CR4 ownership (SDM 25.6.6): the host owns the bits VMX fixes, so
	 * CR4.VMXE stays set while Linux reads its own value from the shadow. */
	bool ug = c->procbased2 & PROC2_UNRESTRICTED_GUEST;
	u64 cr0_owned = (c->cr0_fixed0 | ~c->cr0_fixed1) & ~(ug ? (CR0_PE | CR0_PG) : 0);
	u64 cr4_owned = c->cr4_fixed0 | ~c->cr4_fixed1;
	u64 cr0 = read_cr0(), cr4 = read_cr4();
	u64 guest_cr4_view = cr4 & ~CR4_VMXE;
	WNAT(VMCS_CR0_GUEST_HOST_MASK, cr0_owned & 0xffffffffull);
	WNAT(VMCS_CR4_GUEST_HOST_MASK, cr4_owned & 0xffffffffull);
	WNAT(VMCS_CR0_READ_SHADOW, cr0);
	WNAT(VMCS_CR4_READ_SHADOW, guest_cr4_view);

	/* Host state (SDM 25.5): own CR3, GDT, IDT, TSS and stack. */
	r = vmcs_write_host_state(hv, cpu);
	if (r)
		return r;

	/* Guest state (SDM 25.4): exactly where the loader's trampoline stood. */
	WNAT(VMCS_GUEST_CR0, vmx_fixed_cr0(c, cr0, ug));
	WNAT(VMCS_GUEST_CR3, bi->guest_cr3);
	WNAT(VMCS_GUEST_CR4, vmx_fixed_cr4(c, cr4 | CR4_VMXE));
	WNAT(VMCS_GUEST_DR7, read_dr7());
	WNAT(VMCS_GUEST_RSP, bi->guest_rsp);
	WNAT(VMCS_GUEST_RIP, bi->guest_rip);
	WNAT(VMCS_GUEST_RFLAGS, bi->guest_rflags);
	r = write_guest_segments();
	if (r)
		return r;
	W64(VMCS_GUEST_IA32_EFER, efer);
	W64(VMCS_GUEST_IA32_PAT, rdmsr(MSR_IA32_PAT));
	W64(VMCS_GUEST_IA32_DEBUGCTL, rdmsr(MSR_IA32_DEBUGCTL));
	W32(VMCS_GUEST_IA32_SYSENTER_CS, (u32)rdmsr(MSR_IA32_SYSENTER_CS));
	WNAT(VMCS_GUEST_IA32_SYSENTER_ESP, rdmsr(MSR_IA32_SYSENTER_ESP));
	WNAT(VMCS_GUEST_IA32_SYSENTER_EIP, rdmsr(MSR_IA32_SYSENTER_EIP));
	W32(VMCS_GUEST_INTERRUPTIBILITY, 0);
	W32(VMCS_GUEST_ACTIVITY_STATE, 0);
	WNAT(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, 0);
	return 0;
}
