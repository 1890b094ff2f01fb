/* Descriptor decoding (SDM Vol. 3A 3.4.5 segment descriptors, 8.2.3 64-bit
 * TSS descriptor; Vol. 3C 25.4.1 guest segment access rights). */
#include "arch/x86/segment.h"

#include <string.h>

void segment_from_gdt(const void *gdt, u16 gdt_limit, u16 selector, bool system, struct segment_state *out)
{
	u16 index = selector & ~7u;
	unsigned size = system ? 16 : 8;
	memset(out, 0, sizeof(*out));
	out->selector = selector;
	if (index == 0 || (selector & 4) || (u32)index + size - 1 > gdt_limit) {
		out->access_rights = SEG_AR_UNUSABLE;
		return;
	}
	u64 d;
	memcpy(&d, (const u8 *)gdt + index, 8);
	u32 limit = (u32)((d & 0xffff) | ((d >> 32) & 0xf0000));
	u64 base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
	u32 ar = (u32)((d >> 40) & 0xff) | (u32)(((d >> 52) & 0xf) << 12);
	if (system) {
		u64 high;
		memcpy(&high, (const u8 *)gdt + index + 8, 8);
		base |= (high & 0xffffffff) << 32;
	}
	if (ar & BIT(15)) /* G: limit in 4 KiB units */
		limit = (limit << 12) | 0xfff;
	if (!(ar & BIT(7))) /* not present */
		ar |= SEG_AR_UNUSABLE;
	out->base = base;
	out->limit = limit;
	out->access_rights = ar;
}
