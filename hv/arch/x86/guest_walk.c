/* The guest's page-table walk (SDM Vol. 3A 4.5; entry formats in Tables
 * 4-15..4-20: P in bit 0, PS in bit 7 of PDPTE and PDE, the address in
 * bits 51:12). */
#include "arch/x86/guest_walk.h"

#define PTE_P BIT(0)
#define PTE_PS BIT(7)
#define PTE_ADDR 0x000ffffffffff000ull

int guest_walk(u64 cr3, bool la57, u64 gla, guest_page_map_fn map, const void *ctx, u64 *gpa)
{
	int levels = la57 ? 5 : 4;
	unsigned bits = la57 ? 57 : 48;
	s64 sext = (s64)(gla << (64 - bits)) >> (64 - bits);
	if ((u64)sext != gla)
		return -1; /* not canonical */
	u64 table = cr3 & PTE_ADDR;
	for (int level = levels; level >= 1; level--) {
		const u64 *entries = map(ctx, table);
		if (!entries)
			return -1;
		unsigned shift = 12 + 9 * (unsigned)(level - 1);
		u64 e = entries[(gla >> shift) & 511];
		if (!(e & PTE_P))
			return -1;
		if (level == 1 || ((level == 2 || level == 3) && (e & PTE_PS))) {
			u64 size = 1ull << shift;
			*gpa = ((e & PTE_ADDR) & ~(size - 1)) | (gla & (size - 1));
			return 0;
		}
		table = e & PTE_ADDR;
	}
	return -1;
}

unsigned guest_read_linear(u64 cr3, bool la57, u64 gla, u8 *out, unsigned len, guest_page_map_fn map,
			   const void *ctx)
{
	unsigned done = 0;
	while (done < len) {
		u64 gpa;
		const u8 *page;
		if (guest_walk(cr3, la57, gla + done, map, ctx, &gpa) || !(page = map(ctx, gpa & ~(PAGE_SIZE - 1))))
			break;
		unsigned in_page = (unsigned)(PAGE_SIZE - (gpa & (PAGE_SIZE - 1)));
		unsigned n = MIN(in_page, len - done);
		const u8 *src = page + (gpa & (PAGE_SIZE - 1));
		for (unsigned i = 0; i < n; i++)
			out[done + i] = src[i];
		done += n;
	}
	return done;
}
