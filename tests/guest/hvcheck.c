/*
 * hvcheck: user-space checks run by the guest test /init (static binary).
 *
 *   hvcheck cpuid      print the CPUID view of the hypervisor:
 *                      "hvcheck: cpuid hypervisor-bit=<0|1> signature=<12 chars>
 *                       max-leaf=0x... abi=0x... dunehv=<0|1>"
 *                      (non-printable signature bytes are shown as '.')
 *   hvcheck detect     exit status 0 if the DuneHV CPUID signature is present, else 1
 *   hvcheck memory MIB allocate MIB MiB, write a per-page pattern, read it back
 *   hvcheck vmcall     execute VMCALL, then VMMCALL, in ring 3; each must raise #UD (SIGILL)
 *   hvcheck step       single-step (EFLAGS.TF) over CPUID, which the hypervisor
 *                      emulates: verdict step.cpuid, the first trap right after
 *                      CPUID and the next after the instruction that follows
 *   hvcheck shutdown   stop the emulator: "Shutdown" to port 0x8900 (Bochs),
 *                      then 0x31 to port 0xf4 (QEMU isa-debug-exit: exit code 99)
 *
 * Every output line starts with "hvcheck: ".
 */
#define _GNU_SOURCE /* REG_RIP, REG_EFL */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <termios.h>
#include <ucontext.h>
#include <time.h>
#include <unistd.h>
#include <cpuid.h>

#include "dunehv/abi.h"
#include "dunehv/exit_names.h"

#define PAGE 4096UL

static void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__cpuid_count(leaf, 0, *a, *b, *c, *d);
}

static int dunehv_present(uint32_t *max_leaf, uint32_t *abi, char sig[13], int *hvbit)
{
	uint32_t a, b, c, d;
	uint32_t regs[3];
	int i;

	cpuid(1, &a, &b, &c, &d);
	*hvbit = (c >> 31) & 1;
	cpuid(DUNEHV_CPUID_BASE, &a, &b, &c, &d);
	*max_leaf = a;
	regs[0] = b;
	regs[1] = c;
	regs[2] = d;
	memcpy(sig, regs, 12);
	for (i = 0; i < 12; i++)
		if (sig[i] < 0x21 || sig[i] > 0x7e)
			sig[i] = '.';
	sig[12] = 0;
	*abi = 0;
	if (b != DUNEHV_CPUID_SIG_EBX || c != DUNEHV_CPUID_SIG_ECX || d != DUNEHV_CPUID_SIG_EDX)
		return 0;
	if (a >= DUNEHV_CPUID_VERSION) {
		cpuid(DUNEHV_CPUID_VERSION, &a, &b, &c, &d);
		*abi = a;
	}
	return 1;
}

static int cmd_cpuid(int detect_only)
{
	uint32_t max_leaf, abi;
	char sig[13];
	int hvbit;
	int present = dunehv_present(&max_leaf, &abi, sig, &hvbit);

	if (detect_only)
		return present ? 0 : 1;
	printf("hvcheck: cpuid hypervisor-bit=%d signature=%s max-leaf=0x%x abi=0x%x dunehv=%d\n",
	       hvbit, sig, max_leaf, abi, present);
	return 0;
}

static uint64_t pattern(uint64_t page, uint64_t word)
{
	uint64_t x = (page + 1) * 0x9e3779b97f4a7c15ULL;

	return x ^ (word * 0xbf58476d1ce4e5b9ULL) ^ (page << 32);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmd_memory(const char *arg)
{
	char *end;
	unsigned long mib = strtoul(arg, &end, 0);
	size_t size, pages, p, w, words = PAGE / 8;
	uint64_t *mem;
	double t0;

	if (*arg == 0 || *end != 0 || mib == 0 || mib > (1UL << 20)) {
		printf("hvcheck: memory: bad size '%s'\n", arg);
		return 2;
	}
	size = mib << 20;
	pages = size / PAGE;
	t0 = now_s();
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		printf("hvcheck: memory %lu MiB FAILED: mmap: %s\n", mib, strerror(errno));
		return 1;
	}
	for (p = 0; p < pages; p++)
		for (w = 0; w < words; w++)
			mem[p * words + w] = pattern(p, w);
	for (p = 0; p < pages; p++) {
		for (w = 0; w < words; w++) {
			uint64_t want = pattern(p, w), got = mem[p * words + w];

			if (got != want) {
				printf("hvcheck: memory %lu MiB FAILED: page %zu word %zu "
				       "(va %p) read 0x%016llx expected 0x%016llx\n",
				       mib, p, w, (void *)&mem[p * words + w],
				       (unsigned long long)got, (unsigned long long)want);
				munmap(mem, size);
				return 1;
			}
		}
	}
	munmap(mem, size);
	printf("hvcheck: memory %lu MiB OK (%zu pages, %.2f s)\n", mib, pages, now_s() - t0);
	return 0;
}

