/*
 * dunemini: enters Dune mode through /dev/dune without libdune, to check the
 * module and the hypervisor directly: the ioctls and their bad arguments, a
 * context running our own page tables, system calls from Dune (write, getpid,
 * fork with the child in Linux mode, wait4), lazily filled memory, and the
 * exit status. Prints "dunemini: ... OK/FAIL" lines and "dunemini: done
 * failures=N".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dune.h"
#include "dunemini.h"
#include "procinfo.h"

extern void dunemini_guest(void), dunemini_exit0(void), dunemini_spin(void), dunemini_thread(void),
	dunemini_signal(void), dunemini_read_secret(void);
volatile uint64_t dunemini_result[8];
uint64_t dunemini_buf, dunemini_buf_pages;
volatile uint64_t dunemini_entered, dunemini_release;
volatile uint64_t dunemini_sig_flag;
volatile uint64_t dunemini_probe_addr = 0x90000000ul;

int failures;

/* Page tables at 1 GiB (inside the identity window: GPA == VA): identity map
 * of [0, 4 GiB) with 2 MiB pages, so code, data and the tables themselves are
 * reachable at their own addresses. */
static uint64_t build_page_tables(void)
{
	uint64_t *pt = mmap((void *)PT_BASE, 6 * 4096, PROT_READ | PROT_WRITE,
			    MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (pt == MAP_FAILED) {
		perror("dunemini: mmap page tables");
		exit(2);
	}
	uint64_t *pml4 = pt, *pdpt = pt + 512;
	pml4[0] = (PT_BASE + 4096) | 0x3;
	for (int g = 0; g < 4; g++) {
		uint64_t *pd = pt + 512 * (2 + g);
		pdpt[g] = (PT_BASE + 4096 * (2 + g)) | 0x3;
		for (int i = 0; i < 512; i++)
			pd[i] = (((uint64_t)g << 30) + ((uint64_t)i << 21)) | 0x83; /* P, W, PS */
	}
	return PT_BASE;
}

uint8_t guest_stack[64 * 1024] __attribute__((aligned(16)));
int dune_fd;

struct dune_config run_guest_with(void (*rip)(void), void *sp, const struct dune_config *regs)
{
	struct dune_config conf = regs ? *regs : (struct dune_config){0};
	conf.rip = (uint64_t)rip;
	conf.rsp = (uint64_t)sp;
	conf.rflags = 0x2;
	conf.cr3 = PT_BASE;
	if (ioctl(dune_fd, DUNE_ENTER, &conf))
		conf.ret = -errno;
	return conf;
}

struct dune_config run_guest(void (*rip)(void), void *sp) { return run_guest_with(rip, sp, NULL); }

/* n sequential processes, each a Dune lifetime */
static int mode_lifetimes(int n)
{
	int ok = 0;
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			struct dune_config c = run_guest(dunemini_exit0, guest_stack + sizeof(guest_stack));
			_exit(c.ret == DUNE_RET_EXIT && c.status == 0 ? 0 : 1);
		}
		int st;
		if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ok++;
	}
	CHECK(ok == n, "%d of %d sequential Dune process lifetimes", ok, n);
	return 0;
}

static void *thread_main(void *arg)
{
	uint8_t *stack = arg;
	struct dune_config c = run_guest(dunemini_thread, stack + 64 * 1024);
	return (void *)(intptr_t)(c.ret == DUNE_RET_EXIT ? 0 : 1);
}

/* n threads in Dune mode at the same time */
static int mode_threads(int n)
{
	pthread_t t[64];
	static uint8_t stacks[64][64 * 1024] __attribute__((aligned(16)));
	int ok = 0;
	if (n > 64)
		n = 64;
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, thread_main, stacks[i]);
	/* all n are inside Dune mode once they checked in */
	for (int w = 0; w < 1000 && dunemini_entered < (uint64_t)n; w++)
		usleep(10000);
	uint64_t live = info_value("ctx_live");
	dunemini_release = 1;
	for (int i = 0; i < n; i++) {
		void *r;
		pthread_join(t[i], &r);
		ok += r == NULL;
	}
	CHECK(ok == n && dunemini_entered == (uint64_t)n && live >= (uint64_t)n,
	      "%d threads in Dune at once (%llu contexts live meanwhile)", ok, (unsigned long long)live);
	return 0;
}

