/* Ring 3 inside Dune (upstream's sandbox model): dune_jump_to_user runs
 * code in ring 3 of the process's own context; its SYSCALLs reach the
 * registered syscall handler in ring 0, its faults the ring-0 trap
 * handlers, and VMCALL from ring 3 is never a system call (#UD instead).
 * Also: a fault inside a trap handler (nested trap) leaves the outer trap
 * frame intact. Prints "ring3: <what> OK|FAIL" and "ring3: done failures=N". */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../dune.h"

#define CHECK_PREFIX "ring3: "
#include "check.h"

#define SYS_DONE 1000 /* our handler's "leave ring 3" call */

static long user_syscall1(long nr, long a0)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a0) : "rcx", "r11", "memory");
	return r;
}

/* Ring-3 bodies: no TLS (FS is the user's, 0), never return. */
static void user_getpid(void)
{
	long pid = user_syscall1(SYS_getpid, 0);
	user_syscall1(SYS_DONE, pid);
}

static void user_vmcall_exit(void)
{
	/* if this VMCALL reached Linux, the process would exit with 77 */
	__asm__ volatile("vmcall" ::"a"(SYS_exit_group), "D"(77) : "memory");
	user_syscall1(SYS_DONE, -1);
}

static volatile uint64_t *supervisor_page;
static void user_touch_supervisor(void)
{
	(void)*supervisor_page;
	user_syscall1(SYS_DONE, -1);
}

static void user_hlt(void)
{
	__asm__ volatile("hlt");
	user_syscall1(SYS_DONE, -1);
}

static void user_ud2(void)
{
	__asm__ volatile("ud2");
	user_syscall1(SYS_DONE, 3);
}

static long syscalls_seen, last_nr;
static void on_syscall(struct dune_tf *tf)
{
	syscalls_seen++;
	last_nr = (long)tf->rax;
	if (tf->rax == SYS_DONE)
		dune_ret_from_user((int)ARG0(tf));
	dune_passthrough_syscall(tf);
}

/* Traps from ring 3 leave ring 3 with the vector; a trap in ring 0 that is
 * not ours fails the test. */
static uint64_t trap_cs, trap_fec;
static void leave_with_vector(struct dune_tf *tf, int vec)
{
	trap_cs = tf->cs;
	trap_fec = tf->err;
	dune_ret_from_user(vec);
}
static void on_ud(struct dune_tf *tf) { leave_with_vector(tf, 6); }
static void on_gp(struct dune_tf *tf) { leave_with_vector(tf, 13); }
static void on_pf(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	(void)addr;
	(void)fec;
	leave_with_vector(tf, 14);
}

/* UD2 in ring 3: inside its handler, a nested #PF on a page the handler
 * then maps; the outer frame must survive it. (INT3 would leave Dune: #BP
 * and #DB go to Linux, for debuggers, as upstream's.) */
static char *nested_va;
static int nested_faults;
static void on_nested_pf(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	(void)fec;
	(void)tf;
	if (addr == (uintptr_t)nested_va && !nested_faults++)
		dune_vm_map_pages(pgroot, nested_va, PGSIZE, PERM_R | PERM_W);
	else
		dune_die();
}
static void on_ud_nested(struct dune_tf *tf)
{
	struct dune_tf before = *tf;
	dune_register_pgflt_handler(on_nested_pf);
	nested_va[0] = 1; /* faults once, inside this handler */
	int intact = !memcmp(&before, tf, sizeof(before));
	dune_ret_from_user(intact && nested_faults == 1 && (tf->cs & 3) == 3 ? 0 : 1);
}

static int run_user(void (*fn)(void))
{
	static uint8_t *stack;
	if (!stack)
		stack = mmap(NULL, 64 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	struct dune_tf tf;
	memset(&tf, 0, sizeof(tf));
	tf.rip = (uint64_t)fn;
	tf.rsp = (uint64_t)(stack + 64 * 1024 - 8);
	tf.rflags = 0x2;
	return dune_jump_to_user(&tf);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (dune_init_and_enter()) {
		printf("ring3: cannot enter Dune FAIL\n");
		return 1;
	}
	dune_register_syscall_handler(on_syscall);
	dune_register_intr_handler(T_ILLOP, on_ud);
	dune_register_intr_handler(T_GPFLT, on_gp);
	dune_register_pgflt_handler(on_pf);

	int r = run_user(user_getpid);
	CHECK(r == getpid() && syscalls_seen == 2, "SYSCALL from ring 3 reaches the syscall handler (getpid %d, %ld calls)",
	      r, syscalls_seen);

	syscalls_seen = 0;
	r = run_user(user_vmcall_exit);
	CHECK(r == 6 && (trap_cs & 3) == 3 && syscalls_seen == 0,
	      "VMCALL from ring 3 is refused: #UD in the process, no system call (vector %d, cs 0x%lx)", r,
	      (unsigned long)trap_cs);

	struct page *pg = dune_page_alloc();
	supervisor_page = (volatile uint64_t *)(0x500000000000ull);
	dune_vm_map_phys(pgroot, (void *)supervisor_page, PGSIZE, (void *)dune_page2pa(pg), PERM_R | PERM_W);
	dune_flush_tlb();
	r = run_user(user_touch_supervisor);
	CHECK(r == 14 && (trap_fec & (FEC_P | FEC_U)) == (FEC_P | FEC_U),
	      "ring 3 reading a supervisor page gets #PF (error 0x%lx)", (unsigned long)trap_fec);

	r = run_user(user_hlt);
	CHECK(r == 13, "HLT in ring 3 gets #GP (vector %d)", r);

	nested_va = (char *)0x500000200000ull;
	dune_register_intr_handler(T_ILLOP, on_ud_nested);
	dune_register_pgflt_handler(NULL);
	r = run_user(user_ud2);
	CHECK(r == 0, "a #PF inside the #UD handler leaves the outer trap frame intact (%d)", r);

	/* ring-3 system calls, round trip (emulated instructions under Bochs) */
	uint64_t t0 = dune_get_ticks();
	for (int i = 0; i < 100; i++)
		run_user(user_getpid);
	uint64_t per = (dune_get_ticks() - t0) / 100;
	CHECK(per > 0, "ring-3 getpid through the handler and back, with the ring switches: %llu ticks per call",
	      (unsigned long long)per);

	printf("ring3: done failures=%d\n", check_failures);
	return check_failures ? 1 : 0;
}
