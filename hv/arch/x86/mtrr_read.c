/* Reads the running CPU's MTRRs (SDM Vol. 3A 12.11.1-12.11.3). */
#include "arch/x86/arch.h"
#include "core/mtrr.h"

void mtrr_read(struct mtrr_state *m, unsigned phys_addr_bits)
{
	static const u32 fixed_msrs[MTRR_FIXED_MSRS] = {
		MSR_IA32_MTRR_FIX64K_00000, MSR_IA32_MTRR_FIX16K_80000, MSR_IA32_MTRR_FIX16K_A0000,
		MSR_IA32_MTRR_FIX4K_C0000,  MSR_IA32_MTRR_FIX4K_C0000 + 1, MSR_IA32_MTRR_FIX4K_C0000 + 2,
		MSR_IA32_MTRR_FIX4K_C0000 + 3, MSR_IA32_MTRR_FIX4K_C0000 + 4, MSR_IA32_MTRR_FIX4K_C0000 + 5,
		MSR_IA32_MTRR_FIX4K_C0000 + 6, MSR_IA32_MTRR_FIX4K_C0000 + 7,
	};
	struct cpuid_regs r;
	*m = (struct mtrr_state){0};
	m->phys_addr_mask = (1ull << phys_addr_bits) - 1;
	cpuid_count(1, 0, &r);
	if (!(r.edx & BIT(12))) { /* no MTRRs: def_type 0 means all UC */
		return;
	}
	m->cap = rdmsr(MSR_IA32_MTRRCAP);
	m->def_type = rdmsr(MSR_IA32_MTRR_DEF_TYPE);
	if (m->cap & MTRR_CAP_FIX)
		for (unsigned i = 0; i < MTRR_FIXED_MSRS; i++)
			m->fixed[i] = rdmsr(fixed_msrs[i]);
	m->variable_count = MIN((unsigned)(m->cap & 0xff), MTRR_MAX_VARIABLE);
	for (unsigned i = 0; i < m->variable_count; i++) {
		m->variable[i].base = rdmsr(MSR_IA32_MTRR_PHYSBASE0 + 2 * i);
		m->variable[i].mask = rdmsr(MSR_IA32_MTRR_PHYSBASE0 + 2 * i + 1);
	}
}
