// SPDX-License-Identifier: GPL-2.0
/*
 * DUNE_ENTER: a thread's context in dunehv and the loop that runs it.
 *
 * The loop asks the hypervisor to run the context and handles what comes
 * back: EPT violations (dune_mm.c), interrupts and time-slice ends (Linux
 * gets the CPU: signals end the session with DUNE_RET_SIGNAL, the scheduler
 * runs), machine checks (Linux's handler, as for one in user mode), #DB/#BP
 * (DUNE_RET_INTERRUPT), exit/exit_group (DUNE_RET_EXIT), other
 * system calls (run by the thread itself through the trampoline,
 * dune_syscall.c), and anything else (DUNE_RET_UNHANDLED_VMEXIT).
 */
#define pr_fmt(fmt) "dune: " fmt

#include <linux/fdtable.h>
#include <linux/io.h>
#include <linux/ptrace.h>
#include <linux/sched/task_stack.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/task_work.h>
#include <linux/uaccess.h>
#include <asm/fpu/api.h>
#include <asm/mce.h>
#include <asm/msr.h>

#include "dune_priv.h"

/* struct dunehv_ctx_run register order: rax rcx rdx rbx rsp rbp rsi rdi r8..r15 */
enum { G_RAX, G_RCX, G_RDX, G_RBX, G_RSP, G_RBP, G_RSI, G_RDI, G_R8, G_R9, G_R10, G_R11, G_R12, G_R13, G_R14, G_R15 };

static void conf_to_run(const struct dune_config *c, struct dunehv_ctx_run *run)
{
	u64 *g = run->gpr;

	g[G_RAX] = c->rax; g[G_RBX] = c->rbx; g[G_RCX] = c->rcx; g[G_RDX] = c->rdx;
	g[G_RSI] = c->rsi; g[G_RDI] = c->rdi; g[G_RBP] = c->rbp;
	g[G_R8] = c->r8; g[G_R9] = c->r9; g[G_R10] = c->r10; g[G_R11] = c->r11;
	g[G_R12] = c->r12; g[G_R13] = c->r13; g[G_R14] = c->r14; g[G_R15] = c->r15;
	run->rsp = c->rsp;
	run->rip = c->rip;
	run->rflags = c->rflags;
}

static void run_to_conf(const struct dunehv_ctx_run *run, struct dune_config *c)
{
	const u64 *g = run->gpr;

	c->rax = g[G_RAX]; c->rbx = g[G_RBX]; c->rcx = g[G_RCX]; c->rdx = g[G_RDX];
	c->rsi = g[G_RSI]; c->rdi = g[G_RDI]; c->rbp = g[G_RBP];
	c->r8 = g[G_R8]; c->r9 = g[G_R9]; c->r10 = g[G_R10]; c->r11 = g[G_R11];
	c->r12 = g[G_R12]; c->r13 = g[G_R13]; c->r14 = g[G_R14]; c->r15 = g[G_R15];
	c->rsp = run->rsp;
	c->rip = run->rip;
	c->rflags = run->rflags;
}

void dune_vcpu_destroy(struct dune_vcpu *v)
{
	dune_mm_detach(v);
	if (v->task)
		put_task_struct(v->task);
	if (v->handle)
		dunehv_call(DUNEHV_HC_CTX_DESTROY, v->handle, v->df->token, 0, 0);
	dune_limits_uncharge(v);
	kfree(v->run);
	kfree(v);
}

/* A context that no DUNE_ENTER can reach again: its thread exited, its
 * address space is gone, or it is the caller's own from before an execve
 * (vcpu_of_current never matches it again). Nobody runs it: a thread runs
 * only a context of its own current address space. */
static bool vcpu_is_stale(const struct dune_vcpu *v)
{
	if (v->task == current)
		return v->mm != current->mm;
	return v->mm_gone || (v->task->flags & PF_EXITING);
}

/* Frees stale contexts, so a long-lived process sharing the file with its
 * forked children, creating threads or calling execve, does not pile them
 * up. df->lock held. */
void dune_reap_vcpus(struct dune_file *df)
{
	struct dune_vcpu *v, *tmp;

	list_for_each_entry_safe(v, tmp, &df->vcpus, link) {
		if (vcpu_is_stale(v)) {
			list_del(&v->link);
			dune_vcpu_destroy(v);
		}
	}
}

