/* SPDX-License-Identifier: MIT */
/* A live set that keeps changing under incremental (generational)
 * collection, checked against a record the collector cannot touch: if the
 * collector ever frees a reachable object, the allocator hands its memory
 * out again and a later check sees another object's contents there.
 *
 * SLOTS chains of small nodes hang off an array in the collected heap.
 * Each step replaces a chain, inserts a new node into an old chain, cuts
 * a chain's tail or makes garbage: new objects are reached through writes
 * into old ones, which only the collector's dirty bits reveal (a missed
 * write means a reachable node is freed). What each chain holds is also
 * recorded in malloc'd memory, which the collector neither scans nor
 * frees. Every VERIFY steps, and before and after a final full
 * collection, every chain is compared with the record (ids and a checksum
 * of each node's contents).
 *
 * Usage: gcchurn [--id ID] [STEPS [SLOTS [VERIFY]]]
 * Prints one verdict, ID (default gc.churn-VARIANT), and its measurements:
 * TSC ticks, the longest allocation call, collections. Exit 0 only if
 * incremental mode was on and nothing was lost. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include "gc.h"

#ifndef GC_VARIANT
#define GC_VARIANT "?"
#endif
#define VERDICT_PROGRAM "gcchurn"
#include "../../test/verdict.h"

#define MAX_CHAIN 8
#define PAYLOAD 5

typedef struct node {
	uint64_t id;
	uint64_t check;
	struct node *next;
	uint64_t payload[PAYLOAD];
} node;

struct record {
	int len;
	uint64_t ids[MAX_CHAIN];
};

static node **slots;             /* in the collected heap; the root is this static */
static struct record *expected;  /* malloc'd: not scanned, not collected */
static uint64_t next_id = 1, max_pause;
static unsigned long mismatches, verifications;
static char first_mismatch[160];

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

static uint64_t expected_check(uint64_t id)
{
	uint64_t c = 0;
	for (int k = 0; k < PAYLOAD; k++)
		c += mix(id * 8 + (uint64_t)k);
	return c;
}

