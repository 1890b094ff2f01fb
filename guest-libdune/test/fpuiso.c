/*
 * fpuiso: two Dune processes on one CPU never see each other's FPU, SSE or
 * AVX registers. A Dune context runs with its thread's own FPU registers
 * (dune.ko loads them before each run and keeps them from being switched
 * out meanwhile), so every switch between the two processes must save one
 * thread's registers and load the other's.
 *
 * Both processes are pinned to CPU 0 and enter Dune mode; each fills the 16
 * YMM registers, MXCSR and the x87 top of stack with a pattern of its own,
 * makes a system call that yields the CPU to the other (sched_yield from
 * Dune mode, in the same asm block: no compiler code touches a register in
 * between), and reads them all back, many rounds. Checks:
 *   fpuiso.registers  every round read back the process's own values
 *   fpuiso.switches   the two actually took turns on CPU 0 (the context
 *                     switches of the rounds, by getrusage; both enter
 *                     Dune mode before either starts), so the check meant
 *                     something
 * Prints "fpuiso: ok|not ok <id> - ...", then "fpuiso: done failures=K".
 *
 *   fpuiso [ROUNDS]   (default 2000)
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../dune.h"

#define VERDICT_PROGRAM "fpuiso"
#include "verdict.h"

/* What one round loads and reads back. */
struct fpu_image {
	uint8_t ymm[16][32];
	uint32_t mxcsr;
	uint32_t pad;
	double st0;
} __attribute__((aligned(32)));

/* One child's tally, in a shared page. */
struct tally {
	uint64_t rounds, bad_rounds, other_pattern, switches;
	int entered;
};

static void fill(struct fpu_image *img, uint8_t seed)
{
	for (int r = 0; r < 16; r++)
		for (int b = 0; b < 32; b++)
			img->ymm[r][b] = (uint8_t)(seed * 16 + r) ^ (uint8_t)(b * 7);
	/* rounding mode and masks: the default 0x1f80 with rounding toward +inf
	 * for one process, toward zero for the other */
	img->mxcsr = seed == 1 ? 0x5f80 : 0x7f80;
	img->pad = 0;
	img->st0 = seed * 1000.25;
}

