/* A guest's own page-table walk (SDM Vol. 3A 4.5 "4-level paging and
 * 5-level paging"): linear to guest-physical, as the CPU would translate
 * in 64-bit mode, every guest-physical page reached through the caller,
 * which may refuse it (Linux: not guest RAM; a Dune context: not in its
 * second-level tables). Pure, host-testable. */
#ifndef HV_GUEST_WALK_H
#define HV_GUEST_WALK_H

#include "core/page_pool.h"

/* Where the host reads the guest's page at gpa (page-aligned), or NULL
 * where it may not. */
typedef const void *(*guest_page_map_fn)(const void *ctx, u64 gpa);

/* Translates gla with the tables at cr3 (5 levels with la57). 0 and *gpa,
 * or -1: not present, not canonical, or a table page map() refuses. */
int guest_walk(u64 cr3, bool la57, u64 gla, guest_page_map_fn map, const void *ctx, u64 *gpa);

/* Copies len bytes at gla into out through guest_walk, page by page; the
 * number of bytes copied (fewer where a page does not translate). */
unsigned guest_read_linear(u64 cr3, bool la57, u64 gla, u8 *out, unsigned len, guest_page_map_fn map,
			   const void *ctx);

#endif
