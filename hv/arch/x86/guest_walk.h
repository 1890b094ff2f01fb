/* A guest's own page-table walk (SDM Vol. 3A 4.5 "4-level paging and
 * 5-level paging"): linear to guest-physical, as the CPU would translate
 * in 64-bit mode, every table checked by the caller before it is read.
 * Pure, host-testable. */
#ifndef HV_GUEST_WALK_H
#define HV_GUEST_WALK_H

#include "core/page_pool.h"

/* May the host read the guest page at gpa (guest RAM, not its own)? */
typedef bool (*guest_page_ok_fn)(const void *ctx, u64 gpa);

/* Translates gla with the tables at cr3 (5 levels with la57). 0 and *gpa,
 * or -1: not present, not canonical, or a table page ok() refuses. */
int guest_walk(u64 cr3, bool la57, u64 gla, pa_to_va_fn pa_to_va, guest_page_ok_fn ok, const void *ctx, u64 *gpa);

/* Copies len bytes at gla into out through guest_walk, page by page; the
 * number of bytes copied (fewer where a page does not translate). */
unsigned guest_read_linear(u64 cr3, bool la57, u64 gla, u8 *out, unsigned len, pa_to_va_fn pa_to_va,
			   guest_page_ok_fn ok, const void *ctx);

#endif
