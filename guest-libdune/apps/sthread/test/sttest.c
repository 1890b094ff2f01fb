/* SPDX-License-Identifier: MIT */
/* libsthread's checks, one verdict each (apps/sthread/README in the
 * project README): what an sthread sees, what stops it, that the parent
 * and the other sthreads go on, that sthreads run at once, and that
 * recycling keeps memory and contexts at their baseline. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dune.h"
#include "sthread.h"
#define VERDICT_PROGRAM "sttest"
#include "../../../test/verdict.h"

static volatile int global = 1;
static char *before_init; /* malloc'd before sthread_init: in the snapshot */
static char *after_init;  /* mmap'd after: nobody's grant */
static int pipe_fd[2];

static long raw(long nr, long a, long b, long c)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return r;
}

static sc_t empty(void)
{
	sc_t sc;
	sc_init(&sc);
	return sc;
}

static int run(const sc_t *sc, stcb_t cb, void *arg, void **ret)
{
	sthread_t st;
	int r = sthread_create(&st, sc, cb, arg);
	if (r)
		return r;
	return sthread_join(st, ret);
}

static void *add_one(void *arg) { return (char *)arg + 1; }

static void *read_global(void *arg)
{
	(void)arg;
	long seen = global;
	global = 3;
	return (void *)seen;
}

static void *stack_dirty(void *arg)
{
	volatile char buf[8192];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = 0x5a;
	return arg;
}

/* The stack below this frame (where stack_dirty's buffer was, at the same
 * depth from the trampoline), not yet used by this call. */
static void *stack_clean(void *arg)
{
	(void)arg;
	const volatile char *below = (const char *)__builtin_frame_address(0) - 12288;
	long dirty = 0;
	for (size_t i = 0; i < 12288 - 256; i++)
		dirty += below[i] != 0;
	return (void *)dirty;
}

static void *tag_rw(void *arg)
{
	char *p = arg;
	long saw = !strcmp(p, "hi");
	strcpy(p, "bye");
	return (void *)saw;
}

static void *tag_write(void *arg)
{
	char *p = arg;
	long saw = !strcmp(p, "bye");
	p[0] = 'X'; /* read-only grant: stops here */
	return (void *)saw;
}

static void *touch(void *arg) { return (void *)(long)*(volatile char *)arg; }

static void *secret_in_snapshot(void *arg)
{
	(void)arg;
	return (void *)(long)!strcmp(before_init, "public");
}

static void *write_pipe(void *arg)
{
	(void)arg;
	return (void *)raw(SYS_write, pipe_fd[1], (long)"bye", 3);
}

static void *read_errno(void *arg)
{
	char c;
	errno = 0;
	long r = read((int)(long)arg, &c, 1);
	return (void *)(r < 0 ? (long)errno : 0);
}

static void *write_stdout(void *arg)
{
	(void)arg;
	return (void *)raw(SYS_write, 1, (long)"leak\n", 5);
}

static void *call_getppid(void *arg)
{
	(void)arg;
	return (void *)raw(SYS_getppid, 0, 0, 0);
}

static void *write_secret(void *arg) { return (void *)raw(SYS_write, pipe_fd[1], (long)arg, 8); }

static void *do_int3(void *arg)
{
	__asm__ volatile("int3");
	return arg;
}

static void *do_hlt(void *arg)
{
	__asm__ volatile("hlt");
	return arg;
}

/* Overwrites its copy of a global that ring 0 relies on, then calls into
 * ring 0: the gate must still work, and the parent's global be intact. */
static void *clobber_ring0(void *arg)
{
	(void)arg;
	pgroot = (ptent_t *)0x1000;
	return (void *)raw(SYS_write, pipe_fd[1], (long)"ok", 2);
}

static void *open_read(void *arg)
{
	char *buf = arg;
	int fd = open("/proc/self/comm", O_RDONLY);
	if (fd < 0)
		return (void *)-1L;
	long n = read(fd, buf, 63);
	close(fd);
	if (n > 0)
		buf[n - (buf[n - 1] == '\n')] = 0;
	return (void *)n;
}