/* Loads in, yields the CPU by a system call from Dune mode, stores out. */
static void round_trip(const struct fpu_image *in, struct fpu_image *out)
{
	__asm__ volatile(
		"vmovdqa 0x000(%[i]), %%ymm0\n\tvmovdqa 0x020(%[i]), %%ymm1\n\t"
		"vmovdqa 0x040(%[i]), %%ymm2\n\tvmovdqa 0x060(%[i]), %%ymm3\n\t"
		"vmovdqa 0x080(%[i]), %%ymm4\n\tvmovdqa 0x0a0(%[i]), %%ymm5\n\t"
		"vmovdqa 0x0c0(%[i]), %%ymm6\n\tvmovdqa 0x0e0(%[i]), %%ymm7\n\t"
		"vmovdqa 0x100(%[i]), %%ymm8\n\tvmovdqa 0x120(%[i]), %%ymm9\n\t"
		"vmovdqa 0x140(%[i]), %%ymm10\n\tvmovdqa 0x160(%[i]), %%ymm11\n\t"
		"vmovdqa 0x180(%[i]), %%ymm12\n\tvmovdqa 0x1a0(%[i]), %%ymm13\n\t"
		"vmovdqa 0x1c0(%[i]), %%ymm14\n\tvmovdqa 0x1e0(%[i]), %%ymm15\n\t"
		"ldmxcsr 0x200(%[i])\n\t"
		"fldl 0x208(%[i])\n\t"
		"mov %[nr], %%eax\n\t"
		"syscall\n\t"
		"fstpl 0x208(%[o])\n\t"
		"stmxcsr 0x200(%[o])\n\t"
		"vmovdqa %%ymm0, 0x000(%[o])\n\tvmovdqa %%ymm1, 0x020(%[o])\n\t"
		"vmovdqa %%ymm2, 0x040(%[o])\n\tvmovdqa %%ymm3, 0x060(%[o])\n\t"
		"vmovdqa %%ymm4, 0x080(%[o])\n\tvmovdqa %%ymm5, 0x0a0(%[o])\n\t"
		"vmovdqa %%ymm6, 0x0c0(%[o])\n\tvmovdqa %%ymm7, 0x0e0(%[o])\n\t"
		"vmovdqa %%ymm8, 0x100(%[o])\n\tvmovdqa %%ymm9, 0x120(%[o])\n\t"
		"vmovdqa %%ymm10, 0x140(%[o])\n\tvmovdqa %%ymm11, 0x160(%[o])\n\t"
		"vmovdqa %%ymm12, 0x180(%[o])\n\tvmovdqa %%ymm13, 0x1a0(%[o])\n\t"
		"vmovdqa %%ymm14, 0x1c0(%[o])\n\tvmovdqa %%ymm15, 0x1e0(%[o])\n\t"
		"vzeroupper\n\t"
		"ldmxcsr %[dflt]"
		:
		: [i] "r"(in), [o] "r"(out), [nr] "i"(SYS_sched_yield), [dflt] "m"((uint32_t){0x1f80})
		: "rax", "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
		  "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "st");
}

static uint64_t context_switches(void)
{
	struct rusage ru;
	return getrusage(RUSAGE_SELF, &ru) ? 0 : (uint64_t)(ru.ru_nvcsw + ru.ru_nivcsw);
}

static int child(uint8_t seed, struct tally *t, const struct tally *peer, long rounds)
{
	cpu_set_t cpu0;
	struct fpu_image in, out, other;

	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	if (sched_setaffinity(0, sizeof(cpu0), &cpu0) || dune_init_and_enter())
		return 2;
	/* Both in Dune mode before either starts its rounds, so that each
	 * round's yield has the other to switch to (a child still entering
	 * would leave the first's yields with no one to run). */
	__atomic_store_n(&t->entered, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&peer->entered, __ATOMIC_ACQUIRE))
		sched_yield();
	uint64_t switches_before = context_switches();
	fill(&in, seed);
	fill(&other, seed == 1 ? 2 : 1);
	for (long i = 0; i < rounds; i++) {
		memset(&out, 0, sizeof(out));
		round_trip(&in, &out);
		t->rounds++;
		if (memcmp(out.ymm, in.ymm, sizeof(in.ymm)) || out.mxcsr != in.mxcsr || out.st0 != in.st0) {
			t->bad_rounds++;
			if (!memcmp(out.ymm[0], other.ymm[0], 32) || out.mxcsr == other.mxcsr)
				t->other_pattern++;
		}
	}
	t->switches = context_switches() - switches_before;
	return 0;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 2000;
	struct tally *t = mmap(NULL, 2 * sizeof(*t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid[2];
	int st[2] = {-1, -1};

	if (t == MAP_FAILED || !__builtin_cpu_supports("avx")) {
		printf("fpuiso: no shared page or no AVX\n");
		return 2;
	}
	for (int i = 0; i < 2; i++) {
		pid[i] = fork();
		if (pid[i] == 0) {
			alarm(120); /* a stuck child fails the check instead of hanging it */
			_exit(child((uint8_t)(i + 1), &t[i], &t[1 - i], rounds));
		}
	}
	for (int i = 0; i < 2; i++)
		if (pid[i] > 0)
			waitpid(pid[i], &st[i], 0);
	int ended = st[0] == 0 && st[1] == 0;
	verdict(ended && t[0].rounds == (uint64_t)rounds && t[1].rounds == (uint64_t)rounds && !t[0].bad_rounds &&
			!t[1].bad_rounds,
		"fpuiso.registers",
		"%ld rounds each of two Dune processes on CPU 0: YMM0-15, MXCSR and ST0 read back wrong in %llu and %llu "
		"rounds (the other's values: %llu and %llu); exit statuses 0x%x 0x%x",
		rounds, (unsigned long long)t[0].bad_rounds, (unsigned long long)t[1].bad_rounds,
		(unsigned long long)t[0].other_pattern, (unsigned long long)t[1].other_pattern, st[0], st[1]);
	verdict(ended && t[0].switches >= (uint64_t)rounds / 2 && t[1].switches >= (uint64_t)rounds / 2, "fpuiso.switches",
		"context switches: %llu and %llu (at least %ld each: the two took turns)", (unsigned long long)t[0].switches,
		(unsigned long long)t[1].switches, rounds / 2);
	printf("fpuiso: done failures=%d\n", verdict_failures);
	return verdict_failures ? 1 : 0;
}
