/* The VMX backend's MSRs for Linux's vCPUs (hv/backend.h): VMX does not
 * exist for Linux (CPUID hides it), so its capability MSRs #GP and
 * IA32_FEATURE_CONTROL reads as locked with VMX off and refuses writes
 * (SDM Vol. 3C 24.7, Appendix A; the MSR bitmap 25.6.9 sends them here). */
#include "arch/x86/arch.h"
#include "backend.h"
#include "core/hv.h"

static bool is_vmx_msr(u32 msr) { return msr >= MSR_IA32_VMX_FIRST && msr <= MSR_IA32_VMX_LAST + 1; }

enum arch_msr_result arch_linux_msr_read(struct hv_cpu *cpu, struct vcpu *v, u32 msr, u64 *value)
{
	(void)cpu;
	(void)v;
	if (is_vmx_msr(msr))
		return ARCH_MSR_FAULT;
	if (msr != MSR_IA32_FEATURE_CONTROL)
		return ARCH_MSR_NOT_MINE;
	*value = (rdmsr(MSR_IA32_FEATURE_CONTROL) & ~(FEATURE_CONTROL_VMX_INSIDE_SMX | FEATURE_CONTROL_VMX_OUTSIDE_SMX)) |
		 FEATURE_CONTROL_LOCKED;
	return ARCH_MSR_DONE;
}

enum arch_msr_result arch_linux_msr_write(struct hv_cpu *cpu, struct vcpu *v, u32 msr, u64 value)
{
	(void)cpu;
	(void)v;
	(void)value;
	return is_vmx_msr(msr) || msr == MSR_IA32_FEATURE_CONTROL ? ARCH_MSR_FAULT : ARCH_MSR_NOT_MINE;
}