static int match_file(const void *file, struct file *f, unsigned int fd)
{
	return f == file ? (int)fd + 1 : 0;
}

/* A new context for the calling thread, or an ERR_PTR: -EAGAIN, -EDQUOT or
 * -ENOMEM at a limit (dune_limits.c), else -ENOMEM or -EIO. */
static struct dune_vcpu *vcpu_create(struct dune_file *df, struct file *file, const struct dune_config *conf)
{
	int fd = iterate_fd(current->files, 0, match_file, file) - 1;
	struct dunehv_ctx_create *cr;
	struct dune_vcpu *v;
	long r = -ENOMEM;

	v = kzalloc(sizeof(*v), GFP_KERNEL);
	cr = kzalloc(sizeof(*cr), GFP_KERNEL);
	if (!v || !cr)
		goto fail;
	v->maps_since_zap = DUNE_ZAP_MIN_PROGRESS; /* the first zap needs none */
	v->df = df;
	v->task = get_task_struct(current); /* held: the address is never reused under us */
	v->run = kzalloc(sizeof(*v->run), GFP_KERNEL);
	if (!v->run)
		goto fail;
	if (dune_mm_attach(v))
		goto fail;
	r = dune_limits_charge(v, cr);
	if (r)
		goto fail;
	cr->cr3 = conf->cr3;
	cr->rip = conf->rip;
	cr->rsp = conf->rsp;
	cr->rflags = conf->rflags;
	rdmsrl(MSR_FS_BASE, cr->fs_base); /* dune-abi 1.8: the thread's FS base */
	cr->token = df->token;
	r = dunehv_call(DUNEHV_HC_CTX_CREATE, virt_to_phys(cr), sizeof(*cr), 0, 0);
	if (r <= 0) {
		r = dune_limits_explain_create(v, r);
		goto fail;
	}
	v->handle = r;
	r = -EIO;
	if (fd < 0 || dune_trampoline_install(v, fd))
		goto fail;
	v->id = ++df->next_id;
	kfree(cr);
	return v;
fail:
	kfree(cr);
	if (v)
		dune_vcpu_destroy(v);
	return ERR_PTR(r);
}

/* The calling thread's context for its current address space. The mm
 * check matters: after an execve (the file kept open, the old mm kept alive
 * by a CLONE_VM sibling) the thread is the same task in another address
 * space; its old context maps the old mm's pages, and is freed once that mm
 * goes, so reusing it would run the thread in the wrong memory and let a
 * reap free it under the run loop. mmgrab keeps v->mm's address unique. */
static struct dune_vcpu *vcpu_of_current(struct dune_file *df, u64 id)
{
	struct dune_vcpu *v;

	list_for_each_entry(v, &df->vcpus, link)
		if (v->task == current && v->mm == current->mm && !v->mm_gone && (!id || v->id == id))
			return v;
	return NULL;
}

/* Ends the session: registers and reason to the caller's dune_config, and
 * the thread leaves the kernel where it called DUNE_ENTER. */
static long end_session(struct dune_vcpu *v, s64 ret, s64 status)
{
	struct dune_config c = {0};

	v->stats.sessions++;
	run_to_conf(v->run, &c);
	/* a #PF not yet raised is dropped: re-running the access raises it
	 * again if Linux still refuses it after what Linux mode did meanwhile */
	v->run->inject = DUNEHV_INJECT_NONE;
	c.ret = ret;
	c.status = status;
	c.vcpu = v->id;
	if (v->in_trampoline) {
		*current_pt_regs() = v->entry_regs;
		v->in_trampoline = false;
	}
	if (copy_to_user(v->uconf, &c, sizeof(c)))
		return -EFAULT;
	return 0;
}

static void dump_exit(struct dune_vcpu *v)
{
	const struct dunehv_ctx_run *run = v->run;

	pr_info_ratelimited("pid %d: unhandled exit %u (qualification 0x%llx) at rip 0x%llx rsp 0x%llx cpl %u, rax 0x%llx rdi 0x%llx\n",
			    task_pid_nr(current), run->vendor_reason, run->vendor_qualification, run->rip, run->rsp, run->cpl,
			    run->gpr[G_RAX], run->gpr[G_RDI]);
}

#define PF_ERR_PRESENT BIT(0)
#define PF_ERR_WRITE   BIT(1)
#define PF_ERR_USER    BIT(2)
#define PF_ERR_FETCH   BIT(4)