/* Callgates: the gate may read key (trusted, in a tag only its context
 * grants) and write to the pipe; its caller may do neither. */
struct gate_io {
	char msg[32];
	long sum;
};

static void *sum_key(void *trusted, void *arg)
{
	const char *key = trusted;
	struct gate_io *io = arg;
	long sum = 0;
	for (int i = 0; key[i]; i++)
		sum += key[i];
	io->sum = sum;
	strcpy(io->msg, "signed");
	return (void *)(long)strlen(key);
}

static void *gate_write_pipe(void *trusted, void *arg)
{
	(void)trusted;
	return (void *)raw(SYS_write, pipe_fd[1], (long)arg, 4);
}

static void *gate_touch(void *trusted, void *arg)
{
	(void)trusted;
	return (void *)(long)*(volatile char *)arg;
}

static void *call_sum_key(void *arg) { return cgate(sum_key, arg); }

/* The gate's grants stay the gate's: after it returns, the caller's touch
 * of the key stops the caller. */
static void *call_then_touch(void *arg)
{
	void **a = arg;
	cgate(sum_key, a[0]);
	return (void *)(long)*(volatile char *)a[1];
}

static void *call_write_gate(void *arg) { return cgate(gate_write_pipe, arg); }
static void *call_touch_gate(void *arg) { return cgate(gate_touch, arg); }

static void *call_sum_key_often(void *arg)
{
	long good = 0;
	for (int i = 0; i < 100; i++) {
		((struct gate_io *)arg)->sum = 0;
		good += cgate(sum_key, arg) == (void *)6 && ((struct gate_io *)arg)->sum > 0;
	}
	return (void *)good;
}

struct par {
	atomic_int arrived;
	long result[8];
	long me[8]; /* each sthread's argument points at its own */
};

static void *parallel(void *arg)
{
	long me = *(long *)arg;
	struct par *p = (struct par *)((char *)arg - offsetof(struct par, me) - (size_t)me * sizeof(long));
	atomic_fetch_add(&p->arrived, 1);
	while (atomic_load(&p->arrived) < 8)
		raw(SYS_sched_yield, 0, 0, 0);
	long sum = 0;
	for (long i = 0; i <= 1000; i++)
		sum += i * me;
	p->result[me] = sum;
	return (void *)me;
}

