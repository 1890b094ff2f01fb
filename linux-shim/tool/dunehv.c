/* SPDX-License-Identifier: GPL-2.0 */
/* dunehv: see the hypervisor from Linux (man dunehv, dunehv.8).
 *
 *   dunehv status           is dunehv running, with what; why not, if not
 *   dunehv stat [--once] [-d SECONDS]
 *                           exits by reason, Linux's and Dune contexts':
 *                           totals and per-second rates (like kvm_stat)
 *   dunehv log [-f]         the hypervisor's log ring (-f: follow it)
 *   dunehv ps               live Dune contexts, by process
 *   dunehv check-config FILE   dunehv.cfg checked by the loader's own parser
 *
 * It reads dune.ko's files in /sys/kernel/debug/dunehv (root; debugfs is
 * mounted there if it is not yet). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "dunehv/abi.h"

#define DEBUGFS "/sys/kernel/debug"
#define DIR DEBUGFS "/dunehv"
#define FALLBACK_VAR "/sys/firmware/efi/efivars/DunehvFallback-3f1c8d2a-6b47-4f0e-9d15-d00e00000101"
#define MAX_REASONS 128
#define MAX_CPUS 1024

static const char *const usage_text =
	"usage: dunehv COMMAND [OPTIONS]\n"
	"See the dunehv hypervisor from Linux (dune.ko's /sys/kernel/debug/dunehv; root).\n"
	"\n"
	"  status                 whether dunehv runs, its ABI, CPUs, memory and Dune contexts;\n"
	"                         if it does not, why (the loader's reason after a fallback)\n"
	"  stat [--once] [-d S]   VM exits by reason, for Linux and for Dune contexts, then per CPU\n"
	"                         (with INITs and SIPIs): totals and per-second rates over S\n"
	"                         seconds (default 1); refreshed until interrupted, or printed\n"
	"                         once with --once\n"
	"  log [-f]               the hypervisor's log ring; -f keeps printing what is logged next\n"
	"  ps                     live Dune contexts, one line per process\n"
	"  check-config FILE      check a dunehv.cfg with the loader's own parser (hv/core/config.c):\n"
	"                         every problem, one line each; or the values it boots with\n"
	"  COMMAND --help         this text\n";

static void usage(FILE *f) { fputs(usage_text, f); }

static char *read_file(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (len + 4096 > cap && !(buf = realloc(buf, cap *= 2)))
			break;
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (buf)
		buf[len] = '\0';
	return buf;
}

/* dune.ko's directory there, debugfs mounted if needed; else a message. */
static int need_dir(void)
{
	struct stat st;
	if (stat(DIR, &st) == 0)
		return 0;
	if (stat(DEBUGFS, &st) == 0 && mount("debugfs", DEBUGFS, "debugfs", 0, NULL) == 0 && stat(DIR, &st) == 0)
		return 0;
	if (geteuid() != 0)
		fprintf(stderr, "dunehv: %s: %s (run as root)\n", DIR, strerror(errno));
	else
		fprintf(stderr, "dunehv: %s missing: dune.ko is not loaded (modprobe dune), or Linux does not run "
				"under dunehv (dunehv status says why)\n", DIR);
	return -1;
}

static const char *value_of(const char *text, const char *key, char *out, size_t cap)
{
	size_t k = strlen(key);
	for (const char *l = text; *l;) {
		size_t len = strcspn(l, "\n");
		if (len > k && !strncmp(l, key, k) && l[k] == '=') {
			snprintf(out, cap, "%.*s", (int)(len - k - 1), l + k + 1);
			return out;
		}
		l += len + (l[len] == '\n');
	}
	snprintf(out, cap, "?");
	return out;
}

