/* The CPUID exit, the same for Linux and for Dune contexts (SDM 26.1.2:
 * CPUID always exits in VMX non-root operation; SVM intercepts it): the native answer, filtered
 * by the policy for the CR4 the guest sees. */
#include "arch/x86/arch.h"
#include "backend.h"
#include "core/cpuid_policy.h"
#include "guest/linux_exits.h"

void guest_emulate_cpuid(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	(void)cpu;
	struct guest_regs *r = &v->regs;
	u32 leaf = (u32)r->gpr[GPR_RAX], subleaf = (u32)r->gpr[GPR_RCX];
	struct cpuid_regs out = {0};
	if (!cpuid_is_hypervisor_leaf(leaf))
		cpuid_count(leaf, subleaf, &out);
	cpuid_apply_policy(leaf, subleaf, arch_vcpu_visible_cr4(v), &out);
	r->gpr[GPR_RAX] = out.eax;
	r->gpr[GPR_RBX] = out.ebx;
	r->gpr[GPR_RCX] = out.ecx;
	r->gpr[GPR_RDX] = out.edx;
	arch_vcpu_skip_instruction(v, e);
}
