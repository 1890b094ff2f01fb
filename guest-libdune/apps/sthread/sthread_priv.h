/* SPDX-License-Identifier: MIT */
/* libsthread's internals (sthread.h is the interface). */
#ifndef STHREAD_PRIV_H
#define STHREAD_PRIV_H

#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>

#include "dune.h"
#include "sthread.h"

#define ST_STACK_PAGES 16  /* 64 KiB of stack per sthread */
#define ST_BOUNCE 65536    /* the gate copies at most this much per call */
#define ST_MAX_SLOTS 4000  /* a PCID each (1..4095; 0 is ring 0's) */
#define PTE_OWNED 0x800ull /* bit 11 (ignored by the CPU): a table of this sthread's own */

/* ptable.c: an sthread's page table. Its root starts as ring 0's with no
 * user bit anywhere, sharing ring 0's tables; a mapping for ring 3 makes
 * private ("owned") copies of the tables on its path, and splits big pages. */
ptent_t *pt_new_root(void);
ptent_t *pt_clone(const ptent_t *root); /* a copy of every owned table */
void pt_free(ptent_t *root);            /* root and every owned table */
int pt_map(ptent_t *root, uintptr_t va, uint64_t pa, uint64_t flags);
/* The leaf entry of va if ring 3 may reach it (user bit on every level),
 * else NULL. */
ptent_t *pt_user_leaf(ptent_t *root, uintptr_t va);
/* The address at which ring 0 (on ring 0's page table) reaches a
 * guest-physical address of this process. */
void *pt_pa_to_va(uint64_t pa);
extern unsigned long pt_tables; /* owned tables now (stats) */

/* snapshot.c: what every sthread starts from. */
struct segment {
	uintptr_t start, end;
	bool exec;
	uintptr_t copy; /* writable: the pristine copy's address; read-only: 0 */
};
extern struct segment *st_segments;
extern int st_nsegments;
extern uintptr_t st_fs_base; /* the TLS sthreads run with (the initial thread's, in the snapshot) */
int snapshot_take(void);
/* Whether [start, start + len) meets an address the snapshot gives other
 * pages in sthreads' tables (where ring 0's own memory must never be). */
bool snapshot_shadows(uintptr_t start, size_t len);
/* The template root: code, read-only data and the snapshot (copy-on-write). */
int snapshot_build_template(ptent_t **root);

/* tags.c */
struct tag_info {
	uintptr_t base;
	size_t size;
	int users; /* live sthreads granted it */
};
bool tag_get(tag_t t, struct tag_info *out);
bool sc_tags_exist(const sc_t *sc); /* every tag sc grants exists now */
void tag_use(tag_t t, int delta);

/* One sthread (a slot: its page tables and stack outlive it, for reuse). */
struct sthread {
	int id;             /* slot index; PCID id + 1 */
	bool live;          /* created, not joined */
	ptent_t *root;
	uint64_t user_cr3;  /* root | PCID (| no-flush after the first entry) */
	uintptr_t stack;    /* pool pages, mapped at their own address */
	struct page *cow[1024]; /* private copies made by writes, freed at reuse */
	uintptr_t cow_va[1024];
	int ncow;
	sc_t sc;
	stcb_t cb;
	void *arg;
	void *ret;
	int status;         /* 0 or STHREAD_STOPPED */
	int depth;          /* 0 for an sthread, n for a callgate n calls deep */
	char why[256];
	sem_t done;
	struct worker *worker;
};

/* sthread.c: runs st at ring 3 from rip(a0, a1, a2) on this worker until
 * it ends (0) or is stopped (STHREAD_STOPPED). Nested in a callgate's
 * caller's system call when one runs; the caller's page table is back
 * after. */
int st_run(struct sthread *st, void *rip, uint64_t a0, uint64_t a1, uint64_t a2);
/* A slot for one callgate call, with sc's grants; NULL and *err. */
struct sthread *st_gate_start(const sc_t *sc, int *err);
void st_gate_end(struct sthread *st); /* reset and kept for reuse */

/* cgate.c: an sthread's call of a callgate (ring 0, its system call). */
#define CGATE_CALL (-3L) /* the system-call number cgate() uses */
void *cgate_call(struct sthread *st, uint64_t fn, uint64_t arg);

/* gate.c: ring 0's side of an sthread (its system calls and faults), on
 * the worker that runs it. */
extern __thread struct sthread *st_current;
void gate_install(void);
int gate_worker_init(void); /* on each worker: its buffer */
void st_stop(struct sthread *st, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
/* Write access for ring 3 to the page at va: a copy-on-write page gets its
 * private copy now. false if the sthread may not write there. */
bool st_make_writable(struct sthread *st, uintptr_t va);
/* Flushes the sthread's translations (its PCID) on this CPU. */
void st_flush(struct sthread *st);

extern bool st_pcid;
extern uint64_t st_kernel_cr3;
extern unsigned long st_pages; /* pool pages held (stats) */
struct page *st_page_alloc(void);
void st_page_free(struct page *pg);

#endif
