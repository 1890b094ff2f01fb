/*
 * dunefuzz: random /dev/dune ioctls from unprivileged processes.
 *
 *   dunefuzz N SEED     (as root: it gives /dev/dune to a test group and
 *                        drops each worker to nobody in that group)
 *
 * Four worker processes, each with three threads, make N ioctls in all from
 * a fixed-seed PRNG (xorshift64*, one stream per thread): random command
 * numbers (of /dev/dune's type and any), and every real command (ENTER,
 * GET_SYSCALL, GET_LAYOUT, TRAP_ENABLE, TRAP_DISABLE and the module's
 * internal RESUME) with random structs behind good pointers, NULL, kernel
 * addresses, unmapped and PROT_NONE pages, read-only pages and structs that
 * run into a PROT_NONE page; ENTER with random registers, CR3 and vcpu
 * handles. Meanwhile the threads close, reopen and dup the shared
 * descriptors, so ioctls race with close and with each other on one file,
 * and a session may be entered while another thread closes its file.
 * Only thread 0 of a worker enters Dune; a 50 ms interval timer (SIGALRM,
 * blocked in the other threads) ends any session that keeps running. A
 * seccomp filter lets a worker make only the system calls the fuzzer needs
 * (others get EPERM), so that random code that reaches a system call from
 * Dune mode cannot harm the test.
 *
 * Verdicts ("dunefuzz: ok|not ok <id> - ..."):
 *  ioctlfuzz.calls     all N ioctls made, every worker ended normally
 *  ioctlfuzz.kernel    the kernel log has no oops, BUG or warning since
 *  ioctlfuzz.baseline  the hypervisor's contexts, their pages and the page
 *                      pool are back at their values from before
 *  ioctlfuzz.log       the hypervisor's log ring still reads whole lines
 * and a table of ioctls and successes per command.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "dune.h"
#include "procinfo.h"

#define VERDICT_PROGRAM "dunefuzz"
#include "../../../guest-libdune/test/verdict.h"

#define WORKERS 4
#define THREADS 3
#define FDS 4
#define DUNE_RESUME _IO(DUNE_MINOR, 0x40) /* linux-shim/dune_priv.h: the trampoline's */
#define NOBODY 65534
#define FUZZ_GID 991

enum op { OP_RANDOM_CMD, OP_ENTER, OP_GET_SYSCALL, OP_GET_LAYOUT, OP_TRAP_ENABLE, OP_TRAP_DISABLE, OP_RESUME,
	  OP_CLOSE, OP_COUNT };
static const char *const op_names[OP_COUNT] = {"random-cmd", "enter", "get-syscall", "get-layout",
					       "trap-enable", "trap-disable", "resume", "close-reopen-dup"};
/* each operation's share, in per mille; the rest are random commands */
static const unsigned share[OP_COUNT] = {[OP_ENTER] = 30, [OP_GET_SYSCALL] = 60, [OP_GET_LAYOUT] = 150,
					  [OP_TRAP_ENABLE] = 150, [OP_TRAP_DISABLE] = 60, [OP_RESUME] = 60,
					  [OP_CLOSE] = 40};

/* Counters shared by all workers (a MAP_SHARED page). */
struct tally {
	uint64_t count[OP_COUNT], ok[OP_COUNT];
	uint64_t sessions_ended; /* ENTER that returned 0: a session ran and ended */
};
static struct tally *tally;

/* one worker's state, shared by its threads */
static int fds[FDS];
static uint8_t *good, *readonly, *guard; /* a read-write page, a read-only page, a PROT_NONE page after good */
static uint64_t total_calls; /* N: thread k of worker w makes its share */
static pthread_barrier_t ready, start; /* threads up (seccomp after that); go */

static uint64_t next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static uint64_t below(uint64_t *s, uint64_t n) { return n ? next(s) % n : 0; }

/* An argument pointer for a struct of size n, and random bytes behind it
 * where it points to writable memory of ours. */
static unsigned long pick_pointer(uint64_t *s, size_t n)
{
	switch (below(s, 10)) {
	case 0: return 0;
	case 1: return 0xffffffff81000000ul + (below(s, 1u << 20) & ~7ul); /* kernel text */
	case 2: return 0x10000ul * (1 + below(s, 16));                      /* unmapped, low */
	case 3: return (unsigned long)guard;                                 /* PROT_NONE */
	case 4: return (unsigned long)readonly;                              /* read-only */
	case 5: return (unsigned long)guard - n / 2;                         /* runs into PROT_NONE */
	case 6: return next(s);                                              /* anything */
	default: {
		uint8_t *p = good + below(s, 4096 - n);
		for (size_t i = 0; i < n; i++)
			p[i] = (uint8_t)next(s);
		return (unsigned long)p;
	}
	}
}

static void on_alarm(int sig) { (void)sig; }

