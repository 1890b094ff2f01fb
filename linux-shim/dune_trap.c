// SPDX-License-Identifier: GPL-2.0
/*
 * DUNE_TRAP_ENABLE / DUNE_TRAP_DISABLE: upstream's debugger hook (dune-abi
 * 1.5). A thread registers a preempt notifier; when it is scheduled in with
 * its user RIP at trigger_rip, the trap arms, and `delay` sched-ins later it
 * fires: on the way back to user mode the thread's registers are copied to
 * conf.regs, TF is cleared, and the thread continues in notify_func(regs,
 * priv) with RSP 128 bytes lower (below the red zone).
 *
 * Unlike upstream (one module-global trap, user memory written from the
 * scheduler), each thread has its own trap, and the user-visible work runs
 * as task work in the thread's own context, where faults are allowed. A
 * trap lives until DISABLE (freed at once: only its own thread's switches
 * call it) or the thread's last context switch (TASK_DEAD in sched_out:
 * freed after an RCU grace period, since the scheduler is still walking the
 * notifier list). Each trap holds a module reference, so the module cannot
 * go while one can still fire.
 */
#define pr_fmt(fmt) "dune: " fmt

#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/ptrace.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <linux/task_work.h>
#include <linux/uaccess.h>
#include <asm/ptrace.h>

#include "dune_priv.h"

struct dune_trap {
	struct preempt_notifier pn;
	struct callback_head work;
	struct rcu_head rcu;
	struct list_head link;
	struct task_struct *task;     /* the owner; only compared, never dereferenced */
	struct dune_trap_config conf;
	bool armed, work_queued, dead;
	u8 count;
};

static LIST_HEAD(traps);
static DEFINE_RAW_SPINLOCK(traps_lock);
/* The scheduler calls preempt notifiers only while some module asked for
 * them (a static key, which may sleep to change): from the first trap to
 * the module's unload, so the module costs context switches nothing until
 * a debugger is used. */
static DEFINE_MUTEX(notifier_key_lock);
static bool notifier_key_taken;

static void trap_free(struct dune_trap *t)
{
	kfree(t);
	module_put(THIS_MODULE);
}

static void trap_free_rcu(struct rcu_head *rcu) { trap_free(container_of(rcu, struct dune_trap, rcu)); }

/* Task work: the thread itself, on its way back to user mode. */
static void trap_fire(struct callback_head *work)
{
	struct dune_trap *t = container_of(work, struct dune_trap, work);
	struct pt_regs *regs = current_pt_regs();
	struct dune_trap_regs r;

	t->work_queued = false;
	if (t->dead) { /* disabled meanwhile, and no longer registered */
		trap_free(t);
		return;
	}
	r = (struct dune_trap_regs){
		.rax = regs->ax, .rbx = regs->bx, .rcx = regs->cx, .rdx = regs->dx,
		.rsi = regs->si, .rdi = regs->di, .rsp = regs->sp, .rbp = regs->bp,
		.r8 = regs->r8, .r9 = regs->r9, .r10 = regs->r10, .r11 = regs->r11,
		.r12 = regs->r12, .r13 = regs->r13, .r14 = regs->r14, .r15 = regs->r15,
		.rip = regs->ip, .rflags = regs->flags,
	};
	if (copy_to_user((void __user *)t->conf.regs, &r, sizeof(r))) {
		pr_info_ratelimited("pid %d: trap registers not writable at %px: trap not delivered\n",
				    task_pid_nr(current), t->conf.regs);
		return;
	}
	regs->flags &= ~X86_EFLAGS_TF;
	clear_thread_flag(TIF_SINGLESTEP);
	regs->ip = (unsigned long)t->conf.notify_func;
	regs->di = (unsigned long)t->conf.regs;
	regs->si = (unsigned long)t->conf.priv;
	regs->sp -= 128;
}

