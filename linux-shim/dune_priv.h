/* SPDX-License-Identifier: GPL-2.0 */
/* dune.ko internals: the /dev/dune shim between a Linux process and the
 * dunehv hypervisor, which owns VMX. Only stable, exported kernel APIs. */
#ifndef DUNE_PRIV_H
#define DUNE_PRIV_H

#include <linux/cred.h>
#include <linux/list.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/xarray.h>
#include <asm/alternative.h>
#include <asm/cpufeatures.h>
#include <asm/ptrace.h>

#include "dune.h"
#include "dunehv/abi.h"

/* Private ioctl of the system-call trampoline: continue the Dune session
 * with the system call's result (not part of upstream's ABI). */
#define DUNE_RESUME _IO(DUNE_MINOR, 0x40)

#define DUNE_EPT_QUOTA 4096 /* default EPT table pages per thread (16 MiB of tables) */

/* One open /dev/dune. */
struct dune_file {
	struct mutex lock;
	struct list_head vcpus;
	u64 token;   /* owner token for the hypervisor */
	u64 next_id; /* conf.vcpu values handed out */
};

/* One thread in Dune mode: its context in the hypervisor. */
struct dune_vcpu {
	struct list_head link;
	struct dune_file *df;
	u64 id;                       /* conf.vcpu */
	u64 handle;                   /* hypervisor context */
	struct task_struct *task;     /* the thread */
	struct mm_struct *mm;
	struct mmu_notifier mn;
	bool mn_registered;
	bool mm_gone;                 /* the address space was torn down (exit, exec) */
	struct dunehv_ctx_run *run;   /* registers and exit, shared with dunehv */
	/* guest-physical windows (dune-abi 2.1) */
	u64 phys_limit, base_map, base_stack;
	/* what the EPT maps: gpa >> 12 -> pinned page with flags, or pfn (dune_mm.c) */
	spinlock_t ept_lock;
	struct xarray pages;
	/* KVM's mmu_invalidate_seq/_in_progress scheme: a fault that raced
	 * with an invalidation (begun, or begun and ended) while it pinned is
	 * retried, so it never maps a page Linux is taking away */
	u64 mmu_seq;                  /* bumped at the start and end of each invalidation */
	unsigned int mmu_invalidating; /* invalidations between _start and _end */
	/* a 2 MiB (or 1 GiB) leaf was installed: invalidations widen to it */
	bool huge_leaves, huge_1g_leaves;
	/* the DUNE_ENTER call being served */
	struct dune_config __user *uconf;
	struct pt_regs entry_regs;
	bool in_trampoline;           /* a system call runs in the trampoline */
	unsigned long tramp;          /* user address of the trampoline page */
	int fd;
	/* limits (dune_limits.c) */
	kuid_t uid;                   /* the creator's: the hypervisor's account */
	struct list_head limits_link;
	bool charged;
	unsigned int maps_since_zap;  /* pages mapped since its EPT was last emptied to make room (saturating) */
	/* what its runs came back for (dune_vcpu.c; debugfs's contexts file) */
	struct {
		u64 runs, interrupts, faults, syscalls, exceptions, sessions;
	} stats;
};

/* dune_vcpu.c */
/* A context out of table pages frees its own and goes on, again only after
 * mapping this many pages since (dune_vcpu.c). */
#define DUNE_ZAP_MIN_PROGRESS 64
long dune_enter(struct dune_file *df, struct file *file, struct dune_config __user *uconf);
long dune_resume(struct dune_file *df, unsigned long result);
void dune_vcpu_destroy(struct dune_vcpu *v);
void dune_reap_vcpus(struct dune_file *df);

/* dune_mm.c */
void dune_layout_compute(struct mm_struct *mm, struct dune_layout *l);
int dune_mm_attach(struct dune_vcpu *v);
void dune_mm_detach(struct dune_vcpu *v);
/* what an EPT violation asks of dune_fault_in */
#define DUNE_FAULT_WRITE       BIT(0) /* a data write */
#define DUNE_FAULT_EXEC        BIT(1) /* an instruction fetch */
#define DUNE_FAULT_ENTRY_FETCH BIT(2) /* a fetch at the ring-0 SYSCALL entry (dune_vcpu.c) */
int dune_fault_in(struct dune_vcpu *v, u64 gpa, unsigned int access);

/* dune_mm.c: empties the context's EPT (every translation and pin), so
 * that its tables go back to the hypervisor's pool; pages fault back in */
void dune_mm_zap(struct dune_vcpu *v);

/* dune_limits.c */
void dune_limits_init(const struct dunehv_info *info);
int dune_limits_charge(struct dune_vcpu *v, struct dunehv_ctx_create *cr);
void dune_limits_uncharge(struct dune_vcpu *v);
int dune_limits_explain_create(struct dune_vcpu *v, long r);
void dune_limits_explain_map(struct dune_vcpu *v, long r);

/* dune_syscall.c */
int dune_trampoline_install(struct dune_vcpu *v, int fd);
long dune_syscall_redirect(struct dune_vcpu *v);

/* dune_main.c: the hypervisor's INFO record into *info (zeroed first);
 * the call's result: the bytes written, or -errno */
long dune_hv_info(struct dunehv_info *info);

/* dune_debugfs.c: /sys/kernel/debug/dunehv (the dunehv command reads it) */
void dune_debugfs_init(void);
void dune_debugfs_exit(void);
/* dune_limits.c: calls fn for each live context, under the list's lock */
void dune_limits_for_each(void (*fn)(struct dune_vcpu *v, void *arg), void *arg);

/* dune_trap.c */
long dune_trap_enable(struct dune_trap_config __user *uconf);
long dune_trap_disable(void);
void dune_trap_exit(void);

/* A hypercall into dunehv (Linux ring 0): VMCALL on Intel, VMMCALL on AMD
 * (the kernel patches the instruction at load time, as KVM's guest
 * hypercalls do); RAX = function, RDI, RSI, RDX, R10; RDX out is a second
 * result for some calls (*rdx_out, if not NULL). */
static inline long dunehv_call2(u64 fn, u64 a0, u64 a1, u64 a2, u64 a3, u64 *rdx_out)
{
	register u64 r10 asm("r10") = a3;
	u64 rax = fn;

	asm volatile(ALTERNATIVE("vmcall", "vmmcall", X86_FEATURE_VMMCALL)
		     : "+a"(rax), "+D"(a0), "+S"(a1), "+d"(a2), "+r"(r10)
		     :
		     : "memory");
	if (rdx_out)
		*rdx_out = a2;
	return (long)rax;
}

static inline long dunehv_call(u64 fn, u64 a0, u64 a1, u64 a2, u64 a3)
{
	return dunehv_call2(fn, a0, a1, a2, a3, NULL);
}

#endif
