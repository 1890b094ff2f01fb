/* The SVM backend's set-up (AMD64 APM Vol. 2 Chapter 15): machine-wide
 * (the features every CPU uses, Linux's nested page tables and permission
 * maps) and per CPU (EFER.SVME, VM_HSAVE_PA, the host state VMSAVE keeps,
 * Linux's VMCB, checked as VMRUN will, and the first VMRUN that makes its
 * Linux a guest). */
#include "arch/x86/apic_icr.h"
#include "arch/x86/arch.h"
#include "arch/x86/linux_gpt.h"
#include "arch/x86/linux_msr_policy.h"
#include "arch/x86/spec_barriers.h"
#include "arch/x86/svm/msrpm.h"
#include "arch/x86/svm/svm_defs.h"
#include "arch/x86/svm/svm_ops.h"
#include "arch/x86/svm/vmcb_check.h"
#include "arch/x86/svm/vmcb_linux.h"
#include "backend.h"
#include "core/hv.h"
#include "core/setup.h"

/* Linux's MSR permission map: everything passes but EFER (it lives in the
 * VMCB and must keep SVME, APM 15.5.1), the SVM MSRs, the MTRRs (Linux gets
 * a copy of its own, core/mtrr.h), IA32_APIC_BASE, x2APIC ICR and IA32_XSS
 * writes and the writes linux_msr_policy.h refuses. */
static int build_msrpm(struct hv *hv)
{
	u64 pa = page_pool_alloc_pages(&hv->pool, SVM_MSRPM_PAGES, 1);
	if (!pa)
		return HV_ERR_NOMEM;
	hv->arch.msrpm_pa = pa;
	u8 *msrpm = phys_to_virt(pa);
	msrpm_set(msrpm, MSR_IA32_EFER, true, true, true);
	msrpm_set(msrpm, MSR_VM_CR, true, true, true);
	msrpm_set(msrpm, MSR_VM_HSAVE_PA, true, true, true);
	msrpm_set(msrpm, MSR_IA32_APIC_BASE, false, true, true);
	msrpm_set(msrpm, MSR_X2APIC_ICR, false, true, true); /* INIT/SIPI are emulated (guest/apic_icr.c) */
	msrpm_set(msrpm, MSR_IA32_XSS, false, true, true); /* kept per CPU for Dune contexts (vcpu.c) */
	for (u32 msr = MSR_IA32_MTRR_PHYSBASE0; msr <= MSR_IA32_MTRR_DEF_TYPE; msr++)
		if (mtrr_msr_exists(&hv->mtrr, msr))
			msrpm_set(msrpm, msr, true, true, true);
	for (u32 msr = 0; msr < 0x2000; msr++)
		if (linux_may_not_write_msr(msr))
			msrpm_set(msrpm, msr, false, true, true);
	return 0;
}

/* Linux's I/O permission map (APM 15.10.1): one bit per port, 12 KiB;
 * empty until the core asks for a port. */
static int build_iopm(struct hv *hv)
{
	hv->arch.iopm_pa = page_pool_alloc_pages(&hv->pool, SVM_IOPM_PAGES, 1);
	return hv->arch.iopm_pa ? 0 : HV_ERR_NOMEM;
}

void arch_linux_trap_port(struct hv *hv, u16 port)
{
	u8 *iopm = phys_to_virt(hv->arch.iopm_pa);
	iopm[port >> 3] |= (u8)(1u << (port & 7));
}

