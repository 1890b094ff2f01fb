/*
 * ring3gate: attacks from ring 3 of a Dune process on the way into its
 * ring 0 (hardening issue, item 7: "ring 3 inside Dune can take ring 0").
 * Each attack runs in a fresh child: it enters Dune, jumps to ring 3, and
 * the ring-3 code tries to make libdune's entry code trust something ring 3
 * can write. Ring 3 knows the per-thread block's layout (upstream's) and may
 * read it, as an attacker in upstream's sandbox could, since libdune maps
 * everything with the user bit.
 *
 *   ring3gate.forged-kernel-mode  WRGSBASE to a copy of the block that says
 *                                 "in ring 0", then SYSCALL: must still reach
 *                                 the syscall handler (before: a real Linux
 *                                 system call, behind the monitor's back)
 *   ring3gate.forged-syscall-stack  a copy whose TSS.rsp0 points at ring-0
 *                                 data: SYSCALL must not write there
 *   ring3gate.forged-trap-stack   a copy whose IST1 points at ring-0 data,
 *                                 then #UD: the trap must not land there
 *   ring3gate.gs-selector         MOV GS (base 0), SYSCALL and #UD: both reach
 *                                 their handlers
 *   ring3gate.iopl                POPF with IOPL 3 in ring 3 (ignored by the
 *                                 CPU), SYSCALL: still from ring 3
 *   ring3gate.bad-rip             ring 0 asks for ring 3 at a non-canonical
 *                                 RIP: a #GP of ring 3, not of ring 0
 *   ring3gate.kernel-gs-base      IA32_KERNEL_GS_BASE in Dune is the context's
 *                                 own: written and read back around a system
 *                                 call, and Linux's (the task's GS base)
 *                                 unchanged
 *
 * One verdict per attack ("ring3gate: ok|not ok <id> - <detail>"), then
 * "ring3gate: done failures=K".
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <cpuid.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../dune.h"

#define VERDICT_PROGRAM "ring3gate"
#include "verdict.h"

#define SYS_DONE 1000     /* the handler's "leave ring 3" call */
#define JUDGED_NOT_OK 10  /* a child's status after printing "not ok" (libdune's own exits are 1) */

/* upstream's struct dune_percpu: what an attacker reads from libdune's source */
#define BLOCK_IN_USER 32
#define BLOCK_RSP0 44
#define BLOCK_IST1 76
#define BLOCK_COPY 512

#define MSR_GS_BASE 0xc0000101u
#define MSR_KERNEL_GS_BASE 0xc0000102u

static uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}
static void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

/* ---- ring 3: no TLS, no library calls ---- */

static long user_syscall1(long nr, long a0)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a0) : "rcx", "r11", "memory");
	return r;
}
static uint64_t user_rdgsbase(void)
{
	uint64_t v;
	__asm__ volatile("rdgsbase %0" : "=r"(v));
	return v;
}
static void user_wrgsbase(uint64_t v) { __asm__ volatile("wrgsbase %0" ::"r"(v) : "memory"); }

static uint8_t fake_block[4096] __attribute__((aligned(4096)));
static uint8_t victim[16384] __attribute__((aligned(64))); /* stands for ring-0 data */
static volatile uint64_t real_block;                        /* ring 0's GS base, set before the jump */
static volatile long r3_result;
static volatile uint64_t r3_gs_after;

/* A copy of the real block with one field changed, loaded as GS base. */
static void user_forge(unsigned offset, uint64_t value)
{
	const volatile uint8_t *src = (const volatile uint8_t *)real_block;
	for (int i = 0; i < BLOCK_COPY; i++)
		fake_block[i] = src[i];
	__builtin_memcpy(fake_block + offset, &value, 8); /* the TSS fields are unaligned (packed) */
	user_wrgsbase((uint64_t)fake_block);
}

static void user_forged_kernel_mode(void)
{
	uint64_t own = user_rdgsbase();
	user_forge(BLOCK_IN_USER, 0);
	r3_result = user_syscall1(SYS_getpid, 0);
	r3_gs_after = user_rdgsbase();
	user_wrgsbase(own);
	user_syscall1(SYS_DONE, 0);
}

