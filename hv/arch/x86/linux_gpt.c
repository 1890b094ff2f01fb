/* Linux's identity map and the CPU's XCR0 bits, for both backends (SDM Vol.
 * 3C 29.3 for EPT, AMD64 APM Vol. 2 15.25 for nested paging; the entry
 * formats are ept.c's gpt_format). */
#include "arch/x86/linux_gpt.h"

#include "arch/x86/arch.h"
#include "core/hv.h"

int linux_gpt_build(struct hv *hv, const char *name, const struct gpt_format *format, bool allow_2m, bool allow_1g,
		    const u64 *read_only, unsigned read_only_count, u64 *root, struct ept_stats *stats)
{
	unsigned bits = MIN(hv->phys_addr_bits, 48u);
	mtrr_read(&hv->mtrr, bits);
	struct ept_hole hole = {hv->boot->hv_phys_base, hv->boot->hv_phys_size};
	u64 top = 1ull << bits;
	if (!allow_1g && top > (512ull << 30))
		top = MAX(512ull << 30, ALIGN_UP(hv->boot->phys_map_top, SIZE_1G));
	struct ept_identity_params prm = {
		.top = top, .mtrr = &hv->mtrr, .holes = &hole, .hole_count = 1,
		.allow_2m = allow_2m, .allow_1g = allow_1g, .format = format,
		.read_only_pages = read_only, .read_only_count = read_only_count,
	};
	if (ept_build_identity(&hv->pool, &prm, root, stats))
		return -HV_ENOMEM;
	log_printf(&hv->log, LOG_INFO,
		   "%s for Linux: [0, %#llx) identity, hole [%#llx, %#llx) for dunehv, %u page%s read-only; %llu x 1G, %llu x 2M, %llu x 4K leaves, %llu tables",
		   name, (unsigned long long)top, (unsigned long long)hole.base, (unsigned long long)(hole.base + hole.size),
		   read_only_count, read_only_count == 1 ? "" : "s",
		   (unsigned long long)stats->leaves_1g, (unsigned long long)stats->leaves_2m,
		   (unsigned long long)stats->leaves_4k, (unsigned long long)stats->tables);
	return 0;
}

u64 host_xcr0_supported(void)
{
	struct cpuid_regs r;
	cpuid_count(0, 0, &r);
	if (r.eax < 0xd)
		return 1;
	cpuid_count(0xd, 0, &r);
	return ((u64)r.edx << 32) | r.eax;
}
