/* The VMX backend's set-up: machine-wide (the VMX controls every CPU uses,
 * Linux's EPT and MSR bitmap) and per CPU (its capabilities, VMXON, Linux's
 * VMCS for it, and the VMLAUNCH that makes its Linux a guest). SDM Vol. 3C
 * Chapter 24 "Introduction to VMX operation", 25.11 "Software use of the
 * VMCS", 31.3 VMLAUNCH. */
#include "arch/x86/arch.h"
#include "arch/x86/spec_barriers.h"
#include "arch/x86/linux_gpt.h"
#include "arch/x86/linux_msr_policy.h"
#include "arch/x86/msr_bitmap.h"
#include "arch/x86/ept.h"
#include "arch/x86/vmx/guest_state.h"
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/vmx/vmcs_linux.h"
#include "arch/x86/vmx/vmx_ops.h"
#include "backend.h"
#include "core/hv.h"
#include "core/setup.h"

/* Linux's MSR bitmap (SDM 25.6.9): all MSRs pass through except VMX ones,
 * FEATURE_CONTROL, the MTRRs (Linux gets a copy of its own, core/mtrr.h),
 * and writes to IA32_APIC_BASE and to the trace and PEBS MSRs
 * (linux_exits.c). Needs hv->mtrr. */

static int build_msr_bitmap(struct hv *hv)
{
	hv->arch.msr_bitmap_pa = page_pool_alloc(&hv->pool);
	if (!hv->arch.msr_bitmap_pa)
		return HV_ERR_NOMEM;
	u8 *bitmap = phys_to_virt(hv->arch.msr_bitmap_pa);
	msr_bitmap_set(bitmap, MSR_IA32_FEATURE_CONTROL, true, true, true);
	for (u32 msr = MSR_IA32_VMX_FIRST; msr <= MSR_IA32_VMX_LAST + 1; msr++)
		msr_bitmap_set(bitmap, msr, true, true, true);
	msr_bitmap_set(bitmap, MSR_IA32_APIC_BASE, false, true, true);
	for (u32 msr = MSR_IA32_MTRR_PHYSBASE0; msr <= MSR_IA32_MTRR_DEF_TYPE; msr++)
		if (mtrr_msr_exists(&hv->mtrr, msr))
			msr_bitmap_set(bitmap, msr, true, true, true);
	for (u32 msr = 0; msr < 0x2000; msr++)
		if (linux_may_not_write_msr(msr))
			msr_bitmap_set(bitmap, msr, false, true, true);
	return 0;
}

/* Linux's I/O bitmaps (SDM 25.6.4): A for ports 0-0x7fff, B for the rest;
 * empty until the core asks for a port (arch_linux_trap_port). */
static int build_io_bitmaps(struct hv *hv)
{
	for (unsigned i = 0; i < 2; i++) {
		hv->arch.io_bitmap_pa[i] = page_pool_alloc(&hv->pool);
		if (!hv->arch.io_bitmap_pa[i])
			return HV_ERR_NOMEM;
	}
	return 0;
}

void arch_linux_trap_port(struct hv *hv, u16 port)
{
	u8 *bitmap = phys_to_virt(hv->arch.io_bitmap_pa[port >> 15]);
	bitmap[(port & 0x7fff) >> 3] |= (u8)(1u << (port & 7));
}

/* EPT identity map of Linux's physical address space minus our memory. */
static int build_linux_ept(struct hv *hv)
{
	if (linux_gpt_build(hv, "EPT", &ept_format, hv->arch.ctl.ept_2m, hv->arch.ctl.ept_1g, NULL, 0, &hv->arch.linux_ept_pml4,
			    &hv->arch.linux_ept_stats))
		return HV_ERR_NOMEM;
	hv->arch.linux_eptp = ept_pointer(hv->arch.linux_ept_pml4);
	return 0;
}

/* SDM 24.7: FEATURE_CONTROL, CR0/CR4 fixed bits, CR4.VMXE, then VMXON. */
static int enter_vmx_root(struct hv *hv, struct hv_cpu *cpu, const struct vmx_controls *own)
{
	if (own->feature_control_write) /* this CPU's own MSR */
		wrmsr(MSR_IA32_FEATURE_CONTROL,
		      rdmsr(MSR_IA32_FEATURE_CONTROL) | FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMX_OUTSIDE_SMX);
	write_cr0(vmx_fixed_cr0(&hv->arch.ctl, read_cr0(), false));
	write_cr4(vmx_fixed_cr4(&hv->arch.ctl, read_cr4() | CR4_VMXE));
	if (!vmxon(cpu->arch.vmxon_pa)) {
		write_cr4(read_cr4() & ~CR4_VMXE);
		return HV_ERR_VIRT_ON;
	}
	return 0;
}

static void leave_vmx(void)
{
	vmxoff();
	write_cr4(read_cr4() & ~CR4_VMXE);
}

