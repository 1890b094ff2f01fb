// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/dunehv: the hypervisor as Linux can see it, for the
 * dunehv command (linux-shim/tool/) and for people (root; like KVM's
 * /sys/kernel/debug/kvm that kvm_stat reads):
 *   info      the hypervisor's INFO record and this module's, key=value
 *   exits     exit counters: machine-wide and per CPU, for Linux and for
 *             Dune contexts, by basic exit reason ("total" lines first)
 *   log       the hypervisor's log ring; the file position is the ring
 *             position, so a reader that keeps it open (dunehv log -f)
 *             gets what is logged after; what the ring overwrote is skipped
 *   contexts  the live Dune contexts: process, thread, uid, what their
 *             runs came back for
 */
#define pr_fmt(fmt) "dune: " fmt

#include <linux/debugfs.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/io.h>

#include "dune_priv.h"
#include "dunehv/exit_names.h"

static struct dentry *dir;

static int info_show(struct seq_file *m, void *unused)
{
	struct dunehv_info info = {};
	long r = dune_hv_info(&info);

	seq_printf(m, "module_version=%s\n", DUNE_MODULE_VERSION);
	if (r < 0) {
		seq_printf(m, "error=%ld\n", r);
		return 0;
	}
	seq_printf(m, "abi=%u.%u\n", info.abi_version >> 16, info.abi_version & 0xffff);
	seq_printf(m, "cpus=%u\n", info.nr_cpus);
	seq_printf(m, "hv_memory_base=0x%llx\n", info.hv_phys_base);
	seq_printf(m, "hv_memory_bytes=%llu\n", info.hv_phys_size);
	seq_printf(m, "log_bytes=%llu\n", info.log_size);
	seq_printf(m, "log_head=%llu\n", info.log_head);
	seq_printf(m, "pool_pages=%llu\n", info.pool_pages_total);
	seq_printf(m, "pool_pages_free=%llu\n", info.pool_pages_free);
	seq_printf(m, "pool_pages_reserved=%llu\n", info.pool_pages_reserved);
	seq_printf(m, "contexts=%llu\n", info.ctx_live);
	seq_printf(m, "context_pages=%llu\n", info.ctx_pages);
	seq_printf(m, "spec_barriers=0x%llx\n", info.spec_barriers);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(info);

/* "total linux N" / "total dune N", then "REASON NAME LINUX DUNE" for each
 * reason either counted; then the same per CPU, "cpu N ..." */
static void show_counts(struct seq_file *m, const char *prefix, unsigned int vendor, const u64 *linux_count,
			const u64 *dune_count, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n && i < DUNEHV_NR_EXIT_REASONS; i++)
		if (linux_count[i] || dune_count[i])
			seq_printf(m, "%s%u %s %llu %llu\n", prefix, i, dunehv_exit_name(vendor, i), linux_count[i],
				   dune_count[i]);
}

static int exits_show(struct seq_file *m, void *unused)
{
	struct dunehv_exit_stats *st = kzalloc(sizeof(*st), GFP_KERNEL);
	struct dunehv_cpu_stats *cs = kzalloc(sizeof(*cs), GFP_KERNEL);
	struct dunehv_info info = {};
	char prefix[24];
	unsigned int cpu;
	long r;

	if (!st || !cs)
		goto out;
	r = dunehv_call(DUNEHV_HC_EXIT_STATS, virt_to_phys(st), sizeof(*st), 0, 0);
	if (r < (long)sizeof(*st)) {
		seq_printf(m, "error %ld\n", r);
		goto out;
	}
	seq_printf(m, "tsc %llu\n", st->guest_tsc);
	seq_printf(m, "total linux %llu dune %llu\n", st->total_exits, st->dune_total_exits);
	seq_printf(m, "hv_memory_violations %llu\n", st->hv_memory_violations);
	show_counts(m, "", st->vendor, st->count, st->dune_count, st->nr_reasons);
	if (dune_hv_info(&info) < 0)
		goto out;
	for (cpu = 0; cpu < info.nr_cpus; cpu++) {
		memset(cs, 0, sizeof(*cs));
		r = dunehv_call(DUNEHV_HC_CPU_STATS, cpu, virt_to_phys(cs), sizeof(*cs), 0);
		if (r < (long)sizeof(*cs))
			continue;
		seq_printf(m, "cpu %u total linux %llu dune %llu inits %llu sipis %llu\n", cpu, cs->total_exits,
			   cs->dune_total_exits, cs->inits, cs->sipis);
		snprintf(prefix, sizeof(prefix), "cpu %u ", cpu);
		show_counts(m, prefix, st->vendor, cs->count, cs->dune_count, cs->nr_reasons);
	}
out:
	kfree(st);
	kfree(cs);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(exits);

#define LOG_CHUNK 4096

static ssize_t log_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	char *buf;
	u64 first = 0;
	long r;

	if (*ppos < 0)
		return -EINVAL;
	if (count > LOG_CHUNK)
		count = LOG_CHUNK;
	buf = kmalloc(LOG_CHUNK, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	r = dunehv_call2(DUNEHV_HC_LOG_READ, virt_to_phys(buf), count, (u64)*ppos, 0, &first);
	if (r > 0 && (r > (long)count || first < (u64)*ppos))
		r = -EIO;
	if (r > 0 && copy_to_user(ubuf, buf, r))
		r = -EFAULT;
	if (r > 0)
		*ppos = (loff_t)(first + r); /* past a gap the ring overwrote */
	kfree(buf);
	return r;
}

static const struct file_operations log_fops = {
	.owner = THIS_MODULE,
	.read = log_read,
	.llseek = default_llseek,
};

static void show_context(struct dune_vcpu *v, void *arg)
{
	struct seq_file *m = arg;

	seq_printf(m, "%d %d %u %s runs=%llu interrupts=%llu faults=%llu syscalls=%llu exceptions=%llu sessions=%llu\n",
		   task_tgid_nr(v->task), task_pid_nr(v->task), from_kuid(&init_user_ns, v->uid), v->task->comm,
		   v->stats.runs, v->stats.interrupts, v->stats.faults, v->stats.syscalls, v->stats.exceptions,
		   v->stats.sessions);
}

static int contexts_show(struct seq_file *m, void *unused)
{
	seq_puts(m, "# pid tid uid command counters\n");
	dune_limits_for_each(show_context, m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(contexts);

void dune_debugfs_init(void)
{
	dir = debugfs_create_dir("dunehv", NULL);
	debugfs_create_file("info", 0400, dir, NULL, &info_fops);
	debugfs_create_file("exits", 0400, dir, NULL, &exits_fops);
	debugfs_create_file("log", 0400, dir, NULL, &log_fops);
	debugfs_create_file("contexts", 0400, dir, NULL, &contexts_fops);
}

void dune_debugfs_exit(void)
{
	debugfs_remove_recursive(dir);
}
