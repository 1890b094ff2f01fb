/* MSR bitmaps (SDM Vol. 3C 25.6.9): read-low at 0, read-high (0xc0000000..)
 * at 1024, write-low at 2048, write-high at 3072; a set bit makes the access
 * exit. MSRs outside both ranges always exit. */
#ifndef HV_MSR_BITMAP_H
#define HV_MSR_BITMAP_H

#include "core/types.h"

static inline void msr_bitmap_set(u8 *bitmap, u32 msr, bool read, bool write, bool intercept)
{
	u32 offset = msr >= 0xc0000000u ? 1024 : 0, bit = msr & 0x1fff;
	u8 mask = (u8)(1u << (bit % 8));
	if (read)
		bitmap[offset + bit / 8] = intercept ? bitmap[offset + bit / 8] | mask : bitmap[offset + bit / 8] & (u8)~mask;
	if (write)
		bitmap[2048 + offset + bit / 8] =
			intercept ? bitmap[2048 + offset + bit / 8] | mask : bitmap[2048 + offset + bit / 8] & (u8)~mask;
}

#endif
