/*
 * faultloop: many page faults that the process's own #PF handler fixes and
 * returns from, in ring 0 and in ring 3. A regression program for an
 * emulator defect (Bochs 3.0 with more than one CPU): a VM exit taken right
 * after an exception was delivered saved a stale RIP, so the guest re-ran
 * the faulting instruction on the handler's stack at the handler's CPL.
 * Every round here checks that the faulting store resumed with the same RSP
 * and CPL, that the #PF handler ran exactly once for it, and that the value
 * landed; the handler checks the frame it was given.
 *
 *   faultloop [N]    N rounds of each check (default 5000)
 *
 * Each check prints one machine-readable verdict, "faultloop: ok <id> -
 * <detail>" or "faultloop: not ok <id> - <detail>" (ids faultloop.ring0 and
 * faultloop.ring3; faultloop.enter only when entering Dune fails), then
 * "faultloop: done failures=K"; the exit status is 0 only if all passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../dune.h"

#define VERDICT_PROGRAM "faultloop"
#include "verdict.h"

/* Pages of our own, 4 KiB each, away from everything map_full maps (the
 * identity 4 GiB, the mmap and stack windows, the page pool). */
#define R0_VA 0x600000000000ull            /* ring 0's page, supervisor */
#define U_VA_A 0x600000200000ull           /* ring 3's two pages, user */
#define U_VA_B (U_VA_A + PGSIZE)
#define SYS_FAULTLOOP_DONE 0xfa17           /* private: leave ring 3 */

/*
 * The faulting store, with RSP read right before and right after it in the
 * same asm block. Before the store, the expected RIP (the store's address)
 * and RSP go to memory for the #PF handler to compare with its trap frame.
 * If RSP changed across the store, it is put back (so that the program can
 * go on and report), and before != after tells the caller.
 */
#define FAULTING_STORE(ptr, val, before, after, exp_rip, exp_rsp)                          \
	do {                                                                               \
		uint64_t t_;                                                               \
		__asm__ volatile("lea 1f(%%rip), %[t]\n\t"                                 \
				 "mov %[t], %[erip]\n\t"                                   \
				 "mov %%rsp, %[b]\n\t"                                     \
				 "mov %[b], %[ersp]\n"                                     \
				 "1:\tmovq %[v], (%[p])\n\t"                               \
				 "mov %%rsp, %[a]\n\t"                                     \
				 "cmp %[b], %[a]\n\t"                                      \
				 "je 2f\n\t"                                               \
				 "mov %[b], %%rsp\n"                                       \
				 "2:"                                                      \
				 : [b] "=&r"(before), [a] "=&r"(after), [t] "=&r"(t_),     \
				   [erip] "=m"(exp_rip), [ersp] "=m"(exp_rsp)              \
				 : [p] "r"(ptr), [v] "r"(val)                              \
				 : "memory", "cc");                                        \
	} while (0)

static uint64_t round_value(uint64_t i) { return i * 0x9e3779b97f4a7c15ull + 0x5a5a5a5a5a5a5a5bull; }

/* ---- the #PF handler (ring 0), for both checks ---- */

/* ring 0's page */
static ptent_t *r0_pte, r0_pte_on;
static uint64_t r0_exp_rip, r0_exp_rsp;
static volatile uint64_t r0_faults, r0_odd;

/* ring 3's pages; the variables below are in the static binary's data,
 * which map_full maps user-accessible: ring 3 reads and writes them */
static ptent_t *u_pte[2], u_pte_on[2];
static uint64_t u_exp_rip, u_exp_rsp;
static volatile uint64_t u_n, u_faults, u_odd, u_cpl0_faults, u_unrepaired;
static volatile uint64_t u_rounds, u_cpl_bad, u_rsp_bad, u_count_bad, u_val_bad;

/*
 * Runs on the trap stack with the frame of the fault. For ring 3's pages it
 * uses no TLS: should the emulator re-run a ring-3 store in ring 0, the
 * first delivery's libdune entry never ran and FS is still ring 3's.
 */
