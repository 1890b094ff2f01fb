// SPDX-License-Identifier: GPL-2.0
/*
 * hvprobe: test module for the dunehv hypercall ABI (Linux 6.1 guest).
 *
 * Load:   insmod hvprobe.ko [selftest=1]
 * Refuses to load (-ENODEV) unless CPUID 0x40000000 carries the DuneHV signature.
 *
 * /proc/dunehv/info   VERSION and INFO hypercall results, one "key=value" per line
 * /proc/dunehv/stats  EXIT_STATS: "<reason> <name> <count>" for each non-zero
 *                     reason, "total <n>", "hv_memory_violations <n>", "exits_total=<n>",
 *                     "vendor=<DUNEHV_VENDOR_*>" (whose slots the reasons number)
 * /proc/dunehv/log    the hypervisor's log ring (LOG_READ)
 * /proc/dunehv/smp, /proc/dunehv/sipi   SMP checks (smptest.c)
 *
 * selftest=1 runs the checks in hvprobe_selftest() at load time and prints
 * "hvprobe: ..." lines ending with "hvprobe: selftest done failures=<n>".
 * The module stays loaded whatever the self test finds.
 */
#define pr_fmt(fmt) "hvprobe: " fmt

#include <linux/errno.h>
#include <linux/init.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <asm/alternative.h>
#include <asm/cpufeatures.h>
#include <asm/processor.h>

#include "dunehv/abi.h"
#include "dunehv/exit_names.h"
#include "hvprobe.h"

static int selftest;
module_param(selftest, int, 0444);
MODULE_PARM_DESC(selftest, "run the hypercall self test at load time");

static int ctx = 1;
module_param(ctx, int, 0444);
MODULE_PARM_DESC(ctx, "0: the self test leaves out the Dune context checks");

static struct proc_dir_entry *proc_dir;

/* VMCALL (Intel) or VMMCALL (AMD, patched in at load time): RAX = function,
 * RDI/RSI/RDX = args; RAX = result, RDX = second result. */
static long dh_call(u64 fn, u64 a0, u64 a1, u64 a2, u64 *rdx_out)
{
	u64 rax = fn, rdi = a0, rsi = a1, rdx = a2;

	asm volatile(ALTERNATIVE("vmcall", "vmmcall", X86_FEATURE_VMMCALL)
		     : "+a"(rax), "+D"(rdi), "+S"(rsi), "+d"(rdx)
		     :
		     : "memory");
	if (rdx_out)
		*rdx_out = rdx;
	return (long)rax;
}

static bool dunehv_present(void)
{
	unsigned int a, b, c, d;

	cpuid(DUNEHV_CPUID_BASE, &a, &b, &c, &d);
	return b == DUNEHV_CPUID_SIG_EBX && c == DUNEHV_CPUID_SIG_ECX &&
	       d == DUNEHV_CPUID_SIG_EDX && a >= DUNEHV_CPUID_BASE;
}

long hvprobe_get_info(struct dunehv_info *info)
{
	struct dunehv_info *buf = kzalloc(sizeof(*buf), GFP_KERNEL);
	long r;

	if (!buf)
		return -ENOMEM;
	r = dh_call(DUNEHV_HC_INFO, virt_to_phys(buf), sizeof(*buf), 0, NULL);
	*info = *buf;
	kfree(buf);
	return r;
}

/* Returns the hypercall result; *st is zeroed first, so a short answer leaves zeros. */
static long get_stats(struct dunehv_exit_stats *st)
{
	struct dunehv_exit_stats *buf = kzalloc(sizeof(*buf), GFP_KERNEL);
	long r;

	if (!buf)
		return -ENOMEM;
	r = dh_call(DUNEHV_HC_EXIT_STATS, virt_to_phys(buf), sizeof(*buf), 0, NULL);
	*st = *buf;
	kfree(buf);
	return r;
}

static unsigned int stats_nr(const struct dunehv_exit_stats *st, long r)
{
	unsigned int n = st->nr_reasons;
	long have;

	if (r < 0)
		return 0;
	have = (r - (long)offsetof(struct dunehv_exit_stats, count)) / (long)sizeof(u64);
	if (have < 0)
		have = 0;
	if (n > DUNEHV_NR_EXIT_REASONS)
		n = DUNEHV_NR_EXIT_REASONS;
	if (n > have)
		n = have;
	return n;
}