static int cmd_status(void)
{
	unsigned int a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(DUNEHV_CPUID_BASE), "c"(0));
	int under = b == DUNEHV_CPUID_SIG_EBX && c == DUNEHV_CPUID_SIG_ECX && d == DUNEHV_CPUID_SIG_EDX;
	if (!under) {
		printf("dunehv: not running: Linux runs without the hypervisor\n");
		/* the loader's line (an EFI variable: efivarfs mounted if needed),
		 * else its one word on the kernel command line */
		char *why = read_file(FALLBACK_VAR);
		if (!why && mount("efivarfs", "/sys/firmware/efi/efivars", "efivarfs", MS_RDONLY, NULL) == 0)
			why = read_file(FALLBACK_VAR);
		char *cmdline = read_file("/proc/cmdline"), *word = cmdline ? strstr(cmdline, "dunehv.fallback=") : NULL;
		if (why && strlen(why) > 4 && strlen(why + 4)) /* after the variable's 4 bytes of attributes */
			printf("dunehv: the loader started Linux natively because: %s\n", why + 4);
		else if (word)
			printf("dunehv: the loader started Linux natively (%.*s)\n", (int)strcspn(word, " \n"), word);
		else
			printf("dunehv: (no reason from the loader: not booted through dunehv.efi?)\n");
		free(why);
		free(cmdline);
		return 1;
	}
	struct stat st;
	if (stat(DIR, &st) && !(stat(DEBUGFS, &st) == 0 && mount("debugfs", DEBUGFS, "debugfs", 0, NULL) == 0 &&
				stat(DIR, &st) == 0)) {
		/* the hypervisor answers CPUID at any ring; the rest comes through dune.ko */
		__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(DUNEHV_CPUID_VERSION), "c"(0));
		printf("dunehv: running, ABI %u.%u (CPUID); dune.ko is not loaded (modprobe dune, or open /dev/dune), "
		       "so that is all%s\n", a >> 16, a & 0xffff, geteuid() ? " (and run as root)" : "");
		return 0;
	}
	char *info = read_file(DIR "/info");
	if (!info)
		return 1;
	char v[6][64];
	unsigned long long mem = strtoull(value_of(info, "hv_memory_bytes", v[0], 64), NULL, 10);
	printf("dunehv: running, ABI %s, on %s CPUs; module dune.ko %s\n", value_of(info, "abi", v[1], 64),
	       value_of(info, "cpus", v[2], 64), value_of(info, "module_version", v[3], 64));
	printf("memory: %llu MiB at %s (absent from Linux's memory); page pool %s of %s pages free\n", mem >> 20,
	       value_of(info, "hv_memory_base", v[0], 64), value_of(info, "pool_pages_free", v[4], 64),
	       value_of(info, "pool_pages", v[5], 64));
	printf("Dune contexts: %s live, holding %s pages\n", value_of(info, "contexts", v[1], 64),
	       value_of(info, "context_pages", v[2], 64));
	printf("log: %s bytes logged, ring of %s (dunehv log)\n", value_of(info, "log_head", v[3], 64),
	       value_of(info, "log_bytes", v[4], 64));
	free(info);
	return 0;
}

struct cpu_sample {
	int seen;
	unsigned long long linux_total, dune_total, inits, sipis;
};

struct sample {
	unsigned long long tsc, linux_total, dune_total, violations;
	unsigned long long linux_count[MAX_REASONS], dune_count[MAX_REASONS];
	char names[MAX_REASONS][32];
	struct cpu_sample cpu[MAX_CPUS];
	struct timespec when;
};

static int take(struct sample *s)
{
	char *text = read_file(DIR "/exits");
	if (!text)
		return -1;
	memset(s, 0, sizeof(*s));
	clock_gettime(CLOCK_MONOTONIC, &s->when);
	for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
		unsigned int r;
		unsigned long long x, y, i, j;
		char name[32];
		if (sscanf(l, "cpu %u total linux %llu dune %llu inits %llu sipis %llu", &r, &x, &y, &i, &j) == 5) {
			if (r < MAX_CPUS)
				s->cpu[r] = (struct cpu_sample){1, x, y, i, j};
		} else if (!strncmp(l, "cpu ", 4))
			continue; /* a CPU's counts by reason: in the file, not shown */
		else if (sscanf(l, "tsc %llu", &x) == 1)
			s->tsc = x;
		else if (sscanf(l, "total linux %llu dune %llu", &x, &y) == 2)
			s->linux_total = x, s->dune_total = y;
		else if (sscanf(l, "hv_memory_violations %llu", &x) == 1)
			s->violations = x;
		else if (sscanf(l, "%u %31s %llu %llu", &r, name, &x, &y) == 4 && r < MAX_REASONS) {
			s->linux_count[r] = x;
			s->dune_count[r] = y;
			snprintf(s->names[r], sizeof(s->names[r]), "%s", name);
		}
	}
	free(text);
	return 0;
}