static sigjmp_buf vmcall_jmp;
static volatile sig_atomic_t vmcall_sig;

static void vmcall_handler(int sig)
{
	vmcall_sig = sig;
	siglongjmp(vmcall_jmp, 1);
}

/* One hypercall instruction from ring 3: VMCALL (Intel's) or VMMCALL
 * (AMD's); 0 when it raised #UD (SIGILL), as on either backend it must. */
static int ring3_hypercall(int amd)
{
	struct sigaction sa;
	uint64_t rax;
	const char *name = amd ? "vmmcall" : "vmcall";

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vmcall_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	if (sigsetjmp(vmcall_jmp, 1) == 0) {
		rax = DUNEHV_HC_VERSION;
		if (amd)
			__asm__ volatile("vmmcall" : "+a"(rax) : "D"(0UL), "S"(0UL), "d"(0UL) : "memory");
		else
			__asm__ volatile("vmcall" : "+a"(rax) : "D"(0UL), "S"(0UL), "d"(0UL) : "memory");
		printf("hvcheck: %s from ring 3 -> returned 0x%llx\n", name, (unsigned long long)rax);
		return 1;
	}
	printf("hvcheck: %s from ring 3 -> %s\n", name,
	       vmcall_sig == SIGILL ? "SIGILL" : vmcall_sig == SIGSEGV ? "SIGSEGV" : "SIGBUS");
	return vmcall_sig == SIGILL ? 0 : 1;
}

static int cmd_vmcall(void) { return ring3_hypercall(0) | ring3_hypercall(1); }

/* Single-stepping over an instruction the hypervisor emulates. POPF sets
 * TF, so the first trap comes after the instruction after it (SDM Vol. 1
 * 3.4.3.3, Vol. 3A 18.3.1.4): after CPUID, then after the NOP; the handler
 * clears TF there. Without the hypervisor's help the trap of the emulated
 * CPUID is lost and the first comes after the NOP (a debugger's step over
 * CPUID would run two instructions). */
#define STEP_MAX_TRAPS 16
extern const char step_after_cpuid[], step_after_nop[];
static volatile uint64_t step_rip[STEP_MAX_TRAPS];
static volatile int step_traps;

static void step_handler(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	uint64_t rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	(void)sig, (void)si;
	if (step_traps < STEP_MAX_TRAPS)
		step_rip[step_traps] = rip;
	step_traps++;
	if (rip == (uint64_t)step_after_nop || step_traps >= STEP_MAX_TRAPS)
		uc->uc_mcontext.gregs[REG_EFL] &= ~0x100LL; /* TF off: stepping ends */
}

static __attribute__((noinline)) void step_over_cpuid(void)
{
	uint32_t a = 0, b = 0, c = 0, d = 0;
	__asm__ volatile("pushfq\n\t"
			 "orq $0x100, (%%rsp)\n\t"
			 "popfq\n\t"
			 "cpuid\n"
			 ".globl step_after_cpuid\n"
			 "step_after_cpuid:\n\t"
			 "nop\n"
			 ".globl step_after_nop\n"
			 "step_after_nop:\n\t"
			 "nop\n\t"
			 "nop\n\t"
			 : "+a"(a), "=b"(b), "+c"(c), "=d"(d) : : "memory", "cc");
}

