/* The VMX backend's control-register policy for Linux's vCPUs: a MOV to CR0
 * or CR4 that touches a bit the host owns exits (SDM Vol. 3C 25.6.6 guest/host
 * masks, 26.1.3; qualification in 28.2.1 Table 28-3) and is emulated here,
 * keeping the bits VMX fixes (SDM A.7, A.8) set in the real registers. */
#include "arch/x86/arch.h"
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/vmx/vmcs_linux.h"
#include "backend.h"
#include "core/hv.h"

/* MOV to CR0/CR4 that touches a host-owned bit. */
void arch_linux_cr_access(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	const struct vmx_controls *c = &cpu->hv->arch.ctl;
	u64 q = e->vendor_qualification;
	unsigned cr = q & 0xf, access = (q >> 4) & 3, reg = (q >> 8) & 0xf;
	if (access != 0 || (cr != 0 && cr != 4)) {
		arch_vcpu_dump(cpu, v);
		hv_panic(cpu, "unexpected control-register access (qualification %#llx)", (unsigned long long)q);
	}
	u64 value = arch_vcpu_gpr(v, reg);
	if (value >> 32) {
		linux_vcpu_inject(cpu, v, VEC_GP, true, 0);
		return;
	}
	if (cr == 0) {
		/* SDM 2.5 / 11.5.1: PG without PE and NW without CD are invalid. */
		if (((value & CR0_PG) && !(value & CR0_PE)) || ((value & BIT(29)) && !(value & BIT(30)))) {
			linux_vcpu_inject(cpu, v, VEC_GP, true, 0);
			return;
		}
		u64 old = vmcs_readnat(VMCS_GUEST_CR0);
		u64 efer = vmcs_read64(VMCS_GUEST_IA32_EFER);
		u32 entry = vmcs_read32(VMCS_ENTRY_CONTROLS);
		/* IA-32e mode follows PG when EFER.LME is set (SDM 10.8.5). */
		if (!(old & CR0_PG) && (value & CR0_PG) && (efer & EFER_LME)) {
			efer |= EFER_LMA;
			entry |= ENTRY_IA32E_MODE_GUEST;
		} else if ((old & CR0_PG) && !(value & CR0_PG) && (efer & EFER_LMA)) {
			efer &= ~EFER_LMA;
			entry &= ~(u32)ENTRY_IA32E_MODE_GUEST;
		}
		vmcs_write64(VMCS_GUEST_IA32_EFER, efer);
		vmcs_write32(VMCS_ENTRY_CONTROLS, entry);
		vmcs_writenat(VMCS_GUEST_CR0, vmx_fixed_cr0(c, value, true));
		vmcs_writenat(VMCS_CR0_READ_SHADOW, value);
	} else {
		/* Linux may not enable VMX (hidden in CPUID) nor bits the CPU lacks. */
		if ((value & CR4_VMXE) || (value & ~c->cr4_fixed1)) {
			linux_vcpu_inject(cpu, v, VEC_GP, true, 0);
			return;
		}
		vmcs_writenat(VMCS_GUEST_CR4, vmx_fixed_cr4(c, value | CR4_VMXE));
		vmcs_writenat(VMCS_CR4_READ_SHADOW, value);
	}
	arch_vcpu_skip_instruction(v, e);
}