static void user_forged_syscall_stack(void)
{
	uint64_t own = user_rdgsbase();
	user_forge(BLOCK_RSP0, (uint64_t)(victim + sizeof(victim)));
	r3_result = user_syscall1(SYS_getpid, 0);
	user_wrgsbase(own);
	user_syscall1(SYS_DONE, 0);
}

static void user_forged_trap_stack(void)
{
	user_forge(BLOCK_IST1, (uint64_t)(victim + sizeof(victim)));
	__asm__ volatile("ud2");
	user_syscall1(SYS_DONE, -1);
}

static void user_gs_selector(void)
{
	__asm__ volatile("mov %0, %%gs" ::"r"(0x2b) : "memory"); /* GS base := the descriptor's, 0 */
	r3_result = user_syscall1(SYS_getpid, 0);
	__asm__ volatile("ud2");
	user_syscall1(SYS_DONE, -1);
}

static void user_iopl(void)
{
	__asm__ volatile("pushfq\n\torq $0x3000, (%%rsp)\n\tpopfq" ::: "memory", "cc");
	r3_result = user_syscall1(SYS_getpid, 0);
	user_syscall1(SYS_DONE, 0);
}

/* ---- ring 0 ---- */

static long syscalls_seen, getpids_seen;
static uint64_t last_syscall_rflags;
static void on_syscall(struct dune_tf *tf)
{
	syscalls_seen++;
	if (tf->rax == SYS_DONE)
		dune_ret_from_user((int)ARG0(tf));
	if (tf->rax == SYS_getpid) {
		getpids_seen++;
		last_syscall_rflags = tf->rflags;
	}
	dune_passthrough_syscall(tf);
}

static uint64_t trap_cs;
static void on_ud(struct dune_tf *tf)
{
	trap_cs = tf->cs;
	dune_ret_from_user(6);
}
static void on_gp(struct dune_tf *tf)
{
	trap_cs = tf->cs;
	dune_ret_from_user(13);
}