static void on_pf(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	if (addr == R0_VA) {
		r0_faults++;
		if (tf->rip != r0_exp_rip || tf->rsp != r0_exp_rsp || (tf->cs & 3) != 0 ||
		    (fec & (FEC_P | FEC_W | FEC_U | FEC_RSV | FEC_I)) != FEC_W)
			r0_odd++;
		*r0_pte = r0_pte_on; /* present again: the store is retried on IRETQ */
		return;
	}
	if (addr == U_VA_A || addr == U_VA_B) {
		int i = addr == U_VA_B;
		u_faults++;
		if (tf->rip != u_exp_rip || tf->rsp != u_exp_rsp ||
		    (fec & (FEC_P | FEC_W | FEC_U | FEC_RSV | FEC_I)) != (FEC_W | FEC_U))
			u_odd++;
		if ((tf->cs & 3) != 3) {
			/* the ring-3 store ran in ring 0: a failure. Resume it
			 * in ring 3 on ring 3's stack, so the loop carries on */
			u_cpl0_faults++;
			if (tf->rip == u_exp_rip) {
				tf->cs = 0x33; /* GD_UT | 3 */
				tf->ss = 0x2b; /* GD_UD | 3 */
				tf->rsp = u_exp_rsp;
			} else {
				u_unrepaired++;
			}
		}
		/* this page present (no flush: not-present entries are not
		 * cached, and the #PF dropped any for addr), the other not */
		*u_pte[i] = u_pte_on[i];
		*u_pte[!i] = u_pte_on[!i] & ~(ptent_t)PTE_P;
		dune_flush_tlb_one(i ? U_VA_A : U_VA_B);
		return;
	}
	/* not ours: copy-on-write, or libdune's report and exit */
	dune_vm_default_pgflt_handler(addr, fec);
}

/* Maps one pool page at va (4 KiB) and returns its PTE and the PTE's
 * present value; 0 or a negative errno. */
static int map_page(uintptr_t va, int perm, ptent_t **pte, ptent_t *on)
{
	ptent_t *old;
	if (!dune_vm_lookup(pgroot, (void *)va, CREATE_NONE, &old) && (*old & PTE_P))
		return -EEXIST; /* something maps it already */
	int r = dune_vm_map_pages(pgroot, (void *)va, PGSIZE, perm);
	if (r)
		return r;
	r = dune_vm_lookup(pgroot, (void *)va, CREATE_NONE, pte);
	if (r)
		return r;
	*on = **pte;
	return 0;
}

/* ---- ring 0 ---- */

static void check_ring0(uint64_t n)
{
	int r = map_page(R0_VA, PERM_R | PERM_W, &r0_pte, &r0_pte_on);
	if (r) {
		verdict(0, "faultloop.ring0", "cannot map the test page at 0x%llx: %d", (unsigned long long)R0_VA, r);
		return;
	}
	volatile uint64_t *page = (volatile uint64_t *)R0_VA;
	uint64_t rsp_bad = 0, count_bad = 0, val_bad = 0;
	r0_faults = r0_odd = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t val = round_value(i), before, after;
		*r0_pte = r0_pte_on & ~(ptent_t)PTE_P; /* not present: the store faults */
		dune_flush_tlb_one(R0_VA);
		uint64_t f0 = r0_faults;
		FAULTING_STORE(page, val, before, after, r0_exp_rip, r0_exp_rsp);
		uint64_t f1 = r0_faults;
		if (before != after)
			rsp_bad++;
		if (f1 - f0 != 1)
			count_bad++;
		if (*page != val)
			val_bad++;
	}
	uint64_t faults = r0_faults, odd = r0_odd;
	*r0_pte = r0_pte_on;
	dune_vm_unmap(pgroot, (void *)R0_VA, PGSIZE);
	verdict(faults == n && !rsp_bad && !count_bad && !val_bad && !odd, "faultloop.ring0",
		"%llu ring-0 stores to a not-present page fixed by the #PF handler: handler_runs=%llu rsp_changed=%llu "
		"count_off=%llu value_lost=%llu bad_frames=%llu",
		(unsigned long long)n, (unsigned long long)faults, (unsigned long long)rsp_bad,
		(unsigned long long)count_bad, (unsigned long long)val_bad, (unsigned long long)odd);
}

/* ---- ring 3 ---- */

static void user_syscall0(long nr)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(nr) : "rcx", "r11", "memory");
	(void)r;
}

/*
 * Ring 3 (no TLS, no libc): u_n rounds, each a store to the page that is
 * not present (A and B in turn: the handler maps the faulting one and takes
 * the other away), then checks of CPL, RSP, the handler count and the value.
 * Never returns: leaves ring 3 with the private system call.
 */