/* The process's own page tables map an address whose memory Linux does not
 * give it (munmap'ed, or written after mprotect to read-only): the access
 * faults into the process's #PF handler, as a protection fault at that
 * linear address. A page walk through such memory cannot be described as a
 * #PF, and ends the session instead. */
static bool raise_page_fault(struct dunehv_ctx_run *run)
{
	u32 access = run->fault_access;

	if (!(access & DUNEHV_FAULT_GLA_VALID) || (access & DUNEHV_FAULT_PAGE_WALK))
		return false;
	run->inject = DUNEHV_INJECT_PAGE_FAULT;
	run->inject_cr2 = run->fault_gla;
	run->inject_error_code = PF_ERR_PRESENT | (access & DUNEHV_ACCESS_WRITE ? PF_ERR_WRITE : 0) |
				 (run->cpl == 3 ? PF_ERR_USER : 0) | (access & DUNEHV_ACCESS_EXEC ? PF_ERR_FETCH : 0);
	return true;
}

/* A machine check in the context (DUNEHV_CTX_EXIT_MACHINE_CHECK): the
 * banks still hold it, and Linux's handler runs on this CPU now, with
 * interrupts off as in its exception, for a machine check in this thread's
 * user mode (KVM does the same for its guests: whatever ran was not the
 * kernel). A recoverable error in the process's memory then costs the
 * process, by task work on its way out (SIGBUS), not the kernel. */
static void dune_machine_check(void)
{
#ifdef CONFIG_X86_MCE
	struct pt_regs regs = { .cs = 3, .flags = X86_EFLAGS_IF };
	unsigned long flags;

	local_irq_save(flags);
	do_machine_check(&regs);
	local_irq_restore(flags);
#endif
}

/* Upstream libdune copies its ring-0 SYSCALL trampoline into two pages of
 * its read-write page pool and maps them at Linux's LSTAR (DUNE_GET_SYSCALL):
 * for programs built against it, a fetch there may execute a page without
 * PROT_EXEC (dune_fault_in keeps such a page W^X). Our libdune maps its
 * trampoline from a PROT_EXEC mapping and needs no exception. */
static bool fetch_at_syscall_entry(const struct dunehv_ctx_run *run)
{
	u64 lstar;

	rdmsrl(MSR_LSTAR, lstar);
	return (run->fault_gla & PAGE_MASK) - (lstar & PAGE_MASK) < 2 * PAGE_SIZE;
}

/* What an EPT violation asks: a fault on a guest page-table page during a
 * walk is a data access (SDM Vol. 3C 28.2.1, Table 28-7: bits 0-2 then
 * describe the walk's access, and the linear address is not that page's). */
static unsigned int fault_access(const struct dunehv_ctx_run *run)
{
	u32 access = run->fault_access;

	if (access & DUNEHV_FAULT_PAGE_WALK)
		return access & DUNEHV_ACCESS_WRITE ? DUNE_FAULT_WRITE : 0;
	if (access & DUNEHV_ACCESS_EXEC)
		return DUNE_FAULT_EXEC | ((access & DUNEHV_FAULT_GLA_VALID) && fetch_at_syscall_entry(run) ?
						  DUNE_FAULT_ENTRY_FETCH : 0);
	return access & DUNEHV_ACCESS_WRITE ? DUNE_FAULT_WRITE : 0;
}

