// SPDX-License-Identifier: GPL-2.0
/*
 * hvprobe's MSR checks, /proc/dunehv/msr (write anything; needs
 * test_hooks = on for the hypervisor's view of the MTRRs).
 *
 * As Linux ring 0 attacking the hypervisor, on CPU 0:
 *  msr.mtrr-linux-view   the last variable MTRR pair set to make the first
 *                        2 MiB of the hypervisor's memory uncacheable
 *                        reads back as written (Linux keeps its own view)
 *  msr.mtrr-host         the real MTRRs, as the hypervisor reads them
 *                        (DUNEHV_HC_TEST_HOST_MTRR), did not change
 *  msr.mtrr-reserved     a write with reserved bits set still #GPs
 *  msr.trace-pebs        writes to IA32_RTIT_CTL, IA32_DS_AREA (pointing
 *                        at the hypervisor) and IA32_PEBS_ENABLE #GP
 * The MTRR pair is put back afterwards.
 */
#define pr_fmt(fmt) "hvprobe: " fmt

#include <linux/kernel.h>
#include <linux/proc_fs.h>
#include <linux/sizes.h>
#include <asm/io.h>
#include <asm/msr.h>

#include "dunehv/abi.h"
#include "hvprobe.h"

#define VERDICT(cond, id, fmt, ...) \
	pr_info("%s %s - " fmt "\n", (cond) ? "ok" : "not ok", id, ##__VA_ARGS__)

#define MTRRCAP 0x0fe
#define MTRR_PHYSBASE0 0x200
#define MTRR_MASK_VALID BIT(11)
#define RTIT_CTL 0x570
#define DS_AREA 0x600
#define PEBS_ENABLE 0x3f1

static long msr_test(void *unused)
{
	struct dunehv_info info;
	u64 cap, old_base = 0, old_mask = 0, base, mask, got_base = 0, got_mask = 0;
	long host_base, host_mask;
	u32 msr_base;
	int w1, w2, bad, pt, ds, pebs;

	if (hvprobe_get_info(&info) != sizeof(info)) {
		VERDICT(false, "msr.mtrr-linux-view", "no dunehv info");
		return 0;
	}
	rdmsrl(MTRRCAP, cap);
	if (!(cap & 0xff)) {
		VERDICT(false, "msr.mtrr-linux-view", "no variable MTRRs (IA32_MTRRCAP 0x%llx)", cap);
		return 0;
	}
	msr_base = MTRR_PHYSBASE0 + 2 * ((cap & 0xff) - 1);
	rdmsrl_safe(msr_base, &old_base);
	rdmsrl_safe(msr_base + 1, &old_mask);
	base = (info.hv_phys_base & ~(u64)(SZ_2M - 1)) | 0; /* UC */
	mask = (~(u64)(SZ_2M - 1) & ((1ull << boot_cpu_data.x86_phys_bits) - 1)) | MTRR_MASK_VALID;
	w1 = wrmsrl_safe(msr_base, base);
	w2 = wrmsrl_safe(msr_base + 1, mask);
	rdmsrl_safe(msr_base, &got_base);
	rdmsrl_safe(msr_base + 1, &got_mask);
	host_base = dh_call5(DUNEHV_HC_TEST_HOST_MTRR, msr_base, 0, 0, 0, 0);
	host_mask = dh_call5(DUNEHV_HC_TEST_HOST_MTRR, msr_base + 1, 0, 0, 0, 0);
	bad = wrmsrl_safe(msr_base + 1, mask | 1);
	pt = wrmsrl_safe(RTIT_CTL, 1);
	ds = wrmsrl_safe(DS_AREA, info.hv_phys_base);
	pebs = wrmsrl_safe(PEBS_ENABLE, 1);
	wrmsrl_safe(msr_base + 1, old_mask);
	wrmsrl_safe(msr_base, old_base);

	VERDICT(!w1 && !w2 && got_base == base && got_mask == mask, "msr.mtrr-linux-view",
		"MTRR 0x%x/0x%x written 0x%llx/0x%llx (UC over the hypervisor's first 2 MiB) and read back 0x%llx/0x%llx",
		msr_base, msr_base + 1, base, mask, got_base, got_mask);
	VERDICT(host_base == (long)old_base && host_mask == (long)old_mask, "msr.mtrr-host",
		"the hypervisor's own MTRR 0x%x/0x%x: 0x%lx/0x%lx, before Linux wrote 0x%llx/0x%llx", msr_base,
		msr_base + 1, host_base, host_mask, old_base, old_mask);
	VERDICT(bad != 0, "msr.mtrr-reserved", "a PHYSMASK write with reserved bit 0 set #GPs (%d)", bad);
	VERDICT(pt && ds && pebs, "msr.trace-pebs",
		"writes to IA32_RTIT_CTL, IA32_DS_AREA (the hypervisor's base) and IA32_PEBS_ENABLE #GP (%d %d %d)", pt, ds,
		pebs);
	return 0;
}

int hvprobe_msr_proc_init(struct proc_dir_entry *dir)
{
	return hvprobe_proc_check_on_cpu0(dir, "msr", msr_test);
}
