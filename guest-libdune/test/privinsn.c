/*
 * privinsn: a Dune process (ring 0 of its own context) runs privileged and
 * odd instructions, one per child process. Each must end the child's Dune
 * session cleanly (libdune reports the unhandled VM exit and exits 1) or
 * raise the process's own exception (its handler exits 100 + vector); it
 * must never simply run (exit 0), and the machine must go on. XSAVES alone
 * may run where it saves no supervisor state (SVM: IA32_XSS = 0). Hardening
 * issue, "A Dune process that runs every privileged or odd instruction".
 *
 *   privinsn         every instruction of the table
 *
 * One verdict per instruction, "privinsn: ok privinsn.<name> - <outcome>" or
 * "privinsn: not ok ...", then "privinsn: done failures=K".
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../dune.h"

#define VERDICT_PROGRAM "privinsn"
#include "verdict.h"

static uint8_t xsave_area[4096] __attribute__((aligned(64)));

/* Each body runs in ring 0 of the child's Dune context. */
/* Exit status of an XSAVES that saved no supervisor state component. */
#define XSAVES_USER_ONLY 3

static void do_xsaves(void)
{
	/* every component, supervisor ones included if IA32_XSS were Linux's:
	 * VMX makes it #UD; SVM cannot, and runs Dune contexts with XSS = 0,
	 * so XCOMP_BV (bytes 520-527 of the area) must name no component
	 * beyond XCR0's user ones */
	__asm__ volatile("xsaves64 (%0)" ::"r"(xsave_area), "a"(~0u), "d"(~0u) : "memory");
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	uint64_t xcomp_bv, xcr0 = ((uint64_t)hi << 32) | lo;
	__builtin_memcpy(&xcomp_bv, xsave_area + 520, sizeof(xcomp_bv));
	if (!(xcomp_bv & ~(xcr0 | 1ull << 63)))
		_exit(XSAVES_USER_ONLY);
}
static void do_xrstors(void)
{
	__asm__ volatile("xrstors64 (%0)" ::"r"(xsave_area), "a"(~0u), "d"(~0u) : "memory");
}
static void do_rdpmc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdpmc" : "=a"(lo), "=d"(hi) : "c"(0));
}
static void do_vmxon(void)
{
	uint64_t pa = 0;
	__asm__ volatile("vmxon %0" ::"m"(pa) : "cc", "memory");
}
static void do_vmread(void)
{
	uint64_t v;
	__asm__ volatile("vmread %1, %0" : "=r"(v) : "r"(0x681eull) : "cc");
}
static void do_invept(void)
{
	struct { uint64_t eptp, zero; } d = {0, 0};
	__asm__ volatile("invept %0, %1" ::"m"(d), "r"(2ull) : "cc", "memory");
}
static void do_vmfunc(void) { __asm__ volatile("vmfunc" ::"a"(0), "c"(0)); }
static void do_xsetbv_bad(void) { __asm__ volatile("xsetbv" ::"c"(0), "a"(0), "d"(0)); }
static void do_mov_cr8(void) { __asm__ volatile("mov %0, %%cr8" ::"r"(15ull)); }
static void do_mov_dr7(void) { __asm__ volatile("mov %0, %%dr7" ::"r"(0x400ull)); }
static void do_out(void) { __asm__ volatile("outb %%al, $0x80" ::"a"(0)); }
static void do_in(void)
{
	uint8_t v;
	__asm__ volatile("inb $0x64, %0" : "=a"(v));
}
static void do_monitor(void) { __asm__ volatile("monitor" ::"a"(xsave_area), "c"(0), "d"(0)); }
static void do_mwait(void) { __asm__ volatile("mwait" ::"a"(0), "c"(0)); }
static void do_invd(void) { __asm__ volatile("invd"); }
static void do_wbinvd(void) { __asm__ volatile("wbinvd"); }
static void do_getsec(void) { __asm__ volatile("getsec" ::"a"(0)); }
static void do_wrmsr_lstar(void) { __asm__ volatile("wrmsr" ::"c"(0xc0000082u), "a"(0), "d"(0)); }
static void do_wrmsr_efer(void) { __asm__ volatile("wrmsr" ::"c"(0xc0000080u), "a"(0x500u), "d"(0)); }
static void do_wrmsr_star(void) { __asm__ volatile("wrmsr" ::"c"(0xc0000081u), "a"(0), "d"(0)); }

static const struct {
	const char *name;
	void (*body)(void);
} table[] = {
	{"xsaves", do_xsaves},     {"xrstors", do_xrstors},   {"rdpmc", do_rdpmc},     {"vmxon", do_vmxon},
	{"vmread", do_vmread},     {"invept", do_invept},     {"vmfunc", do_vmfunc},   {"xsetbv-bad", do_xsetbv_bad},
	{"mov-cr8", do_mov_cr8},   {"mov-dr7", do_mov_dr7},   {"out", do_out},         {"in", do_in},
	{"monitor", do_monitor},   {"mwait", do_mwait},       {"invd", do_invd},       {"wbinvd", do_wbinvd},
	{"getsec", do_getsec},     {"wrmsr-lstar", do_wrmsr_lstar}, {"wrmsr-efer", do_wrmsr_efer},
	{"wrmsr-star", do_wrmsr_star},
};

static void do_nothing(void) { __asm__ volatile("" ::: "memory"); }
static int body_is_xsaves(void (*body)(void)) { return body == do_xsaves; }

static void on_ud(struct dune_tf *tf) { (void)tf; _exit(100 + T_ILLOP); }
static void on_gp(struct dune_tf *tf) { (void)tf; _exit(100 + T_GPFLT); }

/* The child's exit status: 0 ran, 1 session ended (libdune), 100 + vector. */
static int run_one(void (*body)(void))
{
	pid_t pid = fork();
	if (pid == 0) {
		alarm(60); /* a stuck child fails its check instead of hanging the test */
		if (dune_init_and_enter())
			_exit(2);
		dune_register_intr_handler(T_ILLOP, on_ud);
		dune_register_intr_handler(T_GPFLT, on_gp);
		body();
		_exit(0);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

static const char *outcome(int st, char *buf, size_t n)
{
	if (st == 0)
		return "it ran";
	if (st == 1)
		return "the session ended (unhandled VM exit)";
	if (st == 100 + T_ILLOP)
		return "#UD in the process";
	if (st == 100 + T_GPFLT)
		return "#GP in the process";
	if (st == XSAVES_USER_ONLY)
		return "it ran without any supervisor state (IA32_XSS = 0 in Dune mode)";
	snprintf(buf, n, "child status %d", st);
	return buf;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		char id[64], buf[32];
		int st = run_one(table[i].body);
		snprintf(id, sizeof(id), "privinsn.%s", table[i].name);
		verdict(st == 1 || st == 100 + T_ILLOP || st == 100 + T_GPFLT || (body_is_xsaves(table[i].body) && st == XSAVES_USER_ONLY),
			id, "%s", outcome(st, buf, sizeof(buf)));
	}
	/* the machine goes on: a plain Dune process still runs to its end */
	int st = run_one(do_nothing);
	verdict(st == 0, "privinsn.after", "a Dune process started after all of them runs to its end (status %d)", st);
	printf("privinsn: done failures=%d\n", verdict_failures);
	return verdict_failures ? 1 : 0;
}
