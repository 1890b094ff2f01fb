/* SPDX-License-Identifier: MIT */
/* sthreads: creation, the workers that run them, join and recycling.
 *
 * The program stays in Linux mode. Each sthread runs on a worker: a thread
 * in Dune mode (a Dune context of its own) that waits for work, loads the
 * sthread's page table for ring 3 (dune_set_user_cr3: its PCID, so that
 * switching keeps ring 0's translations) and jumps to the sthread's code
 * at ring 3; the sthread's end, or a violation, brings the worker back
 * (gate.c). A joined sthread's slot is reset for reuse: the private copies
 * its writes made go back to the snapshot, its grants are unmapped, the
 * stack pages it wrote are zeroed; its tables stay. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "sthread_priv.h"

#define STACK_AREA (128u << 10) /* addresses per slot: a guard gap, then the stack */
#define CR3_NOFLUSH (1ull << 63)
#define CR4_PCIDE (1ull << 17)

bool st_pcid;
uint64_t st_kernel_cr3;
unsigned long st_pages;

struct worker {
	pthread_t thread;
	sem_t go, started;
	struct sthread *st;
	int err;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static bool initialized;
static ptent_t *template_root;
static uintptr_t stack_area; /* ST_MAX_SLOTS * STACK_AREA addresses, reserved */
/* Workers' own stacks, reserved at sthread_init like stack_area: ring 0
 * runs on them on the sthread's page table for a moment (the frame that
 * dune_jump_to_user returns to ring 3 with), so their addresses must never
 * be ones the snapshot gives other pages there, which a later mmap could
 * reuse after the program unmapped them. */
#define WORKER_STACK (256u << 10)
static uintptr_t worker_stacks;
static int worker_stacks_used;
static struct sthread *slots[ST_MAX_SLOTS];
static int nslots, free_slots[ST_MAX_SLOTS], nfree;
static int empty_slots[ST_MAX_SLOTS], nempty; /* trimmed: ids to build anew */
static struct worker *idle[STHREAD_MAX_LIVE];
static int nidle, nworkers;
static unsigned long n_created, n_recycled, n_live, n_gate_calls;
static __thread char last_error[256];

struct page *st_page_alloc(void)
{
	struct page *pg = dune_page_alloc();
	if (pg)
		__atomic_add_fetch(&st_pages, 1, __ATOMIC_RELAXED);
	return pg;
}

void st_page_free(struct page *pg)
{
	dune_page_free(pg);
	__atomic_sub_fetch(&st_pages, 1, __ATOMIC_RELAXED);
}

int sthread_init(void)
{
	if (initialized || pgroot)
		return -EBUSY;
	int r = snapshot_take();
	if (r)
		return r;
	void *area = mmap(NULL, (size_t)ST_MAX_SLOTS * STACK_AREA, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			  -1, 0);
	if (area == MAP_FAILED)
		return -ENOMEM;
	stack_area = (uintptr_t)area;
	area = mmap(NULL, (size_t)STHREAD_MAX_LIVE * WORKER_STACK, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (area == MAP_FAILED)
		return -ENOMEM;
	worker_stacks = (uintptr_t)area;
	if ((r = dune_init(1)))
		return r;
	gate_install();
	if ((r = snapshot_build_template(&template_root)))
		return r;
	initialized = true;
	return 0;
}

/* Ring 3 starts here: cb(arg), then exit with its result (gate.c). */
static void __attribute__((noreturn, used)) trampoline(stcb_t cb, void *arg)
{
	void *r = cb(arg);
	__asm__ volatile("syscall" ::"a"((long)SYS_exit), "D"(r) : "rcx", "r11", "memory");
	__builtin_unreachable();
}

static uint64_t user_cr3_of(const struct sthread *st)
{
	return (uint64_t)(uintptr_t)st->root | (st_pcid ? (uint64_t)(st->id + 1) | CR3_NOFLUSH : 0);
}

int st_run(struct sthread *st, void *rip, uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct sthread *outer = st_current;
	st_current = st;
	dune_set_user_fs(st_fs_base);
	st_flush(st); /* what an earlier sthread in this slot left in its PCID here */
	dune_set_user_cr3(user_cr3_of(st), st_kernel_cr3);
	struct dune_tf tf;
	memset(&tf, 0, sizeof(tf));
	tf.rip = (uint64_t)rip;
	tf.rsp = st->stack + ST_STACK_PAGES * PGSIZE - 8; /* as after a call */
	tf.rdi = a0;
	tf.rsi = a1;
	tf.rdx = a2;
	tf.rflags = 0x202;
	int status = dune_jump_to_user(&tf); /* back at its end or a violation */
	st_current = outer;
	if (outer)
		dune_set_user_cr3(user_cr3_of(outer), st_kernel_cr3); /* its PCID's entries are still good */
	else
		dune_set_user_cr3(0, 0);
	return status;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int r = dune_enter();
	uintptr_t block;
	size_t block_len;
	dune_get_thread_block(&block, &block_len);
	if (!r && snapshot_shadows(block, block_len))
		r = -EADDRINUSE; /* the block sits where the snapshot was: see worker_stacks */
	if (!r)
		r = gate_worker_init();
	if (!r) {
		uint64_t cr4;
		__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
		st_pcid = cr4 & CR4_PCIDE;
		st_kernel_cr3 = (uint64_t)(uintptr_t)pgroot | (st_pcid ? CR3_NOFLUSH : 0); /* PCID 0 */
	}
	w->err = r;
	sem_post(&w->started);
	if (r)
		return NULL;
	for (;;) {
		while (sem_wait(&w->go))
			;
		struct sthread *st = w->st;
		st_run(st, (void *)trampoline, (uint64_t)st->cb, (uint64_t)st->arg, 0);
		w->st = NULL;
		pthread_mutex_lock(&lock);
		idle[nidle++] = w;
		pthread_mutex_unlock(&lock);
		sem_post(&st->done);
	}
	return NULL;
}

static struct worker *new_worker(int *err)
{
	struct worker *w = calloc(1, sizeof(*w));
	if (!w) {
		*err = -ENOMEM;
		return NULL;
	}
	sem_init(&w->go, 0, 0);
	sem_init(&w->started, 0, 0);
	int slot = __atomic_fetch_add(&worker_stacks_used, 1, __ATOMIC_RELAXED);
	if (slot >= STHREAD_MAX_LIVE) {
		free(w);
		*err = -EAGAIN;
		return NULL;
	}
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, (void *)(worker_stacks + (uintptr_t)slot * WORKER_STACK), WORKER_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int e = pthread_create(&w->thread, &attr, worker_main, w);
	pthread_attr_destroy(&attr);
	if (e) {
		free(w);
		*err = -e;
		return NULL;
	}
	while (sem_wait(&w->started))
		;
	if (w->err) {
		*err = w->err == -ENOMEM || w->err == -EADDRINUSE ? w->err : -EAGAIN;
		return NULL; /* the thread has ended; w stays (a few bytes) */
	}
	return w;
}

/* A fresh slot: the template's tables and a stack. */
static int slot_build(struct sthread *st)
{
	if (!(st->root = pt_clone(template_root)))
		return -ENOMEM;
	st->stack = stack_area + (uintptr_t)st->id * STACK_AREA + STACK_AREA - ST_STACK_PAGES * PGSIZE;
	for (int i = 0; i < ST_STACK_PAGES; i++) {
		struct page *pg = st_page_alloc();
		if (!pg || pt_map(st->root, st->stack + (uintptr_t)i * PGSIZE, dune_page2pa(pg),
				  PTE_P | PTE_W | PTE_U | PTE_NX)) {
			if (pg)
				st_page_free(pg);
			return -ENOMEM; /* what was made stays with the slot */
		}
	}
	return 0;
}

static uint64_t tag_pa(uintptr_t va) { return dune_va_to_pa((void *)va); }

static int grant_tags(struct sthread *st)
{
	for (int i = 0; i < st->sc.ntags; i++) {
		struct tag_info t;
		if (!tag_get(st->sc.mem[i].tag, &t))
			return -EINVAL;
		uint64_t flags = PTE_P | PTE_U | PTE_NX | ((st->sc.mem[i].prot & PROT_WRITE) ? PTE_W : 0);
		for (uintptr_t va = t.base; va < t.base + t.size; va += PGSIZE) {
			ptent_t *e = pt_user_leaf(st->root, va);
			if (e && (*e & PTE_W)) /* granted twice: the wider right */
				continue;
			if (pt_map(st->root, va, tag_pa(va), flags))
				return -ENOMEM;
		}
	}
	return 0;
}

/* After an sthread: its slot as the template left it (tables kept). */
static void slot_reset(struct sthread *st)
{
	for (int i = 0; i < st->ncow; i++) {
		/* the page goes back to the snapshot: found in the template */
		ptent_t *e = pt_user_leaf(st->root, st->cow_va[i]), *t = pt_user_leaf(template_root, st->cow_va[i]);
		if (e && t)
			*e = *t;
		st_page_free(st->cow[i]);
	}
	st->ncow = 0;
	for (int i = 0; i < st->sc.ntags; i++) {
		struct tag_info t;
		if (!tag_get(st->sc.mem[i].tag, &t))
			continue;
		for (uintptr_t va = t.base; va < t.base + t.size; va += PGSIZE) {
			/* as the template has it (where the snapshot had memory the
			 * program since unmapped), else nothing: ring 0 never
			 * reaches it through this table */
			ptent_t *e = pt_user_leaf(st->root, va), *tmpl = pt_user_leaf(template_root, va);
			if (e)
				*e = tmpl ? *tmpl : 0;
		}
		tag_use(st->sc.mem[i].tag, -1);
	}
	for (int i = 0; i < ST_STACK_PAGES; i++) {
		ptent_t *e = pt_user_leaf(st->root, st->stack + (uintptr_t)i * PGSIZE);
		if (e && (*e & PTE_D)) { /* written: zeroed (the next run flushes its PCID first) */
			memset(pt_pa_to_va(PTE_ADDR(*e)), 0, PGSIZE);
			*e &= ~(ptent_t)(PTE_D | PTE_A);
		}
	}
}

/* A slot for a new sthread or callgate run (under lock): a finished
 * one's if any (*fresh false), else one to build. NULL when ST_MAX_SLOTS
 * exist or memory is short. */
static struct sthread *slot_get(bool *fresh)
{
	struct sthread *st = NULL;
	*fresh = !nfree;
	if (!*fresh) {
		st = slots[free_slots[--nfree]];
	} else if (nempty) {
		st = slots[empty_slots[--nempty]];
	} else if (nslots < ST_MAX_SLOTS && (st = calloc(1, sizeof(*st)))) {
		st->id = nslots;
		slots[nslots++] = st;
	}
	return st;
}

/* Back for reuse (under lock), reset already. */
static void slot_put(struct sthread *st)
{
	if (st->root)
		free_slots[nfree++] = st->id; /* built (or partly): kept */
	else
		empty_slots[nempty++] = st->id;
}

/* Built if fresh, and given sc's grants; on an error what grant_tags did
 * is undone. */
static int slot_prepare(struct sthread *st, bool fresh, const sc_t *sc)
{
	int r = fresh ? slot_build(st) : 0;
	if (r)
		return r;
	st->sc = *sc;
	for (int i = 0; i < sc->ntags; i++)
		tag_use(sc->mem[i].tag, 1);
	if ((r = grant_tags(st)))
		slot_reset(st);
	st->ret = NULL;
	st->status = 0;
	st->why[0] = 0;
	return r;
}

struct sthread *st_gate_start(const sc_t *sc, int *err)
{
	bool fresh;
	pthread_mutex_lock(&lock);
	struct sthread *st = slot_get(&fresh);
	pthread_mutex_unlock(&lock);
	*err = st ? slot_prepare(st, fresh, sc) : -ENOMEM;
	if (st && *err) {
		pthread_mutex_lock(&lock);
		slot_put(st);
		pthread_mutex_unlock(&lock);
		return NULL;
	}
	if (st)
		__atomic_add_fetch(&n_gate_calls, 1, __ATOMIC_RELAXED);
	return st;
}

void st_gate_end(struct sthread *st)
{
	slot_reset(st);
	pthread_mutex_lock(&lock);
	slot_put(st);
	pthread_mutex_unlock(&lock);
}

int sthread_create(sthread_t *out, const sc_t *sc, stcb_t cb, void *arg)
{
	if (!initialized || !sc_tags_exist(sc))
		return -EINVAL;
	pthread_mutex_lock(&lock);
	if (n_live == STHREAD_MAX_LIVE) {
		pthread_mutex_unlock(&lock);
		return -EAGAIN;
	}
	bool fresh;
	struct sthread *st = slot_get(&fresh);
	struct worker *w = nidle ? idle[--nidle] : NULL;
	if (st)
		n_live++;
	pthread_mutex_unlock(&lock);
	int r = st ? 0 : -ENOMEM;
	if (!r && !w && (w = new_worker(&r)))
		__atomic_add_fetch(&nworkers, 1, __ATOMIC_RELAXED);
	if (!r)
		r = slot_prepare(st, fresh, sc);
	pthread_mutex_lock(&lock);
	if (r) {
		if (st) {
			slot_put(st);
			n_live--;
		}
		if (w)
			idle[nidle++] = w;
		pthread_mutex_unlock(&lock);
		return r;
	}
	if (fresh)
		n_created++;
	else
		n_recycled++;
	pthread_mutex_unlock(&lock);
	st->cb = cb;
	st->arg = arg;
	st->depth = 0;
	st->live = true;
	sem_init(&st->done, 0, 0);
	w->st = st;
	*out = st->id;
	sem_post(&w->go);
	return 0;
}

int sthread_join(sthread_t id, void **ret)
{
	pthread_mutex_lock(&lock);
	struct sthread *st = id >= 0 && id < nslots ? slots[id] : NULL;
	bool ok = st && st->live;
	if (ok)
		st->live = false; /* one joiner */
	pthread_mutex_unlock(&lock);
	if (!ok)
		return -EINVAL;
	while (sem_wait(&st->done))
		;
	if (ret)
		*ret = st->ret;
	int status = st->status;
	memcpy(last_error, st->why, sizeof(last_error));
	slot_reset(st);
	pthread_mutex_lock(&lock);
	free_slots[nfree++] = st->id;
	n_live--;
	pthread_mutex_unlock(&lock);
	return status;
}

const char *sthread_error(void) { return last_error; }

int sthread_trim(void)
{
	pthread_mutex_lock(&lock);
	int n = nfree;
	while (nfree) {
		struct sthread *st = slots[free_slots[--nfree]];
		for (int i = 0; i < ST_STACK_PAGES; i++) {
			ptent_t *e = pt_user_leaf(st->root, st->stack + (uintptr_t)i * PGSIZE);
			if (e && (*e & PTE_P))
				st_page_free(dune_pa2page(PTE_ADDR(*e)));
		}
		pt_free(st->root);
		st->root = NULL;
		empty_slots[nempty++] = st->id;
	}
	pthread_mutex_unlock(&lock);
	return n;
}

void sthread_get_stats(struct sthread_stats *s)
{
	pthread_mutex_lock(&lock);
	s->created = n_created;
	s->recycled = n_recycled;
	s->live = n_live;
	s->slots = (unsigned long)(nslots - nempty);
	s->workers = (unsigned long)__atomic_load_n(&nworkers, __ATOMIC_RELAXED);
	s->pages = __atomic_load_n(&st_pages, __ATOMIC_RELAXED);
	s->gate_calls = __atomic_load_n(&n_gate_calls, __ATOMIC_RELAXED);
	s->pcid = st_pcid;
	pthread_mutex_unlock(&lock);
}

void sc_init(sc_t *sc) { memset(sc, 0, sizeof(*sc)); }

int sc_mem_add(sc_t *sc, tag_t tag, int prot)
{
	struct tag_info t;
	if (!tag_get(tag, &t) || !(prot & PROT_READ) || (prot & ~(PROT_READ | PROT_WRITE)))
		return -EINVAL;
	if (sc->ntags == SC_MAX_TAGS)
		return -ENOSPC;
	sc->mem[sc->ntags].tag = tag;
	sc->mem[sc->ntags++].prot = prot;
	return 0;
}

int sc_fd_add(sc_t *sc, int fd, int prot)
{
	if (fd < 0 || !prot || (prot & ~(PROT_READ | PROT_WRITE)))
		return -EINVAL;
	if (sc->nfds == SC_MAX_FDS)
		return -ENOSPC;
	sc->fd[sc->nfds].fd = fd;
	sc->fd[sc->nfds++].prot = prot;
	return 0;
}

int sc_sys_add(sc_t *sc, int sysno)
{
	if (sysno < 0 || sysno >= SC_MAX_SYSCALL)
		return -EINVAL;
	sc->sys[sysno / 8] |= (unsigned char)(1u << (sysno % 8));
	return 0;
}
