/* Fixed-width types and small helpers shared by all of hv/ (host-testable). */
#ifndef HV_TYPES_H
#define HV_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;
typedef int32_t s32;

#define PAGE_SIZE 4096ull
#define PAGE_SHIFT 12
#define SIZE_2M (2ull << 20)
#define SIZE_1G (1ull << 30)

#define ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((u64)(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((u64)(a)-1))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BIT(n) (1ull << (n))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Linux errno values, used as negative results of hypercalls. */
#define HV_EPERM 1
#define HV_EFAULT 14
#define HV_ENOMEM 12
#define HV_EINVAL 22
#define HV_EBUSY 16
#define HV_EEXIST 17
#define HV_ENOSYS 38
#define HV_EIO 5
#define HV_EDQUOT 122
#define HV_EOPNOTSUPP 95
#define HV_ETIMEDOUT 110

/* True when [base, base + size) and [obase, obase + osize) intersect. */
static inline bool ranges_overlap(u64 base, u64 size, u64 obase, u64 osize)
{
	return size && osize && base < obase + osize && obase < base + size;
}

/* True when [base, base + size) lies within [obase, obase + osize). */
static inline bool range_within(u64 base, u64 size, u64 obase, u64 osize)
{
	return base >= obase && size <= osize && base - obase <= osize - size;
}

#endif
