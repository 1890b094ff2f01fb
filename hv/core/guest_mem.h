/* Checks on guest-physical ranges handed to the hypervisor (pure). */
#ifndef HV_GUEST_MEM_H
#define HV_GUEST_MEM_H

#include "core/boot_info.h"

/* True when [gpa, gpa + size) is non-empty, lies inside one RAM range and
 * does not touch the hypervisor's memory [hv_base, hv_base + hv_size). */
bool guest_ram_range_ok(const struct hv_ram_range *ram, unsigned ram_count, u64 hv_base, u64 hv_size, u64 gpa,
			u64 size);

/* Linux RAM that a Dune context may map: checked against the hypervisor's
 * boot record. The host itself never touches it. */
static inline bool guest_page_ok(const struct hv_boot_info *bi, u64 gpa, u64 size)
{
	return guest_ram_range_ok(bi->ram, bi->ram_range_count, bi->hv_phys_base, bi->hv_phys_size, gpa, size);
}

/* A guest buffer the host may touch: Linux RAM, and inside the host's
 * identity map, which ends at phys_map_top (512 GiB on a machine without
 * 1 GiB pages): RAM above it would fault in the host. */
static inline bool guest_buffer_ok(const struct hv_boot_info *bi, u64 gpa, u64 size)
{
	return guest_page_ok(bi, gpa, size) && gpa + size <= bi->phys_map_top;
}

#endif