static void trap_sched_in(struct preempt_notifier *pn, int cpu)
{
	struct dune_trap *t = container_of(pn, struct dune_trap, pn);

	if (t->work_queued || t->dead)
		return;
	if (!t->armed) {
		if (task_pt_regs(current)->ip != t->conf.trigger_rip)
			return;
		t->armed = true;
		t->count = 0;
	}
	if (t->count < t->conf.delay) {
		t->count++;
		return;
	}
	t->armed = false;
	t->work_queued = true;
	init_task_work(&t->work, trap_fire);
	if (task_work_add(current, &t->work, TWA_RESUME))
		t->work_queued = false; /* the thread is exiting */
}

/* The thread's last switch (do_task_dead): its notifiers never run again. */
static void trap_sched_out(struct preempt_notifier *pn, struct task_struct *next)
{
	struct dune_trap *t = container_of(pn, struct dune_trap, pn);

	if (READ_ONCE(current->__state) != TASK_DEAD || t->dead)
		return;
	raw_spin_lock(&traps_lock);
	list_del(&t->link);
	raw_spin_unlock(&traps_lock);
	t->dead = true;
	call_rcu(&t->rcu, trap_free_rcu); /* task work never runs after exit_task_work */
}

static struct preempt_ops trap_ops = {
	.sched_in = trap_sched_in,
	.sched_out = trap_sched_out,
};

/* current's trap, unlinked from the list when unlink; traps_lock not held */
static struct dune_trap *trap_of_current(bool unlink)
{
	struct dune_trap *t, *found = NULL;

	raw_spin_lock(&traps_lock);
	list_for_each_entry(t, &traps, link) {
		if (t->task == current && !t->dead) {
			found = t;
			if (unlink)
				list_del(&t->link);
			break;
		}
	}
	raw_spin_unlock(&traps_lock);
	return found;
}

long dune_trap_enable(struct dune_trap_config __user *uconf)
{
	struct dune_trap_config conf;
	struct dune_trap *t;

	if (copy_from_user(&conf, uconf, sizeof(conf)))
		return -EFAULT;
	/* upstream silently delivered nothing for a wrong size: say so instead */
	if (conf.regs_size != sizeof(struct dune_trap_regs))
		return -EINVAL;
	if (!access_ok((void __user *)conf.regs, sizeof(struct dune_trap_regs)) ||
	    !access_ok((void __user *)conf.notify_func, 1))
		return -EFAULT;
	t = trap_of_current(false);
	if (t) {
		preempt_disable(); /* sched_in runs in this thread: no half-updated conf */
		t->conf = conf;
		t->armed = false;
		preempt_enable();
		return 0;
	}
	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	if (!try_module_get(THIS_MODULE)) {
		kfree(t);
		return -ENODEV;
	}
	mutex_lock(&notifier_key_lock);
	if (!notifier_key_taken) {
		preempt_notifier_inc();
		notifier_key_taken = true;
	}
	mutex_unlock(&notifier_key_lock);
	t->task = current;
	t->conf = conf;
	preempt_notifier_init(&t->pn, &trap_ops);
	raw_spin_lock(&traps_lock);
	list_add(&t->link, &traps);
	raw_spin_unlock(&traps_lock);
	preempt_notifier_register(&t->pn);
	return 0;
}

long dune_trap_disable(void)
{
	struct dune_trap *t = trap_of_current(true);

	if (!t)
		return 0; /* nothing armed: nothing to do, as upstream */
	/* This thread is the only one whose switches call the notifier, so
	 * once unregistered nothing uses it: no grace period needed. */
	preempt_notifier_unregister(&t->pn);
	t->dead = true;
	if (!t->work_queued)
		trap_free(t); /* else trap_fire frees it */
	return 0;
}

/* Module exit: no trap is left (each holds a module reference), and the
 * last trap_free_rcu callbacks have finished. */
void dune_trap_exit(void)
{
	rcu_barrier();
	if (notifier_key_taken)
		preempt_notifier_dec();
}