static void fuzz_one(uint64_t *s, int thread)
{
	unsigned pick = below(s, 1000);
	enum op op = OP_RANDOM_CMD + 1;
	long r = -1;
	int fd = fds[below(s, FDS)];

	for (; op < OP_COUNT && pick >= share[op]; op++)
		pick -= share[op];
	if (op == OP_COUNT || (op == OP_ENTER && thread != 0))
		op = OP_RANDOM_CMD;
	switch (op) {
	case OP_ENTER: {
		unsigned long p = pick_pointer(s, sizeof(struct dune_config));
		if (p == (unsigned long)good || (p >= (unsigned long)good && p < (unsigned long)good + 4096 - 176)) {
			struct dune_config *c = (struct dune_config *)p;
			if (below(s, 2))
				c->vcpu = below(s, 3); /* mostly a new or our own context */
			if (below(s, 2))
				c->rip = (uint64_t)((int64_t)(c->rip << 16) >> 16); /* canonical */
			if (below(s, 2))
				c->cr3 &= 0xfffff000ull; /* below 4 GiB: the context is created */
		}
		r = ioctl(fd, DUNE_ENTER, p);
		if (r == 0)
			__atomic_fetch_add(&tally->sessions_ended, 1, __ATOMIC_RELAXED);
		break;
	}
	case OP_GET_SYSCALL:
		r = ioctl(fd, DUNE_GET_SYSCALL, next(s));
		break;
	case OP_GET_LAYOUT:
		r = ioctl(fd, DUNE_GET_LAYOUT, pick_pointer(s, sizeof(struct dune_layout)));
		break;
	case OP_TRAP_ENABLE:
		r = ioctl(fd, DUNE_TRAP_ENABLE, pick_pointer(s, sizeof(struct dune_trap_config)));
		break;
	case OP_TRAP_DISABLE:
		r = ioctl(fd, DUNE_TRAP_DISABLE, next(s));
		break;
	case OP_RESUME:
		r = ioctl(fd, DUNE_RESUME, next(s));
		break;
	case OP_CLOSE: {
		/* close a shared descriptor under the other threads, then put a
		 * new file (or a dup of another) at a free number */
		int i = below(s, FDS), nfd;
		close(fds[i]);
		nfd = below(s, 2) ? open("/dev/dune", O_RDWR | O_CLOEXEC) : dup(fds[(i + 1) % FDS]);
		if (nfd >= 0)
			fds[i] = nfd;
		r = nfd >= 0 ? 0 : -1;
		break;
	}
	default: {
		unsigned long cmd = below(s, 2) ? _IOC(below(s, 4), DUNE_MINOR, below(s, 256), below(s, 512)) : next(s);
		r = ioctl(fd, cmd, below(s, 2) ? pick_pointer(s, 64) : next(s));
		op = OP_RANDOM_CMD;
		break;
	}
	}
	__atomic_fetch_add(&tally->count[op], 1, __ATOMIC_RELAXED);
	if (r >= 0)
		__atomic_fetch_add(&tally->ok[op], 1, __ATOMIC_RELAXED);
}

struct thread_arg {
	uint64_t seed, calls;
	int thread;
};

static void *thread_main(void *arg)
{
	struct thread_arg *a = arg;
	uint64_t s = a->seed;
	if (a->thread != 0) {
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGALRM);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
		pthread_barrier_wait(&ready); /* glibc's thread start-up (rseq) is done */
	}
	pthread_barrier_wait(&start);
	for (uint64_t i = 0; i < a->calls; i++)
		fuzz_one(&s, a->thread);
	return NULL;
}

/* Only what the fuzzer and libc's exit need; everything else, also from
 * code that runs in Dune mode, gets EPERM. */
static int install_seccomp(void)
{
	static const int allowed[] = {SYS_ioctl,	  SYS_close,  SYS_openat, SYS_dup,	       SYS_exit,
				      SYS_exit_group, SYS_rt_sigreturn, SYS_futex, SYS_rt_sigprocmask, SYS_sched_yield};
	struct sock_filter f[64];
	unsigned n = 0;
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	for (unsigned i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)allowed[i], 0, 1);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	}
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	struct sock_fprog prog = {.len = (unsigned short)n, .filter = f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
}

/* A worker: nobody in the test group, THREADS threads sharing its files. */
static int worker(int index, uint64_t seed)
{
	gid_t group = FUZZ_GID;
	if (setgroups(1, &group) || setgid(NOBODY) || setuid(NOBODY))
		return 2;
	for (int i = 0; i < FDS; i++)
		if ((fds[i] = open("/dev/dune", O_RDWR | O_CLOEXEC)) < 0)
			return 3;
	uint8_t *pages = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (pages == MAP_FAILED)
		return 4;
	good = pages;
	guard = pages + 4096;
	readonly = pages + 2 * 4096;
	if (mprotect(guard, 4096, PROT_NONE) || mprotect(readonly, 4096, PROT_READ))
		return 4;
	struct sigaction sa = {.sa_handler = on_alarm};
	sigaction(SIGALRM, &sa, NULL);
	pthread_barrier_init(&ready, NULL, THREADS);
	pthread_barrier_init(&start, NULL, THREADS);
	pthread_t t[THREADS];
	struct thread_arg args[THREADS];
	for (int i = 0; i < THREADS; i++) {
		uint64_t k = (uint64_t)(index * THREADS + i);
		args[i] = (struct thread_arg){.seed = seed * 0x9e3779b97f4a7c15ull + k * 2 + 1,
					      .calls = total_calls / (WORKERS * THREADS) + (k < total_calls % (WORKERS * THREADS)),
					      .thread = i};
		if (i && pthread_create(&t[i], NULL, thread_main, &args[i]))
			return 5;
	}
	pthread_barrier_wait(&ready);
	struct itimerval every = {.it_interval = {0, 50000}, .it_value = {0, 50000}};
	if (setitimer(ITIMER_REAL, &every, NULL) || install_seccomp())
		return 6;
	thread_main(&args[0]);
	for (int i = 1; i < THREADS; i++)
		pthread_join(t[i], NULL);
	return 0;
}

