/*
 * memrights: a Dune process executes only what Linux lets it execute.
 * libdune's map_full maps the whole mmap window executable in the process's
 * own page tables (and a process in ring 0 can clear any NX bit anyway), so
 * the EPT is the only thing between ring 0 and a page Linux maps without
 * PROT_EXEC: the hypervisor must grant execute only where the process's VMA
 * has VM_EXEC, or Dune would bypass noexec mounts, SELinux execmem and
 * MemoryDenyWriteExecute.
 *
 * One page is mapped read-write, a function is written into it, and the
 * process calls it in ring 0 of its Dune context three times:
 *   memrights.noexec   PROT_READ|PROT_WRITE: the call faults (#PF, fetch)
 *   memrights.exec     mprotect to PROT_READ|PROT_EXEC: the call returns
 *   memrights.revoke   mprotect back to PROT_READ|PROT_WRITE: faults again
 * The #PF handler records the fault and returns to the caller as the
 * function's "ret" would, with a marker instead of the function's value.
 *
 *   memrights.upstream-trampoline   binary compatibility: upstream libdune
 *     copies its ring-0 SYSCALL trampoline into two pages of its read-write
 *     page pool and maps them at Linux's LSTAR. The same is done here, and
 *     system calls still work, also after a write into those pages (dune.ko
 *     keeps them W^X in the EPT: the write takes execute away, the next
 *     system call's fetch takes write away).
 *
 * Prints "memrights: ok|not ok <id> - <detail>" per check, then
 * "memrights: done failures=K"; the exit status is 0 only if all passed.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../dune.h"
#include "../libdune_priv.h" /* dune_fd, as upstream libdune uses it */

#define VERDICT_PROGRAM "memrights"
#include "verdict.h"

#define FUNC_VALUE 0x1234u     /* what the written function returns */
#define FAULT_MARKER 0xfa17u   /* what the #PF handler returns instead */
#define PF_FETCH (1u << 4)     /* SDM Vol. 3A 4.7: the I/D flag */

extern char __dune_syscall[], __dune_syscall_end[]; /* libdune's dune.S */

static uint8_t *page;
static volatile uint64_t faults, fault_addr, fault_code;

/* A fetch fault at the page: count it, then return to the caller as the
 * function's "ret" would. Any other fault is not ours: end the process. */
static void on_page_fault(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	if (addr != (uintptr_t)page || tf->rip != (uintptr_t)page) {
		printf("memrights: not ok memrights.unexpected - #PF at 0x%lx (rip 0x%lx, error 0x%lx)\n",
		       (unsigned long)addr, (unsigned long)tf->rip, (unsigned long)fec);
		exit(1);
	}
	faults++;
	fault_addr = addr;
	fault_code = fec;
	tf->rip = *(uint64_t *)tf->rsp;
	tf->rsp += 8;
	tf->rax = FAULT_MARKER;
}

/* Calls the page; returns what came back, the fault count in *n. */
static unsigned call_page(uint64_t *n)
{
	unsigned (*fn)(void) = (unsigned (*)(void))(uintptr_t)page;
	uint64_t before = faults;
	unsigned r = fn();

	*n = faults - before;
	return r;
}

static void expect_fault(const char *id, const char *what)
{
	uint64_t n;
	unsigned r = call_page(&n);

	verdict(r == FAULT_MARKER && n == 1 && fault_addr == (uintptr_t)page && (fault_code & PF_FETCH), id,
		"%s: call returned 0x%x after %lu fetch faults (address 0x%lx, error code 0x%lx)", what, r,
		(unsigned long)n, (unsigned long)fault_addr, (unsigned long)fault_code);
}

/* Maps the trampoline at LSTAR as upstream libdune does (pool pages). */
static void check_upstream_trampoline(void)
{
	uintptr_t lstar = (uintptr_t)(int)ioctl(dune_fd, DUNE_GET_SYSCALL);
	size_t off = lstar & (PGSIZE - 1), len = (size_t)(__dune_syscall_end - __dune_syscall);
	struct page *pg[2] = {dune_page_alloc(), dune_page_alloc()};
	pid_t want = getpid(), first, second;
	volatile uint8_t *last;

	if (!pg[0] || !pg[1] || dune_page2pa(pg[1]) != dune_page2pa(pg[0]) + PGSIZE || off + len > 2 * PGSIZE) {
		verdict(0, "memrights.upstream-trampoline", "no two consecutive pool pages");
		return;
	}
	memcpy((void *)(dune_page2pa(pg[0]) + off), __dune_syscall, len);
	if (dune_vm_map_phys(pgroot, (void *)(lstar & ~(uintptr_t)(PGSIZE - 1)), 2 * PGSIZE,
			     (void *)dune_page2pa(pg[0]), PERM_R | PERM_X)) {
		verdict(0, "memrights.upstream-trampoline", "dune_vm_map_phys failed");
		return;
	}
	dune_flush_tlb();
	first = getpid();
	last = (volatile uint8_t *)(dune_page2pa(pg[0]) + 2 * PGSIZE - 1); /* past the code */
	*last = 0xcc;
	second = getpid();
	verdict(first == want && second == want && *last == 0xcc, "memrights.upstream-trampoline",
		"getpid through a trampoline in read-write pool pages: %d, after a write into them: %d (want %d)",
		(int)first, (int)second, (int)want);
}

int main(void)
{
	static const uint8_t code[] = {0xb8, FUNC_VALUE & 0xff, FUNC_VALUE >> 8, 0, 0, /* mov $FUNC_VALUE, %eax */
				       0xc3};                                         /* ret */
	uint64_t n;
	unsigned r;

	page = mmap(NULL, PGSIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		perror("memrights: mmap");
		return 1;
	}
	memcpy(page, code, sizeof(code));
	if (dune_init_and_enter()) {
		verdict(0, "memrights.enter", "dune_init_and_enter failed");
		return 1;
	}
	dune_register_pgflt_handler(on_page_fault);

	expect_fault("memrights.noexec", "read-write page");

	if (mprotect(page, PGSIZE, PROT_READ | PROT_EXEC)) {
		verdict(0, "memrights.exec", "mprotect(PROT_READ|PROT_EXEC) failed");
	} else {
		r = call_page(&n);
		verdict(r == FUNC_VALUE && n == 0, "memrights.exec",
			"read-execute page: call returned 0x%x after %lu faults", r, (unsigned long)n);
	}

	if (mprotect(page, PGSIZE, PROT_READ | PROT_WRITE))
		verdict(0, "memrights.revoke", "mprotect(PROT_READ|PROT_WRITE) failed");
	else
		expect_fault("memrights.revoke", "execute taken away again");

	check_upstream_trampoline();

	printf("memrights: done failures=%d\n", verdict_failures);
	return verdict_failures ? 1 : 0;
}
