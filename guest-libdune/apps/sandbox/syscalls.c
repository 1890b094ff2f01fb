/* SPDX-License-Identifier: MIT */
/* Every SYSCALL of the sandboxee lands here, in ring 0, before Linux sees
 * it. Each call the sandbox knows has its arguments described: pointers
 * must lie in the sandboxee's own memory (umem.c), writable where Linux
 * writes; paths and iovec arrays are copied into the monitor first, so
 * what is checked is what Linux gets. A pointer into the monitor gets
 * -EFAULT and never reaches Linux. Calls that act on the process as a whole
 * (memory, FS base, signals) are done by the monitor; calls the sandbox does
 * not know are refused with -ENOSYS (and named once on stderr). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <arpa/inet.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>
#include <asm/prctl.h>

#include "fpu.h"
#include "sandbox.h"

int sandbox_log_fd = -1;

/* The sandboxee's FPU, SSE and AVX registers while the monitor handles its
 * system call: the monitor's C code and libc use them, and Linux keeps
 * every register but RAX, RCX and R11 across a system call (code with an
 * XMM value live across an inline SYSCALL relies on that). */
static __thread struct fpu_area ring3_fpu;

/* One formatted line to fd, from ring 0 (a system call through Linux). */
static void write_line(int fd, const char *fmt, va_list ap)
{
	char line[512];
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	dune_passthrough(SYS_write, fd, (long)line, n > 0 ? n : 0, 0, 0, 0);
}

void sb_msg(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	write_line(2, fmt, ap);
	va_end(ap);
}

void sandbox_log(const char *fmt, ...)
{
	va_list ap;
	if (sandbox_log_fd < 0)
		return;
	va_start(ap, fmt);
	write_line(sandbox_log_fd, fmt, ap);
	va_end(ap);
}

/* What an argument is (the rest are plain values). */
enum arg_kind {
	ARG_VALUE,
	ARG_PATH,     /* NUL-terminated, copied */
	ARG_PATH0,    /* a path, or NULL */
	ARG_IN,       /* read by Linux: length in another argument */
	ARG_OUT,      /* written by Linux: length in another argument */
	ARG_IN_FIX,   /* read by Linux: fixed length; NULL allowed when nullable */
	ARG_OUT_FIX,  /* written by Linux: fixed length */
	ARG_INOUT_FIX,
	ARG_FD,       /* a file descriptor: never one of the monitor's */
};

struct arg_spec {
	unsigned char kind;
	unsigned char len_arg;  /* ARG_IN/ARG_OUT: the argument holding the length */
	unsigned short len;     /* ARG_*_FIX: bytes; ARG_IN/ARG_OUT: bytes per unit of len_arg (0 = 1) */
	bool nullable;
};

struct call_spec {
	const char *name;
	struct arg_spec arg[6];
};

/* Path arguments: how a policy sees them (len holds the PATH_* flags;
 * len_arg the argument with AT_* flags, or 0xff). */
#define PATH_WRITE 1     /* the call changes what the path names */
#define PATH_NOFOLLOW 2  /* a symbolic link at the end is not followed */
#define PATH_AT 4        /* relative to the directory descriptor in the argument before */
#define PATH_SPEC(i, f, fa) [i] = {ARG_PATH, fa, f, false}
#define PATH(i) PATH_SPEC(i, 0, 0xff)
#define PATH_W(i) PATH_SPEC(i, PATH_WRITE, 0xff)
#define PATH_L(i) PATH_SPEC(i, PATH_NOFOLLOW, 0xff)
#define PATH_LW(i) PATH_SPEC(i, PATH_WRITE | PATH_NOFOLLOW, 0xff)
#define PATHAT(i, fa) PATH_SPEC(i, PATH_AT, fa)
#define PATHAT_W(i, fa) PATH_SPEC(i, PATH_AT | PATH_WRITE, fa)
#define PATHAT_LW(i) PATH_SPEC(i, PATH_AT | PATH_WRITE | PATH_NOFOLLOW, 0xff)
#define NAME(i) [i] = {ARG_PATH0, 0, 0, false} /* a string that is not a path (xattr names) */
#define PATH0AT_W(i, fa) [i] = {ARG_PATH0, fa, PATH_AT | PATH_WRITE, true}
#define IN(i, l) [i] = {ARG_IN, l, 0, false}
#define OUT(i, l) [i] = {ARG_OUT, l, 0, false}
#define OUTN(i, l, unit) [i] = {ARG_OUT, l, unit, false}
#define INOUTN(i, l, unit) [i] = {ARG_OUT, l, unit, false}
#define IN_FIX(i, n) [i] = {ARG_IN_FIX, 0, n, false}
#define IN_FIX0(i, n) [i] = {ARG_IN_FIX, 0, n, true}
#define OUT_FIX(i, n) [i] = {ARG_OUT_FIX, 0, n, false}
#define OUT_FIX0(i, n) [i] = {ARG_OUT_FIX, 0, n, true}
#define INOUT_FIX0(i, n) [i] = {ARG_INOUT_FIX, 0, n, true}
#define FD(i) [i] = {ARG_FD, 0, 0, false}
#define CALL(nr, ...) [nr] = {#nr, {__VA_ARGS__}}

#define STAT_SIZE 144
#define STATX_SIZE 256
#define TIMESPEC 16
#define EPOLL_EVENT 12 /* struct epoll_event is packed on x86-64 */

/* The calls passed to Linux once their arguments are checked. The name is
 * the SYS_ constant's. */
