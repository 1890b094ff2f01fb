#include "core/guest_mem.h"

bool guest_ram_range_ok(const struct hv_ram_range *ram, unsigned ram_count, u64 hv_base, u64 hv_size, u64 gpa,
			u64 size)
{
	if (!size || gpa + size < gpa)
		return false;
	if (ranges_overlap(gpa, size, hv_base, hv_size))
		return false;
	for (unsigned i = 0; i < ram_count; i++)
		if (range_within(gpa, size, ram[i].base, ram[i].size))
			return true;
	return false;
}
