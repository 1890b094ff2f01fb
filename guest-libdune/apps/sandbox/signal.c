/* SPDX-License-Identifier: MIT */
/* Signals to the sandboxee's own handlers, as Linux delivers them
 * (arch/x86/kernel/signal.c): a frame on its stack (struct rt_sigframe:
 * the return address, a ucontext with its registers and signal mask, the
 * siginfo, the XSAVE area), the handler entered with the signal, &info and
 * &uc, and rt_sigreturn restoring what the frame says, checked.
 *
 * Linux takes a signal for the sandboxee: the monitor installs its own
 * Linux-mode handler (record) for each signal the sandboxee handles, so
 * masks, pending sets and which thread takes a process-directed signal are
 * Linux's. The signal is recorded on the taking thread and delivered when
 * that thread next goes to ring 3: at the end of a system call the monitor
 * handled (an interrupted call returns -EINTR, or is restarted after the
 * handler as SA_RESTART says, for the calls signal(7) lists), or, when the
 * signal ended a Dune session while ring 3 ran, before the context is
 * re-entered (libdune's signal re-entry hook). A fault in ring 3 goes to
 * the sandboxee's SIGSEGV/SIGBUS/SIGILL/SIGFPE/SIGTRAP handler when it has
 * one that is not blocked, else it ends the program as before. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "sandbox.h"

/* The kernel's struct ucontext (uc_sigmask is 8 bytes there) and the
 * frame; the mcontext's register order is glibc's gregs order. */
struct k_ucontext {
	uint64_t uc_flags, uc_link;
	stack_t uc_stack;
	mcontext_t uc_mcontext; /* gregs[23], fpregs, reserved[8] */
	uint64_t uc_sigmask;
};

struct rt_sigframe {
	uint64_t pretcode;
	struct k_ucontext uc;
	siginfo_t info;
};

#define UC_FP_XSTATE 0x1
#define UC_SIGCONTEXT_SS 0x2
#define UC_STRICT_RESTORE_SS 0x4
#define RED_ZONE 128
#define SA_RESTORER 0x04000000 /* <asm/signal.h>; glibc always sets it */
#define SS_AUTODISARM_FLAG (1u << 31) /* <linux/signal.h>; accepted, not done */
#define KERNEL_MINSIGSTKSZ 2048ul
#define FIX_EFLAGS 0x50dd5ul /* AC|OF|DF|TF|SF|ZF|AF|PF|CF|RF: what sigreturn may change, as Linux's */

/* A signal taken by this thread, not yet given to the sandboxee. */
#define MAX_PENDING 8
static __thread struct {
	int sig;
	siginfo_t info;
} pending[MAX_PENDING];
static __thread volatile int n_pending;

/* sigaltstack, per thread (a new thread starts with this initial value,
 * none; a fork child keeps its parent's): handlers with SA_ONSTACK run
 * there. */
static __thread stack_t altstack = {.ss_flags = SS_DISABLE};

static bool on_altstack(uintptr_t sp)
{
	uintptr_t base = (uintptr_t)altstack.ss_sp;
	return !(altstack.ss_flags & SS_DISABLE) && sp > base && sp <= base + altstack.ss_size;
}

long sandbox_sigaltstack(uint64_t new_ss, uint64_t old_ss, uint64_t sp)
{
	stack_t old = altstack, want;
	if (!(old.ss_flags & SS_DISABLE))
		old.ss_flags = on_altstack(sp) ? SS_ONSTACK : 0;
	if (new_ss) {
		if (!umem_ok(new_ss, sizeof(want), false))
			return -EFAULT;
		memcpy(&want, (void *)new_ss, sizeof(want));
		if (on_altstack(sp))
			return -EPERM;
		int mode = (int)((unsigned)want.ss_flags & ~SS_AUTODISARM_FLAG);
		if (mode == SS_DISABLE) {
			altstack = (stack_t){.ss_flags = SS_DISABLE};
		} else if (mode != 0 && mode != SS_ONSTACK) {
			return -EINVAL;
		} else if (want.ss_size < KERNEL_MINSIGSTKSZ) {
			return -ENOMEM;
		} else {
			altstack = (stack_t){.ss_sp = want.ss_sp, .ss_flags = 0, .ss_size = want.ss_size};
		}
	}
	if (old_ss) {
		if (!umem_ok(old_ss, sizeof(old), true))
			return -EFAULT;
		memcpy((void *)old_ss, &old, sizeof(old));
	}
	return 0;
}

/* The Linux-mode handler: runs in the monitor's thread when Linux takes a
 * signal the sandboxee handles (during a system call the monitor passed to
 * Linux, or after a Dune session a signal ended). */