static const struct call_spec calls[] = {
	CALL(SYS_read, FD(0), OUT(1, 2)),
	CALL(SYS_write, FD(0), IN(1, 2)),
	CALL(SYS_pread64, FD(0), OUT(1, 2)),
	CALL(SYS_pwrite64, FD(0), IN(1, 2)),
	CALL(SYS_open),
	CALL(SYS_openat),
	CALL(SYS_creat),
	CALL(SYS_close, FD(0)),
	CALL(SYS_lseek, FD(0)),
	CALL(SYS_dup, FD(0)),
	CALL(SYS_dup2, FD(0), FD(1)),
	CALL(SYS_dup3, FD(0), FD(1)),
	CALL(SYS_fsync, FD(0)),
	CALL(SYS_fdatasync, FD(0)),
	CALL(SYS_ftruncate, FD(0)),
	CALL(SYS_truncate, PATH_W(0)),
	CALL(SYS_fchmod, FD(0)),
	CALL(SYS_fchown, FD(0)),
	CALL(SYS_flock, FD(0)),
	CALL(SYS_umask),
	CALL(SYS_sync),
	CALL(SYS_getpid),
	CALL(SYS_getppid),
	CALL(SYS_gettid),
	CALL(SYS_getuid),
	CALL(SYS_getgid),
	CALL(SYS_geteuid),
	CALL(SYS_getegid),
	CALL(SYS_getpgrp),
	CALL(SYS_getpgid),
	CALL(SYS_getsid),
	CALL(SYS_sched_yield),
	CALL(SYS_alarm),
	CALL(SYS_setitimer, IN_FIX0(1, 32), OUT_FIX0(2, 32)),
	CALL(SYS_getitimer, OUT_FIX(1, 32)),
	CALL(SYS_pause),
	CALL(SYS_exit),
	CALL(SYS_exit_group),
	CALL(SYS_stat, PATH(0), OUT_FIX(1, STAT_SIZE)),
	CALL(SYS_lstat, PATH_L(0), OUT_FIX(1, STAT_SIZE)),
	CALL(SYS_fstat, FD(0), OUT_FIX(1, STAT_SIZE)),
	CALL(SYS_newfstatat, PATHAT(1, 3), OUT_FIX(2, STAT_SIZE)),
	CALL(SYS_statx, PATHAT(1, 2), OUT_FIX(4, STATX_SIZE)),
	CALL(SYS_statfs, PATH(0), OUT_FIX(1, 120)),
	CALL(SYS_fstatfs, FD(0), OUT_FIX(1, 120)),
	CALL(SYS_access, PATH(0)),
	CALL(SYS_faccessat, PATHAT(1, 0xff)),
	CALL(SYS_faccessat2, PATHAT(1, 3)),
	CALL(SYS_getdents64, FD(0), OUT(1, 2)),
	CALL(SYS_getdents, FD(0), OUT(1, 2)),
	CALL(SYS_getcwd, OUT(0, 1)),
	CALL(SYS_chdir, PATH(0)),
	CALL(SYS_fchdir, FD(0)),
	CALL(SYS_mkdir, PATH_LW(0)),
	CALL(SYS_mkdirat, PATHAT_LW(1)),
	CALL(SYS_rmdir, PATH_LW(0)),
	CALL(SYS_unlink, PATH_LW(0)),
	CALL(SYS_unlinkat, PATHAT_LW(1)),
	CALL(SYS_rename, PATH_LW(0), PATH_LW(1)),
	CALL(SYS_renameat, PATHAT_LW(1), PATHAT_LW(3)),
	CALL(SYS_renameat2, PATHAT_LW(1), PATHAT_LW(3)),
	CALL(SYS_link, PATH_L(0), PATH_LW(1)),
	CALL(SYS_linkat, PATH_SPEC(1, PATH_AT | PATH_NOFOLLOW, 0xff), PATHAT_LW(3)),
	CALL(SYS_symlink, NAME(0), PATH_LW(1)),
	CALL(SYS_symlinkat, NAME(0), PATHAT_LW(2)),
	CALL(SYS_chmod, PATH_W(0)),
	CALL(SYS_fchmodat, PATHAT_W(1, 0xff)),
	CALL(SYS_chown, PATH_W(0)),
	CALL(SYS_lchown, PATH_LW(0)),
	CALL(SYS_fchownat, PATHAT_W(1, 4)),
	CALL(SYS_utimensat, PATH0AT_W(1, 3), IN_FIX0(2, 2 * TIMESPEC)),
	CALL(SYS_getxattr, PATH(0), NAME(1), OUT(2, 3)),
	CALL(SYS_lgetxattr, PATH_L(0), NAME(1), OUT(2, 3)),
	CALL(SYS_fgetxattr, FD(0), NAME(1), OUT(2, 3)),
	CALL(SYS_listxattr, PATH(0), OUT(1, 2)),
	CALL(SYS_llistxattr, PATH_L(0), OUT(1, 2)),
	CALL(SYS_flistxattr, FD(0), OUT(1, 2)),
	CALL(SYS_uname, OUT_FIX(0, 390)),
	CALL(SYS_sysinfo, OUT_FIX(0, 112)),
	CALL(SYS_times, OUT_FIX0(0, 32)),
	CALL(SYS_getrusage, OUT_FIX(1, 144)),
	CALL(SYS_getrlimit, OUT_FIX(1, 16)),
	CALL(SYS_clock_gettime, OUT_FIX(1, TIMESPEC)),
	CALL(SYS_clock_getres, OUT_FIX0(1, TIMESPEC)),
	CALL(SYS_gettimeofday, OUT_FIX0(0, 16), OUT_FIX0(1, 8)),
	CALL(SYS_time, OUT_FIX0(0, 8)),
	CALL(SYS_nanosleep, IN_FIX(0, TIMESPEC), OUT_FIX0(1, TIMESPEC)),
	CALL(SYS_clock_nanosleep, IN_FIX(2, TIMESPEC), OUT_FIX0(3, TIMESPEC)),
	CALL(SYS_getrandom, OUT(0, 1)),
	CALL(SYS_pipe, OUT_FIX(0, 8)),
	CALL(SYS_pipe2, OUT_FIX(0, 8)),
	CALL(SYS_poll, INOUTN(0, 1, 8)),
	CALL(SYS_wait4, OUT_FIX0(1, 4), OUT_FIX0(3, 144)),
	CALL(SYS_waitid, OUT_FIX0(2, 128), OUT_FIX0(4, 144)),
	CALL(SYS_set_tid_address), /* done by threads.c */
	CALL(SYS_futex),
	CALL(SYS_madvise),          /* the range: checked in dispatch */
	CALL(SYS_sched_getaffinity, OUT(2, 1)),
	CALL(SYS_getgroups, OUTN(1, 0, 4)),
	CALL(SYS_sendfile, FD(0), FD(1), INOUT_FIX0(2, 8)),
	CALL(SYS_copy_file_range, FD(0), INOUT_FIX0(1, 8), FD(2), INOUT_FIX0(3, 8)),
	CALL(SYS_socket),
	CALL(SYS_connect, FD(0), IN(1, 2)),
	CALL(SYS_bind, FD(0), IN(1, 2)),
	CALL(SYS_listen, FD(0)),
	CALL(SYS_shutdown, FD(0)),
	CALL(SYS_socketpair, OUT_FIX(3, 8)),
	CALL(SYS_sendto, FD(0), IN(1, 2), IN(4, 5)),
	CALL(SYS_setsockopt, FD(0), IN(3, 4)),
	CALL(SYS_fadvise64, FD(0)),
	CALL(SYS_fallocate, FD(0)),
	CALL(SYS_getpriority),
	CALL(SYS_ppoll, INOUTN(0, 1, 8), INOUT_FIX0(2, TIMESPEC), IN_FIX0(3, 8)),
	CALL(SYS_epoll_create),
	CALL(SYS_epoll_create1),
	CALL(SYS_epoll_ctl, FD(0), FD(2), IN_FIX0(3, EPOLL_EVENT)),
	CALL(SYS_epoll_wait, FD(0), OUTN(1, 2, EPOLL_EVENT)),
	CALL(SYS_epoll_pwait, FD(0), OUTN(1, 2, EPOLL_EVENT), IN_FIX0(4, 8)),
	CALL(SYS_epoll_pwait2, FD(0), OUTN(1, 2, EPOLL_EVENT), IN_FIX0(3, TIMESPEC), IN_FIX0(4, 8)),
	CALL(SYS_eventfd),
	CALL(SYS_eventfd2),
	CALL(SYS_timerfd_create),
	CALL(SYS_timerfd_settime, FD(0), IN_FIX(2, 2 * TIMESPEC), OUT_FIX0(3, 2 * TIMESPEC)),
	CALL(SYS_timerfd_gettime, FD(0), OUT_FIX(1, 2 * TIMESPEC)),
	CALL(SYS_signalfd, FD(0), IN_FIX(1, 8)),
	CALL(SYS_signalfd4, FD(0), IN_FIX(1, 8)),
	CALL(SYS_rt_sigpending, OUT_FIX(0, 8)),
	CALL(SYS_rt_sigtimedwait, IN_FIX(0, 8), OUT_FIX0(1, 128), IN_FIX0(2, TIMESPEC)),
	CALL(SYS_rt_sigsuspend, IN_FIX(0, 8)),
	/* done by dispatch: in the table for their names (policies, logs) */
	CALL(SYS_mmap), CALL(SYS_munmap), CALL(SYS_mprotect), CALL(SYS_brk), CALL(SYS_mremap),
	CALL(SYS_arch_prctl), CALL(SYS_ioctl), CALL(SYS_fcntl), CALL(SYS_rt_sigaction), CALL(SYS_rt_sigprocmask),
	CALL(SYS_kill), CALL(SYS_tgkill), CALL(SYS_tkill), CALL(SYS_readv), CALL(SYS_preadv), CALL(SYS_preadv2),
	CALL(SYS_writev), CALL(SYS_pwritev), CALL(SYS_pwritev2), CALL(SYS_prlimit64), CALL(SYS_sched_setaffinity),
	CALL(SYS_setrlimit), CALL(SYS_prctl), CALL(SYS_readlink), CALL(SYS_readlinkat), CALL(SYS_accept),
	CALL(SYS_accept4), CALL(SYS_getsockname), CALL(SYS_getpeername), CALL(SYS_recvfrom), CALL(SYS_getsockopt),
	CALL(SYS_sendmsg), CALL(SYS_recvmsg), CALL(SYS_select), CALL(SYS_pselect6), CALL(SYS_fork), CALL(SYS_vfork), CALL(SYS_clone), CALL(SYS_execve),
	CALL(SYS_execveat), CALL(SYS_rt_sigreturn), CALL(SYS_sigaltstack),
};