/* ---- /proc/dunehv ---- */

static int info_show(struct seq_file *m, void *v)
{
	struct dunehv_info info = {};
	long ver = dh_call(DUNEHV_HC_VERSION, 0, 0, 0, NULL);
	long r = hvprobe_get_info(&info);

	seq_printf(m, "version=0x%lx\n", ver);
	seq_printf(m, "info_result=%ld\n", r);
	if (r < 0)
		return 0;
	seq_printf(m, "abi_version=0x%x\n", info.abi_version);
	seq_printf(m, "nr_cpus=%u\n", info.nr_cpus);
	seq_printf(m, "hv_phys_base=0x%llx\n", info.hv_phys_base);
	seq_printf(m, "hv_phys_size=0x%llx\n", info.hv_phys_size);
	seq_printf(m, "log_size=%llu\n", info.log_size);
	seq_printf(m, "log_head=%llu\n", info.log_head);
	seq_printf(m, "pool_pages_total=%llu\n", info.pool_pages_total);
	seq_printf(m, "pool_pages_free=%llu\n", info.pool_pages_free);
	seq_printf(m, "ctx_live=%llu\n", info.ctx_live);
	seq_printf(m, "ctx_pages=%llu\n", info.ctx_pages);
	seq_printf(m, "pool_pages_reserved=%llu\n", info.pool_pages_reserved);
	seq_printf(m, "spec_barriers=0x%llx\n", info.spec_barriers);
	return 0;
}

static int stats_show(struct seq_file *m, void *v)
{
	struct dunehv_exit_stats *st = kzalloc(sizeof(*st), GFP_KERNEL);
	unsigned int i, n;
	long r;

	if (!st)
		return -ENOMEM;
	r = get_stats(st);
	if (r < 0) {
		seq_printf(m, "error %ld\n", r);
		kfree(st);
		return 0;
	}
	n = stats_nr(st, r);
	for (i = 0; i < n; i++)
		if (st->count[i])
			seq_printf(m, "%u %s %llu\n", i, dunehv_exit_name(st->vendor, i), st->count[i]);
	seq_printf(m, "total %llu\n", st->total_exits);
	seq_printf(m, "hv_memory_violations %llu\n", st->hv_memory_violations);
	seq_printf(m, "guest_tsc %llu\n", st->guest_tsc);
	seq_printf(m, "exits_total=%llu\n", st->total_exits);
	seq_printf(m, "vendor=%u\n", st->vendor);
	if (r >= (long)sizeof(*st)) {
		for (i = 0; i < DUNEHV_NR_EXIT_REASONS; i++)
			if (st->dune_count[i])
				seq_printf(m, "dune %u %s %llu\n", i, dunehv_exit_name(st->vendor, i), st->dune_count[i]);
		seq_printf(m, "dune_exits_total=%llu\n", st->dune_total_exits);
	}
	kfree(st);
	return 0;
}

#define LOG_CHUNK 8192
#define LOG_MAX (4u << 20)