static void record(int sig, siginfo_t *info, void *uc)
{
	(void)uc;
	int n = n_pending;
	if (n < MAX_PENDING) {
		pending[n].sig = sig;
		pending[n].info = *info;
		n_pending = n + 1;
	}
}

long sandbox_signal_install(int sig, const struct sb_sigaction *act)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	if (act->handler == (uint64_t)SIG_DFL || act->handler == (uint64_t)SIG_IGN) {
		sa.sa_handler = (void (*)(int))act->handler;
		sa.sa_flags = (int)(act->flags & (SA_NOCLDSTOP | SA_NOCLDWAIT));
	} else {
		sa.sa_sigaction = record;
		/* no SA_RESTART: an interrupted call comes back with -EINTR and
		 * is restarted here, after the sandboxee's handler */
		sa.sa_flags = SA_SIGINFO | (int)(act->flags & (SA_NOCLDSTOP | SA_NOCLDWAIT));
		sigfillset(&sa.sa_mask);
	}
	return sigaction(sig, &sa, NULL) ? -errno : 0;
}

/* The calls Linux restarts after a handler with SA_RESTART (signal(7)). */
static bool restartable(long nr)
{
	switch (nr) {
	case SYS_read: case SYS_readv: case SYS_write: case SYS_writev: case SYS_pread64: case SYS_pwrite64:
	case SYS_ioctl: case SYS_open: case SYS_openat: case SYS_wait4: case SYS_waitid: case SYS_accept:
	case SYS_accept4: case SYS_connect: case SYS_recvfrom: case SYS_recvmsg: case SYS_sendto: case SYS_sendmsg:
	case SYS_flock: case SYS_fcntl: case SYS_futex: case SYS_getrandom:
		return true;
	default:
		return false;
	}
}

/* Through libc's syscall(): from ring 0 in Dune (libdune's SYSCALL entry
 * passes it on) and in Linux mode (the re-entry hook) alike. */
static uint64_t current_mask(void)
{
	uint64_t old = 0;
	syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &old, 8);
	return old;
}

static void set_mask(uint64_t mask)
{
	mask &= ~((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)));
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &mask, NULL, 8);
}

/* The registers a frame saves and a handler starts from, in the order of
 * the mcontext's gregs (REG_R8 .. REG_EFL), so they copy as one block. */
struct regs {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, rflags;
};
_Static_assert(REG_R8 == 0 && offsetof(struct regs, rax) / 8 == REG_RAX && offsetof(struct regs, rip) / 8 == REG_RIP &&
		       offsetof(struct regs, rflags) / 8 == REG_EFL && sizeof(struct regs) == 8 * (REG_EFL + 1),
	       "struct regs follows the gregs order");

/* Builds the frame for sig on the sandboxee's stack from r and the
 * sandboxee's vector registers (fpu: an XSAVE area, reset to the initial
 * state for the handler), points r at the handler, and sets the signal
 * mask for it (old: the mask the frame keeps). False when the frame does
 * not fit in the sandboxee's writable memory. */
static bool build_frame(int sig, const siginfo_t *info, struct regs *r, struct fpu_area *fpu, uint64_t old)
{
	struct sb_sigaction act;
	sandbox_signal_action(sig, &act);
	uintptr_t sp = r->rsp - RED_ZONE;
	bool was_on = on_altstack(r->rsp);
	if ((act.flags & SA_ONSTACK) && !(altstack.ss_flags & SS_DISABLE) && !was_on)
		sp = (uintptr_t)altstack.ss_sp + altstack.ss_size; /* no red zone to keep there */
	sp = (sp - sizeof(struct fpu_area)) & ~63ul;
	uintptr_t fp = sp;
	uintptr_t frame = ((sp - sizeof(struct rt_sigframe)) & ~15ul) - 8;
	if (!(act.flags & SA_RESTORER) || !umem_ok(frame, fp + sizeof(struct fpu_area) - frame, true))
		return false;
	struct rt_sigframe *f = (struct rt_sigframe *)frame;
	memset(f, 0, sizeof(*f));
	f->pretcode = act.restorer;
	f->info = *info;
	f->uc.uc_flags = UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	f->uc.uc_stack = altstack;
	if (!(altstack.ss_flags & SS_DISABLE))
		f->uc.uc_stack.ss_flags = was_on ? SS_ONSTACK : 0;
	greg_t *g = f->uc.uc_mcontext.gregs;
	memcpy(g, r, sizeof(*r));
	g[REG_CSGSFS] = (greg_t)(0x33 | (0x2bull << 48)); /* cs, gs, fs, ss */
	g[REG_TRAPNO] = info->si_signo == SIGSEGV ? 14 : 0;
	if (info->si_signo == SIGSEGV)
		g[REG_CR2] = (greg_t)(uintptr_t)info->si_addr;
	memcpy((void *)fp, fpu, sizeof(*fpu));
	f->uc.uc_mcontext.fpregs = (fpregset_t)fp;
	f->uc.uc_sigmask = old;
	uint64_t block = act.mask | ((act.flags & SA_NODEFER) ? 0 : 1ull << (sig - 1));
	set_mask(old | block);
	if (act.flags & SA_RESETHAND)
		sandbox_signal_reset(sig);
	/* the handler: (sig, &info, &uc), a fresh FPU state, DF and TF clear */
	r->rdi = (uint64_t)sig;
	r->rsi = (uint64_t)&f->info;
	r->rdx = (uint64_t)&f->uc;
	r->rax = 0;
	r->rsp = frame;
	r->rip = act.handler;
	r->rflags &= ~(0x400ul | 0x100ul | 0x40000ul); /* DF, TF, AC */
	dune_fpu_init(fpu);
	fpu->xstate_bv = 0;
	return true;
}

