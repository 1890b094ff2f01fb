/* CR4 of Dune contexts from CPUID (SDM Vol. 3A 2.5, CPUID.1:ECX and
 * CPUID.7:EBX; the same bits on AMD, APM Vol. 3 E.3). */
#include "arch/x86/dune_state.h"

#include "arch/x86/arch.h"

#define CR4_PAE BIT(5)
#define CR4_PGE BIT(7)
#define CR4_OSFXSR BIT(9)
#define CR4_OSXMMEXCPT BIT(10)
#define CR4_FSGSBASE BIT(16)
#define CR4_PCIDE BIT(17)

u64 dune_cr4_features(void)
{
	struct cpuid_regs r;
	u64 cr4 = CR4_PAE | CR4_PGE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	cpuid_count(1, 0, &r);
	if (r.ecx & BIT(17))
		cr4 |= CR4_PCIDE;
	if (r.ecx & BIT(26))
		cr4 |= CR4_OSXSAVE;
	cpuid_count(7, 0, &r);
	if (r.ebx & BIT(0))
		cr4 |= CR4_FSGSBASE;
	return cr4;
}
