// SPDX-License-Identifier: GPL-2.0
/*
 * hvprobe's SMP checks. Each prints one verdict line, "hvprobe: ok <id> -
 * <detail>" or "hvprobe: not ok <id> - <detail>".
 *
 * /proc/dunehv/smp (read): on every online CPU, the DuneHV CPUID signature
 *   and a read of the hypervisor's memory (-EFAULT, counted); then every
 *   hypervisor CPU's counters (CPU_STATS), also as "cpustat ..." lines.
 * /proc/dunehv/sipi (write a CPU number): offlines that CPU, sends it INIT,
 *   then INIT-SIPI-SIPI to our own real-mode trampoline (sipi_trampoline.S),
 *   checks that it stays under dunehv and cannot read the hypervisor's
 *   memory, parks it with INIT again and brings it back online.
 */
#define pr_fmt(fmt) "hvprobe: " fmt

#include <linux/cpu.h>
#include <linux/delay.h>
#include <linux/io.h>
#include <linux/kernel.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <asm/apic.h>
#include <asm/processor.h>

#include "dunehv/abi.h"
#include "hvprobe.h"

#define VERDICT(cond, id, fmt, ...) \
	pr_info("%s %s - " fmt "\n", (cond) ? "ok" : "not ok", id, ##__VA_ARGS__)

long hvprobe_cpu_stats(u32 index, struct dunehv_cpu_stats *st)
{
	memset(st, 0, sizeof(*st));
	return dh_call5(DUNEHV_HC_CPU_STATS, index, virt_to_phys(st), sizeof(*st), 0, 0);
}

static u64 hv_violations(void)
{
	struct dunehv_exit_stats *st = kzalloc(sizeof(*st), GFP_KERNEL);
	u64 v = 0;

	if (st && dh_call5(DUNEHV_HC_EXIT_STATS, virt_to_phys(st), sizeof(*st), 0, 0, 0) > 0)
		v = st->hv_memory_violations;
	kfree(st);
	return v;
}

struct percpu_probe {
	void *hv_va;         /* a page of hypervisor memory, mapped */
	int cpu;             /* where the check ran */
	u32 ebx, ecx;
	long read;
};

static long percpu_check(void *arg)
{
	struct percpu_probe *p = arg;
	unsigned int a, b, c, d;
	u64 word;

	p->cpu = raw_smp_processor_id();
	cpuid(DUNEHV_CPUID_BASE, &a, &b, &c, &d);
	p->ebx = b;
	p->ecx = c;
	p->read = copy_from_kernel_nofault(&word, p->hv_va, sizeof(word));
	return 0;
}

static void print_cpustat(struct seq_file *m, const struct dunehv_cpu_stats *st)
{
	u32 r;

	seq_printf(m, "cpustat cpu=%u apic=%u exits=%llu dune_exits=%llu inits=%llu sipis=%llu ipis=%llu requests=%llu\n",
		   st->cpu, st->apic_id, st->total_exits, st->dune_total_exits, st->inits, st->sipis,
		   st->nmi_ipis_received, st->requests_sent);
	for (r = 0; r < DUNEHV_NR_EXIT_REASONS; r++)
		if (st->count[r])
			seq_printf(m, "cpustat cpu=%u reason=%u count=%llu\n", st->cpu, r, st->count[r]);
	for (r = 0; r < DUNEHV_NR_EXIT_REASONS; r++)
		if (st->dune_count[r])
			seq_printf(m, "cpustat cpu=%u dune_reason=%u count=%llu\n", st->cpu, r, st->dune_count[r]);
}

/* The machine-wide counters that every CPU's stats carry, printed once (from
 * one successful read): summed over CPUs they would count each event once
 * per CPU. */
static void print_hvstat(struct seq_file *m, const struct dunehv_cpu_stats *st)
{
	seq_printf(m, "hvstat migrations=%llu shootdowns=%llu\n", st->dune_migrations, st->dune_shootdowns);
}

/* /proc/dunehv/cpustat: the per-CPU counters alone, no checks (each read is
 * CPU_STATS hypercalls on the reading CPU only), for measurements such as
 * exits per CPU over an idle period. */
static int cpustat_show(struct seq_file *m, void *v)
{
	struct dunehv_cpu_stats *st = kzalloc(sizeof(*st), GFP_KERNEL);
	u32 i;

	if (!st)
		return -ENOMEM;
	for (i = 0; i < 4096 && hvprobe_cpu_stats(i, st) == sizeof(*st); i++)
		print_cpustat(m, st);
	if (hvprobe_cpu_stats(0, st) == sizeof(*st))
		print_hvstat(m, st);
	kfree(st);
	return 0;
}

static int smp_show(struct seq_file *m, void *v)
{
	struct dunehv_info *info = kzalloc(sizeof(*info), GFP_KERNEL);
	struct dunehv_cpu_stats *st = kzalloc(sizeof(*st), GFP_KERNEL);
	struct percpu_probe p = {};
	char id[48];
	u32 i;
	int cpu;

	if (!info || !st)
		goto out;
	if (dh_call5(DUNEHV_HC_INFO, virt_to_phys(info), sizeof(*info), 0, 0, 0) < 0)
		goto out;
	p.hv_va = memremap(info->hv_phys_base + info->hv_phys_size / 2, PAGE_SIZE, MEMREMAP_WB);
	VERDICT(info->nr_cpus == num_online_cpus() || info->nr_cpus == num_possible_cpus(), "smp.nr-cpus",
		"dunehv has %u CPUs up, Linux %u online of %u", info->nr_cpus, num_online_cpus(), num_possible_cpus());
	for_each_online_cpu(cpu) {
		u64 before = hv_violations(), after;

		p.cpu = -1;
		p.read = 1;
		if (p.hv_va)
			work_on_cpu(cpu, percpu_check, &p);
		after = hv_violations();
		snprintf(id, sizeof(id), "smp.cpu%d.signature", cpu);
		VERDICT(p.cpu == cpu && p.ebx == DUNEHV_CPUID_SIG_EBX && p.ecx == DUNEHV_CPUID_SIG_ECX, id,
			"CPUID 0x40000000 on CPU %d: ebx=0x%x ecx=0x%x", p.cpu, p.ebx, p.ecx);
		snprintf(id, sizeof(id), "smp.cpu%d.hv-memory", cpu);
		VERDICT(p.read == -EFAULT && after > before, id,
			"read of hypervisor memory on CPU %d -> %ld, violations %llu -> %llu", p.cpu, p.read, before, after);
	}
	if (p.hv_va)
		memunmap(p.hv_va);
	for (i = 0; i < info->nr_cpus; i++) {
		long r = hvprobe_cpu_stats(i, st);

		snprintf(id, sizeof(id), "smp.hvcpu%u.stats", i);
		VERDICT(r == sizeof(*st) && st->cpu == i && st->total_exits > 0 && st->nr_reasons == DUNEHV_NR_EXIT_REASONS,
			id, "CPU_STATS(%u) -> %ld: apic %u exits %llu", i, r, st->apic_id, st->total_exits);
		if (r == sizeof(*st))
			print_cpustat(m, st);
	}
	if (hvprobe_cpu_stats(0, st) == sizeof(*st))
		print_hvstat(m, st);
	VERDICT(hvprobe_cpu_stats(info->nr_cpus, st) == -EINVAL, "smp.stats-bad-cpu", "CPU_STATS of CPU %u (not up) -> -EINVAL",
		info->nr_cpus);
out:
	kfree(st);
	kfree(info);
	return 0;
}

/* ---- INIT / SIPI to an offline CPU ---- */

extern const char hvprobe_sipi_start[], hvprobe_sipi_end[], hvprobe_sipi_pm32[], hvprobe_sipi_pf[],
	hvprobe_sipi_gp[], hvprobe_sipi_other[];
#define SIPI_PAGE 0x20000ul /* vector 0x20: reserved low memory Linux leaves unused (saved and restored) */
#define ST(off) (*(volatile u32 *)(page + (off)))

int hvprobe_hvcpu_of_apic(u32 apic_id, struct dunehv_cpu_stats *st)
{
	u32 i;

	for (i = 0; i < 64; i++) {
		if (hvprobe_cpu_stats(i, st) < 0)
			return -1;
		if (st->apic_id == apic_id)
			return i;
	}
	return -1;
}

/* Waits (bounded) until the counter picked by field grows past old. */
static u64 wait_counter(int hvcpu, struct dunehv_cpu_stats *st, size_t field, u64 old)
{
	int i;

	/* udelay, not msleep: emulated time is slow, a sleep costs much more */
	for (i = 0; i < 10000; i++) {
		hvprobe_cpu_stats(hvcpu, st);
		if (*(u64 *)((char *)st + field) > old)
			break;
		udelay(100);
	}
	return *(u64 *)((char *)st + field);
}

static void set_gate(u8 *page, unsigned int vector, u32 handler)
{
	u32 *g = (u32 *)(page + 0xc00 + vector * 8);

	g[0] = (handler & 0xffff) | (0x08 << 16);
	g[1] = (handler & 0xffff0000) | 0x8e00; /* present, 32-bit interrupt gate */
}

static void sipi_test(int cpu)
{
	struct dunehv_cpu_stats *st = kzalloc(sizeof(*st), GFP_KERNEL);
	struct dunehv_info *info = kzalloc(sizeof(*info), GFP_KERNEL);
	u32 apic_id = per_cpu(x86_cpu_to_apicid, cpu), base = SIPI_PAGE;
	u64 inits, sipis, before, after;
	u8 *page = NULL, *saved = NULL;
	int hvcpu, i, state = 0;

	if (!st || !info || dh_call5(DUNEHV_HC_INFO, virt_to_phys(info), sizeof(*info), 0, 0, 0) < 0)
		goto out;
	if (cpu_online(cpu))
		VERDICT(remove_cpu(cpu) == 0, "sipi.offline", "CPU %d offlined by Linux", cpu);
	hvcpu = hvprobe_hvcpu_of_apic(apic_id, st);
	VERDICT(hvcpu >= 0, "sipi.hvcpu", "CPU %d (APIC ID %u) is dunehv CPU %d", cpu, apic_id, hvcpu);
	if (hvcpu < 0 || cpu_online(cpu))
		goto out;

	/* INIT alone: the CPU waits for SIPI, still a guest of the hypervisor. */
	inits = st->inits;
	apic->icr_write(APIC_INT_LEVELTRIG | APIC_INT_ASSERT | APIC_DM_INIT, apic_id);
	wait_counter(hvcpu, st, offsetof(struct dunehv_cpu_stats, inits), inits);
	VERDICT(st->inits > inits, "sipi.init", "INIT reached dunehv (inits %llu -> %llu)", inits, st->inits);

	/* INIT-SIPI-SIPI to our trampoline. */
	page = memremap(SIPI_PAGE, PAGE_SIZE, MEMREMAP_WB);
	saved = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!page || !saved)
		goto out;
	memcpy(saved, page, PAGE_SIZE);
	memset(page, 0, PAGE_SIZE);
	memcpy(page, hvprobe_sipi_start, hvprobe_sipi_end - hvprobe_sipi_start);
	ST(0xe14) = (u32)(info->hv_phys_base + info->hv_phys_size / 2);
	ST(0xe18) = base;
	ST(0xe20) = base + (u32)(hvprobe_sipi_pm32 - hvprobe_sipi_start);
	*(volatile u16 *)(page + 0xe24) = 0x08;
	*(volatile u16 *)(page + 0xe30) = 3 * 8 - 1;
	ST(0xe32) = base + 0xe40;
	*(volatile u16 *)(page + 0xe38) = 32 * 8 - 1;
	ST(0xe3a) = base + 0xc00;
	*(volatile u64 *)(page + 0xe48) = 0x00cf9a000000ffffull; /* flat 32-bit code */
	*(volatile u64 *)(page + 0xe50) = 0x00cf92000000ffffull; /* flat data */
	for (i = 0; i < 32; i++)
		set_gate(page, i, base + (u32)((i == 14 ? hvprobe_sipi_pf : i == 13 ? hvprobe_sipi_gp : hvprobe_sipi_other) -
					       hvprobe_sipi_start));
	wmb();
	before = hv_violations();
	inits = st->inits;
	sipis = st->sipis;
	apic->icr_write(APIC_INT_LEVELTRIG | APIC_INT_ASSERT | APIC_DM_INIT, apic_id);
	wait_counter(hvcpu, st, offsetof(struct dunehv_cpu_stats, inits), inits);
	/* A SIPI is only taken once the CPU waits for it: give the INIT exit
	 * time to finish (the counter moves when its handling begins), as
	 * Linux's cpu_init_udelay does. */
	mdelay(10);
	apic->icr_write(APIC_DM_STARTUP | (SIPI_PAGE >> 12), apic_id);
	udelay(200);
	apic->icr_write(APIC_DM_STARTUP | (SIPI_PAGE >> 12), apic_id);
	for (i = 0; i < 1000 && ((state = ST(0xe00)) < 3); i++)
		udelay(100);
	after = hv_violations();
	hvprobe_cpu_stats(hvcpu, st);
	VERDICT(state >= 1 && st->sipis > sipis, "sipi.started",
		"the trampoline ran after SIPI (state %d, sipis %llu -> %llu: the start was emulated, under the hypervisor)", state,
		sipis, st->sipis);
	VERDICT(ST(0xe04) == DUNEHV_CPUID_SIG_EBX && ST(0xe08) == DUNEHV_CPUID_SIG_ECX, "sipi.signature",
		"the trampoline's CPUID 0x40000000: ebx=0x%x ecx=0x%x", ST(0xe04), ST(0xe08));
	/* #PF with the linear address (VMX); #GP under SVM, whose nested page
	 * fault names no linear address and 32-bit code is not decoded. */
	VERDICT((state == 3 || (state == 6 && boot_cpu_data.x86_vendor == X86_VENDOR_AMD)) && ST(0xe0c) == 0,
		"sipi.hv-memory",
		"the trampoline's read of hypervisor memory at 0x%x faulted (state %d, vector %u, error 0x%x), no data",
		ST(0xe14), state, ST(0xe1c), ST(0xe10));
	VERDICT(after > before, "sipi.violation-counted", "violations %llu -> %llu", before, after);

	/* Park it again before its page goes back, then let Linux restart it. */
	inits = st->inits;
	apic->icr_write(APIC_INT_LEVELTRIG | APIC_INT_ASSERT | APIC_DM_INIT, apic_id);
	wait_counter(hvcpu, st, offsetof(struct dunehv_cpu_stats, inits), inits);
	memcpy(page, saved, PAGE_SIZE);
	VERDICT(add_cpu(cpu) == 0 && cpu_online(cpu), "sipi.online-again", "CPU %d back online", cpu);
out:
	if (page)
		memunmap(page);
	kfree(saved);
	kfree(info);
	kfree(st);
}

static ssize_t sipi_write(struct file *file, const char __user *buf, size_t len, loff_t *pos)
{
	int cpu;

	if (kstrtoint_from_user(buf, len, 0, &cpu))
		return -EINVAL;
	if (cpu <= 0 || cpu >= nr_cpu_ids || !cpu_present(cpu))
		return -EINVAL;
	sipi_test(cpu);
	return len;
}

static const struct proc_ops sipi_ops = {
	.proc_write = sipi_write,
};

int hvprobe_smp_proc_init(struct proc_dir_entry *dir)
{
	if (!proc_create_single("smp", 0444, dir, smp_show) || !proc_create_single("cpustat", 0444, dir, cpustat_show) ||
	    !proc_create("sipi", 0200, dir, &sipi_ops))
		return -ENOMEM;
	return 0;
}
