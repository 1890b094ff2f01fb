/* SPDX-License-Identifier: MIT */
/* An ordinary static program (no libdune): Linux keeps every register but
 * RAX, RCX and R11 across a system call, the vector registers included.
 * Fills XMM0-15 (and the upper halves of YMM0-15 where the CPU has AVX),
 * makes system calls with a bare SYSCALL (write, getpid, openat: in
 * dune-sandbox each goes through the monitor's C code and libc), and
 * compares. sbtest.sh runs it sandboxed; prints "ok|not ok
 * sandbox.regs.<id> - ..." and exits with the number of failures. */
#include <cpuid.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

static int has_avx(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 28)) || !(c & (1u << 27)))
		return 0;
	unsigned lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (lo & 6) == 6;
}

int main(void)
{
	static uint8_t in[16][32] __attribute__((aligned(32))), out[16][32] __attribute__((aligned(32)));
	int avx = has_avx(), failures = 0;
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 32; j++)
			in[i][j] = (uint8_t)(i * 37 + j * 11 + 1);
	memset(out, 0, sizeof(out));
	static const char msg[] = "", path[] = "/proc/self/status";
	long pid = 0;
	/* all in one asm statement, so the compiler keeps nothing of its own
	 * in the vector registers across the calls: write(1, "", 0), getpid,
	 * openat(AT_FDCWD, path, O_RDONLY) */
#define THE_CALLS \
	"mov $1, %%eax\n\tmov $1, %%edi\n\tmov %[msg], %%rsi\n\txor %%edx, %%edx\n\tsyscall\n\t" \
	"mov $39, %%eax\n\tsyscall\n\tmov %%rax, %[pid]\n\t" \
	"mov $257, %%eax\n\tmov $-100, %%rdi\n\tmov %[path], %%rsi\n\txor %%edx, %%edx\n\tsyscall\n\t"
#define THE_OPERANDS \
	: [pid] "=m"(pid) \
	: [in] "r"(in), [out] "r"(out), [msg] "r"(msg), [path] "r"(path) \
	: "rax", "rcx", "rdx", "rsi", "rdi", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", \
	  "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"
	if (avx) {
		__asm__ volatile(
#define L(n) "vmovdqa " #n "*32(%[in]), %%ymm" #n "\n\t"
#define S(n) "vmovdqa %%ymm" #n ", " #n "*32(%[out])\n\t"
			L(0) L(1) L(2) L(3) L(4) L(5) L(6) L(7) L(8) L(9) L(10) L(11) L(12) L(13) L(14) L(15)
			THE_CALLS
			S(0) S(1) S(2) S(3) S(4) S(5) S(6) S(7) S(8) S(9) S(10) S(11) S(12) S(13) S(14) S(15)
			"vzeroupper"
			THE_OPERANDS);
#undef L
#undef S
	} else {
		__asm__ volatile(
#define L(n) "movdqa " #n "*32(%[in]), %%xmm" #n "\n\t"
#define S(n) "movdqa %%xmm" #n ", " #n "*32(%[out])\n\t"
			L(0) L(1) L(2) L(3) L(4) L(5) L(6) L(7) L(8) L(9) L(10) L(11) L(12) L(13) L(14) L(15)
			THE_CALLS
			S(0) S(1) S(2) S(3) S(4) S(5) S(6) S(7) S(8) S(9) S(10) S(11) S(12) S(13) S(14) S(15)
			THE_OPERANDS);
#undef L
#undef S
	}
	int width = avx ? 32 : 16, bad = 0;
	for (int i = 0; i < 16; i++)
		bad += memcmp(in[i], out[i], (size_t)width) != 0;
	printf("%s sandbox.regs.vector-across-syscall - %s0-15 kept across write, getpid (pid %ld) and openat: %d differ\n",
	       bad ? "not ok" : "ok", avx ? "YMM" : "XMM", pid, bad);
	failures += bad != 0;
	return failures;
}