static node *new_node(node *next)
{
	uint64_t t0 = __rdtsc();
	node *n = GC_MALLOC(sizeof(node));
	uint64_t dt = __rdtsc() - t0;
	if (dt > max_pause)
		max_pause = dt;
	if (!n) {
		fprintf(stderr, "gcchurn: out of memory\n");
		exit(1);
	}
	n->id = next_id++;
	n->check = 0;
	for (int k = 0; k < PAYLOAD; k++)
		n->check += n->payload[k] = mix(n->id * 8 + (uint64_t)k);
	n->next = next;
	return n;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void mismatch(int slot, int pos, const char *what, uint64_t want, uint64_t got)
{
	if (!mismatches++)
		snprintf(first_mismatch, sizeof(first_mismatch), "slot %d node %d: %s %#" PRIx64 ", found %#" PRIx64,
			 slot, pos, what, want, got);
}

/* Every chain against the record; the sum of the nodes' checksums. */
static uint64_t verify(int nslots)
{
	uint64_t sum = 0;
	verifications++;
	for (int s = 0; s < nslots; s++) {
		const node *n = slots[s];
		for (int i = 0; i < expected[s].len; i++, n = n->next) {
			if (!n) {
				mismatch(s, i, "chain ends early, wanted id", expected[s].ids[i], 0);
				break;
			}
			uint64_t c = 0;
			for (int k = 0; k < PAYLOAD; k++)
				c += n->payload[k];
			if (n->id != expected[s].ids[i])
				mismatch(s, i, "id", expected[s].ids[i], n->id);
			else if (c != n->check || c != expected_check(n->id))
				mismatch(s, i, "checksum", n->check, c);
			sum += c;
			if (i == expected[s].len - 1 && n->next)
				mismatch(s, i, "chain goes on after id", n->id, n->next->id);
		}
	}
	return sum;
}

static uint64_t expected_sum(int nslots)
{
	uint64_t sum = 0;
	for (int s = 0; s < nslots; s++)
		for (int i = 0; i < expected[s].len; i++)
			sum += expected_check(expected[s].ids[i]);
	return sum;
}

static void new_chain(int s)
{
	int len = 1 + (int)(rnd() % 4);
	node *head = NULL;
	for (int i = len - 1; i >= 0; i--) {
		head = new_node(head);
		expected[s].ids[i] = head->id;
	}
	expected[s].len = len;
	slots[s] = head; /* a write into the (old) slot array */
}

int main(int argc, char **argv)
{
	const char *id = "gc.churn-" GC_VARIANT;
	int a = 1;
	if (argc > 2 && !strcmp(argv[1], "--id")) {
		id = argv[2];
		a = 3;
	}
	long steps = argc > a ? atol(argv[a]) : 100000;
	int nslots = argc > a + 1 ? atoi(argv[a + 1]) : 2000;
	long every = argc > a + 2 ? atol(argv[a + 2]) : 10000;
	if (steps < 1 || nslots < 1 || every < 1) {
		fprintf(stderr, "usage: gcchurn [--id ID] [STEPS [SLOTS [VERIFY]]] (all > 0)\n");
		return 2;
	}
	GC_INIT();
	GC_enable_incremental();
	int incremental = GC_is_incremental_mode();
	int hw_bits = incremental && GC_incremental_protection_needs() == GC_PROTECTS_NONE;
	slots = GC_MALLOC(sizeof(node *) * (size_t)nslots);
	expected = calloc((size_t)nslots, sizeof(*expected));
	if (!slots || !expected) {
		fprintf(stderr, "gcchurn: out of memory\n");
		return 1;
	}
	uint64_t t0 = __rdtsc();
	for (int s = 0; s < nslots; s++)
		new_chain(s);
	for (long step = 1; step <= steps; step++) {
		uint64_t r = rnd();
		int s = (int)(r % (uint64_t)nslots);
		struct record *e = &expected[s];
		switch ((r >> 32) % 4) {
		case 0:
			new_chain(s);
			break;
		case 1: /* a new node behind the first, old one */
			if (e->len < MAX_CHAIN) {
				node *n = new_node(slots[s]->next);
				slots[s]->next = n;
				memmove(&e->ids[2], &e->ids[1], sizeof(e->ids[0]) * (size_t)(e->len - 1));
				e->ids[1] = n->id;
				e->len++;
			}
			break;
		case 2: /* the tail cut off: garbage */
			if (e->len > 1) {
				node *n = slots[s];
				for (int i = 0; i < e->len - 2; i++)
					n = n->next;
				n->next = NULL;
				e->len--;
			}
			break;
		default: /* garbage only */
			for (int i = 0; i < 4; i++)
				new_node(NULL);
		}
		if (step % every == 0)
			verify(nslots);
	}
	uint64_t want = expected_sum(nslots), before = verify(nslots);
	GC_gcollect();
	uint64_t after = verify(nslots);
	uint64_t ticks = __rdtsc() - t0;
	verdict(incremental && !mismatches && before == want && after == want, id,
		"variant %s, incremental %d, hardware dirty bits %d: %ld steps over %d chains, %lu verifications, "
		"%lu mismatches%s%s; checksum %016" PRIx64 " before and %016" PRIx64 " after a full collection "
		"(record: %016" PRIx64 ")",
		GC_VARIANT, incremental, hw_bits, steps, nslots, verifications, mismatches, mismatches ? ", first: " : "",
		first_mismatch, before, after, want);
	printf("gcchurn: variant=%s incremental=%d hw_dirty_bits=%d ticks=%llu max_pause=%llu collections=%lu "
	       "allocations=%llu heap=%lu\n",
	       GC_VARIANT, incremental, hw_bits, (unsigned long long)ticks, (unsigned long long)max_pause,
	       (unsigned long)GC_get_gc_no(), (unsigned long long)(next_id - 1), (unsigned long)GC_get_heap_size());
	return verdict_failures ? 1 : 0;
}