#define NCALLS (sizeof(calls) / sizeof(calls[0]))

/* The monitor's own descriptors (/dev/dune, --log): the sandboxee shares
 * the descriptor table, but may not use, replace or close them. */
static int monitor_fds[4];
static unsigned n_monitor_fds;

void sandbox_own_fd(int fd)
{
	if (fd >= 0 && n_monitor_fds < sizeof(monitor_fds) / sizeof(monitor_fds[0]))
		monitor_fds[n_monitor_fds++] = fd;
}

static bool monitor_fd(int fd)
{
	for (unsigned i = 0; i < n_monitor_fds; i++)
		if (monitor_fds[i] == fd)
			return true;
	return false;
}

static const char *call_name(long nr);
static long check_sockaddr(long nr, bool bind, uint64_t addr, uint64_t len);

/* A call the policy refuses: logged (--log), then its error, or the end
 * of the sandboxee with SIGSYS (on-deny kill, --kill-on-deny), as seccomp's
 * SECCOMP_RET_KILL_PROCESS ends a process. */
__attribute__((format(printf, 3, 4))) static long deny(long nr, long err, const char *fmt, ...)
{
	char why[PATH_MAX + 128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	sandbox_log("deny %s: %s%s\n", call_name(nr), why, policy_kill_on_deny ? " (killed)" : "");
	if (policy_kill_on_deny)
		sandbox_kill(SIGSYS);
	return err;
}

/* The policy on one path argument; on success *path is the resolved path
 * that Linux gets (no link, no "..": what was checked is what is used). */
static long check_path(long nr, int dirfd, char *path, bool write, bool follow)
{
	char real[PATH_MAX];
	int line;
	if (!policy_has_path_rules() || !path[0])
		return 0;
	long r = sandbox_resolve(dirfd, path, follow, real);
	if (r)
		return r;
	if (policy_check_path(real, write, &line)) {
		if (line)
			return deny(nr, -EACCES, "%s \"%s\" (%s), path rule at line %d", write ? "write" : "read", path, real,
				    line);
		return deny(nr, -EACCES, "%s \"%s\" (%s), no path rule covers it", write ? "write" : "read", path, real);
	}
	memcpy(path, real, strlen(real) + 1);
	return 0;
}

static long checked_args(long nr, const struct call_spec *c, uint64_t *a, char paths[2][PATH_MAX])
{
	unsigned npaths = 0;
	for (int i = 0; i < 6; i++) {
		const struct arg_spec *s = &c->arg[i];
		uint64_t p = a[i];
		if (s->kind == ARG_VALUE)
			continue;
		if (s->kind == ARG_FD) {
			if (monitor_fd((int)p))
				return -EBADF;
			continue;
		}
		if (!p && (s->nullable || ((s->kind == ARG_IN || s->kind == ARG_OUT) && !a[s->len_arg])))
			continue;
		switch (s->kind) {
		case ARG_PATH:
		case ARG_PATH0: {
			char *path = paths[npaths++];
			long r = umem_strcpy(path, PATH_MAX, p);
			if (r)
				return r;
			if (s->kind == ARG_PATH || s->len) {
				unsigned f = s->len;
				bool follow = !(f & PATH_NOFOLLOW);
				if (s->len_arg != 0xff && (a[s->len_arg] & AT_SYMLINK_NOFOLLOW))
					follow = false;
				if (nr == SYS_linkat && i == 1)
					follow = a[4] & AT_SYMLINK_FOLLOW;
				r = check_path(nr, (f & PATH_AT) ? (int)a[i - 1] : AT_FDCWD, path, f & PATH_WRITE, follow);
				if (r)
					return r;
			}
			a[i] = (uint64_t)path;
			break;
		}
		case ARG_IN:
		case ARG_OUT: {
			uint64_t n = a[s->len_arg], unit = s->len ? s->len : 1;
			if (n > (1ull << 40) / unit || !umem_ok(p, n * unit, s->kind == ARG_OUT))
				return -EFAULT;
			break;
		}
		case ARG_IN_FIX:
			if (!umem_ok(p, s->len, false))
				return -EFAULT;
			break;
		case ARG_OUT_FIX:
		case ARG_INOUT_FIX:
			if (!umem_ok(p, s->len, true))
				return -EFAULT;
			break;
		}
	}
	return 0;
}

static long pass(long nr, const uint64_t *a)
{
	return dune_passthrough(nr, (long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4], (long)a[5]);
}

/* readv and friends: the iovec array is copied, each buffer checked. */
static long vectored(long nr, uint64_t *a, bool linux_writes)
{
	if (monitor_fd((int)a[0]))
		return -EBADF;
	struct iovec iov[IOV_MAX]; /* per thread: on the handler's stack */
	uint64_t count = a[2];
	if (count > IOV_MAX)
		return -EINVAL;
	if (!umem_ok(a[1], count * sizeof(struct iovec), false))
		return -EFAULT;
	memcpy(iov, (void *)a[1], count * sizeof(struct iovec));
	for (uint64_t i = 0; i < count; i++)
		if (iov[i].iov_len && !umem_ok((uintptr_t)iov[i].iov_base, iov[i].iov_len, linux_writes))
			return -EFAULT;
	a[1] = (uint64_t)iov;
	return pass(nr, a);
}

/* Terminal and file-descriptor ioctls a program's libc uses; others could
 * take any structure, so they are refused. */
static long ioctl_call(uint64_t *a)
{
	unsigned long req = a[1];
	if (monitor_fd((int)a[0]))
		return -EBADF;
	size_t in = 0, out = 0;
	switch (req) {
	case TCGETS: out = sizeof(struct termios); break;
	case TCSETS: case TCSETSW: case TCSETSF: in = sizeof(struct termios); break;
	case TIOCGWINSZ: out = 8; break;
	case TIOCSWINSZ: in = 8; break;
	case TIOCGPGRP: out = 4; break;
	case TIOCSPGRP: in = 4; break;
	case FIONREAD: out = 4; break;
	case FIONBIO: in = 4; break;
	case FIOCLEX: case FIONCLEX: break;
	default: return -ENOTTY;
	}
	if ((in && !umem_ok(a[2], in, false)) || (out && !umem_ok(a[2], out, true)))
		return -EFAULT;
	return pass(SYS_ioctl, a);
}

static long fcntl_call(uint64_t *a)
{
	if (monitor_fd((int)a[0]))
		return -EBADF;
	switch (a[1]) {
	case F_DUPFD: case F_DUPFD_CLOEXEC: case F_GETFD: case F_SETFD: case F_GETFL: case F_SETFL:
	case F_GETPIPE_SZ: case F_SETPIPE_SZ:
		return pass(SYS_fcntl, a);
	case F_GETLK: case F_SETLK: case F_SETLKW: case F_OFD_GETLK: case F_OFD_SETLK: case F_OFD_SETLKW:
		return umem_ok(a[2], sizeof(struct flock), true) ? pass(SYS_fcntl, a) : -EFAULT;
	default:
		return -EINVAL;
	}
}

/* Signal dispositions, kept by the monitor; in Linux SIG_DFL and SIG_IGN
 * as they are (so SIGPIPE ignored stays ignored), a handler as the
 * monitor's recorder (signal.c), which delivers to the sandboxee's. */
static struct sb_sigaction actions[65];
static pthread_mutex_t actions_lock = PTHREAD_MUTEX_INITIALIZER;

void sandbox_signal_action(int sig, struct sb_sigaction *act)
{
	pthread_mutex_lock(&actions_lock);
	*act = actions[sig];
	pthread_mutex_unlock(&actions_lock);
}

void sandbox_signal_reset(int sig)
{
	struct sb_sigaction dfl = {(uint64_t)SIG_DFL, 0, 0, 0};
	pthread_mutex_lock(&actions_lock);
	actions[sig] = dfl;
	sandbox_signal_install(sig, &dfl);
	pthread_mutex_unlock(&actions_lock);
}

static long sigaction_call(uint64_t *a)
{
	int sig = (int)a[0];
	if (sig < 1 || sig > 64 || a[3] != 8 || ((sig == SIGKILL || sig == SIGSTOP) && a[1]))
		return -EINVAL;
	if ((a[1] && !umem_ok(a[1], sizeof(struct sb_sigaction), false)) ||
	    (a[2] && !umem_ok(a[2], sizeof(struct sb_sigaction), true)))
		return -EFAULT;
	pthread_mutex_lock(&actions_lock);
	struct sb_sigaction old = actions[sig];
	long r = 0;
	if (a[1]) {
		struct sb_sigaction act;
		memcpy(&act, (void *)a[1], sizeof(act));
		act.mask &= ~((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)));
		if (!(r = sandbox_signal_install(sig, &act)))
			actions[sig] = act;
	}
	pthread_mutex_unlock(&actions_lock);
	if (!r && a[2])
		memcpy((void *)a[2], &old, sizeof(old));
	return r;
}

