/* Dune context table (see dune_ctx.h). */
#include "core/dune_ctx.h"

#include <string.h>

int dune_ctx_alloc(struct dune_ctx_table *t, u64 token)
{
	spin_lock(&t->lock);
	for (unsigned i = 0; i < DUNEHV_CTX_MAX; i++) {
		struct dune_ctx *c = &t->ctx[i];
		if (c->live)
			continue;
		u32 generation = c->generation + 1;
		if (generation > 0xffffffffu >> 1)
			generation = 1; /* handles stay positive as s64 */
		memset(c, 0, sizeof(*c));
		c->live = true;
		c->generation = generation;
		c->token = token;
		c->vcpu.kind = VCPU_DUNE;
		c->vcpu.arch.vpid = (u16)(DUNE_CTX_FIRST_VPID + i);
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
	}
	spin_unlock(&t->lock);
}
