/* Dune contexts: the table of VMX non-root contexts Linux's /dev/dune module
 * creates for its processes, named by handles (slot + generation, never a
 * pointer) and guarded by the owner's token. The table logic is pure. */
#ifndef HV_DUNE_CTX_H
#define HV_DUNE_CTX_H

#include "include/dunehv/abi.h"
#include "spinlock.h"

/* VPID of slot i: 1 is Linux's, contexts take 2 .. DUNEHV_CTX_MAX + 1. */
#define DUNE_CTX_FIRST_VPID 2

struct dune_ctx {
	struct spinlock lock; /* EPT changes */
	bool live;
	bool broken;          /* VM entry failed: the context can only be destroyed */
	u32 running;          /* atomic: 1 while some CPU runs it */
	u32 generation;       /* bumped at every allocation of the slot */
	u64 token;
	u16 vpid;
	u64 vmcs_pa;
	u64 ept_root;
	u64 eptp;
	u64 table_pages;      /* EPT tables below the root, charged to the quota */
	u64 quota;
	bool launched;        /* VMLAUNCH done: VMRESUME from now on */
	u32 last_cpu;
	u64 kernel_gs_base;   /* swapped by software (SWAPGS target) */
	u64 cr2;              /* not in the VMCS (SDM 27.3): switched by software */
};

struct dune_ctx_table {
	struct spinlock lock;
	u64 live;
	struct dune_ctx ctx[DUNEHV_CTX_MAX];
};

static inline u64 dune_ctx_handle(unsigned index, u32 generation) { return ((u64)generation << 16) | (index + 1); }

/* Takes a free slot for token; returns its index, or -HV_ENOMEM when all are live. */
int dune_ctx_alloc(struct dune_ctx_table *t, u64 token);

/* The live context named by handle, or NULL with *err = -HV_EINVAL (no such
 * context) or -HV_EPERM (someone else's). */
struct dune_ctx *dune_ctx_lookup(struct dune_ctx_table *t, u64 handle, u64 token, int *err);

/* Returns the slot to the free list (its pages are freed by the caller). */
void dune_ctx_release(struct dune_ctx_table *t, struct dune_ctx *c);

#endif