static void tf_to_regs(const struct dune_tf *tf, struct regs *r)
{
	*r = (struct regs){tf->r8,  tf->r9,  tf->r10, tf->r11, tf->r12, tf->r13, tf->r14, tf->r15, tf->rdi,
			   tf->rsi, tf->rbp, tf->rbx, tf->rdx, tf->rax, tf->rcx, tf->rsp, tf->rip, tf->rflags};
}

static void regs_to_tf(const struct regs *r, struct dune_tf *tf)
{
	tf->r8 = r->r8, tf->r9 = r->r9, tf->r10 = r->r10, tf->r11 = r->r11, tf->r12 = r->r12, tf->r13 = r->r13;
	tf->r14 = r->r14, tf->r15 = r->r15, tf->rdi = r->rdi, tf->rsi = r->rsi, tf->rbp = r->rbp, tf->rbx = r->rbx;
	tf->rdx = r->rdx, tf->rax = r->rax, tf->rcx = r->rcx, tf->rsp = r->rsp, tf->rip = r->rip;
	tf->rflags = r->rflags;
}

static bool pop_pending(int *sig, siginfo_t *info)
{
	if (!n_pending)
		return false;
	*sig = pending[0].sig;
	*info = pending[0].info;
	for (int i = 1; i < n_pending; i++)
		pending[i - 1] = pending[i];
	n_pending--;
	return true;
}

/* A frame that does not fit: as Linux's force_sigsegv. */
static void __attribute__((noreturn)) frame_failed(int sig)
{
	sb_msg("dune-sandbox: no room on the stack for the frame of signal %d: SIGSEGV\n", sig);
	sandbox_kill(SIGSEGV);
}

/* tf (ring 3's registers, in ring 0) goes to the handler of sig. */
static void enter_handler(struct dune_tf *tf, int sig, const siginfo_t *info, struct fpu_area *fpu, uint64_t mask)
{
	struct regs r;
	tf_to_regs(tf, &r);
	if (!build_frame(sig, info, &r, fpu, mask))
		frame_failed(sig);
	regs_to_tf(&r, tf);
}

void sandbox_signal_deliver(struct dune_tf *tf, long nr, struct fpu_area *fpu)
{
	int sig;
	siginfo_t info;
	if (!pop_pending(&sig, &info))
		return;
	struct sb_sigaction act;
	sandbox_signal_action(sig, &act);
	/* interrupted: restart after the handler, or -EINTR (ERESTARTNOINTR
	 * calls were restarted by Linux already) */
	if ((long)tf->rax == -EINTR && nr >= 0 && (act.flags & SA_RESTART) && restartable(nr)) {
		tf->rax = (uint64_t)nr;
		tf->rip -= 2; /* the SYSCALL again */
	}
	enter_handler(tf, sig, &info, fpu, current_mask());
}

bool sandbox_signal_fault(int sig, int code, uintptr_t addr, struct dune_tf *tf)
{
	static __thread struct fpu_area fpu_area;
	struct fpu_area *fpu = &fpu_area;
	dune_fpu_save_safe(fpu); /* before libc's code below uses the vector registers */
	struct sb_sigaction act;
	sandbox_signal_action(sig, &act);
	uint64_t mask = current_mask();
	if (act.handler == (uint64_t)SIG_DFL || act.handler == (uint64_t)SIG_IGN || (mask >> (sig - 1)) & 1)
		return false; /* Linux: a blocked or ignored synchronous signal kills */
	siginfo_t info;
	memset(&info, 0, sizeof(info));
	info.si_signo = sig;
	info.si_code = code;
	info.si_addr = (void *)addr;
	enter_handler(tf, sig, &info, fpu, mask);
	dune_fpu_load(fpu);
	return true;
}

