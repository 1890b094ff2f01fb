/* SPDX-License-Identifier: MIT */
/* GCBench (John Ellis and Pete Kovac, Post Communications; C version by
 * Hans Boehm), the benchmark the Dune paper measured its collector with
 * (OSDI 2012, 6.4): short-lived binary trees built top-down and bottom-up
 * while a long-lived tree and an array stay live. Written here from its
 * published description, with its structure and checks; the sizes are
 * arguments, smaller than the original's (depths 18/16/16, 500000 doubles)
 * so that it runs in minutes in Bochs.
 *
 * Usage: gcbench [STRETCH LONG_LIVED MAX_DEPTH ARRAY]
 * Incremental collection is on unless GC_DISABLE_INCREMENTAL is set. It
 * prints one line: total TSC ticks, the longest single allocation call
 * (the collector's incremental work runs inside allocation calls: the
 * longest pause the program saw), collections, heap size; and exits 1 if
 * a check fails. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include "gc.h"

#ifndef GC_VARIANT
#define GC_VARIANT "?"
#endif

typedef struct node {
	struct node *left, *right;
	int i, j;
} node;

static uint64_t max_pause;
static unsigned long allocations;

static node *new_node(node *l, node *r)
{
	uint64_t t0 = __rdtsc();
	node *n = GC_MALLOC(sizeof(node));
	uint64_t dt = __rdtsc() - t0;
	if (dt > max_pause)
		max_pause = dt;
	allocations++;
	if (!n) {
		fprintf(stderr, "gcbench: out of memory\n");
		exit(1);
	}
	n->left = l;
	n->right = r;
	return n;
}

static int tree_size(int depth) { return (1 << (depth + 1)) - 1; }
static int num_iters(int stretch, int depth) { return 2 * tree_size(stretch) / tree_size(depth); }

/* Top-down: the children are attached to a node that already exists
 * (writes into older objects: what a collector's dirty bits must see). */
static void populate(int depth, node *n)
{
	if (depth <= 0)
		return;
	depth--;
	n->left = new_node(NULL, NULL);
	n->right = new_node(NULL, NULL);
	populate(depth, n->left);
	populate(depth, n->right);
}

static node *make_tree(int depth)
{
	if (depth <= 0)
		return new_node(NULL, NULL);
	node *l = make_tree(depth - 1);
	return new_node(l, make_tree(depth - 1));
}

static int count(const node *n) { return n ? 1 + count(n->left) + count(n->right) : 0; }

int main(int argc, char **argv)
{
	int stretch = argc > 1 ? atoi(argv[1]) : 14;
	int long_lived = argc > 2 ? atoi(argv[2]) : 12;
	int max_depth = argc > 3 ? atoi(argv[3]) : 12;
	int array_size = argc > 4 ? atoi(argv[4]) : 50000;
	const int min_depth = 4;
	if (stretch < 1 || long_lived < 1 || max_depth < min_depth || array_size < 1001 || stretch > 24 ||
	    long_lived > 24 || max_depth > stretch) {
		fprintf(stderr, "usage: gcbench [STRETCH LONG_LIVED MAX_DEPTH ARRAY] (depths 1..24, MAX_DEPTH %d..STRETCH, "
				"ARRAY > 1000)\n",
			min_depth);
		return 2;
	}
	GC_INIT();
	if (!getenv("GC_DISABLE_INCREMENTAL"))
		GC_enable_incremental();
	int incremental = GC_is_incremental_mode();
	int hw_bits = incremental && GC_incremental_protection_needs() == GC_PROTECTS_NONE;
	uint64_t t0 = __rdtsc();

	node *temp = make_tree(stretch); /* stretch the heap */
	temp = NULL;
	node *long_lived_tree = new_node(NULL, NULL);
	populate(long_lived, long_lived_tree);
	double *array = GC_MALLOC_ATOMIC(sizeof(double) * (size_t)array_size);
	for (int i = 0; i < array_size / 2; i++)
		array[i] = 1.0 / i;
	for (int d = min_depth; d <= max_depth; d += 2) {
		int iters = num_iters(stretch, d);
		for (int i = 0; i < iters; i++) {
			temp = new_node(NULL, NULL);
			populate(d, temp);
			temp = NULL;
		}
		for (int i = 0; i < iters; i++) {
			temp = make_tree(d);
			temp = NULL;
		}
	}
	int live = count(long_lived_tree);
	uint64_t ticks = __rdtsc() - t0;
	int ok = live == tree_size(long_lived) && array[1000] == 1.0 / 1000;
	printf("gcbench: variant=%s incremental=%d hw_dirty_bits=%d ticks=%llu max_pause=%llu collections=%lu "
	       "allocations=%lu heap=%lu check=%s\n",
	       GC_VARIANT, incremental, hw_bits, (unsigned long long)ticks, (unsigned long long)max_pause,
	       (unsigned long)GC_get_gc_no(), allocations, (unsigned long)GC_get_heap_size(), ok ? "ok" : "FAILED");
	return ok ? 0 : 1;
}