static long arch_prctl_call(uint64_t *a)
{
	switch (a[0]) {
	case ARCH_SET_FS:
		dune_set_user_fs(a[1]);
		return 0;
	case ARCH_GET_FS:
		if (!umem_ok(a[1], 8, true))
			return -EFAULT;
		*(uint64_t *)a[1] = dune_get_user_fs();
		return 0;
	default:
		return -EINVAL;
	}
}

/* Signals to the sandboxee itself only (its own process and threads;
 * tkill as tgkill in this process, so Linux refuses another's thread). */
static long kill_call(long nr, uint64_t *a)
{
	long pid = (long)getpid();
	if ((nr == SYS_kill && (long)a[0] != pid && a[0] != 0) || (nr == SYS_tgkill && (long)a[0] != pid))
		return -EPERM;
	if (nr == SYS_tkill) {
		uint64_t b[6] = {(uint64_t)pid, a[0], a[1]};
		return pass(SYS_tgkill, b);
	}
	return pass(nr, a);
}

/* prctl: the task's name and a few harmless per-task settings; the rest
 * (seccomp, capabilities, PR_SET_MM, ...) act on the monitor too. */
static long prctl_call(uint64_t *a)
{
	switch (a[0]) {
	case PR_GET_NAME:
		return umem_ok(a[1], 16, true) ? pass(SYS_prctl, a) : -EFAULT;
	case PR_SET_NAME: {
		char name[16];
		int r = umem_strcpy(name, sizeof(name), a[1]);
		if (r == -ENAMETOOLONG) { /* Linux truncates */
			memcpy(name, (void *)a[1], 15);
			name[15] = 0;
		} else if (r) {
			return r;
		}
		a[1] = (uint64_t)name;
		return pass(SYS_prctl, a);
	}
	case PR_GET_PDEATHSIG:
		return umem_ok(a[1], 4, true) ? pass(SYS_prctl, a) : -EFAULT;
	case PR_SET_PDEATHSIG: case PR_GET_DUMPABLE: case PR_GET_NO_NEW_PRIVS: case PR_SET_NO_NEW_PRIVS:
	case PR_GET_TIMERSLACK: case PR_SET_TIMERSLACK:
		return pass(SYS_prctl, a);
	default:
		return -EINVAL;
	}
}

