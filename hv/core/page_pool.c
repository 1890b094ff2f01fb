/* Bitmap page allocator over the hypervisor's own memory (see page_pool.h). */
#include "core/page_pool.h"

#include <string.h>

static bool bit_test(const u64 *bm, u64 i) { return (bm[i / 64] >> (i % 64)) & 1; }
static void bit_set(u64 *bm, u64 i) { bm[i / 64] |= 1ull << (i % 64); }
static void bit_clear(u64 *bm, u64 i) { bm[i / 64] &= ~(1ull << (i % 64)); }

int page_pool_init(struct page_pool *p, u64 base_pa, u64 bytes, pa_to_va_fn pa_to_va)
{
	memset(p, 0, sizeof(*p));
	if (base_pa & (PAGE_SIZE - 1))
		return -HV_EINVAL;
	u64 npages = bytes / PAGE_SIZE;
	u64 bitmap_bytes = ALIGN_UP((npages + 7) / 8, 8);
	u64 bitmap_pages = ALIGN_UP(bitmap_bytes, PAGE_SIZE) / PAGE_SIZE;
	if (npages <= bitmap_pages)
		return -HV_EINVAL;
	p->base_pa = base_pa;
	p->npages = npages;
	p->pa_to_va = pa_to_va;
	p->bitmap = pa_to_va(base_pa);
	memset(p->bitmap, 0, bitmap_pages * PAGE_SIZE);
	for (u64 i = 0; i < bitmap_pages; i++)
		bit_set(p->bitmap, i);
	p->free_pages = npages - bitmap_pages;
	p->next_hint = bitmap_pages;
	p->first_page = bitmap_pages;
	return 0;
}

/* First index >= from of a free run of count pages whose physical address is
 * aligned to align pages, or npages when there is none. */
static u64 find_run(const struct page_pool *p, u64 from, u64 count, u64 align)
{
	u64 base_index = p->base_pa / PAGE_SIZE;
	u64 i = ALIGN_UP(base_index + from, align) - base_index;
	while (i + count <= p->npages) {
		u64 j = 0;
		while (j < count && !bit_test(p->bitmap, i + j))
			j++;
		if (j == count)
			return i;
		i = ALIGN_UP(base_index + i + j + 1, align) - base_index;
	}
	return p->npages;
}

static u64 alloc_keeping(struct page_pool *p, u64 count, u64 align_pages, u64 keep)
{
	if (!count || !align_pages || (align_pages & (align_pages - 1)))
		return 0;
	spin_lock(&p->lock);
	u64 i = p->npages;
	if (count <= p->free_pages && p->free_pages - count >= keep) {
		i = find_run(p, p->next_hint, count, align_pages);
		if (i >= p->npages)
			i = find_run(p, p->first_page, count, align_pages);
	}
	if (i >= p->npages) {
		spin_unlock(&p->lock);
		return 0;
	}
	for (u64 j = 0; j < count; j++)
		bit_set(p->bitmap, i + j);
	p->free_pages -= count;
	p->next_hint = i + count;
	spin_unlock(&p->lock);
	u64 pa = p->base_pa + i * PAGE_SIZE;
	memset(p->pa_to_va(pa), 0, count * PAGE_SIZE);
	return pa;
}

u64 page_pool_alloc_pages(struct page_pool *p, u64 count, u64 align_pages) { return alloc_keeping(p, count, align_pages, 0); }

u64 page_pool_alloc_keeping(struct page_pool *p, u64 keep) { return alloc_keeping(p, 1, 1, keep); }

int page_pool_free_pages(struct page_pool *p, u64 pa, u64 count)
{
	if (!count || (pa & (PAGE_SIZE - 1)) || pa < p->base_pa)
		return -HV_EINVAL;
	u64 i = (pa - p->base_pa) / PAGE_SIZE;
	if (i < p->first_page || i >= p->npages || count > p->npages - i)
		return -HV_EINVAL;
	spin_lock(&p->lock);
	for (u64 j = 0; j < count; j++) {
		if (!bit_test(p->bitmap, i + j)) {
			spin_unlock(&p->lock);
			return -HV_EINVAL; /* not allocated: double free or wild pointer */
		}
	}
	for (u64 j = 0; j < count; j++)
		bit_clear(p->bitmap, i + j);
	p->free_pages += count;
	if (i < p->next_hint)
		p->next_hint = i;
	spin_unlock(&p->lock);
	return 0;
}