static void print_stat(const struct sample *a, const struct sample *b)
{
	double dt = (double)(b->when.tv_sec - a->when.tv_sec) + (double)(b->when.tv_nsec - a->when.tv_nsec) / 1e9;
	if (dt <= 0)
		dt = 1;
	printf("%-26s %14s %10s %14s %10s\n", "exit reason", "Linux", "Linux/s", "Dune", "Dune/s");
	printf("%-26s %14llu %10.0f %14llu %10.0f\n", "(all)", b->linux_total, (b->linux_total - a->linux_total) / dt,
	       b->dune_total, (b->dune_total - a->dune_total) / dt);
	for (int r = 0; r < MAX_REASONS; r++)
		if (b->linux_count[r] || b->dune_count[r]) {
			char label[48];
			snprintf(label, sizeof(label), "%s (%d)", b->names[r], r);
			printf("%-26s %14llu %10.0f %14llu %10.0f\n", label, b->linux_count[r],
			       (b->linux_count[r] - a->linux_count[r]) / dt, b->dune_count[r],
			       (b->dune_count[r] - a->dune_count[r]) / dt);
		}
	printf("accesses to hypervisor memory refused: %llu\n", b->violations);
	printf("\n%-26s %14s %10s %14s %10s %8s %8s\n", "CPU", "Linux", "Linux/s", "Dune", "Dune/s", "INITs", "SIPIs");
	for (int c = 0; c < MAX_CPUS; c++)
		if (b->cpu[c].seen) {
			const struct cpu_sample *x = &a->cpu[c], *y = &b->cpu[c];
			printf("%-26d %14llu %10.0f %14llu %10.0f %8llu %8llu\n", c, y->linux_total,
			       (y->linux_total - x->linux_total) / dt, y->dune_total, (y->dune_total - x->dune_total) / dt,
			       y->inits, y->sipis);
		}
}

static int cmd_stat(int argc, char **argv)
{
	int once = 0;
	double delay = 1;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--once"))
			once = 1;
		else if (!strcmp(argv[i], "-d") && i + 1 < argc && atof(argv[i + 1]) > 0)
			delay = atof(argv[++i]);
		else {
			fprintf(stderr, "dunehv stat: unknown argument %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (need_dir())
		return 1;
	static struct sample a, b;
	if (take(&a))
		return 1;
	struct timespec ts = {(time_t)delay, (long)((delay - (double)(time_t)delay) * 1e9)};
	for (;;) {
		nanosleep(&ts, NULL);
		if (take(&b))
			return 1;
		if (!once)
			printf("\033[H\033[2J");
		print_stat(&a, &b);
		fflush(stdout);
		if (once)
			return 0;
		a = b;
	}
}

static int cmd_log(int argc, char **argv)
{
	int follow = argc == 1 && !strcmp(argv[0], "-f");
	if (argc > 1 || (argc == 1 && !follow)) {
		usage(stderr);
		return 2;
	}
	if (need_dir())
		return 1;
	int fd = open(DIR "/log", O_RDONLY);
	if (fd < 0) {
		perror("dunehv: " DIR "/log");
		return 1;
	}
	char buf[4096];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			fwrite(buf, 1, (size_t)n, stdout);
			continue;
		}
		if (n < 0) {
			perror("dunehv: reading the log");
			return 1;
		}
		if (!follow)
			return 0;
		fflush(stdout);
		usleep(250000);
	}
}