/* /proc/self/exe is the monitor's; the sandboxee is told its own path. */
const char *sandbox_exe_path = "";

static bool is_own_exe_link(const char *path)
{
	char own[64];
	snprintf(own, sizeof(own), "/proc/%d/exe", getpid());
	return !strcmp(path, "/proc/self/exe") || !strcmp(path, "/proc/thread-self/exe") || !strcmp(path, own);
}

static long readlink_call(long nr, uint64_t *a, char paths[2][PATH_MAX])
{
	int p = nr == SYS_readlink ? 0 : 1;
	uint64_t buf = a[p + 1], size = a[p + 2];
	long r = umem_strcpy(paths[0], PATH_MAX, a[p]);
	if (r)
		return r;
	if ((long)size <= 0)
		return -EINVAL;
	if (!umem_ok(buf, size, true))
		return -EFAULT;
	if ((r = check_path(nr, nr == SYS_readlink ? AT_FDCWD : (int)a[0], paths[0], false, false)))
		return r;
	if ((nr == SYS_readlink || (int)a[0] == AT_FDCWD || paths[0][0] == '/') && is_own_exe_link(paths[0])) {
		size_t n = strlen(sandbox_exe_path);
		if (n > size)
			n = size;
		memcpy((void *)buf, sandbox_exe_path, n);
		return (long)n;
	}
	a[p] = (uint64_t)paths[0];
	return pass(nr, a);
}

/* An address buffer Linux fills, with its length in a socklen_t the
 * caller points at (read, then written back by Linux): accept, recvfrom,
 * getsockname, getpeername, getsockopt. Both may be NULL together. */
static long check_addr_out(uint64_t addr, uint64_t lenp)
{
	if (!addr && !lenp)
		return 0;
	if (!umem_ok(lenp, 4, true))
		return -EFAULT;
	uint32_t len = *(volatile uint32_t *)lenp;
	return !addr || umem_ok(addr, len, true) ? 0 : -EFAULT;
}

static long socket_out_call(long nr, uint64_t *a)
{
	long r;
	if (monitor_fd((int)a[0]))
		return -EBADF;
	switch (nr) {
	case SYS_accept: case SYS_accept4: case SYS_getsockname: case SYS_getpeername:
		r = check_addr_out(a[1], a[2]);
		break;
	case SYS_recvfrom:
		r = umem_ok(a[1], a[2], true) ? check_addr_out(a[4], a[5]) : -EFAULT;
		break;
	default: /* getsockopt */
		r = a[3] ? check_addr_out(a[3], a[4]) : -EFAULT;
		break;
	}
	return r ? r : pass(nr, a);
}

/* sendmsg/recvmsg: the msghdr and its iovec array are copied into the
 * monitor and every buffer checked; recvmsg's results go back. */