static void __attribute__((noinline, noreturn)) user_loop(void)
{
	uint64_t n = u_n;
	for (uint64_t i = 0; i < n; i++) {
		volatile uint64_t *page = (volatile uint64_t *)((i & 1) ? U_VA_B : U_VA_A);
		uint64_t val = round_value(i), before, after, cs;
		uint64_t f0 = u_faults;
		FAULTING_STORE(page, val, before, after, u_exp_rip, u_exp_rsp);
		__asm__ volatile("mov %%cs, %0" : "=r"(cs));
		uint64_t f1 = u_faults;
		if ((cs & 3) != 3)
			u_cpl_bad++;
		if (before != after)
			u_rsp_bad++;
		if (f1 - f0 != 1)
			u_count_bad++;
		if (*page != val)
			u_val_bad++;
		u_rounds++;
	}
	user_syscall0(SYS_FAULTLOOP_DONE);
	for (;;)
		;
}

static void on_syscall(struct dune_tf *tf)
{
	if (tf->rax == SYS_FAULTLOOP_DONE)
		dune_ret_from_user(0);
	dune_passthrough_syscall(tf);
}

static void check_ring3(uint64_t n)
{
	int r = map_page(U_VA_A, PERM_R | PERM_W | PERM_U, &u_pte[0], &u_pte_on[0]);
	if (!r)
		r = map_page(U_VA_B, PERM_R | PERM_W | PERM_U, &u_pte[1], &u_pte_on[1]);
	uint8_t *stack = mmap(NULL, 64 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (r || stack == MAP_FAILED) {
		verdict(0, "faultloop.ring3", "cannot map the test pages at 0x%llx (%d) or the ring-3 stack",
			(unsigned long long)U_VA_A, r);
		return;
	}
	for (int i = 0; i < 2; i++)
		*u_pte[i] = u_pte_on[i] & ~(ptent_t)PTE_P;
	dune_flush_tlb_one(U_VA_A);
	dune_flush_tlb_one(U_VA_B);
	u_n = n;
	u_faults = u_odd = u_cpl0_faults = u_unrepaired = 0;
	u_rounds = u_cpl_bad = u_rsp_bad = u_count_bad = u_val_bad = 0;

	struct dune_tf tf;
	memset(&tf, 0, sizeof(tf));
	tf.rip = (uint64_t)user_loop;
	tf.rsp = (uint64_t)(stack + 64 * 1024 - 8);
	tf.rflags = 0x2;
	int ret = dune_jump_to_user(&tf);

	for (int i = 0; i < 2; i++)
		*u_pte[i] = u_pte_on[i];
	dune_vm_unmap(pgroot, (void *)U_VA_A, 2 * PGSIZE);
	munmap(stack, 64 * 1024);
	int ok = ret == 0 && u_rounds == n && u_faults == n && !u_cpl_bad && !u_rsp_bad && !u_count_bad &&
		 !u_val_bad && !u_odd && !u_cpl0_faults;
	verdict(ok, "faultloop.ring3",
		"%llu of %llu ring-3 stores to a not-present page fixed by the ring-0 #PF handler: left=%d "
		"handler_runs=%llu cpl_not3=%llu rsp_changed=%llu count_off=%llu value_lost=%llu faults_in_ring0=%llu "
		"(unrepaired=%llu) bad_frames=%llu",
		(unsigned long long)u_rounds, (unsigned long long)n, ret, (unsigned long long)u_faults,
		(unsigned long long)u_cpl_bad, (unsigned long long)u_rsp_bad, (unsigned long long)u_count_bad,
		(unsigned long long)u_val_bad, (unsigned long long)u_cpl0_faults, (unsigned long long)u_unrepaired,
		(unsigned long long)u_odd);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	uint64_t n = 5000;
	if (argc > 1) {
		long v = strtol(argv[1], NULL, 0);
		if (v > 0)
			n = (uint64_t)v;
	}
	if (dune_init_and_enter()) {
		verdict(0, "faultloop.enter", "cannot enter Dune mode");
		printf("faultloop: done failures=%d\n", verdict_failures);
		return 1;
	}
	dune_register_pgflt_handler(on_pf);
	dune_register_syscall_handler(on_syscall);

	check_ring0(n);
	check_ring3(n);

	printf("faultloop: done failures=%d\n", verdict_failures);
	return verdict_failures ? 1 : 0;
}
