/* SPDX-License-Identifier: MIT */
/* dune-sandbox [--policy FILE] [--log FILE] [--kill-on-deny] -- PROG ARGS...: PROG at ring 3 of this Dune
 * process, its system calls through syscalls.c, its faults ending it with
 * the signal Linux would have sent. The monitor (this program) is linked
 * far from where programs are linked (Makefile: -Ttext-segment), runs in
 * ring 0 and keeps its memory supervisor-only. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"

static const char *prog_name = "";
const char *sandbox_monitor_path = "/proc/self/exe";
static char log_fd_arg[16];

extern int dune_fd; /* libdune's /dev/dune descriptor */

/* A new monitor for an execve of the sandboxee: the same log, the path to
 * load, then the program's own argv (its argv[0] included). */
static char policy_fd_arg[16];

unsigned sandbox_exec_argv(char **argv, unsigned max, char *path)
{
	unsigned n = 0;
	(void)max; /* at most 10 */
	argv[n++] = (char *)sandbox_monitor_path;
	if (sandbox_log_fd >= 0) {
		argv[n++] = "--log-fd";
		argv[n++] = log_fd_arg;
	}
	if (policy_fd_arg[0]) {
		argv[n++] = "--policy-fd";
		argv[n++] = policy_fd_arg;
	}
	if (policy_kill_on_deny)
		argv[n++] = "--kill-on-deny";
	argv[n++] = "--exec-path";
	argv[n++] = path;
	argv[n++] = "--";
	return n;
}

/* The policy for the monitors that a sandboxee's execve starts: a sealed
 * copy in memory (memfd, F_SEAL_WRITE), which the sandboxee can neither
 * change nor replace, at descriptor 1002 and up, kept across execve. */