/* Kernel log lines since fd was opened that show trouble; prints the first. */
static int kernel_trouble(int kmsg)
{
	static const char *const bad[] = {"Oops", "BUG:", "WARNING:", "general protection fault", "Call Trace",
					  "soft lockup", "refcount_t", "list_add corruption", "Poison overwritten"};
	char rec[2048];
	int found = 0;
	ssize_t n;
	while ((n = read(kmsg, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		if (n <= 0)
			continue;
		rec[n] = 0;
		for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			if (strstr(rec, bad[i]) && !found++)
				printf("dunefuzz: kernel: %s", rec);
	}
	return found;
}

/* The last lines of the hypervisor's log ring each start with "[dunehv] ". */
static int log_intact(void)
{
	char line[512];
	int lines = 0, bad = 0;
	FILE *f = fopen("/proc/dunehv/log", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		/* the oldest line may have been cut by the ring */
		if (lines++ && strncmp(line, "[dunehv] ", 9) && strlen(line) > 1)
			bad++;
	}
	fclose(f);
	return lines > 0 && !bad;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 3) {
		fprintf(stderr, "usage: dunefuzz N SEED\n");
		return 2;
	}
	uint64_t n = strtoull(argv[1], NULL, 0), seed = strtoull(argv[2], NULL, 0);
	total_calls = n;
	tally = mmap(NULL, sizeof(*tally), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (tally == MAP_FAILED || kmsg < 0 || lseek(kmsg, 0, SEEK_END) < 0 || chown("/dev/dune", 0, FUZZ_GID)) {
		perror("dunefuzz: setup");
		return 2;
	}
	uint64_t live = info_value("ctx_live"), pages = info_value("ctx_pages"), pool = info_value("pool_pages_free");
	pid_t pid[WORKERS];
	for (int i = 0; i < WORKERS; i++) {
		pid[i] = fork();
		if (pid[i] == 0)
			_exit(worker(i, seed));
	}
	int normal = 0;
	char statuses[128] = "";
	for (int i = 0; i < WORKERS; i++) {
		int st = -1;
		if (pid[i] > 0 && waitpid(pid[i], &st, 0) == pid[i] && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			normal++;
		snprintf(statuses + strlen(statuses), sizeof(statuses) - strlen(statuses), "%s0x%x", i ? "," : "", st);
	}
	chown("/dev/dune", 0, 0);

	uint64_t total = 0;
	printf("dunefuzz: %-18s %10s %10s\n", "command", "ioctls", "succeeded");
	for (int op = 0; op < OP_COUNT; op++) {
		printf("dunefuzz: %-18s %10llu %10llu\n", op_names[op], (unsigned long long)tally->count[op],
		       (unsigned long long)tally->ok[op]);
		total += tally->count[op];
	}
	printf("dunefuzz: sessions entered and ended: %llu\n", (unsigned long long)tally->sessions_ended);
	uint64_t want = n;
	verdict(total == want && normal == WORKERS, "ioctlfuzz.calls",
		"%llu of %llu ioctls (seed %llu) by %d unprivileged processes of %d threads; %d ended normally (status %s)",
		(unsigned long long)total, (unsigned long long)want, (unsigned long long)seed, WORKERS, THREADS, normal,
		statuses);
	int trouble = kernel_trouble(kmsg);
	verdict(!trouble, "ioctlfuzz.kernel", "%d kernel log records with an oops, BUG or warning since the start", trouble);
	uint64_t live2 = info_value("ctx_live"), pages2 = info_value("ctx_pages"), pool2 = info_value("pool_pages_free");
	verdict(live2 == live && pages2 == pages && pool2 == pool && live != ~0ull, "ioctlfuzz.baseline",
		"contexts %llu -> %llu, their pages %llu -> %llu, free pool pages %llu -> %llu", (unsigned long long)live,
		(unsigned long long)live2, (unsigned long long)pages, (unsigned long long)pages2, (unsigned long long)pool,
		(unsigned long long)pool2);
	verdict(log_intact(), "ioctlfuzz.log", "the hypervisor's log ring reads back whole [dunehv] lines");
	printf("dunefuzz: done failures=%d\n", verdict_failures);
	/* Out of the UART before the next program runs: the hypervisor writes
	 * its own log lines to the same port, and a line of ours still being
	 * sent then can lose characters. */
	fflush(stdout);
	tcdrain(STDOUT_FILENO);
	return verdict_failures ? 1 : 0;
}