long arch_hv_init(struct hv *hv)
{
	char why[CONFIG_ERROR_MAX];
	svm_read_facts(&hv->arch.facts);
	if (svm_evaluate(&hv->arch.facts, &hv->arch.ctl, why, sizeof(why)) != SVM_USABLE) {
		log_printf(&hv->log, LOG_ERROR, "SVM unusable: %s", why);
		return HV_ERR_UNUSABLE;
	}
	hv->phys_addr_bits = hv->arch.facts.phys_addr_bits ? hv->arch.facts.phys_addr_bits : 36;
	hv->xcr0_supported = host_xcr0_supported();
	spec_barriers_init(hv);
	/* Linux's xAPIC page is read-only in its NPT: its ICR writes exit, so
	 * that INIT and SIPI are emulated (guest/apic_icr.c, init_sipi.c). */
	hv->arch.apic_page = rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_ADDR_MASK;
	int r = linux_gpt_build(hv, "NPT", &npt_format, true, hv->arch.ctl.npt_1g, &hv->arch.apic_page, 1,
				&hv->arch.linux_ncr3, &hv->arch.linux_npt_stats) ? HV_ERR_NOMEM : 0;
	if (!r)
		r = build_msrpm(hv);
	if (!r)
		r = build_iopm(hv);
	return r;
}

/* The host's own descriptor tables, segments and GS base (this CPU's
 * block), loaded before the first VMRUN: #VMEXIT restores the segments
 * VMRUN saved (APM 15.5.1), and VMLOAD of the state VMSAVE keeps now gives
 * back GS, TR and the rest (15.5.2). VMX loads the same from the VMCS's
 * host-state area at every exit instead. */
static void load_host_state(struct hv *hv, struct hv_cpu *cpu)
{
	/* XSETBV replays Linux's XCR0 in the host (guest/linux_exits.c), as the
	 * VMX backend's host CR4 has it (vmcs_host.c). */
	if (hv->arch.facts.cpuid_xsave)
		write_cr4(read_cr4() | CR4_OSXSAVE);
	struct __attribute__((packed)) {
		u16 limit;
		u64 base;
	} gdtr = {sizeof(cpu->gdt) - 1, (u64)(uintptr_t)cpu->gdt}, idtr = {sizeof(cpu->idt) - 1, (u64)(uintptr_t)cpu->idt};
	__asm__ volatile("lgdt %0" ::"m"(gdtr));
	__asm__ volatile("lidt %0" ::"m"(idtr));
	/* CS through a far return; the data segments and a zero FS/GS selector. */
	__asm__ volatile("pushq %[cs]\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movw %[ds], %%ax\n\t"
			 "movw %%ax, %%ds\n\t"
			 "movw %%ax, %%es\n\t"
			 "movw %%ax, %%ss\n\t"
			 "xorl %%eax, %%eax\n\t"
			 "movw %%ax, %%fs\n\t"
			 "movw %%ax, %%gs"
			 :
			 : [cs] "i"(HOST_CS_SEL), [ds] "i"(HOST_DS_SEL)
			 : "rax", "memory");
	__asm__ volatile("ltr %w0" ::"r"(HOST_TR_SEL));
	wrmsr(MSR_IA32_FS_BASE, 0);
	wrmsr(MSR_IA32_GS_BASE, (u64)(uintptr_t)cpu);
}