static int log_show(struct seq_file *m, void *v)
{
	struct dunehv_info info = {};
	u64 pos, head, first;
	char *buf;
	long r;

	r = hvprobe_get_info(&info);
	if (r < 0) {
		seq_printf(m, "hvprobe: INFO failed %ld\n", r);
		return 0;
	}
	buf = kmalloc(LOG_CHUNK, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	head = info.log_head;
	pos = head > info.log_size ? head - info.log_size : 0;
	while (pos < head) {
		r = dh_call(DUNEHV_HC_LOG_READ, virt_to_phys(buf), LOG_CHUNK, pos, &first);
		if (r < 0) {
			seq_printf(m, "\nhvprobe: LOG_READ at %llu failed %ld\n", pos, r);
			break;
		}
		if (r == 0 || r > LOG_CHUNK || first < pos)
			break;
		seq_write(m, buf, r);
		pos = first + r;
	}
	kfree(buf);
	return 0;
}

static int log_open(struct inode *inode, struct file *file)
{
	struct dunehv_info info = {};
	size_t size = PAGE_SIZE;

	if (hvprobe_get_info(&info) >= 0)
		size = min_t(u64, info.log_size + PAGE_SIZE, LOG_MAX);
	return single_open_size(file, log_show, NULL, size);
}

static const struct proc_ops log_ops = {
	.proc_open = log_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
};

/* ---- self test ---- */

static int failures;


enum region { REGION_RAM, REGION_RESERVED, REGION_UNKNOWN };

static enum region classify(phys_addr_t pa)
{
	static const unsigned long descs[] = { IORES_DESC_RESERVED, IORES_DESC_ACPI_TABLES,
					       IORES_DESC_ACPI_NV_STORAGE };
	unsigned int i;

	if (region_intersects(pa, PAGE_SIZE, IORESOURCE_SYSTEM_RAM, IORES_DESC_NONE) ==
	    REGION_INTERSECTS)
		return REGION_RAM;
	for (i = 0; i < ARRAY_SIZE(descs); i++)
		if (region_intersects(pa, PAGE_SIZE, IORESOURCE_MEM, descs[i]) ==
		    REGION_INTERSECTS)
			return REGION_RESERVED;
	return REGION_UNKNOWN;
}

/*
 * Map one page of physical memory (memremap WB: direct map for RAM,
 * ioremap_cache otherwise; ioremap as a fallback) and read it with
 * copy_from_kernel_nofault. Returns 0, -EFAULT, or -ENOMEM if unmappable.
 */
static long read_phys_page(phys_addr_t pa, const char **how, u64 *first_word)
{
	void *va;
	void __iomem *io = NULL;
	u64 *tmp;
	long r;

	tmp = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!tmp)
		return -ENOMEM;
	*how = "memremap";
	va = memremap(pa, PAGE_SIZE, MEMREMAP_WB);
	if (!va) {
		*how = "ioremap";
		io = ioremap(pa, PAGE_SIZE);
		va = (void __force *)io;
	}
	if (!va) {
		kfree(tmp);
		*how = "none";
		return -ENOMEM;
	}
	r = copy_from_kernel_nofault(tmp, va, PAGE_SIZE);
	*first_word = r ? 0 : tmp[0];
	if (io)
		iounmap(io);
	else
		memunmap(va);
	kfree(tmp);
	return r;
}

static void check_neighbour(phys_addr_t pa, const char *which)
{
	const char *how;
	u64 w;
	long r;

	switch (classify(pa)) {
	case REGION_UNKNOWN:
		pr_info("neighbour page 0x%llx (%s) not RAM or reserved memory, skipped\n",
			(u64)pa, which);
		return;
	case REGION_RAM:
		how = "RAM";
		break;
	default:
		how = "reserved";
		break;
	}
	pr_info("neighbour page 0x%llx (%s) is %s\n", (u64)pa, which, how);
	r = read_phys_page(pa, &how, &w);
	if (r == 0)
		pr_info("neighbour page 0x%llx readable (%s, first word 0x%llx) OK\n",
			(u64)pa, how, w);
	else {
		pr_info("neighbour page 0x%llx NOT readable (%s) -> %ld FAIL\n",
			(u64)pa, how, r);
		failures++;
	}
}