static int cmd_step(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = step_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTRAP, &sa, NULL);
	step_over_cpuid();
	int ok = step_traps == 2 && step_rip[0] == (uint64_t)step_after_cpuid && step_rip[1] == (uint64_t)step_after_nop;
	printf("hvcheck: %s step.cpuid - single-stepping over CPUID: %d traps, the first %s, the second %s\n",
	       ok ? "ok" : "not ok", step_traps,
	       step_traps > 0 && step_rip[0] == (uint64_t)step_after_cpuid ? "right after CPUID" :
	       step_traps > 0 && step_rip[0] == (uint64_t)step_after_nop ? "after the NOP after CPUID (CPUID's trap lost)" :
	       "elsewhere",
	       step_traps > 1 && step_rip[1] == (uint64_t)step_after_nop ? "after the NOP" : "not after the NOP");
	return ok ? 0 : 1;
}

static int cmd_shutdown(void)
{
	static const char msg[] = "Shutdown";
	const struct timespec ts = { 0, 200 * 1000 * 1000 };
	size_t i;

	printf("hvcheck: shutdown\n");
	fflush(stdout);
	/* Let the UART drain so the last lines reach COM1 before the emulator stops. */
	tcdrain(STDOUT_FILENO);
	tcdrain(STDERR_FILENO);
	sync();
	nanosleep(&ts, NULL);
	if (ioperm(0x8900, 1, 1) != 0 || ioperm(0xf4, 4, 1) != 0) {
		printf("hvcheck: shutdown: ioperm: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < sizeof(msg) - 1; i++)
		outb((unsigned char)msg[i], 0x8900);
	outb(0x31, 0xf4);
	nanosleep(&ts, NULL);
	printf("hvcheck: shutdown: still running after writes to ports 0x8900 and 0xf4\n");
	return 1;
}

/* Per-reason exit counts from /proc/dunehv/stats ("<nr> <NAME> <count>" lines). */
#define MAX_REASONS 80
/* The counters' slot of the hypercall instruction: VMCALL's basic exit
 * reason (18) under VMX, VMMCALL's slot under SVM (dunehv/exit_names.h);
 * hvprobe's /proc/dunehv/stats says which backend counts. */
static unsigned hypercall_slot = 18;
/* SVM only: the slot of Linux's xAPIC writes, which exit there so that the
 * hypervisor sees INIT/SIPI (DUNEHV_SVM_SLOT_APIC_WRITE); none under VMX. */
static int apic_write_slot = -1;

static int read_exit_counts(unsigned long long counts[MAX_REASONS], unsigned long long *total)
{
	FILE *f = fopen("/proc/dunehv/stats", "r");
	char line[160];
	if (!f)
		return -1;
	memset(counts, 0, sizeof(counts[0]) * MAX_REASONS);
	*total = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned nr;
		char name[64];
		unsigned long long n;
		unsigned vendor;
		if (sscanf(line, "%u %63s %llu", &nr, name, &n) == 3 && nr < MAX_REASONS)
			counts[nr] = n;
		else if (sscanf(line, "vendor=%u", &vendor) == 1) {
			hypercall_slot = vendor == DUNEHV_VENDOR_SVM ? 36 : 18;
			apic_write_slot = vendor == DUNEHV_VENDOR_SVM ? DUNEHV_SVM_SLOT_APIC_WRITE : -1;
		} else
			sscanf(line, "exits_total=%llu", total);
	}
	fclose(f);
	return 0;
}

/* Per-CPU exits from hvprobe's /proc/dunehv/cpustat: all exits, the
 * hypercalls among them (hypercall_slot: reading the counters is
 * hypercalls) and, under SVM, the xAPIC writes. */
#define MAX_CPUS 64
static int read_cpu_exits(unsigned long long total[MAX_CPUS], unsigned long long vmcalls[MAX_CPUS],
			  unsigned long long apic[MAX_CPUS])
{
	FILE *f = fopen("/proc/dunehv/cpustat", "r");
	char line[256];
	int n = 0;
	if (!f)
		return -1;
	memset(total, 0, sizeof(total[0]) * MAX_CPUS);
	memset(vmcalls, 0, sizeof(vmcalls[0]) * MAX_CPUS);
	memset(apic, 0, sizeof(apic[0]) * MAX_CPUS);
	while (fgets(line, sizeof(line), f)) {
		unsigned cpu, reason;
		unsigned long long v;
		if (sscanf(line, "cpustat cpu=%u reason=%u count=%llu", &cpu, &reason, &v) == 3) {
			if (cpu < MAX_CPUS && reason == hypercall_slot)
				vmcalls[cpu] = v;
			if (cpu < MAX_CPUS && (int)reason == apic_write_slot)
				apic[cpu] = v;
		} else if (sscanf(line, "cpustat cpu=%u apic=%*u exits=%llu", &cpu, &v) == 2 && cpu < MAX_CPUS) {
			total[cpu] = v;
			if ((int)cpu + 1 > n)
				n = (int)cpu + 1;
		}
	}
	fclose(f);
	return n;
}

/* Exits while the guest idles: one process reads the counters, sleeps, reads
 * again, so no process start-up (glibc runs CPUID) falls in the interval.
 * With hvprobe's per-CPU counters it also judges every CPU: no exit but the
 * measurement's own hypercalls and, under SVM, Linux's xAPIC writes (one
 * verdict per CPU, which says how many of those there were). */
static int cmd_idle(const char *arg)
{
	unsigned long long a[MAX_REASONS], b[MAX_REASONS], ta, tb;
	static unsigned long long ca[MAX_CPUS], va[MAX_CPUS], cb[MAX_CPUS], vb[MAX_CPUS], xa[MAX_CPUS], xb[MAX_CPUS];
	int seconds = atoi(arg);
	unsigned long long ignored;
	read_exit_counts(a, &ignored); /* learns hypercall_slot first */
	int ncpu = read_cpu_exits(ca, va, xa);
	if (seconds <= 0 || read_exit_counts(a, &ta)) {
		printf("hvcheck: idle: cannot read /proc/dunehv/stats\n");
		return 1;
	}
	sleep((unsigned)seconds);
	if (read_exit_counts(b, &tb)) {
		printf("hvcheck: idle: cannot read /proc/dunehv/stats\n");
		return 1;
	}
	if (ncpu > 0 && read_cpu_exits(cb, vb, xb) == ncpu)
		for (int c = 0; c < ncpu; c++) {
			unsigned long long apic = xb[c] - xa[c];
			unsigned long long other = (cb[c] - ca[c]) - (vb[c] - va[c]) - apic;
			char apic_note[64] = "";
			if (apic_write_slot >= 0)
				snprintf(apic_note, sizeof(apic_note), " and %llu xAPIC writes", apic);
			printf("hvcheck: %s idle.cpu%d - %llu exits other than the measurement's hypercalls%s in %d s (%llu in all)\n",
			       other == 0 ? "ok" : "not ok", c, other, apic_note, seconds, cb[c] - ca[c]);
		}
	/* the second read itself costs the EXIT_STATS hypercall: one VMCALL */
	printf("hvcheck: idle exits=%llu seconds=%d per_second=%.2f\n", tb - ta, seconds, (double)(tb - ta) / seconds);
	for (int i = 0; i < MAX_REASONS; i++)
		if (b[i] != a[i])
			printf("hvcheck: idle reason %d count %llu\n", i, b[i] - a[i]);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: hvcheck cpuid | detect | memory MIB | idle SECONDS | vmcall | step | shutdown\n");
}

int main(int argc, char **argv)
{
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		usage();
		return 2;
	}
	if (!strcmp(argv[1], "cpuid"))
		rc = cmd_cpuid(0);
	else if (!strcmp(argv[1], "detect"))
		rc = cmd_cpuid(1);
	else if (!strcmp(argv[1], "memory") && argc == 3)
		rc = cmd_memory(argv[2]);
	else if (!strcmp(argv[1], "idle") && argc == 3)
		rc = cmd_idle(argv[2]);
	else if (!strcmp(argv[1], "vmcall"))
		rc = cmd_vmcall();
	else if (!strcmp(argv[1], "step"))
		rc = cmd_step();
	else if (!strcmp(argv[1], "shutdown"))
		rc = cmd_shutdown();
	else {
		usage();
		rc = 2;
	}
	return rc;
}
