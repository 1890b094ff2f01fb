/* SPDX-License-Identifier: MIT */
/* The sandboxee's threads. A clone with CLONE_THREAD becomes a thread of
 * the monitor (pthread_create from ring 0; libdune's clone starts it in
 * Linux mode), which enters Dune with a context of its own on the process's
 * page tables and then runs the new sandboxee thread at ring 3 with what
 * Linux would give it: the parent's registers, RAX 0, the new stack, the new
 * FS base (CLONE_SETTLS). The sandboxee thread and its monitor thread are
 * one Linux task, so its tid, signals and scheduling are Linux's own. When
 * the sandboxee thread exits, its monitor thread returns from its start
 * routine, so glibc takes its stack back. set_tid_address and the clear at
 * exit (CLONE_CHILD_CLEARTID) are done here, per thread: Linux's own
 * clear-on-exit word belongs to the monitor's glibc. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"

#define THREAD_STACK (256u << 10) /* the monitor's system-call handlers run on it */

struct thread_start {
	struct dune_tf tf; /* the parent's registers at its clone */
	uint64_t flags, ptid, ctid, fs;
	sem_t ready;
	long tid; /* the new thread's tid, or -errno */
};

static __thread uint64_t clear_tid;      /* the sandboxee thread's set_tid_address */
static __thread bool started_by_clone;  /* its monitor thread comes from sandbox_clone_thread */

/* A tid word in the sandboxee's memory: written when still its own and
 * writable (Linux writes it with put_user, ignoring a fault). */
static void put_tid(uint64_t at, int tid)
{
	sb_lock();
	if (umem_ok(at, 4, true))
		*(volatile int *)at = tid;
	sb_unlock();
}

static void *thread_main(void *arg)
{
	struct thread_start *s = arg;
	struct dune_tf tf = s->tf;
	sb_lock(); /* dune_enter writes the page tables */
	int r = dune_enter();
	sb_unlock();
	if (r) {
		s->tid = r == -ENOMEM ? -ENOMEM : -EAGAIN;
		sem_post(&s->ready);
		return NULL;
	}
	int tid = gettid();
	if (s->flags & CLONE_PARENT_SETTID)
		put_tid(s->ptid, tid);
	if (s->flags & CLONE_CHILD_SETTID)
		put_tid(s->ctid, tid);
	clear_tid = (s->flags & CLONE_CHILD_CLEARTID) ? s->ctid : 0;
	dune_set_user_fs(s->fs);
	started_by_clone = true;
	s->tid = tid;
	sem_post(&s->ready); /* s is gone from here on */
	tf.rax = 0;
	dune_jump_to_user(&tf); /* back here when the thread exits (sandbox_thread_exit) */
	return NULL;
}

long sandbox_clone_thread(const uint64_t *a, const struct dune_tf *tf)
{
	const uint64_t needed = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD;
	const uint64_t allowed = needed | CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_SETTID |
				 CLONE_CHILD_CLEARTID | CLONE_DETACHED;
	uint64_t flags = a[0];
	if ((flags & needed) != needed || (flags & ~allowed))
		return -EINVAL; /* a thread shares all of these with its process, as glibc's do */
	if (((flags & CLONE_PARENT_SETTID) && !umem_ok(a[2], 4, true)) ||
	    ((flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID)) && !umem_ok(a[3], 4, true)))
		return -EFAULT;
	struct thread_start s = {.tf = *tf, .flags = flags, .ptid = a[2], .ctid = a[3]};
	s.fs = (flags & CLONE_SETTLS) ? a[4] : dune_get_user_fs();
	if (a[1])
		s.tf.rsp = a[1];
	sem_init(&s.ready, 0, 0);
	pthread_attr_t attr;
	pthread_t th;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	int e = pthread_create(&th, &attr, thread_main, &s);
	pthread_attr_destroy(&attr);
	if (e)
		return -e;
	while (sem_wait(&s.ready))
		;
	return s.tid;
}

long sandbox_set_tid_address(uint64_t at)
{
	clear_tid = at;
	return gettid();
}

/* A fork child's only thread leads its own process. */
void sandbox_thread_forked(void) { started_by_clone = false; }

/* exit (one thread): the clear-on-exit word and its waiter first, as
 * Linux's mm_release; a thread the monitor started returns to its start
 * routine; the process's first thread leaves through Linux (the process
 * ends when its last thread has). */
long sandbox_thread_exit(uint64_t status)
{
	if (clear_tid) {
		put_tid(clear_tid, 0);
		dune_passthrough(SYS_futex, (long)clear_tid, FUTEX_WAKE, 1, 0, 0, 0);
	}
	if (started_by_clone)
		dune_ret_from_user(0);
	return dune_passthrough(SYS_exit, (long)status, 0, 0, 0, 0, 0);
}

/* futex on the sandboxee's own words only (a wake on a monitor address
 * would disturb the monitor's locks). */
long sandbox_futex(uint64_t *a)
{
	int cmd = (int)a[1] & FUTEX_CMD_MASK;
	bool timeout = false, second = false, writes = false;
	switch (cmd) {
	case FUTEX_WAIT: case FUTEX_WAIT_BITSET: case FUTEX_LOCK_PI: case FUTEX_LOCK_PI2:
		timeout = true;
		writes = cmd == FUTEX_LOCK_PI || cmd == FUTEX_LOCK_PI2;
		break;
	case FUTEX_WAKE: case FUTEX_WAKE_BITSET: break;
	case FUTEX_TRYLOCK_PI: case FUTEX_UNLOCK_PI: writes = true; break;
	case FUTEX_REQUEUE: case FUTEX_CMP_REQUEUE: second = true; break;
	case FUTEX_WAKE_OP: second = writes = true; break;
	case FUTEX_WAIT_REQUEUE_PI: timeout = second = writes = true; break;
	case FUTEX_CMP_REQUEUE_PI: second = writes = true; break;
	default: return -ENOSYS;
	}
	if (!umem_ok(a[0], 4, writes) || (second && !umem_ok(a[4], 4, writes)) ||
	    (timeout && a[3] && !umem_ok(a[3], 16, false)))
		return -EFAULT;
	return dune_passthrough(SYS_futex, (long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4], (long)a[5]);
}
