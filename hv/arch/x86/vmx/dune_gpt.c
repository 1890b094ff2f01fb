/* The VMX backend's part of Dune contexts apart from the VMCS: the largest
 * EPT leaf of their guest-physical tables (arch/x86/dune_gpt.c builds them
 * in EPT format, SDM Vol. 3C 29.3.2) and the MSR bitmap they all share
 * (25.6.9). */
#include <string.h>

#include "arch/x86/arch.h"
#include "arch/x86/msr_bitmap.h"
#include "backend.h"
#include "core/dune_ctx.h"
#include "core/hv.h"

int arch_dune_setup(struct hv *hv)
{
	hv->arch.dune_msr_bitmap_pa = page_pool_alloc(&hv->pool);
	if (!hv->arch.dune_msr_bitmap_pa)
		return -HV_ENOMEM;
	/* Every MSR access exits except FS/GS base (SDM 25.6.9; dune-abi 1.8)
	 * and, beyond upstream, IA32_KERNEL_GS_BASE: dune_run.c switches it
	 * with the context (it is not in the VMCS guest state, SDM 27.3.1), so
	 * the context's value never reaches Linux, and libdune keeps its
	 * per-thread block there while ring 3 runs (SWAPGS). */
	u8 *bitmap = phys_to_virt(hv->arch.dune_msr_bitmap_pa);
	memset(bitmap, 0xff, PAGE_SIZE);
	for (u32 msr = MSR_IA32_FS_BASE; msr <= MSR_IA32_KERNEL_GS_BASE; msr++)
		msr_bitmap_set(bitmap, msr, true, true, false);
	return 0;
}

/* SDM 29.3.2: a 1 GiB EPT leaf needs IA32_VMX_EPT_VPID_CAP bit 17. */
unsigned arch_gpt_max_level(struct hv *hv) { return hv->arch.ctl.ept_1g ? 3 : 2; }
