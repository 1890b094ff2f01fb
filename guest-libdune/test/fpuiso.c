/*
 * fpuiso: two Dune processes on one CPU never see each other's FPU, SSE or
 * AVX registers. A Dune context runs with its thread's own FPU registers
 * (dune.ko loads them before each run and keeps them from being switched
 * out meanwhile), so every switch between the two processes must save one
 * thread's registers and load the other's.
 *
 * Both processes are pinned to CPU 0 and enter Dune mode; each fills the 16
 * YMM registers, MXCSR and the x87 top of stack with a pattern of its own,
 * hands the turn to the other and sleeps until the turn comes back (a word
 * in a shared page and FUTEX_WAKE/FUTEX_WAIT system calls from Dune mode,
 * in the same asm block: no compiler code touches a register in between),
 * and reads them all back, many rounds. The turn can only come back after
 * the other process ran its own round on CPU 0, so every round is a switch
 * to the other process and back, whatever the scheduler's bookkeeping (a
 * sched_yield does not always switch: CFS keeps running the yielder while
 * the other is far ahead in virtual run time, as after a host stall in an
 * emulator). Checks:
 *   fpuiso.registers  every round read back the process's own values
 *   fpuiso.switches   the two actually took turns on CPU 0 (at least one
 *                     context switch per round, by getrusage), so the
 *                     check meant something
 * Prints "fpuiso: ok|not ok <id> - ...", then "fpuiso: done failures=K".
 *
 *   fpuiso [ROUNDS]   (default 2000)
 */
#define _GNU_SOURCE
#include <linux/futex.h>
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
};

/* Whose round it is (a child's seed, 1 or 2), in the same shared page. */
struct shared {
	struct tally tally[2];
	uint32_t turn;
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

/* Loads in, gives the turn to the peer, waits by system calls from Dune mode
 * until it is back (futex on the shared word: wake the peer, then wait while
 * the word still names the peer), stores out. */
static void round_trip(const struct fpu_image *in, struct fpu_image *out, uint32_t *turn, uint32_t me,
		       uint32_t peer)
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
		/* the peer's turn; futex(turn, FUTEX_WAKE, 1) */
		"movl %[peer], (%[t])\n\t"
		"mov %[nr], %%eax\n\tmov %[t], %%rdi\n\tmov %[wake], %%esi\n\tmov $1, %%edx\n\t"
		"syscall\n"
		/* until the turn is ours: futex(turn, FUTEX_WAIT, peer, NULL) */
		"1:\n\t"
		"cmpl %[me], (%[t])\n\tje 2f\n\t"
		"mov %[nr], %%eax\n\tmov %[t], %%rdi\n\tmov %[wait], %%esi\n\tmov %[peer], %%edx\n\t"
		"xor %%r10d, %%r10d\n\t"
		"syscall\n\t"
		"jmp 1b\n"
		"2:\n\t"
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
		: [i] "r"(in), [o] "r"(out), [t] "r"(turn), [me] "r"(me), [peer] "r"(peer), [nr] "i"(SYS_futex),
		  [wake] "i"(FUTEX_WAKE), [wait] "i"(FUTEX_WAIT), [dflt] "m"((uint32_t){0x1f80})
		: "rax", "rcx", "rdx", "rsi", "rdi", "r10", "r11", "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3",
		  "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
		  "st");
}

/* Outside a round: the turn to the peer (its last round waits for it). */
static void hand_over(uint32_t *turn, uint32_t peer)
{
	__atomic_store_n(turn, peer, __ATOMIC_RELEASE);
	syscall(SYS_futex, turn, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static uint64_t context_switches(void)
{
	struct rusage ru;
	return getrusage(RUSAGE_SELF, &ru) ? 0 : (uint64_t)(ru.ru_nvcsw + ru.ru_nivcsw);
}

static int child(uint8_t seed, struct shared *sh, long rounds)
{
	cpu_set_t cpu0;
	struct fpu_image in, out, other;
	struct tally *t = &sh->tally[seed - 1];
	uint32_t me = seed, peer = seed == 1 ? 2 : 1;

	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	if (sched_setaffinity(0, sizeof(cpu0), &cpu0) || dune_init_and_enter())
		return 2;
	/* Child 1 has the first turn (sh->turn starts at 1): its first round
	 * waits until child 2, in Dune mode, ran a round of its own. */
	while (__atomic_load_n(&sh->turn, __ATOMIC_ACQUIRE) != me)
		syscall(SYS_futex, &sh->turn, FUTEX_WAIT, peer, NULL, NULL, 0);
	uint64_t switches_before = context_switches();
	fill(&in, seed);
	fill(&other, (uint8_t)peer);
	for (long i = 0; i < rounds; i++) {
		memset(&out, 0, sizeof(out));
		round_trip(&in, &out, &sh->turn, me, peer);
		t->rounds++;
		if (memcmp(out.ymm, in.ymm, sizeof(in.ymm)) || out.mxcsr != in.mxcsr || out.st0 != in.st0) {
			t->bad_rounds++;
			if (!memcmp(out.ymm[0], other.ymm[0], 32) || out.mxcsr == other.mxcsr)
				t->other_pattern++;
		}
	}
	t->switches = context_switches() - switches_before;
	hand_over(&sh->turn, peer);
	return 0;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 2000;
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid[2];
	int st[2] = {-1, -1};

	if (sh == MAP_FAILED || !__builtin_cpu_supports("avx")) {
		printf("fpuiso: no shared page or no AVX\n");
		return 2;
	}
	sh->turn = 1;
	for (int i = 0; i < 2; i++) {
		pid[i] = fork();
		if (pid[i] == 0) {
			alarm(120); /* a stuck child fails the check instead of hanging it */
			_exit(child((uint8_t)(i + 1), sh, rounds));
		}
	}
	for (int i = 0; i < 2; i++)
		if (pid[i] > 0)
			waitpid(pid[i], &st[i], 0);
	const struct tally *t = sh->tally;
	int ended = st[0] == 0 && st[1] == 0;
	verdict(ended && t[0].rounds == (uint64_t)rounds && t[1].rounds == (uint64_t)rounds && !t[0].bad_rounds &&
			!t[1].bad_rounds,
		"fpuiso.registers",
		"%ld rounds each of two Dune processes on CPU 0: YMM0-15, MXCSR and ST0 read back wrong in %llu and %llu "
		"rounds (the other's values: %llu and %llu); exit statuses 0x%x 0x%x",
		rounds, (unsigned long long)t[0].bad_rounds, (unsigned long long)t[1].bad_rounds,
		(unsigned long long)t[0].other_pattern, (unsigned long long)t[1].other_pattern, st[0], st[1]);
	/* each round waits for the other's round on the same CPU: a switch */
	verdict(ended && t[0].switches >= (uint64_t)rounds && t[1].switches >= (uint64_t)rounds, "fpuiso.switches",
		"context switches in the rounds: %llu and %llu (at least one per round, %ld each: the two took turns)",
		(unsigned long long)t[0].switches, (unsigned long long)t[1].switches, rounds);
	printf("fpuiso: done failures=%d\n", verdict_failures);
	return verdict_failures ? 1 : 0;
}