static void check_stopped(const char *id, int status, const char *expect, const char *what)
{
	const char *why = sthread_error();
	verdict(status == STHREAD_STOPPED && strstr(why, expect), id, "%s: join %d, \"%s\"", what, status, why);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	before_init = malloc(64);
	strcpy(before_init, "public");
	/* before sthread_init: sthreads see pipe_fd as the snapshot has it */
	if (pipe(pipe_fd) || fcntl(pipe_fd[0], F_SETFL, O_NONBLOCK)) {
		perror("sttest: pipe");
		return 1;
	}
	int r = sthread_init();
	if (r) {
		printf("sttest: sthread_init: %s\n", strerror(-r));
		return 1;
	}
	strcpy(before_init, "secret");
	after_init = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	strcpy(after_init, "secret");
	sc_t sc = empty();
	void *ret = NULL;

	r = run(&sc, add_one, (void *)41, &ret);
	int r2 = run(&sc, add_one, (void *)99, &ret);
	verdict(!r && !r2 && ret == (void *)100, "sthread.basic", "two sthreads returned arg + 1 (%d %d %p)", r, r2, ret);

	global = 2;
	void *seen1 = NULL, *seen2 = NULL;
	r = run(&sc, read_global, NULL, &seen1);
	r2 = run(&sc, read_global, NULL, &seen2);
	verdict(!r && !r2 && seen1 == (void *)1 && seen2 == (void *)1 && global == 2, "sthread.globals",
		"sthreads saw the global as at sthread_init (%ld, %ld), their writes stayed theirs (parent's: %d)",
		(long)seen1, (long)seen2, global);
	r = run(&sc, secret_in_snapshot, NULL, &ret);
	verdict(!r && ret == (void *)1, "sthread.snapshot",
		"heap memory written after sthread_init reads as before in an sthread (%d %p)", r, ret);

	r = run(&sc, stack_dirty, NULL, NULL);
	r2 = run(&sc, stack_clean, NULL, &ret);
	verdict(!r && !r2 && ret == NULL, "sthread.stack", "a recycled sthread's stack starts zeroed (%ld bytes not)",
		(long)ret);

	tag_t tag = tag_new();
	char *shared = smalloc(tag, 64);
	strcpy(shared, "hi");
	sc_mem_add(&sc, tag, PROT_READ | PROT_WRITE);
	r = run(&sc, tag_rw, shared, &ret);
	verdict(!r && ret == (void *)1 && !strcmp(shared, "bye"), "sthread.tag-rw",
		"a read-write tag: the sthread read \"hi\" and wrote \"%s\"", shared);
	sc = empty();
	sc_mem_add(&sc, tag, PROT_READ);
	r = run(&sc, tag_write, shared, &ret);
	check_stopped("sthread.tag-ro", r, "a write", "a write to a read-only tag");
	verdict(!strcmp(shared, "bye"), "sthread.tag-ro-intact", "the tag still reads \"%s\"", shared);

	tag_t other = tag_new();
	char *other_mem = smalloc(other, 64);
	strcpy(other_mem, "other");
	r = run(&sc, touch, other_mem, &ret);
	check_stopped("sthread.tag-not-granted", r, "outside its memory", "a read of a tag not granted");
	r = run(&sc, touch, after_init, &ret);
	check_stopped("sthread.outside", r, "outside its memory", "a read of the parent's later memory");

	sc = empty();
	sc_fd_add(&sc, pipe_fd[1], PROT_WRITE);
	r = run(&sc, write_pipe, NULL, &ret);
	char buf[64] = "";
	long n = read(pipe_fd[0], buf, sizeof(buf) - 1);
	verdict(!r && ret == (void *)3 && n == 3 && !memcmp(buf, "bye", 3), "sthread.fd",
		"a granted descriptor: write returned %ld, the parent read %ld bytes", (long)ret, n);
	sc_fd_add(&sc, pipe_fd[0], PROT_READ);
	r = run(&sc, read_errno, (void *)(long)pipe_fd[1], &ret);
	check_stopped("sthread.fd-right", r, "for reading", "a read on a descriptor granted for writing");
	r = run(&sc, write_stdout, NULL, &ret);
	check_stopped("sthread.fd-denied", r, "descriptor 1", "a write to a descriptor not granted");
	r = run(&sc, write_secret, after_init, &ret);
	check_stopped("sthread.pointer", r, "outside its memory", "write() of the parent's memory");

	r = run(&sc, call_getppid, NULL, &ret);
	check_stopped("sthread.syscall-denied", r, "does not grant", "getppid not granted");
	sc_sys_add(&sc, SYS_getppid);
	r = run(&sc, call_getppid, NULL, &ret);
	verdict(!r && (long)ret == (long)getppid(), "sthread.syscall-granted", "getppid granted: %ld", (long)ret);

	r = run(&sc, do_hlt, NULL, &ret);
	check_stopped("sthread.privileged", r, "exception 13", "HLT at ring 3");
	r = run(&sc, do_int3, NULL, &ret);
	check_stopped("sthread.breakpoint", r, "exception 3", "INT3 at ring 3 (no tracer)");

	ptent_t *root_before = pgroot;
	r = run(&sc, clobber_ring0, NULL, &ret);
	n = read(pipe_fd[0], buf, sizeof(buf) - 1);
	verdict(!r && ret == (void *)2 && n == 2 && pgroot == root_before, "sthread.ring0-globals",
		"an sthread changed its copy of pgroot, and ring 0 went on with the real one (write %ld, read %ld)",
		(long)ret, n);

	sc = empty();
	sc_sys_add(&sc, SYS_open);
	sc_sys_add(&sc, SYS_openat);
	sc_sys_add(&sc, SYS_close);
	char *name = smalloc(tag, 64);
	sc_mem_add(&sc, tag, PROT_READ | PROT_WRITE);
	r = run(&sc, open_read, name, &ret);
	verdict(!r && (long)ret > 0 && !strncmp(name, "sttest", 6), "sthread.open",
		"open granted: read \"%.15s\" (%ld)", name, (long)ret);

	/* callgates */
	tag_t keytag = tag_new(), iotag = tag_new();
	char *key = smalloc(keytag, 16);
	strcpy(key, "k3y!!x");
	long key_sum = 0;
	for (int i = 0; key[i]; i++)
		key_sum += key[i];
	struct gate_io *io = smalloc(iotag, sizeof(*io));
	memset(io, 0, sizeof(*io));
	sc_t gate_sc = empty();
	sc_mem_add(&gate_sc, keytag, PROT_READ);
	sc_mem_add(&gate_sc, iotag, PROT_READ | PROT_WRITE);
	sc_fd_add(&gate_sc, pipe_fd[1], PROT_WRITE);
	sc = empty();
	sc_mem_add(&sc, iotag, PROT_READ | PROT_WRITE);
	int ga = sc_cgate_add(&sc, sum_key, &gate_sc, key);
	int gb = sc_cgate_add(&sc, gate_write_pipe, &gate_sc, NULL);
	int gc = sc_cgate_add(&sc, gate_touch, &gate_sc, NULL);
	int gd = sc_cgate_add(&sc, sum_key, &gate_sc, key); /* the same gate again: no new entry */
	r = run(&sc, call_sum_key, io, &ret);
	verdict(!ga && !gb && !gc && !gd && sc.ngates == 3 && !r && ret == (void *)6 && io->sum == key_sum &&
			!strcmp(io->msg, "signed"),
		"sthread.callgate",
		"a callgate read a tag its caller is not granted (sum %ld of %ld, result %ld, \"%s\"; add %d %d %d %d)",
		io->sum, key_sum, (long)ret, io->msg, ga, gb, gc, gd);
	void **pair = smalloc(iotag, 2 * sizeof(void *)); /* the caller reads it */
	pair[0] = io;
	pair[1] = key;
	strcpy(io->msg, "");
	r = run(&sc, call_then_touch, pair, &ret);
	check_stopped("sthread.callgate-confined", r, "outside its memory",
		      "after the gate returned, the caller touched the gate's tag");
	verdict(!strcmp(io->msg, "signed"), "sthread.callgate-ran", "the gate had run before (\"%s\")", io->msg);
	char *word = smalloc(iotag, 8);
	strcpy(word, "gate");
	r = run(&sc, call_write_gate, word, &ret);
	n = read(pipe_fd[0], buf, sizeof(buf) - 1);
	verdict(!r && ret == (void *)4 && n == 4 && !memcmp(buf, "gate", 4), "sthread.callgate-fd",
		"a callgate wrote to a descriptor its caller is not granted (%ld, parent read %ld)", (long)ret, n);
	r = run(&sc, call_touch_gate, after_init, &ret);
	check_stopped("sthread.callgate-violation", r, "in callgate", "a callgate touched the parent's later memory");
	verdict(strstr(sthread_error(), "outside its memory") != NULL, "sthread.callgate-violation-why",
		"the caller's error names the gate's violation: \"%s\"", sthread_error());
	sc_t plain = empty();
	sc_mem_add(&plain, iotag, PROT_READ | PROT_WRITE);
	r = run(&plain, call_sum_key, io, &ret);
	check_stopped("sthread.callgate-denied", r, "does not grant", "a callgate its context does not list");
	struct sthread_stats g0, g1;
	r = run(&sc, call_sum_key_often, io, &ret); /* the gate's slot exists now */
	sthread_get_stats(&g0);
	r2 = run(&sc, call_sum_key_often, io, &ret);
	sthread_get_stats(&g1);
	verdict(!r && !r2 && ret == (void *)100 && g1.gate_calls == g0.gate_calls + 100 && g1.pages == g0.pages &&
			g1.slots == g0.slots && g1.created == g0.created,
		"sthread.callgate-recycle",
		"100 callgate calls in one sthread: %ld good, calls %lu -> %lu, pages %lu -> %lu, slots %lu -> %lu",
		(long)ret, g0.gate_calls, g1.gate_calls, g0.pages, g1.pages, g0.slots, g1.slots);
	verdict(cgate(sum_key, io) == (void *)-ENOSYS, "sthread.callgate-outside",
		"cgate outside an sthread returns -ENOSYS");

	/* bad arguments: each refused with its error, the context unchanged */
	sc_t bad_sc = empty();
	int e1 = sc_mem_add(&bad_sc, 12345, PROT_READ), e2 = sc_mem_add(&bad_sc, iotag, PROT_WRITE);
	int e3 = sc_fd_add(&bad_sc, -1, PROT_READ), e4 = sc_fd_add(&bad_sc, 0, PROT_EXEC);
	int e5 = sc_sys_add(&bad_sc, SC_MAX_SYSCALL), e6 = sc_cgate_add(&bad_sc, NULL, &gate_sc, NULL);
	sthread_t none;
	int e7 = sthread_join(-1, NULL), e8 = tag_delete(54321);
	bad_sc.mem[0].tag = 999; /* a hand-made grant of a tag that does not exist */
	bad_sc.ntags = 1;
	int e9 = sthread_create(&none, &bad_sc, add_one, NULL);
	verdict(e1 == -EINVAL && e2 == -EINVAL && e3 == -EINVAL && e4 == -EINVAL && e5 == -EINVAL && e6 == -EINVAL &&
			e7 == -EINVAL && e8 == -EINVAL && e9 == -EINVAL,
		"sthread.bad-arguments",
		"bad tag %d, write-only grant %d, fd -1 %d, PROT_EXEC fd %d, syscall %d, NULL gate %d, join -1 %d, "
		"tag_delete %d, create with a missing tag %d",
		e1, e2, e3, e4, e5, e6, e7, e8, e9);

	tag_t ptag = tag_new();
	struct par *par = smalloc(ptag, sizeof(*par));
	memset(par, 0, sizeof(*par));
	sthread_t ids[8];
	sc = empty();
	sc_mem_add(&sc, ptag, PROT_READ | PROT_WRITE);
	sc_sys_add(&sc, SYS_sched_yield);
	int made = 0;
	for (int i = 0; i < 8; i++) {
		par->me[i] = i;
		if (!sthread_create(&ids[i], &sc, parallel, &par->me[i]))
			made++;
	}
	int good = 0;
	for (int i = 0; i < made; i++)
		good += !sthread_join(ids[i], &ret) && par->result[(long)ret] == 500500 * (long)ret;
	verdict(made == 8 && good == 8, "sthread.parallel", "8 sthreads met at a barrier and finished (%d made, %d good)",
		made, good);

	struct sthread_stats s0, s1;
	sthread_get_stats(&s0);
	sc = empty();
	int bad = 0;
	for (int i = 0; i < 1000; i++)
		bad += run(&sc, add_one, (void *)(long)i, &ret) != 0 || ret != (void *)(long)(i + 1);
	sthread_get_stats(&s1);
	verdict(!bad && s1.created == s0.created && s1.recycled == s0.recycled + 1000 && s1.pages == s0.pages &&
			s1.workers == s0.workers && s1.slots == s0.slots && s1.live == 0,
		"sthread.recycle",
		"1000 create+join: %d wrong, fresh %lu -> %lu, recycled %lu -> %lu, pages %lu -> %lu, workers %lu -> %lu, "
		"slots %lu -> %lu",
		bad, s0.created, s1.created, s0.recycled, s1.recycled, s0.pages, s1.pages, s0.workers, s1.workers, s0.slots,
		s1.slots);
	printf("sttest: info pcid=%d workers=%lu slots=%lu pages=%lu\n", s1.pcid, s1.workers, s1.slots, s1.pages);
	printf("sttest: %d failed\n", verdict_failures);
	return verdict_failures ? 1 : 0;
}
