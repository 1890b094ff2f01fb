/* A Dune context's guest-physical page tables (backend.h arch_gpt_*), in
 * the backend's format ARCH_DUNE_GPT_FORMAT: EPT (SDM Vol. 3C 29.3.2) or
 * NPT (AMD64 APM Vol. 2 15.25.5), charged to the context's quota and its
 * account. */
#include "arch/x86/ept.h"
#include "backend.h"
#include "core/dune_ctx.h"
#include "core/hv.h"

/* The context's charge (backend.h) */
static struct ept_charge charge_of(struct dune_ctx *c)
{
	return (struct ept_charge){.table_pages = &c->table_pages, .quota = c->quota,
				   .account_pages = c->account ? &c->account->pages : NULL,
				   .account_limit = c->account ? c->account->limit : 0, .reserve = DUNE_POOL_RESERVE};
}

int arch_gpt_map(struct hv *hv, struct dune_ctx *c, u64 gpa, u64 hpa, unsigned level, u32 access)
{
	const struct gpt_format *f = ARCH_DUNE_GPT_FORMAT;
	struct ept_charge charge = charge_of(c);
	return gpt_map_leaf(&hv->pool, f, c->gpt_root, gpa, hpa, (int)level, f->access_bits(access), &charge);
}

u64 arch_gpt_unmap(struct hv *hv, struct dune_ctx *c, u64 gpa, u64 size, u64 *detached)
{
	return gpt_unmap_range(&hv->pool, ARCH_DUNE_GPT_FORMAT, c->gpt_root, gpa, size, detached);
}

void arch_gpt_free_detached(struct hv *hv, struct dune_ctx *c, u64 detached)
{
	struct ept_charge charge = charge_of(c);
	ept_uncharge(&charge, ept_free_detached(&hv->pool, detached));
}

void arch_gpt_free(struct hv *hv, struct dune_ctx *c)
{
	struct ept_charge charge = charge_of(c);
	gpt_free_tables(&hv->pool, ARCH_DUNE_GPT_FORMAT, c->gpt_root);
	ept_uncharge(&charge, c->table_pages);
}
