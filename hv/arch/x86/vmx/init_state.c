/* The VMX backend's INIT and SIPI for Linux's vCPUs: the INIT state of SDM
 * Vol. 3A 10.1.1 Table 10-1 "processor state following power-up, reset or
 * INIT" written into the VMCS, in the wait-for-SIPI activity state (SDM Vol.
 * 3C 25.4.2), and the start in real mode at vector << 12 that a SIPI gives,
 * through unrestricted guest (as MiniVisor's SIPI handler does). */
#include "arch/x86/arch.h"
#include "arch/x86/segment.h"
#include "arch/x86/vmx/guest_state.h"
#include "arch/x86/vmx/vmcs_linux.h"
#include "backend.h"
#include "core/hv.h"

#define INIT_CR0 0x60000010ull /* CD, NW, ET */
#define REAL_MODE_CODE_AR 0x9b /* present, DPL 0, code, readable, accessed */
#define REAL_MODE_DATA_AR 0x93 /* present, DPL 0, data, writable, accessed */
#define BUSY_TSS32_AR 0x8b

static void set_real_mode_segment(enum guest_segment seg, u16 selector, u64 base, u32 ar)
{
	const struct guest_segment_fields *f = &guest_segment_fields[seg];
	vmcs_write16(f->sel, selector);
	vmcs_writenat(f->base, base);
	vmcs_write32(f->limit, 0xffff);
	vmcs_write32(f->ar, ar);
}

static void set_code_segment(u16 selector, u64 base) { set_real_mode_segment(GUEST_CS, selector, base, REAL_MODE_CODE_AR); }

void arch_vcpu_init_state(struct hv_cpu *cpu, struct vcpu *v)
{
	const struct vmx_controls *c = &cpu->hv->arch.ctl;
	/* Table 10-1: registers zero but EDX (the CPU signature), RFLAGS 2. */
	struct cpuid_regs id;
	cpuid_count(1, 0, &id);
	for (unsigned i = 0; i < 16; i++)
		v->regs.gpr[i] = 0;
	v->regs.gpr[GPR_RDX] = id.eax;
	vmcs_writenat(VMCS_GUEST_RSP, 0);
	vmcs_writenat(VMCS_GUEST_RIP, 0xfff0);
	vmcs_writenat(VMCS_GUEST_RFLAGS, 0x2);
	/* CR0: CD/NW/ET, real mode; the host keeps its fixed bits (NE, VMXE)
	 * set in the real registers, the guest reads the INIT values. */
	vmcs_writenat(VMCS_GUEST_CR0, vmx_fixed_cr0(c, INIT_CR0, true));
	vmcs_writenat(VMCS_CR0_READ_SHADOW, INIT_CR0);
	vmcs_writenat(VMCS_GUEST_CR3, 0);
	vmcs_writenat(VMCS_GUEST_CR4, vmx_fixed_cr4(c, CR4_VMXE));
	vmcs_writenat(VMCS_CR4_READ_SHADOW, 0);
	write_cr2(0);
	if (cpu->hv->arch.facts.cpuid_xsave)
		xsetbv(0, 1); /* XCR0 = x87 only after INIT (SDM Vol. 1 13.3) */
	vmcs_writenat(VMCS_GUEST_DR7, 0x400);
	vmcs_write64(VMCS_GUEST_IA32_DEBUGCTL, 0);
	vmcs_write64(VMCS_GUEST_IA32_EFER, 0);
	vmcs_write64(VMCS_GUEST_IA32_PAT, 0x0007040600070406ull);
	vmcs_write32(VMCS_GUEST_IA32_SYSENTER_CS, 0);
	vmcs_writenat(VMCS_GUEST_IA32_SYSENTER_ESP, 0);
	vmcs_writenat(VMCS_GUEST_IA32_SYSENTER_EIP, 0);
	vmcs_write32(VMCS_ENTRY_CONTROLS, vmcs_read32(VMCS_ENTRY_CONTROLS) & ~(u32)ENTRY_IA32E_MODE_GUEST);

	set_code_segment(0xf000, 0xffff0000ull);
	for (enum guest_segment seg = GUEST_ES; seg < GUEST_NR_SEGMENTS; seg++)
		if (seg != GUEST_CS)
			set_real_mode_segment(seg, 0, 0, REAL_MODE_DATA_AR);
	vmcs_writenat(VMCS_GUEST_GDTR_BASE, 0);
	vmcs_write32(VMCS_GUEST_GDTR_LIMIT, 0xffff);
	vmcs_writenat(VMCS_GUEST_IDTR_BASE, 0);
	vmcs_write32(VMCS_GUEST_IDTR_LIMIT, 0xffff);
	vmcs_write16(VMCS_GUEST_LDTR_SEL, 0);
	vmcs_writenat(VMCS_GUEST_LDTR_BASE, 0);
	vmcs_write32(VMCS_GUEST_LDTR_LIMIT, 0xffff);
	vmcs_write32(VMCS_GUEST_LDTR_AR, SEG_AR_LDT);
	/* SDM 27.3.1.2: TR must be a busy TSS; type 11 serves real mode too. */
	vmcs_write16(VMCS_GUEST_TR_SEL, 0);
	vmcs_writenat(VMCS_GUEST_TR_BASE, 0);
	vmcs_write32(VMCS_GUEST_TR_LIMIT, 0xffff);
	vmcs_write32(VMCS_GUEST_TR_AR, BUSY_TSS32_AR);

	/* Nothing is delivered to a CPU waiting for SIPI (SDM 27.3.4). */
	vmcs_write32(VMCS_ENTRY_INTR_INFO, 0);
	vmcs_write32(VMCS_PROC_BASED_CONTROLS,
		     vmcs_read32(VMCS_PROC_BASED_CONTROLS) & ~(u32)PROC_NMI_WINDOW_EXITING);
	v->arch.nmi_window_exiting = false;
	vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmcs_writenat(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write32(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_WAIT_FOR_SIPI);
}

void arch_vcpu_start_at_sipi(struct vcpu *v, u8 vector)
{
	(void)v;
	set_code_segment((u16)vector << 8, (u64)vector << 12);
	vmcs_writenat(VMCS_GUEST_RIP, 0);
	/* Bochs reports NMI blocking at this exit; a started CPU has none. */
	vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmcs_write32(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
}
