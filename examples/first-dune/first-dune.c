/* SPDX-License-Identifier: MIT */
/* A first Dune program, built outside dunehv's tree against the installed
 * libdune (README: "A first Dune program"):
 *
 *   cc -o first-dune first-dune.c $(pkg-config --cflags --libs libdune)
 *   cc -static -o first-dune first-dune.c $(pkg-config --static --cflags --libs libdune)
 *
 * It enters Dune mode and shows what that means: the process now runs in
 * ring 0 (CS's low bits) on a page table of its own (it reads CR3, which
 * ring 3 may not), while its system calls still reach Linux (printf). With
 * an argument it then sleeps that many seconds in Dune mode (`dunehv ps`
 * shows it meanwhile). Exit status 0 if all of that held. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dune.h>

int main(int argc, char **argv)
{
	int r = dune_init_and_enter();
	if (r) {
		fprintf(stderr, "first-dune: cannot enter Dune mode: %s\n", strerror(-r));
		return 1;
	}
	uint16_t cs;
	uint64_t cr3;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	printf("first-dune: hello from ring %d, pid %d, on libdune's page table at %#lx (CR3 %#lx)\n", cs & 3,
	       (int)getpid(), (unsigned long)pgroot, (unsigned long)cr3);
	fflush(stdout);
	if (argc > 1)
		sleep((unsigned int)atoi(argv[1]));
	return (cs & 3) == 0 && (cr3 & ~0xfffull) == (uint64_t)(uintptr_t)pgroot ? 0 : 1;
}
