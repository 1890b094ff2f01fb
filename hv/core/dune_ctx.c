/* Dune context table (see dune_ctx.h). */
#include "core/dune_ctx.h"

#include <string.h>

/* Under t->lock: account's entry (a free one if it has none), or NULL. */
static struct dune_account *account_locked(struct dune_ctx_table *t, u32 id)
{
	struct dune_account *free_entry = NULL;
	for (unsigned i = 0; i < DUNEHV_CTX_MAX; i++) {
		struct dune_account *a = &t->accounts[i];
		if (a->contexts && a->id == id)
			return a;
		if (!a->contexts && !free_entry)
			free_entry = a;
	}
	if (free_entry) {
		free_entry->id = id;
		free_entry->pages = 0;
	}
	return free_entry;
}

int dune_ctx_alloc(struct dune_ctx_table *t, u64 token, u32 account, u64 account_limit)
{
	spin_lock(&t->lock);
	for (unsigned i = 0; i < DUNEHV_CTX_MAX; i++) {
		struct dune_ctx *c = &t->ctx[i];
		if (c->live)
			continue;
		struct dune_account *a = account_locked(t, account); /* there is one: a context slot is free */
		a->limit = account_limit;
		if (a->limit && __atomic_load_n(&a->pages, __ATOMIC_RELAXED) + DUNE_CTX_FIXED_PAGES > a->limit) {
			spin_unlock(&t->lock);
			return -HV_EDQUOT;
		}
		a->contexts++;
		__atomic_add_fetch(&a->pages, DUNE_CTX_FIXED_PAGES, __ATOMIC_RELAXED);
		u32 generation = c->generation + 1;
		if (generation > 0xffffffffu >> 1)
			generation = 1; /* handles stay positive as s64 */
		memset(c, 0, sizeof(*c));
		c->live = true;
		c->generation = generation;
		c->token = token;
		c->account = a;
		c->vcpu.kind = VCPU_DUNE;
		c->vcpu.tlb_tag = (u16)(DUNE_CTX_FIRST_TLB_TAG + i);
		c->last_cpu = DUNE_CTX_NO_CPU;
		t->live++;
		spin_unlock(&t->lock);
		return (int)i;
	}
	spin_unlock(&t->lock);
	return -HV_ENOMEM;
}

/* Under t->lock: the live context named by handle, or NULL with *err. */
static struct dune_ctx *find_locked(struct dune_ctx_table *t, u64 handle, u64 token, int *err)
{
	u64 slot = handle & 0xffff;
	u64 generation = handle >> 16;
	if (slot == 0 || slot > DUNEHV_CTX_MAX || generation == 0 || generation > 0xffffffffu) {
		*err = -HV_EINVAL;
		return NULL;
	}
	struct dune_ctx *c = &t->ctx[slot - 1];
	if (!c->live || c->dying || c->generation != generation) {
		*err = -HV_EINVAL;
		return NULL;
	}
	if (c->token != token) {
		*err = -HV_EPERM;
		return NULL;
	}
	*err = 0;
	return c;
}

struct dune_ctx *dune_ctx_get(struct dune_ctx_table *t, u64 handle, u64 token, int *err)
{
	spin_lock(&t->lock);
	struct dune_ctx *c = find_locked(t, handle, token, err);
	if (c)
		c->refs++;
	spin_unlock(&t->lock);
	return c;
}

void dune_ctx_put(struct dune_ctx_table *t, struct dune_ctx *c)
{
	spin_lock(&t->lock);
	if (c->refs)
		c->refs--;
	spin_unlock(&t->lock);
}

struct dune_ctx *dune_ctx_begin_destroy(struct dune_ctx_table *t, u64 handle, u64 token, int *err)
{
	spin_lock(&t->lock);
	struct dune_ctx *c = find_locked(t, handle, token, err);
	if (c) {
		c->dying = true;
		c->refs++;
	}
	spin_unlock(&t->lock);
	return c;
}

u32 dune_ctx_refs(struct dune_ctx_table *t, struct dune_ctx *c)
{
	spin_lock(&t->lock);
	u32 refs = c->refs;
	spin_unlock(&t->lock);
	return refs;
}

void dune_ctx_release(struct dune_ctx_table *t, struct dune_ctx *c)
{
	spin_lock(&t->lock);
	if (c->live) {
		c->live = false;
		c->dying = false;
		c->refs = 0;
		t->live--;
		/* its tables were uncharged as they were freed */
		__atomic_sub_fetch(&c->account->pages, DUNE_CTX_FIXED_PAGES, __ATOMIC_RELAXED);
		c->account->contexts--;
		c->account = NULL;
	}
	spin_unlock(&t->lock);
}