long arch_hv_init(struct hv *hv)
{
	char why[CONFIG_ERROR_MAX];
	vmx_read_facts(&hv->arch.facts);
	if (vmx_evaluate(&hv->arch.facts, &hv->arch.ctl, why, sizeof(why)) != VMX_USABLE) {
		log_printf(&hv->log, LOG_ERROR, "VMX unusable: %s", why);
		return HV_ERR_UNUSABLE;
	}
	/* CPUID.80000008 is there on every VMX CPU; 36 bits if it said 0. */
	hv->phys_addr_bits = hv->arch.facts.phys_addr_bits ? hv->arch.facts.phys_addr_bits : 36;
	hv->xcr0_supported = host_xcr0_supported();
	spec_barriers_init(hv);
	int r = build_linux_ept(hv);
	if (!r)
		r = build_msr_bitmap(hv);
	if (!r)
		r = build_io_bitmaps(hv);
	return r;
}

long arch_cpu_up(struct hv *hv, struct hv_cpu *cpu, const struct hv_boot_cpu *bc)
{
	char why[CONFIG_ERROR_MAX];
	u32 index = cpu->index;
	struct vmx_controls ctl;
	struct vmx_cpu_facts facts;
	/* Capabilities are read on every CPU: hybrid CPUs differ per core. */
	vmx_read_facts(&facts);
	if (vmx_evaluate(&facts, &ctl, why, sizeof(why)) != VMX_USABLE) {
		log_printf(&hv->log, LOG_ERROR, "CPU %u: VMX unusable: %s", index, why);
		return HV_ERR_UNUSABLE;
	}
	if (!vmx_controls_compatible(&ctl, &hv->arch.ctl)) {
		log_printf(&hv->log, LOG_ERROR, "CPU %u offers other VMX controls than the boot CPU", index);
		return HV_ERR_UNUSABLE;
	}
	/* SDM 25.2 / 25.11.5: both regions start with the VMCS revision identifier. */
	u64 vmxon_pa = page_pool_alloc(&hv->pool), vmcs_pa = page_pool_alloc(&hv->pool);
	if (!vmxon_pa || !vmcs_pa)
		return hv_cpu_out_of_memory(hv, index);
	*(u32 *)phys_to_virt(vmxon_pa) = hv->arch.ctl.vmcs_revision;
	*(u32 *)phys_to_virt(vmcs_pa) = hv->arch.ctl.vmcs_revision;
	cpu->arch.vmxon_pa = vmxon_pa;
	cpu->linux_vcpu.arch.vmcs_pa = vmcs_pa;
	cpu->linux_mtrr = hv->mtrr; /* Linux starts from the firmware's MTRRs */
	cpu->linux_vcpu.tlb_tag = HV_LINUX_TLB_TAG;
	cpu->linux_vcpu.arch.eptp = hv->arch.linux_eptp;

	long r = enter_vmx_root(hv, cpu, &ctl);
	if (r) {
		log_printf(&hv->log, LOG_ERROR, "CPU %u: VMXON failed", index);
		return r;
	}
	/* Nothing cached from before VMXON may be used (SDM 29.4.3.3). */
	arch_cpu_flush_all(cpu);
	/* SDM 25.11.3: VMCLEAR then VMPTRLD makes the VMCS current and clear. */
	if (!vmclear(vmcs_pa) || !vmptrld(vmcs_pa)) {
		leave_vmx();
		log_printf(&hv->log, LOG_ERROR, "CPU %u: VMCLEAR/VMPTRLD failed", index);
		return HV_ERR_CONTROL_BLOCK;
	}
	u32 bad_field = vmcs_setup_linux(hv, cpu, bc);
	if (bad_field) {
		log_printf(&hv->log, LOG_ERROR, "CPU %u: VMWRITE of field %#x refused (VM-instruction error %u)", index,
			   bad_field, vmcs_read32(VMCS_VM_INSTRUCTION_ERROR));
		leave_vmx();
		return HV_ERR_CONTROL_BLOCK;
	}
	cpu->linux_vcpu.arch.active = true;
	cpu->linux_vcpu.arch.launched = 1; /* the first exit comes back through VMRESUME */
	cpu->current = &cpu->linux_vcpu;
	/* Published before the launch: from now on other CPUs may send it requests. */
	hv_cpu_publish(hv, cpu);
	log_printf(&hv->log, LOG_INFO, "VMX on, CPU %u (APIC ID %u): pin %#x proc %#x proc2 %#x exit %#x entry %#x; launching Linux's CPU",
		   index, cpu->apic_id, hv->arch.ctl.pinbased, hv->arch.ctl.procbased, hv->arch.ctl.procbased2, hv->arch.ctl.exit, hv->arch.ctl.entry);

	/* SDM 31.3 VMLAUNCH: on success the guest resumes in the trampoline. */
	__asm__ volatile("vmlaunch" ::: "cc", "memory");
	u32 err = vmcs_read32(VMCS_VM_INSTRUCTION_ERROR);
	log_printf(&hv->log, LOG_ERROR, "CPU %u: VMLAUNCH failed: VM-instruction error %u", index, err);
	hv_cpu_unpublish(hv, cpu);
	vmcs_dump(cpu);
	leave_vmx();
	return HV_ERR_FIRST_ENTRY;
}
