/* Which XCR0 values XSETBV accepts (SDM Vol. 1 13.3), checked before the
 * hypervisor replays a guest's XSETBV so that the host never takes a #GP on
 * its behalf. */
#ifndef HV_XCR0_H
#define HV_XCR0_H

#include "core/types.h"

#define XCR0_X87 BIT(0)
#define XCR0_SSE BIT(1)
#define XCR0_AVX BIT(2)
#define XCR0_MPX (BIT(3) | BIT(4))                /* BNDREGS, BNDCSR */
#define XCR0_AVX512 (BIT(5) | BIT(6) | BIT(7))    /* opmask, ZMM_Hi256, Hi16_ZMM */
#define XCR0_AMX (BIT(17) | BIT(18))              /* XTILECFG, XTILEDATA */

/* A set of XCR0 bits that must be all set or all clear. */
static inline bool xcr0_all_or_none(u64 value, u64 group) { return (value & group) == 0 || (value & group) == group; }

static inline bool xcr0_valid(u64 value, u64 supported)
{
	return (value & XCR0_X87) && !(value & ~supported) &&
	       !((value & XCR0_AVX) && !(value & XCR0_SSE)) &&             /* AVX needs SSE */
	       xcr0_all_or_none(value, XCR0_MPX) &&                        /* BNDREGS = BNDCSR */
	       xcr0_all_or_none(value, XCR0_AVX512) &&                     /* AVX-512 together, */
	       !((value & XCR0_AVX512) && !(value & XCR0_AVX)) &&          /* and with AVX */
	       xcr0_all_or_none(value, XCR0_AMX);                          /* XTILECFG = XTILEDATA */
}

#endif
