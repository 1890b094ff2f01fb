/* Host-state area (SDM 25.5, checks in 27.2.3), the same for every VMCS a
 * CPU runs: its own CR3, GDT, IDT, TSS, stack and VM-exit entry point. */
#include "arch/x86/vmx/vmcs_host.h"

#include "arch/x86/arch.h"
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/vmx/vmcs_linux.h"

u32 vmcs_write_host_state(struct hv *hv, struct hv_cpu *cpu)
{
	const struct vmx_controls *c = &hv->arch.ctl;
	u64 cr4 = read_cr4();
	u64 host_cr4 = vmx_fixed_cr4(c, cr4 | CR4_VMXE | (hv->arch.facts.cpuid_xsave ? CR4_OSXSAVE : 0));
	WNAT(VMCS_HOST_CR0, vmx_fixed_cr0(c, read_cr0(), false));
	WNAT(VMCS_HOST_CR3, hv->boot->host_cr3);
	WNAT(VMCS_HOST_CR4, host_cr4);
	W16(VMCS_HOST_CS_SEL, HOST_CS_SEL);
	W16(VMCS_HOST_SS_SEL, HOST_DS_SEL);
	W16(VMCS_HOST_DS_SEL, HOST_DS_SEL);
	W16(VMCS_HOST_ES_SEL, HOST_DS_SEL);
	W16(VMCS_HOST_FS_SEL, HOST_DS_SEL);
	W16(VMCS_HOST_GS_SEL, HOST_DS_SEL);
	W16(VMCS_HOST_TR_SEL, HOST_TR_SEL);
	WNAT(VMCS_HOST_FS_BASE, 0);
	WNAT(VMCS_HOST_GS_BASE, (u64)(uintptr_t)cpu);
	WNAT(VMCS_HOST_TR_BASE, (u64)(uintptr_t)&cpu->tss);
	WNAT(VMCS_HOST_GDTR_BASE, (u64)(uintptr_t)cpu->gdt);
	WNAT(VMCS_HOST_IDTR_BASE, (u64)(uintptr_t)cpu->idt);
	WNAT(VMCS_HOST_RSP, cpu->stack_top);
	WNAT(VMCS_HOST_RIP, (u64)(uintptr_t)vmexit_entry);
	W64(VMCS_HOST_IA32_EFER, rdmsr(MSR_IA32_EFER) | EFER_LMA | EFER_LME);
	W64(VMCS_HOST_IA32_PAT, 0x0007040600070406ull); /* power-on default */
	W32(VMCS_HOST_IA32_SYSENTER_CS, 0);
	WNAT(VMCS_HOST_IA32_SYSENTER_ESP, 0);
	WNAT(VMCS_HOST_IA32_SYSENTER_EIP, 0);
	return 0;
}

u32 vmcs_write_execution_controls(const struct vmcs_execution_setup *s)
{
	W32(VMCS_PIN_BASED_CONTROLS, s->pinbased);
	W32(VMCS_PROC_BASED_CONTROLS, s->procbased);
	W32(VMCS_PROC_BASED_CONTROLS2, s->procbased2);
	W32(VMCS_EXIT_CONTROLS, s->exit);
	W32(VMCS_ENTRY_CONTROLS, s->entry);
	W32(VMCS_EXCEPTION_BITMAP, s->exception_bitmap);
	W32(VMCS_PAGE_FAULT_ERROR_MASK, 0);
	W32(VMCS_PAGE_FAULT_ERROR_MATCH, 0);
	W32(VMCS_CR3_TARGET_COUNT, 0);
	W32(VMCS_EXIT_MSR_STORE_COUNT, 0);
	W32(VMCS_EXIT_MSR_LOAD_COUNT, 0);
	W32(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	W32(VMCS_ENTRY_INTR_INFO, 0);
	W64(VMCS_MSR_BITMAP, s->msr_bitmap_pa);
	W64(VMCS_IO_BITMAP_A, s->io_bitmap_pa[0]);
	W64(VMCS_IO_BITMAP_B, s->io_bitmap_pa[1]);
	W64(VMCS_TSC_OFFSET, 0);
	W64(VMCS_EPT_POINTER, s->eptp);
	W16(VMCS_VPID, s->vpid);
	/* SDM 25.4.2: VMCS link pointer must be all ones when not shadowing. */
	W64(VMCS_VMCS_LINK_POINTER, ~0ull);
	if (s->procbased2 & PROC2_ENABLE_XSAVES)
		W64(VMCS_XSS_EXITING_BITMAP, 0); /* SDM 25.6.20: no XSAVES exits */
	return 0;
}