static void hvprobe_selftest(void)
{
	struct dunehv_exit_stats *st;
	struct dunehv_info info = {};
	u64 before, after, w, first;
	phys_addr_t inside;
	const char *how;
	unsigned int i, n;
	char *buf;
	long r;

	failures = 0;
	st = kzalloc(sizeof(*st), GFP_KERNEL);
	buf = kzalloc(PAGE_SIZE, GFP_KERNEL);
	if (!st || !buf) {
		pr_info("selftest: out of memory\n");
		failures++;
		goto out;
	}

	r = dh_call(DUNEHV_HC_VERSION, 0, 0, 0, NULL);
	CHECK(r >= 0 && (r >> 16) == DUNEHV_ABI_MAJOR,
	      "VERSION -> 0x%lx (module ABI 0x%x)", r, DUNEHV_ABI_VERSION);

	r = hvprobe_get_info(&info);
	pr_info("INFO -> %ld: abi=0x%x nr_cpus=%u hv_phys_base=0x%llx hv_phys_size=0x%llx\n",
		r, info.abi_version, info.nr_cpus, info.hv_phys_base, info.hv_phys_size);
	pr_info("INFO: log_size=%llu log_head=%llu pool_pages_total=%llu pool_pages_free=%llu\n",
		info.log_size, info.log_head, info.pool_pages_total, info.pool_pages_free);
	CHECK(r == sizeof(info) && info.hv_phys_size && !(info.hv_phys_base & ~PAGE_MASK),
	      "INFO result %ld", r);

	r = get_stats(st);
	n = stats_nr(st, r);
	pr_info("EXIT_STATS -> %ld: nr_reasons=%u total=%llu hv_memory_violations=%llu\n",
		r, st->nr_reasons, st->total_exits, st->hv_memory_violations);
	for (i = 0; i < n; i++)
		if (st->count[i])
			pr_info("EXIT_STATS reason %u %s %llu\n", i, dunehv_exit_name(st->vendor, i), st->count[i]);
	CHECK(r == sizeof(*st) && st->nr_reasons == DUNEHV_NR_EXIT_REASONS &&
	      st->total_exits > 0, "EXIT_STATS result %ld", r);

	if (!info.hv_phys_size || (info.hv_phys_base & ~PAGE_MASK)) {
		pr_info("no usable hv_phys_base/size: memory checks skipped FAIL\n");
		failures++;
		goto out;
	}

	/* A page in the middle of the hypervisor's memory must not be readable. */
	inside = (info.hv_phys_base + info.hv_phys_size / 2) & PAGE_MASK;
	before = st->hv_memory_violations;
	r = read_phys_page(inside, &how, &w);
	pr_info("read of hypervisor memory at 0x%llx -> %ld (%s)\n", (u64)inside, r, how);
	if (r == 0)
		pr_info("hypervisor memory visible: first word 0x%llx\n", w);
	CHECK(r == -EFAULT, "hypervisor memory read refused");
	after = before;
	if (get_stats(st) >= 0)
		after = st->hv_memory_violations;
	pr_info("hv_memory_violations before=%llu after=%llu\n", before, after);
	CHECK(after > before, "hv_memory_violations counted");

	/* The pages right next to it must be untouched. */
	if (info.hv_phys_base >= PAGE_SIZE)
		check_neighbour(info.hv_phys_base - PAGE_SIZE, "below");
	check_neighbour(info.hv_phys_base + info.hv_phys_size, "above");

	/* Bad hypercall arguments fail with an error. */
	r = dh_call(DUNEHV_HC_LOG_READ, inside, 64, 0, &first);
	CHECK(r == -EFAULT, "LOG_READ into hypervisor memory 0x%llx -> %ld", (u64)inside, r);
	r = dh_call(DUNEHV_HC_LOG_READ, info.hv_phys_base - 64, 128, 0, &first);
	CHECK(r == -EFAULT, "LOG_READ straddling hv_phys_base (0x%llx+128) -> %ld",
	      info.hv_phys_base - 64, r);
	r = dh_call(DUNEHV_HC_LOG_READ, 0xfffffffff000ULL, 64, 0, &first);
	CHECK(r == -EFAULT, "LOG_READ beyond RAM 0xfffffffff000 -> %ld", r);
	r = dh_call(DUNEHV_HC_INFO, 0xfffffffff000ULL, sizeof(info), 0, NULL);
	CHECK(r == -EFAULT, "INFO beyond RAM 0xfffffffff000 -> %ld", r);
	r = dh_call(DUNEHV_HC_BASE + 0x999, 0, 0, 0, NULL);
	CHECK(r == -ENOSYS, "unknown function 0x%x -> %ld", DUNEHV_HC_BASE + 0x999, r);
	r = dh_call(DUNEHV_HC_EXIT_STATS, virt_to_phys(st), 0, 0, NULL);
	CHECK(r == 0 || r == -EINVAL, "EXIT_STATS size 0 -> %ld", r);
	r = dh_call(DUNEHV_HC_LOG_READ, virt_to_phys(buf), PAGE_SIZE, 0, &first);
	CHECK(r >= 0 && r <= PAGE_SIZE, "LOG_READ one page from 0 -> %ld (first=%llu)", r, first);

	/* Dune contexts: the mechanism under /dev/dune (ctxtest.c). */
	if (ctx)
		failures += hvprobe_ctx_selftest();
	else
		pr_info("selftest: Dune context checks left out (ctx=0)\n");

	/* Still alive and consistent after all that. */
	r = dh_call(DUNEHV_HC_VERSION, 0, 0, 0, NULL);
	CHECK(r == DUNEHV_ABI_VERSION, "VERSION again -> 0x%lx", r);
out:
	kfree(buf);
	kfree(st);
	pr_info("selftest done failures=%d\n", failures);
}

