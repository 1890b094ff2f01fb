/* Dune contexts: the table of guest contexts Linux's /dev/dune module
 * creates for its processes, named by handles (slot + generation, never a
 * pointer) and guarded by the owner's token. The table logic is pure. */
#ifndef HV_DUNE_CTX_H
#define HV_DUNE_CTX_H

#include "core/vcpu.h"
#include "include/dunehv/abi.h"
#include "core/spinlock.h"

/* VPID of slot i: 1 is Linux's, contexts take 2 .. DUNEHV_CTX_MAX + 1. */
#define DUNE_CTX_FIRST_TLB_TAG 2 /* the TLB tags of Dune contexts (VPIDs, ASIDs) start here; Linux has 1 */

#define DUNE_CTX_NO_CPU 0xffffffffu

/* Pages a context holds besides its tables: its control block (VMCS) and
 * its table root. */
#define DUNE_CTX_FIXED_PAGES 2

/* Pool pages that Dune contexts' tables may not take: what every context
 * slot needs to be created, and some for the hypervisor itself, so that
 * neither one account's tables nor all of them can refuse a creation. */
#define DUNE_POOL_RESERVE (DUNE_CTX_FIXED_PAGES * DUNEHV_CTX_MAX + 64)

/* One account's contexts (Linux: one uid's): the pages they hold (fixed
 * ones and tables, updated atomically), against the account's limit. */
struct dune_account {
	u32 id;
	u32 contexts;         /* live contexts charged here; 0: the slot is free */
	u64 pages;
	u64 limit;            /* 0: none */
};

/* A context is shared by all CPUs: lookups take a reference (refs, under the
 * table lock), a run holds one for as long as the context is on a CPU, and
 * destroy marks it dying (no new lookups), then waits until its own
 * reference is the last. */
struct dune_ctx {
	struct vcpu vcpu;     /* the context's vCPU (VMX: its VMCS, VPID, EPT pointer; SVM: VMCB, ASID) */
	struct spinlock lock; /* table changes; last_cpu and the vCPU's control-block state */
	bool live;
	bool dying;           /* destroy under way: lookups fail */
	u32 refs;             /* under the table lock */
	bool broken;          /* VM entry failed: the context can only be destroyed */
	u32 running;          /* atomic: 1 while some CPU runs it */
	u32 generation;       /* bumped at every allocation of the slot */
	u64 token;
	u64 gpt_root;         /* its guest-physical page tables (backend's format: EPT, NPT) */
	u64 table_pages;      /* tables below the root, charged to the quota */
	u64 quota;
	struct dune_account *account;
	u32 last_cpu;         /* the CPU it runs or ran on last (DUNE_CTX_NO_CPU: none) */
};

struct dune_ctx_table {
	struct spinlock lock;
	u64 live;
	struct dune_ctx ctx[DUNEHV_CTX_MAX];
	struct dune_account accounts[DUNEHV_CTX_MAX]; /* at most one per live context */
};

static inline u64 dune_ctx_handle(unsigned index, u32 generation) { return ((u64)generation << 16) | (index + 1); }

/* Takes a free slot for token, charged to account (whose limit becomes
 * account_limit, 0: none) with DUNE_CTX_FIXED_PAGES pages; returns its
 * index, -HV_ENOMEM when all are live, or -HV_EDQUOT when the account is at
 * its limit. */
int dune_ctx_alloc(struct dune_ctx_table *t, u64 token, u32 account, u64 account_limit);

/* The live context named by handle, with a reference taken, or NULL with
 * *err = -HV_EINVAL (no such context, or being destroyed) or -HV_EPERM
 * (someone else's). */
struct dune_ctx *dune_ctx_get(struct dune_ctx_table *t, u64 handle, u64 token, int *err);

/* Drops a reference taken by dune_ctx_get or dune_ctx_begin_destroy. */
void dune_ctx_put(struct dune_ctx_table *t, struct dune_ctx *c);

/* As dune_ctx_get, and marks the context dying: later lookups fail. The
 * caller waits until dune_ctx_refs() is 1 (its own), frees the context's
 * pages, then calls dune_ctx_release. */
struct dune_ctx *dune_ctx_begin_destroy(struct dune_ctx_table *t, u64 handle, u64 token, int *err);

/* References held now. */
u32 dune_ctx_refs(struct dune_ctx_table *t, struct dune_ctx *c);

/* Drops the destroyer's reference and returns the slot to the free list. */
void dune_ctx_release(struct dune_ctx_table *t, struct dune_ctx *c);

#endif