static long msg_call(long nr, uint64_t *a)
{
	if (monitor_fd((int)a[0]))
		return -EBADF;
	struct msghdr m;
	struct iovec iov[IOV_MAX];
	bool recv = nr == SYS_recvmsg;
	if (!umem_ok(a[1], sizeof(m), recv))
		return -EFAULT;
	memcpy(&m, (void *)a[1], sizeof(m));
	if (m.msg_iovlen > IOV_MAX)
		return -EMSGSIZE;
	if ((m.msg_name && !umem_ok((uintptr_t)m.msg_name, m.msg_namelen, recv)) ||
	    (m.msg_control && !umem_ok((uintptr_t)m.msg_control, m.msg_controllen, recv)) ||
	    !umem_ok((uintptr_t)m.msg_iov, m.msg_iovlen * sizeof(struct iovec), false))
		return -EFAULT;
	memcpy(iov, m.msg_iov, m.msg_iovlen * sizeof(struct iovec));
	for (size_t i = 0; i < m.msg_iovlen; i++)
		if (iov[i].iov_len && !umem_ok((uintptr_t)iov[i].iov_base, iov[i].iov_len, recv))
			return -EFAULT;
	if (!recv && m.msg_name) {
		long r = check_sockaddr(nr, false, (uint64_t)m.msg_name, m.msg_namelen);
		if (r)
			return r;
	}
	m.msg_iov = iov;
	uint64_t user = a[1];
	a[1] = (uint64_t)&m;
	long r = pass(nr, a);
	if (recv && r >= 0) {
		struct msghdr *u = (struct msghdr *)user;
		u->msg_namelen = m.msg_namelen;
		u->msg_controllen = m.msg_controllen;
		u->msg_flags = m.msg_flags;
	}
	return r;
}

/* select and pselect6: the descriptor sets are copied in, may not name
 * the monitor's descriptors, and go back with Linux's result; the
 * remaining time too. */
#define SELECT_MAX_FDS 4096
static long select_call(long nr, uint64_t *a)
{
	uint64_t nfds = a[0];
	if ((int64_t)nfds < 0 || nfds > SELECT_MAX_FDS)
		return -EINVAL;
	size_t bytes = ((nfds + 63) / 64) * 8;
	uint64_t sets[3][SELECT_MAX_FDS / 64], user[3] = {a[1], a[2], a[3]};
	for (int i = 0; i < 3; i++) {
		if (!user[i])
			continue;
		if (!umem_ok(user[i], bytes, true))
			return -EFAULT;
		memcpy(sets[i], (void *)user[i], bytes);
		for (unsigned k = 0; k < n_monitor_fds; k++)
			if ((uint64_t)monitor_fds[k] < nfds && (sets[i][monitor_fds[k] / 64] >> (monitor_fds[k] % 64)) & 1)
				return -EBADF;
		a[1 + i] = (uint64_t)sets[i];
	}
	/* the timeout: a timeval (select) or timespec (pselect6), both 16
	 * bytes, written back by Linux */
	if (a[4] && !umem_ok(a[4], 16, true))
		return -EFAULT;
	uint64_t sigmask[2];
	if (nr == SYS_pselect6 && a[5]) { /* { const sigset_t *ss; size_t ss_len } */
		if (!umem_ok(a[5], 16, false))
			return -EFAULT;
		memcpy(sigmask, (void *)a[5], 16);
		if (sigmask[0] && !umem_ok(sigmask[0], 8, false))
			return -EFAULT;
		a[5] = (uint64_t)sigmask;
	}
	long r = pass(nr, a);
	for (int i = 0; i < 3; i++)
		if (user[i] && r >= 0)
			memcpy((void *)user[i], sets[i], bytes);
	return r;
}

/* open, openat, creat. With path rules the path is resolved and checked
 * first (write access for O_WRONLY, O_RDWR, O_CREAT, O_TRUNC), then opened
 * by openat2 with RESOLVE_NO_SYMLINKS, so no link swapped in since can
 * redirect it. Always: what was opened is looked at again through
 * /proc/self/fd, and /proc/PID/mem (the monitor's memory through Linux)
 * is refused whatever the policy. */
static long open_call(long nr, uint64_t *a)
{
	char path[PATH_MAX];
	int dirfd = nr == SYS_openat ? (int)a[0] : AT_FDCWD;
	uint64_t p = nr == SYS_openat ? a[1] : a[0];
	uint64_t flags = nr == SYS_creat ? (O_CREAT | O_WRONLY | O_TRUNC) : nr == SYS_openat ? a[2] : a[1];
	uint64_t mode = nr == SYS_creat ? a[1] : nr == SYS_openat ? a[3] : a[2];
	long r = umem_strcpy(path, sizeof(path), p);
	if (r)
		return r;
	bool write = (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC));
	long fd;
	if (policy_has_path_rules() && path[0]) {
		r = check_path(nr, dirfd, path, write, !(flags & O_NOFOLLOW));
		if (r)
			return r;
		/* openat2 refuses what open ignores: mode bits above 07777 */
		struct open_how how = {.flags = flags, .mode = (flags & (O_CREAT | O_TMPFILE)) ? (mode & 07777) : 0,
				       .resolve = RESOLVE_NO_SYMLINKS};
		uint64_t b[6] = {(uint64_t)AT_FDCWD, (uint64_t)path, (uint64_t)&how, sizeof(how)};
		fd = pass(SYS_openat2, b);
	} else {
		uint64_t b[6] = {(uint64_t)dirfd, (uint64_t)path, flags, mode};
		fd = pass(SYS_openat, b);
	}
	if (fd < 0)
		return fd;
	char real[PATH_MAX];
	int line;
	if (!sandbox_fd_path((int)fd, real, sizeof(real)) &&
	    (sandbox_is_mem_file(real) || (policy_has_path_rules() && real[0] == '/' && policy_check_path(real, write, &line)))) {
		uint64_t c[6] = {(uint64_t)fd};
		pass(SYS_close, c);
		return deny(nr, -EACCES, "opened \"%s\" (%s): %s", path, real,
			    sandbox_is_mem_file(real) ? "a process's memory file" : "not allowed by the path rules");
	}
	return fd;
}

/* The policy on a socket address: IP addresses by the net rules, Unix
 * socket paths by the path rules (write access). */
