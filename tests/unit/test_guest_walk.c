#include "arch/x86/guest_walk.h"
#include <stdlib.h>

#include "unit.h"

static const void *all_ok(const void *ctx, u64 gpa) { (void)ctx; return unit_identity(gpa); }
static const void *not_this(const void *ctx, u64 gpa)
{
	return (gpa & ~0xfffull) != *(const u64 *)ctx ? unit_identity(gpa) : NULL;
}

UNIT_TEST(walks_4k_2m_1g_and_refuses_what_it_should)
{
	u64 *pml4 = unit_alloc_pages(1), *pdpt = unit_alloc_pages(1), *pd = unit_alloc_pages(1), *pt = unit_alloc_pages(1);
	u8 *page = unit_alloc_pages(2);
	for (unsigned i = 0; i < 512; i++)
		pml4[i] = pdpt[i] = pd[i] = pt[i] = 0; /* unit_alloc_pages gives garbage */
	u64 cr3 = (u64)(uintptr_t)pml4;
	u64 gla = 0xffff888000201000ull; /* PML4 273, PDPT 0, PD 1, PT 1 */
	pml4[273] = (u64)(uintptr_t)pdpt | 3;
	pdpt[0] = (u64)(uintptr_t)pd | 3;
	pd[1] = (u64)(uintptr_t)pt | 3;
	pt[1] = (u64)(uintptr_t)page | 3;
	pt[2] = (u64)(uintptr_t)(page + 4096) | 3;
	u64 gpa = 0;
	CHECK_EQ(guest_walk(cr3, false, gla + 0x123, all_ok, NULL, &gpa), 0);
	CHECK_EQ(gpa, (u64)(uintptr_t)page + 0x123);
	/* 15 bytes across the page boundary */
	page[4095] = 0x48;
	page[4096] = 0x8b;
	u8 out[15] = {0};
	CHECK_EQ(guest_read_linear(cr3, false, gla + 4095, out, 15, all_ok, NULL), 15);
	CHECK_EQ(out[0], 0x48);
	CHECK_EQ(out[1], 0x8b);
	/* a page the caller refuses ends the read there */
	u64 refused = (u64)(uintptr_t)(page + 4096);
	CHECK_EQ(guest_read_linear(cr3, false, gla + 4095, out, 15, not_this, &refused), 1);
	/* not present, not canonical */
	CHECK_EQ(guest_walk(cr3, false, gla + 0x3000, all_ok, NULL, &gpa), -1);
	CHECK_EQ(guest_walk(cr3, false, 0x0000900000000000ull, all_ok, NULL, &gpa), -1);
	/* a table the caller refuses */
	u64 pd_pa = (u64)(uintptr_t)pd;
	CHECK_EQ(guest_walk(cr3, false, gla, not_this, &pd_pa, &gpa), -1);
	/* 2 MiB and 1 GiB leaves */
	pd[1] = 0x40000000ull | BIT(7) | 3;
	CHECK_EQ(guest_walk(cr3, false, gla + 0x5678, all_ok, NULL, &gpa), 0);
	CHECK_EQ(gpa, 0x40000000ull + 0x1000 + 0x5678);
	pdpt[0] = 0x80000000ull | BIT(7) | 3;
	CHECK_EQ(guest_walk(cr3, false, gla, all_ok, NULL, &gpa), 0);
	CHECK_EQ(gpa, 0x80000000ull + 0x201000);
	free(pml4);
	free(pdpt);
	free(pd);
	free(pt);
	free(page);
}

const struct unit_test guest_walk_tests[] = {
	{"walks_4k_2m_1g_and_refuses_what_it_should", walks_4k_2m_1g_and_refuses_what_it_should},
};
const unsigned guest_walk_count = sizeof(guest_walk_tests) / sizeof(guest_walk_tests[0]);