struct proc {
	int pid, threads;
	unsigned int uid;
	char comm[32];
	unsigned long long runs, syscalls, faults, interrupts;
};

static int cmd_ps(void)
{
	if (need_dir())
		return 1;
	char *text = read_file(DIR "/contexts");
	if (!text)
		return 1;
	static struct proc procs[1024];
	int n = 0;
	for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
		struct proc p = {0};
		int tid;
		unsigned long long exc, sess;
		if (l[0] == '#' || sscanf(l, "%d %d %u %31s runs=%llu interrupts=%llu faults=%llu syscalls=%llu "
					      "exceptions=%llu sessions=%llu",
					  &p.pid, &tid, &p.uid, p.comm, &p.runs, &p.interrupts, &p.faults, &p.syscalls, &exc,
					  &sess) != 10)
			continue;
		int i = 0;
		while (i < n && procs[i].pid != p.pid)
			i++;
		if (i == n && n < 1024)
			procs[n++] = p;
		else if (i < n) {
			procs[i].runs += p.runs, procs[i].syscalls += p.syscalls, procs[i].faults += p.faults;
			procs[i].interrupts += p.interrupts;
		}
		if (i < 1024)
			procs[i].threads++;
	}
	free(text);
	printf("%7s %6s %-16s %8s %12s %12s %12s %12s\n", "PID", "UID", "COMMAND", "CONTEXTS", "RUNS", "SYSCALLS",
	       "EPT FAULTS", "INTERRUPTS");
	for (int i = 0; i < n; i++)
		printf("%7d %6u %-16s %8d %12llu %12llu %12llu %12llu\n", procs[i].pid, procs[i].uid, procs[i].comm,
		       procs[i].threads, procs[i].runs, procs[i].syscalls, procs[i].faults, procs[i].interrupts);
	return 0;
}

/* The loader's parser, compiled in: the same verdict the loader gives at boot. */
static int cmd_check_config(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "dunehv check-config: cannot open %s: %s\n", path, strerror(errno));
		return 1;
	}
	struct stat st;
	if (fstat(fd, &st) || st.st_size > CONFIG_FILE_MAX) {
		fprintf(stderr, "dunehv check-config: %s: larger than the loader reads (%d bytes) or unreadable\n", path,
			CONFIG_FILE_MAX);
		close(fd);
		return 1;
	}
	char *text = read_file(path);
	close(fd);
	if (!text) {
		fprintf(stderr, "dunehv check-config: cannot read %s\n", path);
		return 1;
	}
	static struct hv_config cfg;
	static char error[CONFIG_ERROR_MAX];
	int bad = config_parse(text, strlen(text), &cfg, error, sizeof(error));
	free(text);
	if (bad) {
		fprintf(stderr, "%s: bad config:\n", path);
		for (char *line = strtok(error, "\n"); line; line = strtok(NULL, "\n"))
			fprintf(stderr, "  %s\n", line);
		return 1;
	}
	printf("%s: ok: kernel=%s initrd=%s memory=%lluM log_level=%s on_fail=%s on_panic=%s hypervisor=%s\n", path,
	       cfg.kernel, cfg.initrd[0] ? cfg.initrd : "(none)", (unsigned long long)(cfg.memory_bytes >> 20),
	       config_log_level_name(cfg.log_level), config_on_fail_name(cfg.on_fail),
	       config_on_panic_name(cfg.on_panic), cfg.hypervisor ? "on" : "off");
	printf("%s: cmdline=\"%s\"\n", path, cfg.cmdline);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "status") && argc == 2)
		return cmd_status();
	if (!strcmp(cmd, "stat"))
		return cmd_stat(argc - 2, argv + 2);
	if (!strcmp(cmd, "log"))
		return cmd_log(argc - 2, argv + 2);
	if (!strcmp(cmd, "ps") && argc == 2)
		return cmd_ps();
	if (!strcmp(cmd, "check-config") && argc == 3)
		return cmd_check_config(argv[2]);
	fprintf(stderr, "dunehv: unknown command or arguments: %s\n", cmd);
	usage(stderr);
	return 2;
}