static long check_sockaddr(long nr, bool bind, uint64_t addr, uint64_t len)
{
	unsigned char sa[128];
	int line;
	if (!addr)
		return 0;
	if (len > sizeof(sa))
		len = sizeof(sa);
	if (!umem_ok(addr, len, false))
		return -EFAULT;
	memcpy(sa, (void *)addr, len);
	if (len > sizeof(sa_family_t) && ((struct sockaddr *)sa)->sa_family == AF_UNIX) {
		char path[PATH_MAX];
		size_t n = len - sizeof(sa_family_t);
		if (!sa[sizeof(sa_family_t)]) /* abstract: no path */
			return 0;
		memcpy(path, sa + sizeof(sa_family_t), n);
		path[n] = 0;
		return check_path(nr, AT_FDCWD, path, true, !bind);
	}
	if (policy_check_net(bind, sa, len, &line)) {
		char text[64] = "?";
		unsigned port = 0;
		if (((struct sockaddr *)sa)->sa_family == AF_INET) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, text, sizeof(text));
			port = ntohs(((struct sockaddr_in *)sa)->sin_port);
		} else if (((struct sockaddr *)sa)->sa_family == AF_INET6) {
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, text, sizeof(text));
			port = ntohs(((struct sockaddr_in6 *)sa)->sin6_port);
		}
		if (line)
			return deny(nr, -EACCES, "%s %s port %u, net rule at line %d", bind ? "bind" : "connect", text, port,
				    line);
		return deny(nr, -EACCES, "%s %s port %u, no net rule covers it", bind ? "bind" : "connect", text, port);
	}
	return 0;
}

/* fork, vfork and clone of a process: a new process with a copy of the
 * sandboxee and of the monitor (vfork and posix_spawn's CLONE_VM|CLONE_VFORK
 * too, as the monitor cannot share its memory with a second process; the
 * parent still waits for the child's execve or exit). The child comes back
 * here in Linux mode (dune-abi 1.9) with 0; it enters Dune with a context
 * of its own, its page tables being its copy of ours, and resumes ring 3
 * with 0, on the stack clone named if any. Threads: threads.c. */
static void __attribute__((noreturn)) fork_child(struct dune_tf *tf, uint64_t stack)
{
	sb_unlock();
	sandbox_thread_forked();
	sandbox_signal_forked();
	int r = dune_enter();
	if (r) {
		char msg[96];
		int n = snprintf(msg, sizeof(msg), "dune-sandbox: the forked child cannot enter Dune mode: %s\n", strerror(-r));
		(void)!write(2, msg, (size_t)n);
		syscall(SYS_exit_group, 126);
	}
	tf->rax = 0;
	if (stack)
		tf->rsp = stack;
	dune_fpu_load(&ring3_fpu); /* its copy of the parent's */
	dune_pop_trap_frame(tf);
}

static long fork_call(long nr, uint64_t *a, struct dune_tf *tf)
{
	uint64_t b[6] = {SIGCHLD}, stack = 0;
	if (nr == SYS_vfork)
		b[0] = CLONE_VFORK | SIGCHLD;
	if (nr == SYS_clone) {
		uint64_t flags = a[0];
		if (flags & CLONE_THREAD)
			return sandbox_clone_thread(a, tf);
		if (flags & (CLONE_SIGHAND | CLONE_SETTLS | CLONE_FILES | CLONE_FS))
			return -EINVAL; /* shared with a process of its own: not done */
		if ((flags & (CLONE_PARENT_SETTID | CLONE_PIDFD)) && !umem_ok(a[2], 4, true))
			return -EFAULT;
		if ((flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID)) && !umem_ok(a[3], 4, true))
			return -EFAULT;
		stack = a[1];
		b[0] = flags & ~(uint64_t)CLONE_VM;
		b[2] = a[2], b[3] = a[3];
	}
	sb_lock(); /* no other thread of the monitor mid-change in the child's copy */
	long r = pass(SYS_clone, b);
	if (r == 0)
		fork_child(tf, stack);
	sb_unlock();
	return r;
}

/* execve: a new monitor for the new program, so the new image is loaded
 * into a fresh sandbox under the same settings (sandbox_exec_argv). argv
 * and envp are copied out of the sandboxee first; a program that cannot be
 * run fails here, with the sandboxee still running, as execve does. */
#define EXEC_MAX_STRINGS 4096
#define EXEC_MAX_BYTES (2u << 20)

static long copy_string_array(uint64_t array, char **out, unsigned max, unsigned *count, char **pool, size_t *left)
{
	unsigned n = 0;
	for (;; n++) {
		if (!umem_ok(array + 8 * n, 8, false))
			return -EFAULT;
		uint64_t p = *(uint64_t *)(array + 8 * n);
		if (!p)
			break;
		if (n + 1 >= max)
			return -E2BIG;
		int r = umem_strcpy(*pool, *left, p);
		if (r)
			return r == -ENAMETOOLONG ? -E2BIG : r;
		out[n] = *pool;
		size_t len = strlen(*pool) + 1;
		*pool += len;
		*left -= len;
	}
	out[n] = NULL;
	*count = n;
	return 0;
}

static long execve_locked(long nr, uint64_t *a)
{
	static char path[PATH_MAX];
	static char strings[EXEC_MAX_BYTES];
	static char *argv[EXEC_MAX_STRINGS + 16], *envp[EXEC_MAX_STRINGS];
	uint64_t p_path = a[0], p_argv = a[1], p_envp = a[2];
	if (nr == SYS_execveat) {
		if ((int)a[0] != AT_FDCWD || a[4])
			return -ENOSYS; /* a directory descriptor or flags: not yet */
		p_path = a[1], p_argv = a[2], p_envp = a[3];
	}
	long r = umem_strcpy(path, sizeof(path), p_path);
	if (r)
		return r;
	if (is_own_exe_link(path)) /* the sandboxee's own program, not the monitor */
		snprintf(path, sizeof(path), "%s", sandbox_exe_path);
	if ((r = check_path(nr, AT_FDCWD, path, false, true)))
		return r;
	/* what execve itself would refuse first */
	if ((r = dune_passthrough(SYS_access, (long)path, X_OK, 0, 0, 0, 0)))
		return r;
	unsigned head = sandbox_exec_argv(argv, 16, path), argc = 0, envc = 0;
	char *pool = strings;
	size_t left = sizeof(strings);
	if (p_argv && (r = copy_string_array(p_argv, argv + head, EXEC_MAX_STRINGS, &argc, &pool, &left)))
		return r;
	if (!p_argv || !argc) { /* as Linux: an empty argv gets the path */
		argv[head] = path;
		argv[head + 1] = NULL;
	}
	envp[0] = NULL;
	if (p_envp && (r = copy_string_array(p_envp, envp, EXEC_MAX_STRINGS, &envc, &pool, &left)))
		return r;
	return dune_passthrough(SYS_execve, (long)sandbox_monitor_path, (long)argv, (long)envp, 0, 0, 0);
}

