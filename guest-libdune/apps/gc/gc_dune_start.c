/* SPDX-License-Identifier: MIT */
/* Runs a program linked with the DUNE_VDB collector in Dune mode from its
 * first instruction of C code on, so that an unmodified program (the
 * collector's own gctest, GCBench) gets the page table's dirty bits.
 *
 * A constructor enters Dune mode before main and before the collector's
 * initialisation; if it cannot, the program ends with the reason (it would
 * run without incremental collection otherwise, and say nothing). Linked
 * with -Wl,--wrap=dune_vm_collect_dirty, it also counts the collector's
 * dirty-bit reads, printed at exit with GC_DUNE_STATS=1; and
 * GC_DUNE_LOSE_WRITES=1 makes every read report no page written (the bits
 * are still cleared): a deliberately broken collector, for the test that
 * shows gcchurn notices lost writes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dune.h"

static unsigned long reads, dirty_pages;
static int lose_writes;

long __real_dune_vm_collect_dirty(ptent_t *root, void *va, size_t len, void (*cb)(void *page, void *arg), void *arg);

long __wrap_dune_vm_collect_dirty(ptent_t *root, void *va, size_t len, void (*cb)(void *page, void *arg), void *arg)
{
	long r = __real_dune_vm_collect_dirty(root, va, len, lose_writes ? NULL : cb, arg);
	reads++;
	if (r > 0)
		dirty_pages += (unsigned long)r;
	return r;
}

static void print_stats(void)
{
	fprintf(stderr, "gc-dune: %lu dirty-bit reads (ranges), %lu dirty pages\n", reads, dirty_pages);
}

static void __attribute__((constructor(101))) enter_dune(void)
{
	const char *lose = getenv("GC_DUNE_LOSE_WRITES");
	lose_writes = lose && !strcmp(lose, "1");
	const char *stats = getenv("GC_DUNE_STATS");
	int r = dune_init_and_enter();
	if (r) {
		fprintf(stderr, "gc-dune: cannot enter Dune mode: %s (is dune.ko loaded, under dunehv?)\n", strerror(-r));
		_exit(1); /* before main: nothing of the program's to run at exit */
	}
	if (stats && !strcmp(stats, "1"))
		atexit(print_stats);
}