/* SIGKILL ends a Dune process spinning with interrupts off */
static int mode_kill(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		run_guest(dunemini_spin, guest_stack + sizeof(guest_stack));
		_exit(3);
	}
	usleep(300000);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	kill(pid, SIGKILL);
	int st = 0;
	waitpid(pid, &st, 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	double dt = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && dt < 1.0, "SIGKILL ended a spinning Dune process in %.3f s",
	      dt);
	return 0;
}

static void on_usr1(int sig)
{
	(void)sig;
	dunemini_sig_flag = 0x5151;
}

/* SIGUSR1 sent from Dune mode reaches its handler */
static int mode_signal(void)
{
	signal(SIGUSR1, on_usr1);
	struct dune_config c = run_guest(dunemini_signal, guest_stack + sizeof(guest_stack));
	CHECK(c.ret == DUNE_RET_EXIT && dunemini_result[6] == 0x5151, "SIGUSR1 reached the Dune process's handler (0x%llx)",
	      (unsigned long long)dunemini_result[6]);
	return 0;
}

/* Two processes: one holds a secret at 0x90000000, the other reads the same
 * address from Dune mode and must get its own memory or nothing. */
/* A fresh Dune process reads addr (identity-mapped by its page tables).
 * With no memory of its own there, the access faults into the process (#PF;
 * dunemini has no IDT, so it triple-faults: UNHANDLED_VMEXIT, reason 2) or
 * ends with DUNE_RET_EPT_VIOLATION. Returns 0 for either, 2 if the read
 * returned `secret` (or anything, when secret is 0), 3 otherwise. */
/* The CPU's vendor decides the backend (one image each): AMD is SVM. */
static int cpu_is_amd(void)
{
	uint32_t a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
	return b == 0x68747541u; /* "Auth"enticAMD */
}

/* The unhandled exit a triple fault is (the backend's code, as dune.ko
 * reports it): VMX basic reason 2, SVM's SHUTDOWN intercept 0x7f. */
static long long triple_fault_reason(void) { return cpu_is_amd() ? 0x7f : 2; }

static int probe_foreign(uint64_t addr, uint64_t secret)
{
	pid_t reader = fork();
	if (reader == 0) {
		dunemini_probe_addr = addr;
		dunemini_result[7] = 0xdeadull;
		struct dune_config c = run_guest(dunemini_read_secret, guest_stack + sizeof(guest_stack));
		if (c.ret == DUNE_RET_EPT_VIOLATION || (c.ret == DUNE_RET_UNHANDLED_VMEXIT && c.status == triple_fault_reason()))
			_exit(0);
		_exit(c.ret == DUNE_RET_EXIT && (!secret || dunemini_result[7] == secret) ? 2 : 3);
	}
	int st = 0;
	if (reader < 0 || waitpid(reader, &st, 0) != reader || !WIFEXITED(st))
		return 4;
	return WEXITSTATUS(st);
}

static const char *probe_outcome(int st)
{
	return st == 0 ? "fault" : st == 2 ? "the read returned data" : st == 4 ? "crashed" : "other exit";
}