static int move_high(int fd, int at_least, bool cloexec);
static int seal_policy(const char *file)
{
	int in = open(file, O_RDONLY | O_CLOEXEC), out = memfd_create("dune-sandbox-policy", MFD_ALLOW_SEALING);
	char buf[4096];
	ssize_t n;
	if (in < 0 || out < 0)
		return -errno;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			return -EIO;
	close(in);
	if (fcntl(out, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
		return -errno;
	return move_high(out, 1002, false);
}

/* The monitor's descriptors go high (a program expects its first open to
 * get 3) and are the monitor's alone (syscalls.c refuses them). */
static int move_high(int fd, int at_least, bool cloexec)
{
	int hi = fcntl(fd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, at_least);
	if (hi < 0)
		return fd;
	close(fd);
	return hi;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: dune-sandbox [--policy FILE] [--log FILE] [--kill-on-deny] -- PROG [ARGS...]\n"
		   "Runs PROG (an x86-64 Linux ELF executable, static or dynamic) at ring 3 of a Dune\n"
		   "process; a monitor in the process's ring 0 checks each of its system calls first.\n"
		   "  --policy FILE   the rules (path, net, syscall, limit, on-deny; README); none: allow all\n"
		   "  --log FILE      append one line per refused call to FILE\n"
		   "  --kill-on-deny  end PROG with SIGSYS at its first refused call, not with an error\n"
		   "  --help          this text\n"
		   "Exit status: PROG's, or 128+N when signal N ended it; 126/127 when it could not run.\n");
}

/* Ends the process with sig, its default action, as Linux would have. */
void sandbox_kill(int sig)
{
	uint64_t dfl[4] = {(uint64_t)SIG_DFL, 0, 0, 0}, unblock = 1ull << (sig - 1);
	dune_passthrough(SYS_rt_sigaction, sig, (long)dfl, 0, 8, 0, 0);
	dune_passthrough(SYS_rt_sigprocmask, SIG_UNBLOCK, (long)&unblock, 0, 8, 0, 0);
	dune_passthrough(SYS_tgkill, getpid(), (long)gettid(), sig, 0, 0, 0);
	dune_passthrough(SYS_exit_group, 128 + sig, 0, 0, 0, 0, 0);
	for (;;)
		;
}

static void __attribute__((noreturn)) monitor_bug(const char *what, struct dune_tf *tf)
{
	sb_msg("dune-sandbox: internal error: %s in the monitor\n", what);
	dune_dump_trap_frame(tf);
	dune_die();
}

/* Page faults. Ring 0: the monitor's own memory, mapped after dune_init
 * (its heap, its mmaps): mapped now, supervisor-only. Ring 3: the
 * sandboxee touched what is not its own, or against its protection. */
static void page_fault(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	uintptr_t page = SB_PAGE_DOWN(addr);
	ptent_t *pte;
	if (!(tf->cs & 3)) {
		sb_lock(); /* another thread may be mapping the same page */
		bool present = !dune_vm_lookup(pgroot, (void *)page, CREATE_NONE, &pte) && (*pte & PTE_P);
		bool bad = (fec & 1) /* a protection fault */ ||
			   (!present && (umem_owns(page, SB_PAGE) || !umem_in_window(page, SB_PAGE) ||
					 dune_vm_map_phys(pgroot, (void *)page, SB_PAGE, (void *)dune_va_to_pa((void *)page),
							  PERM_R | PERM_W)));
		if (bad)
			monitor_bug("a page fault", tf);
		sb_unlock();
		dune_flush_tlb_one(page);
		return;
	}
	/* to its SIGSEGV handler if it has one (first: the message's libc
	 * code would use the vector registers) */
	if (sandbox_signal_fault(SIGSEGV, umem_owns(page, SB_PAGE) ? SEGV_ACCERR : SEGV_MAPERR, addr, tf))
		return;
	sb_msg("dune-sandbox: %s: %s at 0x%lx (rip 0x%lx, error 0x%lx): SIGSEGV\n", prog_name,
	       umem_owns(page, SB_PAGE) ? "an access its protection refuses" : "a page fault outside its memory",
	       (unsigned long)addr, (unsigned long)tf->rip, (unsigned long)fec);
	sandbox_kill(SIGSEGV);
}

/* Exceptions: from ring 3 the signal Linux sends for them (arch/x86/kernel/traps.c). */
static void exception(struct dune_tf *tf, int vector, int sig, const char *what)
{
	if (!(tf->cs & 3))
		monitor_bug(what, tf);
	/* the si_code and address Linux gives (arch/x86/kernel/traps.c) */
	int code = vector == 0 ? FPE_INTDIV : vector == 6 ? ILL_ILLOPN : vector == 17 ? BUS_ADRALN
		 : (vector == 16 || vector == 19) ? FPE_FLTINV : vector == 1 ? TRAP_TRACE : SI_KERNEL;
	if (sandbox_signal_fault(sig, code, code == SI_KERNEL ? 0 : tf->rip, tf))
		return;
	sb_msg("dune-sandbox: %s: %s at rip 0x%lx: %s\n", prog_name, what, (unsigned long)tf->rip, strsignal(sig));
	sandbox_kill(sig);
}

#define EXCEPTION(vec, sig, what) \
	static void on_##vec(struct dune_tf *tf) { exception(tf, vec, sig, what); }
EXCEPTION(0, SIGFPE, "a divide error")
EXCEPTION(1, SIGTRAP, "a debug exception")
EXCEPTION(3, SIGTRAP, "a breakpoint (INT3)")
EXCEPTION(4, SIGSEGV, "an overflow (INTO)")
EXCEPTION(5, SIGSEGV, "a BOUND range error")
EXCEPTION(6, SIGILL, "an invalid or privileged-mode instruction (VMCALL is one from ring 3)")
EXCEPTION(7, SIGSEGV, "a device-not-available fault")
EXCEPTION(10, SIGSEGV, "an invalid-TSS fault")
EXCEPTION(11, SIGBUS, "a segment-not-present fault")
EXCEPTION(12, SIGBUS, "a stack-segment fault")
EXCEPTION(13, SIGSEGV, "a #GP fault (a privileged instruction, or a bad address)")
EXCEPTION(16, SIGFPE, "an x87 floating-point error")
EXCEPTION(17, SIGBUS, "an alignment check")
EXCEPTION(19, SIGFPE, "a SIMD floating-point exception")

static void register_handlers(void)
{
	static const struct {
		int vec;
		dune_intr_cb cb;
	} h[] = {{0, on_0}, {1, on_1}, {3, on_3}, {4, on_4}, {5, on_5}, {6, on_6}, {7, on_7},
		 {10, on_10}, {11, on_11}, {12, on_12}, {13, on_13}, {16, on_16}, {17, on_17}, {19, on_19}};
	for (unsigned i = 0; i < sizeof(h) / sizeof(h[0]); i++)
		dune_register_intr_handler(h[i].vec, h[i].cb);
	dune_register_pgflt_handler(page_fault);
	dune_register_syscall_handler(sandbox_syscall);
}

/* #! scripts, as Linux's binfmt_script: the program becomes INTERP [ARG]
 * PATH ARGS[1...], interpreters of interpreters up to 4 deep. 0 when path
 * is not a script (the loader then says what it is). */
static int follow_shebang(const char **path, char ***argv, char *err, size_t n)
{
	static char lines[5][256];
	for (int depth = 0;; depth++) {
		int fd = open(*path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return 0;
		char *buf = lines[depth < 5 ? depth : 4];
		ssize_t k = read(fd, buf, sizeof(lines[0]) - 1);
		close(fd);
		if (k < 2 || buf[0] != '#' || buf[1] != '!')
			return 0;
		if (depth == 4) {
			snprintf(err, n, "%.400s: more than 4 levels of #! interpreters", *path);
			return -ELOOP;
		}
		buf[k] = 0;
		char *end = strchr(buf, '\n');
		if (!end && k == (ssize_t)sizeof(lines[0]) - 1) {
			snprintf(err, n, "%.400s: its #! line is too long", *path);
			return -ENOEXEC;
		}
		if (end)
			*end = 0;
		char *interp = buf + 2 + strspn(buf + 2, " \t"), *arg = interp + strcspn(interp, " \t");
		if (*arg) {
			*arg++ = 0;
			arg += strspn(arg, " \t");
			for (size_t len = strlen(arg); len && (arg[len - 1] == ' ' || arg[len - 1] == '\t'); len--)
				arg[len - 1] = 0;
		}
		if (!*interp) {
			snprintf(err, n, "%.400s: an empty #! line", *path);
			return -ENOEXEC;
		}
		int argc = 0;
		while ((*argv)[argc])
			argc++;
		char **next = calloc((size_t)argc + 3, sizeof(*next));
		if (!next)
			return -ENOMEM;
		int i = 0;
		next[i++] = interp;
		if (*arg)
			next[i++] = arg;
		next[i++] = (char *)*path;
		for (int j = 1; j < argc; j++)
			next[i++] = (*argv)[j];
		*argv = next;
		*path = interp;
	}
}

/* PROG as execvp would find it. */
static const char *resolve(const char *prog, char *buf, size_t n)
{
	if (strchr(prog, '/'))
		return prog;
	const char *path = getenv("PATH");
	if (!path)
		path = "/bin:/usr/bin";
	while (*path) {
		size_t len = strcspn(path, ":");
		snprintf(buf, n, "%.*s/%s", (int)len, path, prog);
		if (!access(buf, X_OK))
			return buf;
		path += len + (path[len] == ':');
	}
	return prog;
}

int main(int argc, char **argv)
{
	/* --log-fd and --exec-path are how a sandboxee's execve starts the next
	 * monitor (sandbox_exec_argv); not for users. */
	static const struct option opts[] = {{"log", required_argument, NULL, 'l'}, {"help", no_argument, NULL, 'h'},
					     {"policy", required_argument, NULL, 'p'},
					     {"kill-on-deny", no_argument, NULL, 'k'},
					     {"log-fd", required_argument, NULL, 'L'},
					     {"policy-fd", required_argument, NULL, 'P'},
					     {"exec-path", required_argument, NULL, 'E'}, {0}};
	const char *exec_path = NULL, *policy = NULL;
	int policy_fd = -1;
	int c;
	while ((c = getopt_long(argc, argv, "+l:h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			sandbox_log_fd = open(optarg, O_WRONLY | O_CREAT | O_APPEND, 0644);
			if (sandbox_log_fd < 0) {
				fprintf(stderr, "dune-sandbox: --log %s: %s\n", optarg, strerror(errno));
				return 126;
			}
			break;
		case 'L':
			sandbox_log_fd = atoi(optarg);
			break;
		case 'E':
			exec_path = optarg;
			break;
		case 'p':
			policy = optarg;
			break;
		case 'P':
			policy_fd = atoi(optarg);
			break;
		case 'k':
			policy_kill_on_deny = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 126;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 126;
	}
	if (access("/dev/dune", R_OK | W_OK)) {
		fprintf(stderr, "dune-sandbox: /dev/dune: %s (is dune.ko loaded, and may this user open it?)\n",
			strerror(errno));
		return 126;
	}
	char found[4096], err[512];
	if (policy || policy_fd >= 0) {
		char fd_path[64];
		if (policy_fd >= 0)
			snprintf(fd_path, sizeof(fd_path), "/proc/self/fd/%d", policy_fd);
		if (policy_load(policy ? policy : fd_path, err, sizeof(err))) {
			fprintf(stderr, "dune-sandbox: %s\n", err);
			return 126;
		}
		if (policy_fd < 0)
			policy_fd = seal_policy(policy);
		if (policy_fd < 0) {
			fprintf(stderr, "dune-sandbox: %s: cannot keep a sealed copy: %s\n", policy, strerror(-policy_fd));
			return 126;
		}
		snprintf(policy_fd_arg, sizeof(policy_fd_arg), "%d", policy_fd);
	}
	static char self[4096];
	const char *path = exec_path ? exec_path : resolve(argv[optind], found, sizeof(found));
	prog_name = exec_path ? exec_path : argv[optind];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len > 0) {
		self[len] = 0;
		sandbox_monitor_path = self;
	}
	int r = dune_init(0);
	if (r) {
		fprintf(stderr, "dune-sandbox: entering Dune mode failed: %s\n", strerror(-r));
		return 126;
	}
	dune_fd = move_high(dune_fd, 1000, true);
	sandbox_own_fd(dune_fd);
	if (policy_fd >= 0)
		sandbox_own_fd(policy_fd);
	if (sandbox_log_fd >= 0) {
		sandbox_log_fd = move_high(sandbox_log_fd, 1001, false);
		sandbox_own_fd(sandbox_log_fd);
		snprintf(log_fd_arg, sizeof(log_fd_arg), "%d", sandbox_log_fd);
	}
	/* Dune mode first, then the program: dune_enter maps the regions of
	 * this thread's block and stack supervisor-only, as /proc/self/maps
	 * lists them, and Linux may have merged an adjacent mapping of the
	 * sandboxee into one of those; so no sandboxee memory may exist yet. */
	umem_init();
	register_handlers();
	sandbox_signal_init();
	r = dune_enter();
	if (r) {
		fprintf(stderr, "dune-sandbox: entering Dune mode failed: %s\n", strerror(-r));
		return 126;
	}
	umem_entered();
	struct sb_image img;
	char **prog_argv = argv + optind;
	r = follow_shebang(&path, &prog_argv, err, sizeof(err));
	if (!r)
		r = load_program(path, prog_argv, environ, &img, err, sizeof(err));
	if (r) {
		sb_msg("dune-sandbox: %s\n", err);
		return r == -ENOENT ? 127 : 126;
	}
	umem_set_brk_area(img.brk_start);
	if ((r = policy_apply_limits(err, sizeof(err)))) {
		sb_msg("dune-sandbox: %s\n", err);
		return 126;
	}
	/* What exec would have made of the process: its name, its exe link. */
	static char exe[4096];
	if (!realpath(path, exe))
		snprintf(exe, sizeof(exe), "%s", path);
	sandbox_exe_path = exe;
	const char *base = strrchr(path, '/');
	prctl(PR_SET_NAME, base ? base + 1 : path);
	dune_set_user_fs(0);
	struct dune_tf tf;
	memset(&tf, 0, sizeof(tf));
	tf.rip = img.entry;
	tf.rsp = img.stack;
	tf.rflags = 0x202; /* IF, as Linux starts a program */
	dune_jump_to_user(&tf);
	sb_msg("dune-sandbox: the program returned to the monitor\n");
	return 126;
}
