/* SPDX-License-Identifier: MIT */
/* Callgates (Wedge, NSDI 2008, 3.2): a function an sthread may call that
 * runs with its own context's grants.
 *
 * A gate is (fn, trusted, its context), kept in a table of the process;
 * an sthread's context lists the gates it may call. The call is a system
 * call (CGATE_CALL) into the sthread's ring-0 gate, on its worker: the
 * gate checks the grant, takes a slot (a recycled one as a rule: page
 * tables from the snapshot, a stack, the gate context's tags) and runs
 * fn(trusted, arg) there at ring 3, nested in the caller's system call
 * (dune_jump_to_user nests), then puts the slot back and returns fn's
 * result to the caller. The gate starts from the snapshot on every call:
 * nothing of one caller's call stays for the next. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>

#include "sthread_priv.h"

struct gate_def {
	cgate_fn fn;
	void *trusted;
	sc_t sc;
};

static struct gate_def gates[CGATE_MAX];
static int ngates; /* published with a release store: entries below it are complete */
static pthread_mutex_t gates_lock = PTHREAD_MUTEX_INITIALIZER;

int sc_cgate_add(sc_t *sc, cgate_fn fn, const sc_t *gate_sc, void *trusted)
{
	if (!fn || !gate_sc || !sc_tags_exist(gate_sc))
		return -EINVAL;
	pthread_mutex_lock(&gates_lock);
	int id = 0;
	while (id < ngates && !(gates[id].fn == fn && gates[id].trusted == trusted && !memcmp(&gates[id].sc, gate_sc, sizeof(sc_t))))
		id++;
	bool known = false;
	for (int i = 0; i < sc->ngates; i++)
		known |= sc->gate[i] == id;
	int r = 0;
	if (id == CGATE_MAX || (!known && sc->ngates == SC_MAX_GATES)) {
		r = -ENOSPC;
	} else if (id == ngates) {
		gates[id] = (struct gate_def){fn, trusted, *gate_sc};
		__atomic_store_n(&ngates, id + 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&gates_lock);
	if (!r && !known)
		sc->gate[sc->ngates++] = id;
	return r;
}

void *cgate(cgate_fn fn, void *arg)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(CGATE_CALL), "D"(fn), "S"(arg) : "rcx", "r11", "memory");
	return (void *)r;
}

/* Ring 3 of a gate's slot starts here: fn(trusted, arg), then exit with
 * its result, which ends the gate's run (gate.c). */
static void __attribute__((noreturn, used)) cgate_trampoline(cgate_fn fn, void *trusted, void *arg)
{
	void *r = fn(trusted, arg);
	__asm__ volatile("syscall" ::"a"((long)SYS_exit), "D"(r) : "rcx", "r11", "memory");
	__builtin_unreachable();
}

void *cgate_call(struct sthread *st, uint64_t fn, uint64_t arg)
{
	int n = __atomic_load_n(&ngates, __ATOMIC_ACQUIRE);
	const struct gate_def *def = NULL;
	for (int i = 0; i < st->sc.ngates && !def; i++)
		if (st->sc.gate[i] < n && (uint64_t)(uintptr_t)gates[st->sc.gate[i]].fn == fn)
			def = &gates[st->sc.gate[i]];
	if (!def)
		st_stop(st, "callgate %#lx, which its context does not grant", (unsigned long)fn);
	if (st->depth == CGATE_MAX_DEPTH)
		st_stop(st, "callgate %#lx: more than %d callgates deep", (unsigned long)fn, CGATE_MAX_DEPTH);
	int err;
	struct sthread *in = st_gate_start(&def->sc, &err);
	if (!in)
		st_stop(st, "callgate %#lx could not start: %s", (unsigned long)fn,
			err == -EINVAL ? "its context names a tag deleted since" : strerror(-err));
	in->depth = st->depth + 1;
	int status = st_run(in, (void *)cgate_trampoline, fn, (uint64_t)(uintptr_t)def->trusted, arg);
	void *ret = in->ret;
	char why[sizeof(in->why)];
	memcpy(why, in->why, sizeof(why));
	st_gate_end(in);
	if (status)
		st_stop(st, "in callgate %#lx: %s", (unsigned long)fn, why);
	return ret;
}