static int mode_isolation(void)
{
	int ready[2], done[2];
	if (pipe(ready) || pipe(done))
		return 2;
	pid_t holder = fork();
	if (holder == 0) {
		uint64_t *secret = mmap((void *)0x90000000ul, 4096, PROT_READ | PROT_WRITE,
					MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		*secret = 0x5ec7e75ec7e7ull;
		struct dune_config c = run_guest(dunemini_read_secret, guest_stack + sizeof(guest_stack));
		char x = (c.ret == DUNE_RET_EXIT && dunemini_result[7] == 0x5ec7e75ec7e7ull) ? 'y' : 'n';
		if (write(ready[1], &x, 1) != 1 || read(done[0], &x, 1) != 1)
			_exit(4);
		_exit(0);
	}
	char own;
	if (read(ready[0], &own, 1) != 1)
		own = '?';
	/* here nothing is mapped at 0x90000000: the read must not see the secret */
	int st = probe_foreign(0x90000000ul, 0x5ec7e75ec7e7ull);
	if (write(done[1], "x", 1) != 1)
		return 2;
	waitpid(holder, NULL, 0);
	CHECK(own == 'y', "a Dune process reads its own memory at 0x90000000");
	CHECK(st == 0, "another Dune process reading 0x90000000 faults, never sees the secret (%s)", probe_outcome(st));
	/* guest-physical addresses of Linux's kernel and of the hypervisor, put
	 * into the process's own page tables (identity map): nothing of theirs */
	uint64_t hv_base = info_value("hv_phys_base");
	st = probe_foreign(0x1000000ul, 0);
	CHECK(st == 0, "reading GPA 0x1000000 (Linux's kernel image) faults (%s)", probe_outcome(st));
	st = probe_foreign(hv_base, 0);
	CHECK(hv_base != ~0ull && st == 0, "reading GPA 0x%llx (the hypervisor's memory) faults (%s)",
	      (unsigned long long)hv_base, probe_outcome(st));
	return 0;
}

/* DUNE_TRAP_ENABLE: the debugger hook. A thread spinning at trigger_rip
 * (dunemini_spin, in Linux mode) is switched out and in again (a competing
 * process keeps the CPU busy), and after `delay` more sched-ins it continues
 * in notify_func with its registers. */
void dunemini_spin(void);
void dunemini_trap_notify(struct dune_trap_regs *regs, void *priv);
void dunemini_trap_notify_c(struct dune_trap_regs *regs, void *priv);
static struct dune_trap_regs trap_regs;
static int trap_disable_on_notify;
void dunemini_trap_notify_c(struct dune_trap_regs *regs, void *priv)
{
	int ok = regs == &trap_regs && priv == (void *)0x7ea && regs->rip == (uint64_t)dunemini_spin;
	if (trap_disable_on_notify && ioctl(dune_fd, DUNE_TRAP_DISABLE))
		ok = 0;
	_exit(ok ? 42 : 43);
}

static int trap_child(int disable)
{
	pid_t pid = fork();
	if (pid == 0) {
		alarm(60); /* a trap that never fires fails the test instead of hanging it */
		trap_disable_on_notify = disable;
		struct dune_trap_config tc = {.trigger_rip = (uint64_t)dunemini_spin,
					      .notify_func = dunemini_trap_notify,
					      .regs = &trap_regs,
					      .regs_size = sizeof(trap_regs),
					      .priv = (void *)0x7ea,
					      .delay = 2};
		if (ioctl(dune_fd, DUNE_TRAP_ENABLE, &tc))
			_exit(3);
		dunemini_spin();
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int mode_trap(void)
{
	struct dune_trap_config tc = {.regs = &trap_regs, .regs_size = 100, .notify_func = dunemini_trap_notify};
	CHECK(ioctl(dune_fd, DUNE_TRAP_ENABLE, &tc) == -1 && errno == EINVAL, "TRAP_ENABLE with regs_size 100 -> EINVAL");
	tc.regs_size = sizeof(trap_regs);
	tc.regs = (struct dune_trap_regs *)0xffff888000000000ull;
	CHECK(ioctl(dune_fd, DUNE_TRAP_ENABLE, &tc) == -1 && errno == EFAULT, "TRAP_ENABLE with a kernel address -> EFAULT");
	CHECK(ioctl(dune_fd, DUNE_TRAP_ENABLE, (void *)8) == -1 && errno == EFAULT, "TRAP_ENABLE with a bad pointer -> EFAULT");
	CHECK(ioctl(dune_fd, DUNE_TRAP_DISABLE) == 0, "TRAP_DISABLE with no trap -> 0");
	pid_t competitor = fork();
	if (competitor == 0) {
		alarm(120);
		for (;;)
			__asm__ volatile("" ::: "memory");
	}
	int r1 = trap_child(1), r2 = trap_child(0);
	kill(competitor, SIGKILL);
	waitpid(competitor, NULL, 0);
	CHECK(r1 == 42, "the trap fired at trigger_rip after 2 sched-ins: notify_func got the registers and priv, then TRAP_DISABLE (exit %d)", r1);
	CHECK(r2 == 42, "a thread that exits with its trap still enabled (exit %d)", r2);
	return 0;
}

/* An attack on dune.ko's context lookup (hardening issue, item 1): enter
 * once, keep the address space alive through a CLONE_VM sibling, execve
 * with /dev/dune still open, enter again. The second entry must get a new
 * context of the new address space, not the old one (which maps the old
 * mm's pages, and is freed once that mm goes: a use after free under the
 * run loop). Stage 1 here; stage 2 runs in the new image. */
static char sibling_stack[16384] __attribute__((aligned(16)));
static int sibling_main(void *arg)
{
	char x;
	ssize_t n = read((int)(intptr_t)arg, &x, 1); /* until stage 2 lets the old mm go */
	_exit(n == 1 ? 0 : 1);
}

static int mode_exec_reuse(void)
{
	struct dune_config c = run_guest(dunemini_exit0, guest_stack + sizeof(guest_stack));
	int release[2];
	if (c.ret != DUNE_RET_EXIT || pipe(release)) {
		CHECK(0, "exec-reuse: the first session ended with DUNE_RET_EXIT (%lld)", (long long)c.ret);
		return 0;
	}
	pid_t sibling = clone(sibling_main, sibling_stack + sizeof(sibling_stack), CLONE_VM | SIGCHLD,
			      (void *)(intptr_t)release[0]);
	char fd[16], id[24], wfd[16], sib[16];
	snprintf(fd, sizeof(fd), "%d", dune_fd);
	snprintf(id, sizeof(id), "%llu", (unsigned long long)c.vcpu);
	snprintf(wfd, sizeof(wfd), "%d", release[1]);
	snprintf(sib, sizeof(sib), "%d", (int)sibling);
	char *args[] = {"dunemini", "exec-reuse-2", fd, id, wfd, sib, NULL};
	if (sibling > 0)
		execv("/proc/self/exe", args);
	CHECK(0, "exec-reuse: clone and execve (%s)", strerror(errno));
	return 0;
}

/* Stage 2, in the new image: the file and the old context's id inherited. */
static int mode_exec_reuse_2(char **argv)
{
	dune_fd = atoi(argv[2]);
	unsigned long long old_id = strtoull(argv[3], NULL, 0);
	int release = atoi(argv[4]);
	pid_t sibling = atoi(argv[5]);
	uint64_t live_before = info_value("ctx_live");
	struct dune_config c = run_guest(dunemini_exit0, guest_stack + sizeof(guest_stack));
	CHECK(c.ret == DUNE_RET_EXIT && c.vcpu != old_id,
	      "after execve with /dev/dune open (old mm alive in a CLONE_VM sibling), DUNE_ENTER gets a new context (%llu, the old one was %llu)",
	      (unsigned long long)c.vcpu, old_id);
	/* the old mm goes; another entry (the parent's, then a child's) reaps its context */
	int st = 0;
	if (write(release, "x", 1) != 1 || waitpid(sibling, &st, 0) != sibling)
		st = -1;
	struct dune_config c2 = run_guest(dunemini_exit0, guest_stack + sizeof(guest_stack));
	pid_t child = fork();
	if (child == 0) {
		struct dune_config cc = run_guest(dunemini_exit0, guest_stack + sizeof(guest_stack));
		_exit(cc.ret == DUNE_RET_EXIT ? 0 : 1);
	}
	int cst = -1;
	if (child > 0)
		waitpid(child, &cst, 0);
	struct dune_config c3 = run_guest(dunemini_exit0, guest_stack + sizeof(guest_stack));
	CHECK(st == 0 && c2.ret == DUNE_RET_EXIT && c2.vcpu == c.vcpu && cst == 0 && c3.ret == DUNE_RET_EXIT &&
		      c3.vcpu == c.vcpu,
	      "once the old mm is gone, entries go on in the new context (%llu, %llu) and a child's entry reaps the old one (child %d)",
	      (unsigned long long)c2.vcpu, (unsigned long long)c3.vcpu, cst);
	uint64_t live_after = info_value("ctx_live");
	CHECK(live_before != ~0ull && live_after <= live_before, "the old context was freed (contexts live %llu before the new one, %llu after)",
	      (unsigned long long)live_before, (unsigned long long)live_after);
	return 0;
}

/* Lines of the hypervisor's log ring (/proc/dunehv/log) that contain s. */
static long log_lines_with(const char *s)
{
	char line[512];
	long n = -1;
	FILE *f = fopen("/proc/dunehv/log", "r");
	if (f)
		n = 0;
	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, s) != NULL;
	if (f)
		fclose(f);
	return n;
}

/* n open/enter/close rounds with a non-canonical RIP: each session ends
 * with DUNE_RET_UNHANDLED_VMEXIT. On VMX the VM entry fails (SDM
 * 27.3.1.4), and the hypervisor's line about it is rate-limited, so the
 * loop neither fills the log ring nor keeps a CPU at the UART. SVM's VMRUN
 * takes such a RIP (AMD64 APM Vol. 2 15.5.1 does not check it), the first
 * fetch faults and the context, without an IDT, shuts down: no entry
 * fails, nothing is logged. (Nothing else a process gives an entry is
 * refused by VMRUN: a bad CR3 is refused when the context is created.) */
/* hv/core/log.h: LOG_LIMIT_BURST lines per LOG_LIMIT_WINDOW_TSC ticks */
#define LOG_LIMIT_BURST 10
#define LOG_LIMIT_WINDOW_TSC (1ull << 32)

static int mode_entryfail(int n)
{
	long before = log_lines_with("VM entry failed");
	uint64_t t0 = __builtin_ia32_rdtsc();
	int ended = 0;
	for (int i = 0; i < n; i++) {
		int fd = open("/dev/dune", O_RDWR | O_CLOEXEC);
		struct dune_config conf = {0};
		conf.rip = 0x8000000000001000ull;
		conf.rsp = (uint64_t)(guest_stack + sizeof(guest_stack));
		conf.rflags = 0x2;
		conf.cr3 = PT_BASE;
		if (fd >= 0 && ioctl(fd, DUNE_ENTER, &conf) == 0 && conf.ret == DUNE_RET_UNHANDLED_VMEXIT)
			ended++;
		if (fd >= 0)
			close(fd);
	}
	uint64_t windows = (__builtin_ia32_rdtsc() - t0) / LOG_LIMIT_WINDOW_TSC + 2; /* windows touched, at most */
	long after = log_lines_with("VM entry failed"), allowed = (long)(LOG_LIMIT_BURST * windows);
	CHECK(ended == n, "entryfail: %d of %d sessions with a non-canonical RIP ended with DUNE_RET_UNHANDLED_VMEXIT", ended, n);
	if (cpu_is_amd())
		CHECK(before >= 0 && after == before, "entryfail: SVM entered all %d (no failed entry, %ld lines logged)", n,
		      after - before);
	else
		CHECK(before >= 0 && after - before >= 1 && after - before <= allowed && allowed < n,
		      "entryfail: %d failed entries logged %ld lines (rate limit: at most %d in each of the %llu windows touched)",
		      n, after - before, LOG_LIMIT_BURST, (unsigned long long)windows);
	/* the machine goes on: an ordinary session right after */
	struct dune_config c = run_guest(dunemini_exit0, guest_stack + sizeof(guest_stack));
	CHECK(c.ret == DUNE_RET_EXIT, "entryfail: a session afterwards runs to its exit (ret %lld)", (long long)c.ret);
	return 0;
}

/* Opens /dev/dune and runs a session as an unprivileged user (nobody)
 * with only the given supplementary group; the child's exit status: 0 the
 * session ran to its DUNE_RET_EXIT, 10 + errno of open (capped), 3 it
 * failed otherwise. */
static int unprivileged_session(gid_t group)
{
	pid_t pid = fork();
	if (pid == 0) {
		close(dune_fd); /* an inherited file would open nothing new */
		if (setgroups(1, &group) || setgid(NOBODY) || setuid(NOBODY))
			_exit(2);
		dune_fd = open("/dev/dune", O_RDWR | O_CLOEXEC);
		if (dune_fd < 0)
			_exit(10 + (errno < 100 ? errno : 99));
		struct dune_config c = run_guest(dunemini_exit0, guest_stack + sizeof(guest_stack));
		_exit(c.ret == DUNE_RET_EXIT && c.status == 0 ? 0 : 3);
	}
	int st = -1;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Who may open /dev/dune: mode 0660 root:root as the module makes it; a
 * user outside the node's group is refused, one in it (the udev rule's
 * GROUP="dune", here given by chown) enters Dune unprivileged. */
static int mode_devperm(void)
{
	struct stat st;
	CHECK(stat("/dev/dune", &st) == 0 && (st.st_mode & 07777) == 0660 && st.st_uid == 0 && st.st_gid == 0,
	      "devperm: /dev/dune is mode 0%o, owner %d:%d (want 0660 root:root)", (unsigned)(st.st_mode & 07777),
	      (int)st.st_uid, (int)st.st_gid);
	int other = unprivileged_session(NOBODY);
	CHECK(other == 10 + EACCES, "devperm: a user outside the group cannot open /dev/dune (status %d, want %d: EACCES)",
	      other, 10 + EACCES);
	if (chown("/dev/dune", 0, DUNE_TEST_GID)) {
		CHECK(0, "devperm: chown /dev/dune to group %d (%s)", DUNE_TEST_GID, strerror(errno));
		return 0;
	}
	int member = unprivileged_session(DUNE_TEST_GID);
	CHECK(member == 0, "devperm: a user in the group opens /dev/dune and runs a Dune session unprivileged (status %d)",
	      member);
	CHECK(chown("/dev/dune", 0, 0) == 0, "devperm: /dev/dune back to root:root");
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 5 && !strcmp(argv[1], "exec-reuse-2")) {
		build_page_tables();
		mode_exec_reuse_2(argv);
		printf("dunemini: exec-reuse done failures=%d\n", failures);
		return failures ? 1 : 0;
	}
	if (argc > 1) {
		dune_fd = open("/dev/dune", O_RDWR); /* no O_CLOEXEC: exec-reuse keeps it */
		if (dune_fd < 0) {
			printf("dunemini: open /dev/dune: %s FAIL\n", strerror(errno));
			return 1;
		}
		build_page_tables();
		if (!strcmp(argv[1], "lifetimes") && argc > 2)
			mode_lifetimes(atoi(argv[2]));
		else if (!strcmp(argv[1], "threads") && argc > 2)
			mode_threads(atoi(argv[2]));
		else if (!strcmp(argv[1], "kill"))
			mode_kill();
		else if (!strcmp(argv[1], "signal"))
			mode_signal();
		else if (!strcmp(argv[1], "isolation"))
			mode_isolation();
		else if (!strcmp(argv[1], "trap"))
			mode_trap();
		else if (!strcmp(argv[1], "exec-reuse"))
			mode_exec_reuse();
		else if (!strcmp(argv[1], "devperm"))
			mode_devperm();
		else if (!strcmp(argv[1], "entryfail") && argc > 2)
			mode_entryfail(atoi(argv[2]));
		else if (!strcmp(argv[1], "limits"))
			mode_limits();
		else {
			fprintf(stderr, "usage: dunemini [lifetimes N | threads N | kill | signal | isolation | trap | exec-reuse | devperm | entryfail N | limits]\n");
			return 2;
		}
		printf("dunemini: %s done failures=%d\n", argv[1], failures);
		return failures ? 1 : 0;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	int fd = open("/dev/dune", O_RDWR);
	if (fd < 0) {
		printf("dunemini: open /dev/dune: %s FAIL\n", strerror(errno));
		return 1;
	}
	struct dune_layout layout;
	CHECK(ioctl(fd, DUNE_GET_LAYOUT, &layout) == 0, "GET_LAYOUT phys_limit=0x%llx base_map=0x%llx base_stack=0x%llx",
	      (unsigned long long)layout.phys_limit, (unsigned long long)layout.base_map,
	      (unsigned long long)layout.base_stack);
	long lstar = ioctl(fd, DUNE_GET_SYSCALL);
	CHECK(lstar <= -4096, "GET_SYSCALL (LSTAR, truncated like upstream) = 0x%lx", lstar);
	CHECK(ioctl(fd, DUNE_GET_LAYOUT, (void *)8) == -1 && errno == EFAULT, "GET_LAYOUT to a bad pointer -> EFAULT");
	CHECK(ioctl(fd, DUNE_ENTER, (void *)8) == -1 && errno == EFAULT, "ENTER with a bad pointer -> EFAULT");
	CHECK(ioctl(fd, 0xe9ff) == -1 && errno == ENOTTY, "unknown ioctl -> ENOTTY");
	struct dune_config bad = {.vcpu = 0xffff888000000000ull};
	CHECK(ioctl(fd, DUNE_ENTER, &bad) == -1 && errno == EINVAL, "ENTER with a garbage vcpu handle -> EINVAL");

	/* 16 MiB to touch from Dune mode, below 4 GiB (mapped by our tables) */
	dunemini_buf_pages = 4096;
	void *buf = mmap((void *)0x80000000ul, dunemini_buf_pages * 4096, PROT_READ | PROT_WRITE,
			 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		perror("dunemini: mmap buffer");
		return 2;
	}
	dunemini_buf = (uint64_t)buf;

	struct dune_config conf = {0};
	conf.rip = (uint64_t)dunemini_guest;
	conf.rsp = (uint64_t)(guest_stack + sizeof(guest_stack));
	conf.rflags = 0x2;
	conf.cr3 = build_page_tables();
	int r = ioctl(fd, DUNE_ENTER, &conf);
	CHECK(r == 0, "DUNE_ENTER returned %d", r);
	CHECK(conf.ret == DUNE_RET_EXIT && conf.status == 7, "session ended: ret=%lld status=%lld (want EXIT, 7)",
	      (long long)conf.ret, (long long)conf.status);
	CHECK(conf.vcpu != 0, "vcpu handle 0x%llx", (unsigned long long)conf.vcpu);
	CHECK(dunemini_result[0] == 0x656e7544, "CPUID in Dune: 0x%llx", (unsigned long long)dunemini_result[0]);
	CHECK(dunemini_result[1] == 31, "write from Dune -> %lld", (long long)dunemini_result[1]);
	CHECK(dunemini_result[2] == (uint64_t)getpid(), "getpid from Dune -> %lld", (long long)dunemini_result[2]);
	CHECK(dunemini_result[3] == dunemini_buf_pages, "%llu of %llu pages read back in Dune",
	      (unsigned long long)dunemini_result[3], (unsigned long long)dunemini_buf_pages);
	int status = (int)dunemini_result[5];
	CHECK((int64_t)dunemini_result[4] > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 69,
	      "fork from Dune: child %lld exited in Linux mode with %d", (long long)dunemini_result[4],
	      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	/* the memory written in Dune mode is the process's own */
	CHECK(((uint64_t *)buf)[4096 * 7 / 8] == 7, "Dune's writes visible in Linux mode");
	printf("dunemini: done failures=%d\n", failures);
	return failures ? 1 : 0;
}
