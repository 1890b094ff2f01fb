// SPDX-License-Identifier: GPL-2.0
/*
 * hvprobe's NMI-blocking check.
 *
 * /proc/dunehv/nmipair (write a CPU number T): from another CPU, sends T an
 * NMI as Linux sends one (apic->send_IPI, NMI_VECTOR); while Linux's
 * handler of it runs on T (it waits there for the sender), sends a second,
 * gives it a while to reach T (under SVM until T's hypervisor took its NMI
 * exit, where the CPU lets it exit meanwhile), then lets the first handler
 * return. A CPU takes no NMI while it runs its NMI handler, and
 * holds one (SDM Vol. 3A 6.7.1): the second must reach the handler after
 * the first's IRET. Checks, one verdict line each:
 *  - nmipair.second: both reached Linux's handler on T, the second within a
 *    bound after the first returned (not lost, not left for a later exit);
 *  - nmipair.held (SVM, which keeps no NMI blocking for a guest: the
 *    hypervisor does, hv/arch/x86/svm/vcpu.c): no second handler entry
 *    before the first returned, and Linux's IRETs on T exited (at least one
 *    per NMI): the second went in after the first's IRET. Whether T's
 *    hypervisor took the second's NMI exit while the first ran is reported,
 *    not judged: QEMU exits at once, Bochs' ryzen holds the physical NMI
 *    until the guest's IRET (the NMI it injected masks NMIs there). VMX
 *    blocks NMIs for the guest in the CPU (virtual-NMI blocking): no such
 *    line there.
 */
#define pr_fmt(fmt) "hvprobe: " fmt

#include <linux/atomic.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/proc_fs.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/topology.h>
#include <asm/apic.h>
#include <asm/nmi.h>
#include <asm/processor.h>

#include "dunehv/abi.h"
#include "dunehv/exit_names.h"
#include "hvprobe.h"

#define VERDICT(cond, id, fmt, ...) \
	pr_info("%s %s - " fmt "\n", (cond) ? "ok" : "not ok", id, ##__VA_ARGS__)

/* TSC ticks (in Bochs: emulated instructions). */
#define PAIR_TIMEOUT_TSC 400000000ull /* the longest any step may take */
#define PAIR_BOUND_TSC   40000000ull  /* the second NMI after the first handler's return */

static int pair_cpu = -1;
static atomic_t pair_entries = ATOMIC_INIT(0);
static int pair_release;

/* Linux's NMI handler on T: the first of the pair waits for the sender. */
static int pair_nmi_handler(unsigned int type, struct pt_regs *regs)
{
	u64 t0;

	if (smp_processor_id() != READ_ONCE(pair_cpu))
		return NMI_DONE;
	if (atomic_inc_return(&pair_entries) == 1) {
		t0 = rdtsc();
		while (!READ_ONCE(pair_release) && rdtsc() - t0 < PAIR_TIMEOUT_TSC)
			cpu_relax();
	}
	return NMI_HANDLED;
}

/* Waits (bounded) until pair_entries reaches n; the TSC ticks waited. */
static u64 wait_entries(int n)
{
	u64 t0 = rdtsc();

	while (atomic_read(&pair_entries) < n && rdtsc() - t0 < PAIR_TIMEOUT_TSC)
		cpu_relax();
	return rdtsc() - t0;
}

/* T's counters (CPU_STATS into *st); false where unreadable. */
static bool read_counters(int hvcpu, struct dunehv_cpu_stats *st)
{
	return hvcpu >= 0 && hvprobe_cpu_stats(hvcpu, st) == sizeof(*st);
}

static bool hypervisor_is_svm(void)
{
	struct dunehv_exit_stats *st = kzalloc(sizeof(*st), GFP_KERNEL);
	bool svm = false;

	if (st && dh_call5(DUNEHV_HC_EXIT_STATS, virt_to_phys(st), sizeof(*st), 0, 0, 0) > 0)
		svm = st->vendor == DUNEHV_VENDOR_SVM;
	kfree(st);
	return svm;
}

static long nmipair_test(void *arg)
{
	int target = (int)(long)arg;
	struct dunehv_cpu_stats *st = kzalloc(sizeof(*st), GFP_KERNEL);
	unsigned nmi_slot = dunehv_svm_exit_slot(0x061), iret_slot = dunehv_svm_exit_slot(0x074);
	bool svm = hypervisor_is_svm();
	int hvcpu = -1, first, held_entries;
	long long nmis0 = -1, irets0 = -1, nmis_held = -1, irets = -1;
	u64 waited_first, t0, waited_second;

	if (!st)
		return -ENOMEM;
	hvcpu = hvprobe_hvcpu_of_apic(per_cpu(x86_cpu_to_apicid, target), st);
	if (svm && read_counters(hvcpu, st)) {
		nmis0 = st->count[nmi_slot];
		irets0 = st->count[iret_slot];
	}
	atomic_set(&pair_entries, 0);
	WRITE_ONCE(pair_release, 0);
	WRITE_ONCE(pair_cpu, target);
	apic->send_IPI(target, NMI_VECTOR);
	waited_first = wait_entries(1);
	first = atomic_read(&pair_entries);
	apic->send_IPI(target, NMI_VECTOR);
	/* a while for the second to reach T (under SVM, until T's hypervisor
	 * took its NMI exit, where the CPU lets it exit meanwhile) */
	t0 = rdtsc();
	do {
		if (svm && read_counters(hvcpu, st))
			nmis_held = st->count[nmi_slot];
		cpu_relax();
	} while (!(svm && nmis_held >= nmis0 + 2) && rdtsc() - t0 < PAIR_BOUND_TSC / 4);
	held_entries = atomic_read(&pair_entries);
	WRITE_ONCE(pair_release, 1);
	waited_second = wait_entries(2);
	WRITE_ONCE(pair_cpu, -1);

	VERDICT(first == 1 && atomic_read(&pair_entries) == 2 && waited_second < PAIR_BOUND_TSC, "nmipair.second",
		"two NMIs to CPU %d, the second sent while Linux's handler of the first ran there: the first's handler "
		"entered after %llu TSC ticks, handler entries %d before its return, %d after it, the second %llu TSC "
		"ticks after (bound %llu)",
		target, waited_first, held_entries, atomic_read(&pair_entries), waited_second, PAIR_BOUND_TSC);
	if (svm) {
		irets = read_counters(hvcpu, st) ? (long long)st->count[iret_slot] : -1;
		VERDICT(hvcpu >= 0 && irets0 >= 0 && held_entries == 1 && irets >= irets0 + 2, "nmipair.held",
			"dunehv CPU %d (Linux's %d): handler entries %d while the first ran; IRET exits %lld before, %lld "
			"after (one per NMI handler's IRET); NMI exits %lld before, %lld while the first handler ran",
			hvcpu, target, held_entries, irets0, irets, nmis0, nmis_held);
	}
	kfree(st);
	return 0;
}

int hvprobe_nmi_proc_init(struct proc_dir_entry *dir)
{
	int r = register_nmi_handler(NMI_LOCAL, pair_nmi_handler, 0, "hvprobe_nmipair");

	if (r)
		return r;
	if (hvprobe_proc_check_of_cpu(dir, "nmipair", nmipair_test)) {
		unregister_nmi_handler(NMI_LOCAL, "hvprobe_nmipair");
		return -ENOMEM;
	}
	return 0;
}

void hvprobe_nmi_exit(void)
{
	unregister_nmi_handler(NMI_LOCAL, "hvprobe_nmipair");
}
