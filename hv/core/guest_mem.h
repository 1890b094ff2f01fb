/* Checks on guest-physical ranges handed to the hypervisor (pure). */
#ifndef HV_GUEST_MEM_H
#define HV_GUEST_MEM_H

#include "core/boot_info.h"

/* True when [gpa, gpa + size) is non-empty, lies inside one RAM range and
 * does not touch the hypervisor's memory [hv_base, hv_base + hv_size). */
bool guest_ram_range_ok(const struct hv_ram_range *ram, unsigned ram_count, u64 hv_base, u64 hv_size, u64 gpa,
			u64 size);

/* The same check against the hypervisor's boot record: a guest buffer the
 * host may touch through its identity map. */
static inline bool guest_buffer_ok(const struct hv_boot_info *bi, u64 gpa, u64 size)
{
	return guest_ram_range_ok(bi->ram, bi->ram_range_count, bi->hv_phys_base, bi->hv_phys_size, gpa, size);
}

#endif
