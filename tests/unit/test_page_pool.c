#include "core/page_pool.h"
#include "unit.h"

UNIT_TEST(alloc_free_exhaust)
{
	const unsigned pages = 64;
	void *mem = unit_alloc_pages(pages);
	struct page_pool p;
	u64 base = (u64)(uintptr_t)mem;
	CHECK_EQ(page_pool_init(&p, base, pages * PAGE_SIZE, unit_identity), 0);
	CHECK_EQ(p.free_pages, pages - 1); /* one bitmap page */
	u64 got[64];
	unsigned n = 0;
	for (u64 pa; (pa = page_pool_alloc(&p)) != 0; n++) {
		CHECK(pa >= base + PAGE_SIZE && pa < base + pages * PAGE_SIZE);
		CHECK_EQ(pa & (PAGE_SIZE - 1), 0);
		const unsigned char *b = (const void *)(uintptr_t)pa;
		CHECK(b[0] == 0 && b[PAGE_SIZE - 1] == 0); /* zeroed */
		memset((void *)(uintptr_t)pa, 0x5a, PAGE_SIZE);
		got[n] = pa;
	}
	CHECK_EQ(n, pages - 1);
	CHECK_EQ(p.free_pages, 0);
	CHECK_EQ(page_pool_alloc(&p), 0);
	for (unsigned i = 0; i < n; i++)
		CHECK_EQ(page_pool_free(&p, got[i]), 0);
	CHECK_EQ(p.free_pages, pages - 1);
	free(mem);
}

UNIT_TEST(bad_frees_are_refused)
{
	void *mem = unit_alloc_pages(16);
	struct page_pool p;
	u64 base = (u64)(uintptr_t)mem;
	CHECK_EQ(page_pool_init(&p, base, 16 * PAGE_SIZE, unit_identity), 0);
	u64 a = page_pool_alloc(&p);
	CHECK_EQ(page_pool_free(&p, a), 0);
	CHECK_EQ(page_pool_free(&p, a), -HV_EINVAL);            /* double free */
	CHECK_EQ(page_pool_free(&p, base), -HV_EINVAL);         /* the bitmap itself */
	CHECK_EQ(page_pool_free(&p, base + 16 * PAGE_SIZE), -HV_EINVAL); /* past the end */
	CHECK_EQ(page_pool_free(&p, base - PAGE_SIZE), -HV_EINVAL);
	CHECK_EQ(page_pool_free(&p, a + 8), -HV_EINVAL);        /* misaligned */
	CHECK_EQ(page_pool_free_pages(&p, a, 0), -HV_EINVAL);
	CHECK_EQ(page_pool_free_pages(&p, base + 15 * PAGE_SIZE, 2), -HV_EINVAL); /* runs off the end */
	CHECK_EQ(p.free_pages, 15);
	free(mem);
}

UNIT_TEST(contiguous_and_aligned)
{
	void *mem = unit_alloc_pages(128);
	struct page_pool p;
	u64 base = (u64)(uintptr_t)mem;
	CHECK_EQ(page_pool_init(&p, base, 128 * PAGE_SIZE, unit_identity), 0);
	u64 one = page_pool_alloc(&p);
	u64 run = page_pool_alloc_pages(&p, 8, 8);
	CHECK(run != 0);
	CHECK_EQ((run / PAGE_SIZE) % 8, 0);
	CHECK(run != one);
	CHECK_EQ(page_pool_alloc_pages(&p, 200, 1), 0); /* more than exists */
	CHECK_EQ(page_pool_alloc_pages(&p, 1, 3), 0);   /* alignment not a power of two */
	CHECK_EQ(page_pool_alloc_pages(&p, 0, 1), 0);
	CHECK_EQ(page_pool_free_pages(&p, run, 8), 0);
	CHECK_EQ(page_pool_free(&p, one), 0);
	CHECK_EQ(p.free_pages, 127);
	/* fragmentation: every other page taken, no run of 2 exists */
	u64 pages[128];
	unsigned n = 0;
	while ((pages[n] = page_pool_alloc(&p)) != 0)
		n++;
	for (unsigned i = 0; i < n; i += 2)
		page_pool_free(&p, pages[i]);
	CHECK_EQ(page_pool_alloc_pages(&p, 2, 1), 0);
	CHECK(page_pool_alloc(&p) != 0);
	free(mem);
}

UNIT_TEST(init_rejects_bad_ranges)
{
	void *mem = unit_alloc_pages(2);
	struct page_pool p;
	CHECK_EQ(page_pool_init(&p, (u64)(uintptr_t)mem + 1, 2 * PAGE_SIZE, unit_identity), -HV_EINVAL);
	CHECK_EQ(page_pool_init(&p, (u64)(uintptr_t)mem, PAGE_SIZE, unit_identity), -HV_EINVAL);
	free(mem);
}

const struct unit_test page_pool_tests[] = {
	{"alloc_free_exhaust", alloc_free_exhaust},
	{"bad_frees_are_refused", bad_frees_are_refused},
	{"contiguous_and_aligned", contiguous_and_aligned},
	{"init_rejects_bad_ranges", init_rejects_bad_ranges},
};
const unsigned page_pool_count = sizeof(page_pool_tests) / sizeof(page_pool_tests[0]);