long arch_cpu_up(struct hv *hv, struct hv_cpu *cpu, const struct hv_boot_cpu *bc)
{
	char why[CONFIG_ERROR_MAX];
	u32 index = cpu->index;
	struct svm_controls ctl;
	struct svm_cpu_facts facts;
	svm_read_facts(&facts);
	if (svm_evaluate(&facts, &ctl, why, sizeof(why)) != SVM_USABLE) {
		log_printf(&hv->log, LOG_ERROR, "CPU %u: SVM unusable: %s", index, why);
		return HV_ERR_UNUSABLE;
	}
	if (!svm_controls_compatible(&ctl, &hv->arch.ctl)) {
		log_printf(&hv->log, LOG_ERROR, "CPU %u offers other SVM features than the boot CPU", index);
		return HV_ERR_UNUSABLE;
	}
	if ((rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_ADDR_MASK) != hv->arch.apic_page) {
		log_printf(&hv->log, LOG_ERROR, "CPU %u: its local APIC is not at %#llx as the boot CPU's", index,
			   (unsigned long long)hv->arch.apic_page);
		return HV_ERR_UNUSABLE;
	}
	u64 hsave = page_pool_alloc(&hv->pool), host_state = page_pool_alloc(&hv->pool),
	    vmcb = page_pool_alloc(&hv->pool);
	if (!hsave || !host_state || !vmcb)
		return hv_cpu_out_of_memory(hv, index);
	cpu->arch.hsave_pa = hsave;
	cpu->arch.host_state_pa = host_state;
	cpu->linux_mtrr = hv->mtrr; /* Linux starts from the firmware's MTRRs */
	if (msr_safe_read(MSR_IA32_XSS, &cpu->arch.linux_xss)) /* the firmware's, where the CPU has it */
		cpu->arch.linux_xss = 0;

	/* APM 15.4: EFER.SVME on; 15.30.4: where VMRUN keeps the host's state. */
	u64 firmware_efer = rdmsr(MSR_IA32_EFER);
	wrmsr(MSR_IA32_EFER, firmware_efer | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, hsave);
	struct vcpu *v = &cpu->linux_vcpu;
	v->arch.vmcb_pa = vmcb;
	v->tlb_tag = HV_LINUX_TLB_TAG;
	/* Linux's state is the firmware's, read before the host's replaces it. */
	vmcb_setup_linux(hv, cpu, phys_to_virt(vmcb), bc);
	/* A state VMRUN would refuse ends here, with the firmware's tables
	 * still in place (the loader boots Linux natively), not in a
	 * VMEXIT_INVALID once they are gone (APM 15.5.1). */
	const char *refused = vmcb_check_state(phys_to_virt(vmcb), hv->phys_addr_bits);
	if (refused) {
		log_printf(&hv->log, LOG_ERROR, "CPU %u: VMRUN would refuse Linux's state: %s", index, refused);
		arch_vcpu_dump(cpu, v);
		wrmsr(MSR_IA32_EFER, firmware_efer);
		return HV_ERR_FIRST_ENTRY;
	}
	/* The host's EFER.NXE (Linux's EFER is its VMCB's now): the NX bit of
	 * nested entries (Dune contexts' pages without execute access) counts
	 * only with it (15.25.5). */
	if (hv->arch.facts.cpuid_nx)
		wrmsr(MSR_IA32_EFER, rdmsr(MSR_IA32_EFER) | EFER_NXE);
	load_host_state(hv, cpu);
	/* 15.29 VM_CR.R_INIT: an INIT that reaches this CPU outside a guest (in
	 * a guest it exits first: the INIT intercept) becomes #SX for the host
	 * (host_cpu.c) instead of a reset. Linux's INITs are emulated and
	 * never sent (guest/apic_icr.c); this covers any other source where
	 * the CPU honours it (QEMU ignores both, guest/init_sipi.c). */
	u64 vm_cr;
	if (!msr_safe_read(MSR_VM_CR, &vm_cr))
		msr_safe_write(MSR_VM_CR, vm_cr | VM_CR_R_INIT);
	/* APM 15.5.2: what VMRUN does not switch (FS, GS, TR, LDTR, the
	 * SYSCALL/SYSENTER MSRs, KernelGsBase) is the host's as of now:
	 * its GS base is this CPU's block, its TR the host TSS. */
	svm_vmsave(host_state);
	cpu->current = v;
	/* Published before the first entry: from now on other CPUs may send it requests. */
	hv_cpu_publish(hv, cpu);
	log_printf(&hv->log, LOG_INFO, "SVM on, CPU %u (APIC ID %u): NPT, %u ASIDs%s%s%s; entering Linux's CPU", index,
		   cpu->apic_id, hv->arch.ctl.nr_asids, hv->arch.ctl.nrips ? ", NRIPS" : "",
		   hv->arch.ctl.flush_by_asid ? ", flush by ASID" : "", hv->arch.ctl.decode_assists ? ", decode assists" : "");
	/* Never returns: a VMRUN the CPU refuses comes back as VMEXIT_INVALID,
	 * which stops the machine with the VMCB dumped (exit_decode.c). */
	svm_run_loop(cpu->stack_top);
}