static int run_user_at(uint64_t rip)
{
	static uint8_t *stack;
	if (!stack)
		stack = mmap(NULL, 64 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	struct dune_tf tf;
	memset(&tf, 0, sizeof(tf));
	tf.rip = rip;
	tf.rsp = (uint64_t)(stack + 64 * 1024 - 8);
	tf.rflags = 0x2;
	real_block = rdmsr(MSR_GS_BASE);
	int r = dune_jump_to_user(&tf);
	/* whatever ring 3 did to GS, ring 0 goes on with its own block (a
	 * no-op where the entry was right) */
	wrmsr(MSR_GS_BASE, real_block);
	return r;
}
static int run_user(void (*fn)(void)) { return run_user_at((uint64_t)fn); }

static int victim_intact(void)
{
	for (size_t i = 0; i < sizeof(victim); i++)
		if (victim[i] != 0xa5)
			return 0;
	return 1;
}

/* Each attack runs in ring 0 of a fresh child's Dune context and prints
 * its verdict. */
static void attack_forged_kernel_mode(const char *id)
{
	int r = run_user(user_forged_kernel_mode);
	verdict(r == 0 && r3_result == getpid() && getpids_seen == 1 && r3_gs_after == (uint64_t)fake_block, id,
		"getpid %ld, seen by the handler %ld time(s), ring 3's GS base %s afterwards", r3_result, getpids_seen,
		r3_gs_after == (uint64_t)fake_block ? "kept" : "lost");
}

static void attack_forged_syscall_stack(const char *id)
{
	int r = run_user(user_forged_syscall_stack);
	int intact = victim_intact();
	verdict(r == 0 && intact && getpids_seen == 1 && r3_result == getpid(), id,
		"ring-0 data %s, getpid %ld seen %ld time(s)", intact ? "untouched" : "overwritten by the entry",
		r3_result, getpids_seen);
}

static void attack_forged_trap_stack(const char *id)
{
	int r = run_user(user_forged_trap_stack);
	int intact = victim_intact();
	verdict(r == 6 && (trap_cs & 3) == 3 && intact, id, "#UD handled (%d, cs 0x%llx), ring-0 data %s", r,
		(unsigned long long)trap_cs, intact ? "untouched" : "overwritten by the trap entry");
}

static void attack_gs_selector(const char *id)
{
	int r = run_user(user_gs_selector);
	verdict(r == 6 && (trap_cs & 3) == 3 && getpids_seen == 1 && r3_result == getpid(), id,
		"with GS base 0: getpid %ld seen %ld time(s), then #UD (%d, cs 0x%llx)", r3_result, getpids_seen, r,
		(unsigned long long)trap_cs);
}

static void attack_iopl(const char *id)
{
	int r = run_user(user_iopl);
	verdict(r == 0 && getpids_seen == 1 && (last_syscall_rflags & 0x3000) == 0, id,
		"SYSCALL after POPF(IOPL 3): seen by the handler %ld time(s), ring 3's RFLAGS 0x%llx", getpids_seen,
		(unsigned long long)last_syscall_rflags);
}

static void attack_bad_rip(const char *id)
{
	int r = run_user_at(0x8000000000001000ull);
	verdict(r == 13 && (trap_cs & 3) == 3, id, "#GP (%d) in ring %llu", r, (unsigned long long)(trap_cs & 3));
}

static void check_kernel_gs_base(const char *id)
{
	const uint64_t dune_value = 0x5a5a5a5a000ull;
	wrmsr(MSR_KERNEL_GS_BASE, dune_value);
	uint64_t before = rdmsr(MSR_KERNEL_GS_BASE);
	long pid = syscall(SYS_getpid); /* Linux runs in between */
	uint64_t after = rdmsr(MSR_KERNEL_GS_BASE);
	unsigned long linux_gs = 0;
	syscall(SYS_arch_prctl, ARCH_GET_GS, &linux_gs);
	verdict(pid == getpid() && before == dune_value && after == dune_value && linux_gs == 0x1234000ul, id,
		"in Dune 0x%llx, after a system call 0x%llx; the task's GS base in Linux 0x%lx (set to 0x1234000)",
		(unsigned long long)before, (unsigned long long)after, linux_gs);
}

static const struct {
	const char *id;
	void (*run)(const char *id);
} attacks[] = {
	{"ring3gate.forged-kernel-mode", attack_forged_kernel_mode},
	{"ring3gate.forged-syscall-stack", attack_forged_syscall_stack},
	{"ring3gate.forged-trap-stack", attack_forged_trap_stack},
	{"ring3gate.gs-selector", attack_gs_selector},
	{"ring3gate.iopl", attack_iopl},
	{"ring3gate.bad-rip", attack_bad_rip},
	{"ring3gate.kernel-gs-base", check_kernel_gs_base},
};

static int has_fsgsbase(void)
{
	unsigned a, b, c, d;
	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & 1);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!has_fsgsbase()) {
		verdict(0, "ring3gate.fsgsbase", "the CPU has no FSGSBASE: ring 3 cannot forge a GS base this way");
		printf("ring3gate: done failures=%d\n", verdict_failures);
		return 1;
	}
	memset(victim, 0xa5, sizeof(victim));
	for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++) {
		pid_t pid = fork();
		if (pid == 0) {
			alarm(60); /* a stuck attack fails by name */
			verdict_failures = 0; /* this child's verdict only */
			syscall(SYS_arch_prctl, ARCH_SET_GS, 0x1234000ul);
			if (dune_init_and_enter())
				_exit(2);
			dune_register_syscall_handler(on_syscall);
			dune_register_intr_handler(T_ILLOP, on_ud);
			dune_register_intr_handler(T_GPFLT, on_gp);
			attacks[i].run(attacks[i].id);
			_exit(verdict_failures ? JUDGED_NOT_OK : 0);
		}
		int st = 0;
		if (pid < 0 || waitpid(pid, &st, 0) != pid)
			st = -1;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			continue;
		if (WIFEXITED(st) && WEXITSTATUS(st) == JUDGED_NOT_OK) {
			verdict_failures++; /* the child printed it */
			continue;
		}
		verdict(0, attacks[i].id, "the attacked child ended with status 0x%x before it could judge", st);
	}
	printf("ring3gate: done failures=%d\n", verdict_failures);
	return verdict_failures ? 1 : 0;
}