/* A write-only /proc/dunehv file whose every write runs its check on CPU 0
 * (hvprobe.h). */
static ssize_t cpu0_check_write(struct file *file, const char __user *buf, size_t len, loff_t *pos)
{
	long (*check)(void *) = pde_data(file_inode(file));

	work_on_cpu(0, check, NULL);
	return len;
}

static const struct proc_ops cpu0_check_ops = {
	.proc_write = cpu0_check_write,
};

int hvprobe_proc_check_on_cpu0(struct proc_dir_entry *dir, const char *name, long (*check)(void *))
{
	return proc_create_data(name, 0200, dir, &cpu0_check_ops, check) ? 0 : -ENOMEM;
}

/* A write-only /proc/dunehv file whose every write (a CPU number T) runs
 * its check of T on another online CPU (hvprobe.h). */
static ssize_t cpu_check_write(struct file *file, const char __user *buf, size_t len, loff_t *pos)
{
	long (*check)(void *) = pde_data(file_inode(file));
	int target, sender;

	if (kstrtoint_from_user(buf, len, 0, &target))
		return -EINVAL;
	if (target < 0 || target >= nr_cpu_ids || !cpu_online(target))
		return -EINVAL;
	for_each_online_cpu(sender)
		if (sender != target)
			break;
	if (sender >= nr_cpu_ids)
		return -EINVAL;
	work_on_cpu(sender, check, (void *)(long)target);
	return len;
}

static const struct proc_ops cpu_check_ops = {
	.proc_write = cpu_check_write,
};

int hvprobe_proc_check_of_cpu(struct proc_dir_entry *dir, const char *name, long (*check)(void *))
{
	return proc_create_data(name, 0200, dir, &cpu_check_ops, check) ? 0 : -ENOMEM;
}

static int __init hvprobe_init(void)
{
	if (!dunehv_present()) {
		unsigned int a, b, c, d;

		cpuid(DUNEHV_CPUID_BASE, &a, &b, &c, &d);
		pr_err("dunehv not present (CPUID 0x%x: eax=0x%x ebx=0x%x ecx=0x%x edx=0x%x): -ENODEV\n",
		       DUNEHV_CPUID_BASE, a, b, c, d);
		return -ENODEV;
	}
	pr_info("dunehv present, ABI version 0x%x\n", cpuid_eax(DUNEHV_CPUID_VERSION));

	if (selftest)
		hvprobe_selftest();

	proc_dir = proc_mkdir("dunehv", NULL);
	if (!proc_dir)
		return -ENOMEM;
	if (!proc_create_single("info", 0444, proc_dir, info_show) ||
	    !proc_create_single("stats", 0444, proc_dir, stats_show) ||
	    !proc_create("log", 0444, proc_dir, &log_ops) || hvprobe_smp_proc_init(proc_dir) ||
	    hvprobe_fuzz_proc_init(proc_dir) || hvprobe_msr_proc_init(proc_dir) || hvprobe_svm_proc_init(proc_dir) ||
	    hvprobe_acpi_proc_init(proc_dir)) {
		proc_remove(proc_dir);
		return -ENOMEM;
	}
	if (hvprobe_window_proc_init(proc_dir)) {
		proc_remove(proc_dir);
		return -ENOMEM;
	}
	if (hvprobe_nmi_proc_init(proc_dir)) {
		proc_remove(proc_dir);
		hvprobe_window_exit();
		return -ENOMEM;
	}
	pr_info("loaded, /proc/dunehv/{info,stats,log}\n");
	return 0;
}

static void __exit hvprobe_exit(void)
{
	proc_remove(proc_dir);
	hvprobe_window_exit();
	hvprobe_nmi_exit();
	pr_info("unloaded\n");
}

module_init(hvprobe_init);
module_exit(hvprobe_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("dunehv hypercall ABI test module");