static long execve_call(long nr, uint64_t *a)
{
	static pthread_mutex_t exec_lock = PTHREAD_MUTEX_INITIALIZER; /* its buffers: one execve at a time */
	pthread_mutex_lock(&exec_lock);
	long r = execve_locked(nr, a);
	pthread_mutex_unlock(&exec_lock);
	return r;
}


/* Deliberately -ENOSYS, without a word: libc works without them. */
static bool quietly_unsupported(long nr)
{
	return nr == SYS_rseq || nr == SYS_set_robust_list || nr == SYS_get_robust_list ||
	       nr == SYS_clone3; /* glibc then uses clone */
}

long sandbox_syscall_number(const char *name)
{
	for (unsigned long nr = 0; nr < NCALLS && nr < POLICY_MAX_SYSCALL; nr++)
		if (calls[nr].name && !strcmp(calls[nr].name + 4, name))
			return (long)nr;
	return -1;
}

static const char *call_name(long nr)
{
	return nr >= 0 && (unsigned long)nr < NCALLS && calls[nr].name ? calls[nr].name + 4 : "?";
}

static long dispatch(long nr, uint64_t *a, struct dune_tf *tf)
{
	char paths[2][PATH_MAX];
	if (nr == SYS_rt_sigreturn) /* never refused: a handler's return */
		return sandbox_sigreturn(tf, &ring3_fpu);
	long r = policy_check_syscall(nr);
	if (r)
		return deny(nr, r, "system call rule");
	switch (nr) {
	case SYS_open: case SYS_openat: case SYS_creat: return open_call(nr, a);
	case SYS_connect: case SYS_bind:
		if ((r = check_sockaddr(nr, nr == SYS_bind, a[1], a[2])))
			return r;
		break;
	case SYS_sendto:
		if ((r = check_sockaddr(nr, false, a[4], a[5])))
			return r;
		break;
	case SYS_mmap:
		if (!((int)a[3] & MAP_ANONYMOUS) && monitor_fd((int)a[4]))
			return -EBADF;
		return umem_mmap(a[0], a[1], (int)a[2], (int)a[3], (int)a[4], (long)a[5]);
	case SYS_munmap: return umem_munmap(a[0], a[1]);
	case SYS_mprotect: return umem_mprotect(a[0], a[1], (int)a[2]);
	case SYS_brk: return umem_brk(a[0]);
	case SYS_mremap: return umem_mremap(a[0], a[1], a[2], (int)a[3]);
	case SYS_arch_prctl: return arch_prctl_call(a);
	case SYS_ioctl: return ioctl_call(a);
	case SYS_fcntl: return fcntl_call(a);
	case SYS_rt_sigaction: return sigaction_call(a);
	case SYS_sigaltstack: return sandbox_sigaltstack(a[0], a[1], tf->rsp);
	case SYS_rt_sigprocmask:
		if (a[3] != 8)
			return -EINVAL;
		if ((a[1] && !umem_ok(a[1], 8, false)) || (a[2] && !umem_ok(a[2], 8, true)))
			return -EFAULT;
		return pass(nr, a);
	case SYS_kill: case SYS_tgkill: case SYS_tkill: return kill_call(nr, a);
	case SYS_readv: case SYS_preadv: case SYS_preadv2: return vectored(nr, a, true);
	case SYS_writev: case SYS_pwritev: case SYS_pwritev2: return vectored(nr, a, false);
	case SYS_madvise:
		if (!umem_owns(a[0], a[1]))
			return -ENOMEM;
		break;
	case SYS_prlimit64:
		if (a[0] && (long)a[0] != (long)getpid())
			return -EPERM;
		if (a[2])
			return -EPERM; /* the sandboxee's limits are the policy's */
		if (a[3] && !umem_ok(a[3], 16, true))
			return -EFAULT;
		return pass(nr, a);
	case SYS_sched_setaffinity: case SYS_setrlimit: return -EPERM;
	case SYS_prctl: return prctl_call(a);
	case SYS_accept: case SYS_accept4: case SYS_getsockname: case SYS_getpeername: case SYS_recvfrom:
	case SYS_getsockopt:
		return socket_out_call(nr, a);
	case SYS_sendmsg: case SYS_recvmsg: return msg_call(nr, a);
	case SYS_select: case SYS_pselect6: return select_call(nr, a);
	case SYS_fork: case SYS_vfork: case SYS_clone: return fork_call(nr, a, tf);
	case SYS_execve: case SYS_execveat: return execve_call(nr, a);
	case SYS_exit: return sandbox_thread_exit(a[0]);
	case SYS_set_tid_address: return sandbox_set_tid_address(a[0]);
	case SYS_futex: return sandbox_futex(a);
	case SYS_readlink: case SYS_readlinkat: return readlink_call(nr, a, paths);
	}
	if (nr < 0 || (unsigned long)nr >= NCALLS || !calls[nr].name) {
		static unsigned char said[1024];
		if (!quietly_unsupported(nr) && nr >= 0 && nr < 1024 && !said[nr]++)
			sb_msg("dune-sandbox: system call %ld is not supported yet: -ENOSYS\n", nr);
		return -ENOSYS;
	}
	r = checked_args(nr, &calls[nr], a, paths);
	return r ? r : pass(nr, a);
}

void sandbox_syscall(struct dune_tf *tf)
{
	dune_fpu_save_safe(&ring3_fpu); /* before any C code that may use them */
	long nr = (long)tf->rax;
	uint64_t a[6] = {tf->rdi, tf->rsi, tf->rdx, tf->rcx /* r10 */, tf->r8, tf->r9};
	long r = dispatch(nr, a, tf);
	if (r == -EFAULT)
		sandbox_log("%s(%#lx, %#lx, %#lx, ...) = -EFAULT: a pointer outside the sandboxee's memory\n", call_name(nr),
			    (unsigned long)tf->rdi, (unsigned long)tf->rsi, (unsigned long)tf->rdx);
	tf->rax = (uint64_t)r;
	sandbox_signal_deliver(tf, nr, &ring3_fpu);
	dune_fpu_load(&ring3_fpu);
}
