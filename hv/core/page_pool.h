/* The hypervisor's physical page allocator: a bitmap over one contiguous
 * range of its own memory. Pages are handed out zeroed. Shared by all CPUs
 * (one lock). Pure logic: host-testable with an identity pa_to_va. */
#ifndef HV_PAGE_POOL_H
#define HV_PAGE_POOL_H

#include "core/spinlock.h"

typedef void *(*pa_to_va_fn)(u64 pa);

struct page_pool {
	struct spinlock lock;
	u64 base_pa;      /* first page managed */
	u64 npages;       /* pages managed, bitmap pages included */
	u64 free_pages;
	u64 first_page;   /* index of the first page after the bitmap */
	u64 next_hint;    /* where the next search starts */
	u64 *bitmap;      /* bit set = page in use; lives in the first pages */
	pa_to_va_fn pa_to_va;
};

/* Manages [base_pa, base_pa + bytes); base_pa page aligned. The bitmap takes
 * the first pages of the range. Returns 0 or -HV_EINVAL (range too small). */
int page_pool_init(struct page_pool *p, u64 base_pa, u64 bytes, pa_to_va_fn pa_to_va);

/* count contiguous zeroed pages aligned to align_pages (a power of two);
 * returns their physical address, or 0 when none are free. */
u64 page_pool_alloc_pages(struct page_pool *p, u64 count, u64 align_pages);
static inline u64 page_pool_alloc(struct page_pool *p) { return page_pool_alloc_pages(p, 1, 1); }

/* One zeroed page, only if at least keep pages stay free after it (a
 * reserve that other users of the pool can count on); 0 otherwise. */
u64 page_pool_alloc_keeping(struct page_pool *p, u64 keep);

/* Frees count pages at pa. Returns 0, or -HV_EINVAL for an address outside the
 * pool, a misaligned address, or a page that is not allocated (double free). */
int page_pool_free_pages(struct page_pool *p, u64 pa, u64 count);
static inline int page_pool_free(struct page_pool *p, u64 pa) { return page_pool_free_pages(p, pa, 1); }

#endif
