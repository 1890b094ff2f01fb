/* MSR permission maps (AMD64 APM Vol. 2 15.11, Figure 15-4): two bits per
 * MSR (read, then write) in three 2 KiB vectors for 0-0x1fff,
 * 0xc0000000-0xc0001fff and 0xc0010000-0xc0011fff; a set bit makes the
 * access exit, and MSRs outside the vectors always exit. The SVM twin of
 * arch/x86/msr_bitmap.h. */
#ifndef HV_SVM_MSRPM_H
#define HV_SVM_MSRPM_H

#include "core/types.h"

static inline void msrpm_set(u8 *msrpm, u32 msr, bool read, bool write, bool intercept)
{
	u32 base;
	if (msr <= 0x1fff)
		base = 0;
	else if (msr >= 0xc0000000u && msr <= 0xc0001fffu)
		base = 0x800;
	else if (msr >= 0xc0010000u && msr <= 0xc0011fffu)
		base = 0x1000;
	else
		return;
	u32 bit = (msr & 0x1fff) * 2; /* the read bit; the write bit follows in the same byte */
	u8 mask = (u8)(((read ? 1u : 0u) | (write ? 2u : 0u)) << (bit % 8));
	msrpm[base + bit / 8] = intercept ? msrpm[base + bit / 8] | mask : msrpm[base + bit / 8] & (u8)~mask;
}

#endif
