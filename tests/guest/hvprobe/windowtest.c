// SPDX-License-Identifier: GPL-2.0
/*
 * hvprobe's entry-window checks (needs test_hooks = on in dunehv.cfg).
 *
 * /proc/dunehv/entrywindow (write a CPU number T): from another CPU, twice,
 * arms a delay in T's entry window (DUNEHV_HC_TEST_ENTRY_DELAY: after the
 * hypervisor's last look at T's mailbox, before VM entry), makes T exit once
 * (an IPI whose handler makes a hypercall) and, while T waits in the window,
 * sends it (DUNEHV_HC_TEST_WINDOW_KICK)
 *  - a cross-CPU request: served within the delay's bound ("window.request");
 *  - an NMI, as Linux would send one: Linux's NMI handler on T runs within
 *    the bound ("window.nmi").
 * T is idle after that entry: an NMI left for T's next VM exit would wait
 * until the timeout. Each check passes on the first of up to three tries
 * within the bound (window_test). One verdict line per check,
 * "hvprobe: ok <id> - ...".
 */
#define pr_fmt(fmt) "hvprobe: " fmt

#include <linux/atomic.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/proc_fs.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <asm/nmi.h>
#include <asm/processor.h>

#include "dunehv/abi.h"
#include "hvprobe.h"

#define VERDICT(cond, id, fmt, ...) \
	pr_info("%s %s - " fmt "\n", (cond) ? "ok" : "not ok", id, ##__VA_ARGS__)

/* TSC ticks (in Bochs: emulated instructions). The delay is long enough for
 * the other CPU to see it under way; the bound leaves the delay's end and the
 * entry itself some room; the timeout is where a left-behind event shows. */
#define WINDOW_DELAY_TSC   20000000ull
#define WINDOW_BOUND_TSC   (2 * WINDOW_DELAY_TSC)
#define WINDOW_TIMEOUT_TSC 400000000ull

static int window_nmi_cpu = -1;
static atomic_t window_nmis = ATOMIC_INIT(0);

static int window_nmi_handler(unsigned int type, struct pt_regs *regs)
{
	if (smp_processor_id() != READ_ONCE(window_nmi_cpu))
		return NMI_DONE;
	atomic_inc(&window_nmis);
	return NMI_HANDLED;
}

/* On the target: one VM exit, whose entry waits in the armed window. */
static void exit_once(void *unused)
{
	dh_call5(DUNEHV_HC_VERSION, 0, 0, 0, 0, 0);
}

/* Arms the delay on target, makes it exit, and kicks it in the window. */
static long kick_in_window(int target, u64 kind)
{
	long r = dh_call5(DUNEHV_HC_TEST_ENTRY_DELAY, target, WINDOW_DELAY_TSC, 0, 0, 0);

	if (r)
		return r;
	smp_call_function_single(target, exit_once, NULL, 0);
	return dh_call5(DUNEHV_HC_TEST_WINDOW_KICK, target, kind, WINDOW_TIMEOUT_TSC, 0, 0);
}

/* One NMI kick: 0 and how long Linux's handler on target took to run, or
 * the kick's error. */
static long nmi_in_window(int target, u64 *waited)
{
	int before = atomic_read(&window_nmis);
	long r = kick_in_window(target, DUNEHV_TEST_KICK_NMI);
	u64 t0 = rdtsc();

	while (!r && atomic_read(&window_nmis) == before && rdtsc() - t0 < WINDOW_TIMEOUT_TSC)
		cpu_relax();
	*waited = rdtsc() - t0;
	if (!r && atomic_read(&window_nmis) == before)
		r = -ETIMEDOUT;
	return r;
}

/*
 * Each check takes up to WINDOW_TRIES kicks and passes on the first within
 * the bound: the bound is TSC time, and in QEMU (TSC: the host's clock) a
 * loaded host can deschedule the target's vCPU past it. An event left for
 * the target's next VM exit misses the bound on every try (the target is
 * idle: no exit comes before the timeout); the verdict lists every try.
 */
#define WINDOW_TRIES 3

static long window_test(void *arg)
{
	int target = (int)(long)arg;
	char tries[3 * 48] = "";
	long r = -EINVAL;
	u64 waited = 0;
	int n;

	for (n = 0; n < WINDOW_TRIES; n++) {
		r = kick_in_window(target, DUNEHV_TEST_KICK_REQUEST);
		scnprintf(tries + strlen(tries), sizeof(tries) - strlen(tries), "%s%ld", n ? ", " : "", r);
		if (r > 0 && r < WINDOW_BOUND_TSC)
			break;
	}
	VERDICT(r > 0 && r < WINDOW_BOUND_TSC, "window.request",
		"a request sent to CPU %d while it waited in its entry window: served after TSC ticks (or error) %s (delay %llu TSC ticks, bound %llu; from CPU %d)",
		target, tries, WINDOW_DELAY_TSC, WINDOW_BOUND_TSC, smp_processor_id());

	tries[0] = 0;
	WRITE_ONCE(window_nmi_cpu, target);
	for (n = 0; n < WINDOW_TRIES; n++) {
		r = nmi_in_window(target, &waited);
		scnprintf(tries + strlen(tries), sizeof(tries) - strlen(tries), "%s%llu (kick %ld)", n ? ", " : "",
			  waited, r);
		if (!r && waited < WINDOW_BOUND_TSC)
			break;
	}
	VERDICT(!r && waited < WINDOW_BOUND_TSC, "window.nmi",
		"an NMI sent to CPU %d while it waited in its entry window reached Linux's handler there after TSC ticks %s (bound %llu)",
		target, tries, WINDOW_BOUND_TSC);
	WRITE_ONCE(window_nmi_cpu, -1);
	return 0;
}

int hvprobe_window_proc_init(struct proc_dir_entry *dir)
{
	int r = register_nmi_handler(NMI_LOCAL, window_nmi_handler, 0, "hvprobe_window");

	if (r)
		return r;
	if (hvprobe_proc_check_of_cpu(dir, "entrywindow", window_test)) {
		unregister_nmi_handler(NMI_LOCAL, "hvprobe_window");
		return -ENOMEM;
	}
	return 0;
}

void hvprobe_window_exit(void)
{
	unregister_nmi_handler(NMI_LOCAL, "hvprobe_window");
}
