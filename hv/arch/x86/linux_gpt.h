/* What both backends set up alike for Linux: its guest-physical identity
 * map in their second-level format, and the XCR0 bits the CPU supports. */
#ifndef HV_LINUX_GPT_H
#define HV_LINUX_GPT_H

#include "arch/x86/ept.h"

struct hv;

/* Builds the identity map of Linux's physical address space without the
 * hypervisor's memory (hv->phys_addr_bits wide, at most 48 bits; without 1
 * GiB leaves only up to 512 GiB or the end of RAM), with the largest leaves
 * the format and the firmware's MTRRs (read here into hv->mtrr) allow, the
 * read_only pages (read_only_count of them) mapped without write access,
 * and logs it under name ("EPT", "NPT"). 0 and *root, or -HV_ENOMEM. */
int linux_gpt_build(struct hv *hv, const char *name, const struct gpt_format *format, bool allow_2m, bool allow_1g,
		    const u64 *read_only, unsigned read_only_count, u64 *root, struct ept_stats *stats);

/* CPUID.(EAX=0DH,ECX=0): the XCR0 bits the CPU supports (SDM Vol. 1 13.2);
 * x87 alone where the leaf is missing. */
u64 host_xcr0_supported(void);

#endif
