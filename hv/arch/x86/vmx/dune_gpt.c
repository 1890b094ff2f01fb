/* The VMX backend's part of Dune contexts apart from the VMCS: their
 * guest-physical page tables in EPT format (SDM Vol. 3C 29.3.2 "EPT
 * Translation Mechanism", 29.3.7 memory type) and the MSR bitmap they all
 * share (25.6.9). */
#include <string.h>

#include "arch/x86/arch.h"
#include "arch/x86/msr_bitmap.h"
#include "arch/x86/ept.h"
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

/* The context's charge (backend.h) */
static struct ept_charge charge_of(struct dune_ctx *c)
{
	return (struct ept_charge){.table_pages = &c->table_pages, .quota = c->quota,
				   .account_pages = c->account ? &c->account->pages : NULL,
				   .account_limit = c->account ? c->account->limit : 0, .reserve = DUNE_POOL_RESERVE};
}

int arch_gpt_map(struct hv *hv, struct dune_ctx *c, u64 gpa, u64 hpa, unsigned level, u32 access)
{
	/* Write-back, whatever the context's PAT says: it is Linux's RAM. */
	u64 bits = ((access & HV_ACCESS_READ) ? EPT_READ : 0) | ((access & HV_ACCESS_WRITE) ? EPT_WRITE : 0) |
		   ((access & HV_ACCESS_EXEC) ? EPT_EXECUTE : 0) | ((u64)MEMTYPE_WB << EPT_MEMTYPE_SHIFT) |
		   EPT_IGNORE_PAT;
	struct ept_charge charge = charge_of(c);
	return ept_map_leaf(&hv->pool, c->gpt_root, gpa, hpa, (int)level, bits, &charge);
}

u64 arch_gpt_unmap(struct hv *hv, struct dune_ctx *c, u64 gpa, u64 size, u64 *detached)
{
	return ept_unmap_range(&hv->pool, c->gpt_root, gpa, size, detached);
}

void arch_gpt_free_detached(struct hv *hv, struct dune_ctx *c, u64 detached)
{
	struct ept_charge charge = charge_of(c);
	ept_uncharge(&charge, ept_free_detached(&hv->pool, detached));
}

void arch_gpt_free(struct hv *hv, struct dune_ctx *c)
{
	struct ept_charge charge = charge_of(c);
	ept_free_tables(&hv->pool, c->gpt_root);
	ept_uncharge(&charge, c->table_pages);
}