/* rt_sigreturn: the frame's registers, checked (ring 3's selectors and
 * flags are the return path's; the XSAVE area must be one the CPU takes),
 * its signal mask. A bad frame ends the program with SIGSEGV, as Linux. */
long sandbox_sigreturn(struct dune_tf *tf, struct fpu_area *fpu)
{
	uintptr_t ucp = tf->rsp;
	struct k_ucontext uc;
	if (!umem_ok(ucp, sizeof(uc), false)) {
		sb_msg("dune-sandbox: rt_sigreturn without a frame at 0x%lx: SIGSEGV\n", (unsigned long)ucp);
		sandbox_kill(SIGSEGV);
	}
	memcpy(&uc, (void *)ucp, sizeof(uc));
	uintptr_t fp = (uintptr_t)uc.uc_mcontext.fpregs;
	if (fp) {
		struct fpu_area copy;
		unsigned lo, hi;
		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		uint64_t xcr0 = lo | ((uint64_t)hi << 32);
		if ((fp & 63) || !umem_ok(fp, sizeof(copy), false))
			goto bad;
		memcpy(&copy, (void *)fp, sizeof(copy));
		uint32_t mxcsr_mask = fpu->mxcsr_mask ? fpu->mxcsr_mask : 0xffbf; /* the CPU's, as XSAVE wrote it at entry */
		if ((copy.xstate_bv & ~xcr0) || copy.xcomp_bv || (copy.mxcsr & ~mxcsr_mask))
			goto bad;
		for (int i = 0; i < 6; i++)
			if (copy.reserved[i])
				goto bad;
		*fpu = copy;
	}
	const greg_t *g = uc.uc_mcontext.gregs;
	struct regs r;
	memcpy(&r, g, sizeof(r));
	r.rflags = (tf->rflags & ~FIX_EFLAGS) | ((uint64_t)g[REG_EFL] & FIX_EFLAGS);
	regs_to_tf(&r, tf);
	set_mask(uc.uc_sigmask);
	return (long)r.rax;
bad:
	sb_msg("dune-sandbox: rt_sigreturn with a bad FPU state at 0x%lx: SIGSEGV\n", (unsigned long)fp);
	sandbox_kill(SIGSEGV);
}

/* libdune's hook: a signal ended the session; when ring 3 was running
 * (IOPL 0: ring 0 runs with IOPL 3), the handler is entered before the
 * context goes on. In Linux mode: the vector registers are the
 * context's, so they are saved as they are. */
static void on_reentry(struct dune_config *conf)
{
	if (!n_pending || ((conf->rflags >> 12) & 3) == 3)
		return; /* none, or in the monitor: at its next return to ring 3 */
	static __thread struct fpu_area fpu;
	dune_fpu_save_safe(&fpu);
	/* no recording while the queue changes: every signal blocked until
	 * the handler's mask is set */
	uint64_t all = ~0ull, old = 0;
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, 8);
	int sig;
	siginfo_t info;
	if (!pop_pending(&sig, &info)) {
		set_mask(old);
		return;
	}
	struct regs r = {conf->r8,  conf->r9,  conf->r10, conf->r11, conf->r12, conf->r13, conf->r14, conf->r15, conf->rdi,
			 conf->rsi, conf->rbp, conf->rbx, conf->rdx, conf->rax, conf->rcx, conf->rsp, conf->rip, conf->rflags};
	if (!build_frame(sig, &info, &r, &fpu, old)) { /* as frame_failed, in Linux mode */
		static const char msg[] = "dune-sandbox: no room on the stack for a signal frame: SIGSEGV\n";
		(void)!write(2, msg, sizeof(msg) - 1);
		signal(SIGSEGV, SIG_DFL);
		syscall(SYS_tgkill, getpid(), gettid(), SIGSEGV);
	}
	conf->r8 = r.r8, conf->r9 = r.r9, conf->r10 = r.r10, conf->r11 = r.r11, conf->r12 = r.r12, conf->r13 = r.r13;
	conf->r14 = r.r14, conf->r15 = r.r15, conf->rdi = r.rdi, conf->rsi = r.rsi, conf->rbp = r.rbp;
	conf->rbx = r.rbx, conf->rdx = r.rdx, conf->rax = r.rax, conf->rcx = r.rcx, conf->rsp = r.rsp;
	conf->rip = r.rip, conf->rflags = r.rflags;
	dune_fpu_load(&fpu);
}

void sandbox_signal_init(void) { dune_register_signal_reentry_hook(on_reentry); }

/* A fork child does not inherit its parent's pending signals. */
void sandbox_signal_forked(void) { n_pending = 0; }

