/* dune_init(0), upstream's precise mode: the page tables hold what
 * /proc/self/maps listed at init, with its permissions and without the
 * user bit; memory mapped later faults (not present) into the process's
 * #PF handler, which may map it. Prints "precise: <what> OK|FAIL". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../dune.h"

#define CHECK_PREFIX "precise: "
#include "check.h"

static volatile uintptr_t late_page;
static volatile uint64_t late_fec;
static volatile int late_faults;

static void map_late_page(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	(void)tf;
	if (addr != late_page || late_faults++)
		dune_die();
	late_fec = fec;
	dune_vm_map_phys(pgroot, (void *)addr, PGSIZE, (void *)dune_va_to_pa((void *)addr), PERM_R | PERM_W);
}

static void exit_with_fec(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	(void)addr;
	(void)tf;
	_exit(10 + (int)(fec & 7));
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	char *ro = mmap(NULL, PGSIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (dune_init(0) || dune_enter()) {
		printf("precise: cannot enter Dune FAIL\n");
		return 1;
	}
	CHECK(1, "dune_init(0) and dune_enter");
	ptent_t *pte;
	int r = dune_vm_lookup(pgroot, (void *)main, CREATE_NONE, &pte);
	CHECK(!r && (*pte & PTE_P) && !(*pte & PTE_U) && !(*pte & PTE_NX), "program text mapped present, executable, supervisor");
	r = dune_vm_lookup(pgroot, ro, CREATE_NONE, &pte);
	CHECK(!r && (*pte & PTE_P) && !(*pte & PTE_W), "a read-only mapping is read-only in the page table");

	volatile char *late = mmap(NULL, PGSIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	late_page = (uintptr_t)late;
	dune_register_pgflt_handler(map_late_page);
	late[0] = 42;
	CHECK(late_faults == 1 && !(late_fec & FEC_P) && (late_fec & FEC_W) && late[0] == 42,
	      "memory mmap'ed after dune_init faults not-present into the handler, which maps it (error 0x%lx)",
	      (unsigned long)late_fec);
	if (late_faults != 1 || late[0] != 42)
		printf("precise: late page %p: %d faults, value %d\n", (void *)late, late_faults, late[0]);

	pid_t pid = fork();
	if (pid == 0) {
		if (dune_enter())
			_exit(2);
		dune_register_pgflt_handler(exit_with_fec);
		ro[0] = 1;
		_exit(3);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 10 + (FEC_P | FEC_W),
	      "writing the read-only mapping faults (present, write) in a forked child that entered Dune (exit %d)",
	      WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	printf("precise: done failures=%d\n", check_failures);
	return check_failures ? 1 : 0;
}
