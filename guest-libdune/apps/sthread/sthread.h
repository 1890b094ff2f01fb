/* SPDX-License-Identifier: MIT */
/* libsthread: Wedge-style sthreads (Bittau et al., NSDI 2008) on dunehv's
 * libdune, as the Dune paper (OSDI 2012, 6.3) built them.
 *
 * An sthread is a thread that can touch nothing by default. It runs at
 * ring 3 of a Dune context on a page table of its own (PCID-tagged where
 * the CPU has PCID) that maps:
 * - the program's code and read-only data (shared);
 * - its globals and other writable memory as they were at sthread_init
 *   (copy-on-write: it sees neither the parent's later writes nor do its
 *   writes reach the parent);
 * - a fresh stack;
 * - the memory tags its security context grants, read-only or read-write.
 * Its system calls reach a ring-0 gate first, which allows only the calls
 * and file descriptors the context grants, and copies every buffer through
 * the gate (a pointer outside the sthread's memory is a violation, never
 * passed to Linux). A violation (touching memory outside the grants,
 * writing a read-only tag, a call or descriptor not granted, a privileged
 * instruction, any other exception) stops that sthread; its joiner learns
 * why, and the process and the other sthreads go on. Finished sthreads are
 * recycled: their page tables are reset, not rebuilt, and their Dune
 * context (a worker thread) waits for the next one.
 *
 * A callgate (Wedge's) is a function an sthread may call that runs with
 * another context's grants: typically more (a key, a descriptor) behind a
 * narrow interface. It runs at ring 3 like an sthread of its own, on its
 * own page table and stack, from the snapshot, and returns to its caller.
 *
 * Call sthread_init before anything enters Dune mode, early (its snapshot
 * is what every sthread starts from). The program itself stays in Linux
 * mode; only the workers that run sthreads enter Dune. */
#ifndef STHREAD_H
#define STHREAD_H

#include <stddef.h>
#include <sys/mman.h> /* PROT_READ, PROT_WRITE */

#define SC_MAX_TAGS 32
#define SC_MAX_FDS 32
#define SC_MAX_SYSCALL 512
#define SC_MAX_GATES 16

typedef int tag_t;
typedef int sthread_t;
typedef void *(*stcb_t)(void *arg);
/* A callgate: trusted is fixed when the gate is granted, arg is the
 * caller's (an address in memory both may reach, such as a shared tag). */
typedef void *(*cgate_fn)(void *trusted, void *arg);

/* A security context: what an sthread may use. Fill it with the sc_*
 * calls; it is copied at sthread_create. */
typedef struct sc {
	int ntags, nfds;
	struct {
		tag_t tag;
		int prot;
	} mem[SC_MAX_TAGS];
	struct {
		int fd;
		int prot;
	} fd[SC_MAX_FDS];
	unsigned char sys[SC_MAX_SYSCALL / 8];
	int ngates;
	int gate[SC_MAX_GATES]; /* callgates it may call (libsthread's ids) */
} sc_t;

/* 0, or -errno: -ENODEV without /dev/dune (dune.ko not loaded, or not
 * under dunehv), -EBUSY when called twice or after dune_init. */
int sthread_init(void);

/* Nothing granted. read and write are always allowed (still only on
 * granted descriptors), as are exit and exit_group (the sthread ends). */
void sc_init(sc_t *sc);
/* Grants tag's memory: PROT_READ, or PROT_READ | PROT_WRITE. 0 or -EINVAL
 * (no such tag, bad prot) or -ENOSPC (SC_MAX_TAGS). */
int sc_mem_add(sc_t *sc, tag_t tag, int prot);
/* Grants a descriptor: PROT_READ (read, recv...), PROT_WRITE (write,
 * send...), or both. 0, -EINVAL or -ENOSPC. */
int sc_fd_add(sc_t *sc, int fd, int prot);
/* Allows a system call. Only calls whose arguments the gate knows how to
 * check can run (README: libsthread); others stop the sthread with a
 * message saying so. 0 or -EINVAL. */
int sc_sys_add(sc_t *sc, int sysno);

/* Lets sc's sthreads call fn as a callgate: fn(trusted, arg) then runs
 * with gate_sc's grants (copied now; gate_sc may grant callgates too, up
 * to CGATE_MAX_DEPTH calls deep). 0, -EINVAL (fn NULL, or a tag of
 * gate_sc's does not exist) or -ENOSPC (SC_MAX_GATES in sc, or CGATE_MAX
 * distinct gates in the process: the same fn, trusted and gate_sc twice
 * are one gate). */
#define CGATE_MAX 64
#define CGATE_MAX_DEPTH 4
int sc_cgate_add(sc_t *sc, cgate_fn fn, const sc_t *gate_sc, void *trusted);
/* In an sthread: calls the callgate fn its context grants and returns its
 * result (or exit's argument, if the gate calls exit). A gate it was not
 * granted, a violation inside the gate or a gate that cannot start (no
 * memory, a tag deleted since) stops the calling sthread; its joiner
 * learns why. Outside an sthread, returns (void *)-ENOSYS. */
void *cgate(cgate_fn fn, void *arg);

/* A memory tag of size bytes (rounded up to pages), or -errno. */
tag_t tag_new_size(size_t size);
/* Wedge's tag_new: 64 KiB. */
tag_t tag_new(void);
/* Frees the tag's memory; 0 or -EINVAL (no such tag) or -EBUSY (a live
 * sthread holds it). */
int tag_delete(tag_t tag);
/* Memory from a tag, or NULL (no such tag, or full); its bookkeeping lives
 * outside the tag, so an sthread that writes the tag cannot corrupt it. */
void *smalloc(tag_t tag, size_t size);
void sfree(void *p);

/* Starts cb(arg) in a new (or recycled) sthread with a copy of sc. 0, or
 * -errno: -EINVAL (a tag no longer exists), -EAGAIN (STHREAD_MAX_LIVE
 * sthreads run), -ENOMEM. */
#define STHREAD_MAX_LIVE 32
int sthread_create(sthread_t *st, const sc_t *sc, stcb_t cb, void *arg);

/* Waits for st. Returns 0 with *ret = cb's result (or exit's argument),
 * STHREAD_STOPPED when a violation stopped it (*ret = NULL; sthread_error
 * says why), or -EINVAL for an unknown sthread. st may be reused after. */
#define STHREAD_STOPPED 1
int sthread_join(sthread_t st, void **ret);
/* Why the last sthread this thread joined was stopped ("" if it was not). */
const char *sthread_error(void);

/* Frees what finished sthreads keep for reuse (their page tables and
 * stacks); the workers stay. The number of slots freed. */
int sthread_trim(void);

struct sthread_stats {
	unsigned long created;   /* sthreads made with fresh page tables */
	unsigned long recycled;  /* sthreads that reused a finished one's */
	unsigned long live;      /* created and not yet joined */
	unsigned long slots;     /* page-table sets kept (live and recycled) */
	unsigned long workers;   /* Dune contexts (threads) running sthreads */
	unsigned long pages;     /* pool pages libsthread holds now */
	unsigned long gate_calls; /* callgate calls that started */
	int pcid;                /* 1 if sthreads' page tables are PCID-tagged */
};
void sthread_get_stats(struct sthread_stats *s);

#endif