static long run_loop(struct dune_vcpu *v)
{
	struct dunehv_ctx_run *run = v->run;
	long r;

	for (;;) {
		if (signal_pending(current))
			return end_session(v, DUNE_RET_SIGNAL, 0);
		cond_resched();
		/* The context uses the thread's FPU registers: load them, and keep
		 * them from being switched out while it runs. */
		fpregs_lock();
		if (test_thread_flag(TIF_NEED_FPU_LOAD))
			switch_fpu_return();
		r = dunehv_call(DUNEHV_HC_CTX_RUN, v->handle, v->df->token, virt_to_phys(run), 0);
		v->stats.runs++;
		if (!r && run->exit == DUNEHV_CTX_EXIT_MACHINE_CHECK)
			dune_machine_check(); /* still on the CPU that took it */
		fpregs_unlock();
		if (r) {
			pr_info_ratelimited("pid %d: running the context failed: %ld\n", task_pid_nr(current), r);
			return end_session(v, DUNE_RET_UNHANDLED_VMEXIT, r);
		}
		switch (run->exit) {
		case DUNEHV_CTX_EXIT_INTERRUPT:
			v->stats.interrupts++;
			continue;
		case DUNEHV_CTX_EXIT_MACHINE_CHECK:
			/* the handler may have queued the process's end (task work runs on
			 * the way to user mode, libdune re-enters after DUNE_RET_SIGNAL) */
			if (task_work_pending(current))
				return end_session(v, DUNE_RET_SIGNAL, 0);
			continue;
		case DUNEHV_CTX_EXIT_FAULT:
			v->stats.faults++;
			r = dune_fault_in(v, run->fault_gpa, fault_access(run));
			if (!r && v->maps_since_zap < DUNE_ZAP_MIN_PROGRESS)
				v->maps_since_zap++;
			if (!r || r == -EAGAIN)
				continue; /* mapped, or Linux is changing the mapping: fault again */
			if (r == -EDQUOT || r == -ENOMEM) {
				/* out of table pages (its quota, its user's, the pool's
				 * free part): as KVM zaps its MMU, free this context's
				 * tables and let the pages fault back in; again only
				 * once DUNE_ZAP_MIN_PROGRESS pages mapped since: a
				 * context that gets fewer back, with its own freed, is
				 * starved by the others, and each zap buys progress (with
				 * one page enough, table-hungry threads of one user could
				 * trade their tables back and forth a page at a time) */
				if (v->maps_since_zap >= DUNE_ZAP_MIN_PROGRESS) {
					dune_mm_zap(v);
					v->maps_since_zap = 0;
					continue;
				}
				dune_limits_explain_map(v, r);
				return end_session(v, DUNE_RET_EPT_VIOLATION, 0);
			}
			if (r == -EFAULT && raise_page_fault(run))
				continue;
			pr_info_ratelimited("pid %d: EPT violation at gpa 0x%llx (rip 0x%llx) not backed by the process: %ld\n",
					    task_pid_nr(current), run->fault_gpa, run->rip, r);
			return end_session(v, DUNE_RET_EPT_VIOLATION, 0);
		case DUNEHV_CTX_EXIT_EXCEPTION:
			v->stats.exceptions++;
			return end_session(v, DUNE_RET_INTERRUPT, run->vector);
		case DUNEHV_CTX_EXIT_SYSCALL:
			v->stats.syscalls++;
			if (run->gpr[G_RAX] == __NR_exit || run->gpr[G_RAX] == __NR_exit_group)
				return end_session(v, DUNE_RET_EXIT, run->gpr[G_RDI]);
			r = dune_syscall_redirect(v);
			if (r >= 0)
				return r; /* the thread runs the call in its trampoline */
			run->gpr[G_RAX] = r;
			continue;
		default:
			dump_exit(v);
			return end_session(v, DUNE_RET_UNHANDLED_VMEXIT, run->vendor_reason);
		}
	}
}

long dune_enter(struct dune_file *df, struct file *file, struct dune_config __user *uconf)
{
	struct dune_config conf;
	struct dune_vcpu *v;

	if (copy_from_user(&conf, uconf, sizeof(conf)))
		return -EFAULT;
	if (!current->mm)
		return -EINVAL;
	mutex_lock(&df->lock);
	dune_reap_vcpus(df);
	v = vcpu_of_current(df, 0);
	if (conf.vcpu) {
		/* conf.vcpu is our own id, checked: never a pointer */
		if (!v || v->id != conf.vcpu) {
			mutex_unlock(&df->lock);
			return -EINVAL;
		}
	} else if (!v) {
		v = vcpu_create(df, file, &conf);
		if (IS_ERR(v)) {
			mutex_unlock(&df->lock);
			return PTR_ERR(v);
		}
		list_add(&v->link, &df->vcpus);
	}
	mutex_unlock(&df->lock);
	if (v->in_trampoline)
		return -EBUSY;
	conf_to_run(&conf, v->run);
	v->uconf = uconf;
	v->entry_regs = *current_pt_regs();
	return run_loop(v);
}

long dune_resume(struct dune_file *df, unsigned long result)
{
	struct dune_vcpu *v;

	mutex_lock(&df->lock);
	v = vcpu_of_current(df, 0);
	mutex_unlock(&df->lock);
	if (!v || !v->in_trampoline)
		return -EINVAL;
	v->run->gpr[G_RAX] = result;
	return run_loop(v);
}
