/*
 * dunemini limits: what one user and one process may take of the
 * hypervisor's Dune contexts and pages (hardening issue, item 6:
 * linux-shim/dune_limits.c, the hypervisor's accounts and pool reserve,
 * emptied EPT tables freed). Needs hvprobe (/proc/dunehv/info).
 *
 *   contexts  with max_contexts_per_process=3 and max_contexts_per_user=4:
 *             a process of user 1000 gets 3 of its 4 threads into Dune (the
 *             4th: EAGAIN), a second process of that user 1 of 2, and a
 *             process of user 1001 its one thread
 *   share     user 1000's 6 threads each touch one page per 2 MiB of 8 GiB
 *             (a 4 KiB EPT leaf each: 4096 tables per thread, more than the
 *             pool has, together); while they hold what they got,
 *             user 1001 touches 256 such pages, and must get them; the pool
 *             never goes below its reserve
 *   free      a thread touches 2048 such pages, then munmaps them from Dune:
 *             the emptied tables go back to the pool while it lives
 *   baseline  afterwards the contexts and their pages are back where they
 *             were
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dunemini.h"
#include "procinfo.h"

#define GIB (1ull << 30)
#define TWO_MIB (2ull << 20)
#define REGION_BASE (16 * GIB) /* [16 GiB, 72 GiB): user 1000's slices, then user 1001's */
#define REGION_SIZE (56 * GIB)
#define SLICE (8 * GIB)
#define HOG_THREADS 6 /* 6 x 4096 tables: more than the pool has */
#define OTHER_BASE (REGION_BASE + HOG_THREADS * SLICE)
#define MAX_THREADS 8

/* Identity [4 GiB, 72 GiB) with 1 GiB pages in the guest's own tables,
 * beside dunemini's [0, 4 GiB); the region's memory, private, no huge
 * pages (so each touched page is a 4 KiB EPT leaf). */
static int prepare_region(void)
{
	uint64_t *pdpt = (uint64_t *)(PT_BASE + 4096);
	for (uint64_t g = 4; g < 72; g++)
		pdpt[g] = (g << 30) | 0x83; /* P, W, PS */
	void *r = mmap((void *)REGION_BASE, REGION_SIZE, PROT_READ | PROT_WRITE,
		       MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r == MAP_FAILED)
		return -1;
	return madvise(r, REGION_SIZE, MADV_NOHUGEPAGE);
}

static int write_param(const char *name, unsigned long value)
{
	char path[128];
	snprintf(path, sizeof(path), "/sys/module/dune/parameters/%s", name);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int r = fprintf(f, "%lu\n", value) > 0 ? 0 : -1;
	return fclose(f) || r ? -1 : 0;
}

static unsigned long read_param(const char *name)
{
	char path[128];
	unsigned long v = 0;
	snprintf(path, sizeof(path), "/sys/module/dune/parameters/%s", name);
	FILE *f = fopen(path, "r");
	if (!f || fscanf(f, "%lu", &v) != 1)
		v = ~0ul;
	if (f)
		fclose(f);
	return v;
}

/* ---- a user's process: n threads in Dune, each touching its pages ---- */

struct toucher {
	uint64_t base, count, unmap;
	struct dune_config end;
	uint8_t *stack;
};

static void *toucher_main(void *arg)
{
	struct toucher *t = arg;
	struct dune_config regs = {0};
	regs.rdi = t->base;
	regs.rsi = t->count;
	regs.rdx = TWO_MIB;
	regs.r8 = t->unmap;
	t->end = run_guest_with(dunemini_touch, t->stack + 64 * 1024, &regs);
	if (t->end.ret != DUNE_RET_EXIT)
		__atomic_add_fetch(&dunemini_entered, 1000, __ATOMIC_RELAXED); /* counted as "did not get there" */
	return NULL;
}

struct user_proc {
	pid_t pid;
	int up, down; /* report from the child, release to it */
	int entered, refused, ended;
};

/* Forks a process of uid (root stays root) that starts n threads, each
 * touching count pages one per 2 MiB from base + i * SLICE and unmapping
 * unmap bytes there. Once every thread checked in (it touched all) or
 * failed, the child reports "entered refused ended": refused is DUNE_ENTER
 * failing with EAGAIN (a limit on contexts), ended any other failure before
 * checking in (EDQUOT from DUNE_ENTER, or the session ended). The child
 * then waits for the release. */
static int start_user(struct user_proc *p, uid_t uid, int n, uint64_t base, uint64_t count, uint64_t unmap)
{
	int up[2], down[2];
	if (pipe(up) || pipe(down))
		return -1;
	p->pid = fork();
	if (p->pid == 0) {
		close(up[0]);
		close(down[1]);
		gid_t group = DUNE_TEST_GID;
		if (uid && (setgroups(1, &group) || setgid(uid) || setuid(uid)))
			_exit(2);
		close(dune_fd);
		dune_fd = open("/dev/dune", O_RDWR | O_CLOEXEC);
		if (dune_fd < 0)
			_exit(3);
		static struct toucher t[MAX_THREADS];
		pthread_t th[MAX_THREADS];
		for (int i = 0; i < n; i++) {
			t[i] = (struct toucher){.base = base + (uint64_t)i * SLICE, .count = count, .unmap = unmap,
						.stack = malloc(64 * 1024)};
			pthread_create(&th[i], NULL, toucher_main, &t[i]);
		}
		/* every thread checked in (1 each) or gave up (1000 each) */
		for (;;) {
			uint64_t e = __atomic_load_n(&dunemini_entered, __ATOMIC_RELAXED);
			if (e % 1000 + e / 1000 >= (uint64_t)n)
				break;
			usleep(20000);
		}
		int entered = (int)(dunemini_entered % 1000), refused = 0, ended = 0;
		for (int i = 0; i < n; i++) {
			if (t[i].end.ret == -EAGAIN)
				refused++;
			else if (t[i].end.ret != 0 && t[i].end.ret != DUNE_RET_EXIT)
				ended++;
		}
		dprintf(up[1], "%d %d %d\n", entered, refused, ended);
		char c;
		if (read(down[0], &c, 1) != 1)
			_exit(4);
		dunemini_release = 1;
		int bad = 0;
		for (int i = 0; i < n; i++) {
			pthread_join(th[i], NULL);
			/* at a limit: refused (EAGAIN: contexts, EDQUOT: the user's
			 * pages) or ended when out of pages with its own freed */
			int ret = (int)t[i].end.ret;
			if (ret != DUNE_RET_EXIT && ret != -EAGAIN && ret != -EDQUOT && ret != DUNE_RET_EPT_VIOLATION) {
				printf("dunemini: limits: thread %d of uid %d ended with ret %d, status %lld\n", i, (int)uid,
				       ret, (long long)t[i].end.status);
				bad++;
			}
		}
		_exit(bad ? 5 : 0);
	}
	close(up[1]);
	close(down[0]);
	p->up = up[0];
	p->down = down[1];
	if (p->pid < 0)
		return -1;
	char line[64] = {0};
	ssize_t k = read(p->up, line, sizeof(line) - 1);
	if (k <= 0 || sscanf(line, "%d %d %d", &p->entered, &p->refused, &p->ended) != 3)
		return -1;
	return 0;
}

/* Lets the child's threads exit; its status (0: all ended as expected). */
static int finish_user(struct user_proc *p)
{
	int st = -1;
	if (write(p->down, "x", 1) != 1 || waitpid(p->pid, &st, 0) != p->pid)
		st = -1;
	close(p->up);
	close(p->down);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void limit_contexts(void)
{
	struct user_proc a = {0}, b = {0}, c = {0};
	write_param("max_contexts_per_process", 3);
	write_param("max_contexts_per_user", 4);
	int ra = start_user(&a, 1000, 4, REGION_BASE, 1, 0);
	int rb = start_user(&b, 1000, 2, REGION_BASE, 1, 0);
	int rc = start_user(&c, 1001, 1, OTHER_BASE, 1, 0);
	CHECK(!ra && a.entered == 3 && a.refused == 1,
	      "limits.contexts: one process of user 1000, 4 threads, 3 per process: %d in Dune, %d refused (EAGAIN)",
	      a.entered, a.refused);
	CHECK(!rb && b.entered == 1 && b.refused == 1,
	      "limits.contexts: a second process of user 1000, 2 threads, 4 per user: %d in Dune, %d refused (EAGAIN)",
	      b.entered, b.refused);
	CHECK(!rc && c.entered == 1, "limits.contexts: user 1001 meanwhile: %d of 1 thread in Dune", c.entered);
	int sa = finish_user(&a), sb = finish_user(&b), sc = finish_user(&c);
	CHECK(sa == 0 && sb == 0 && sc == 0, "limits.contexts: every thread ended as it should (status %d %d %d)", sa, sb,
	      sc);
	write_param("max_contexts_per_process", 64);
	write_param("max_contexts_per_user", 64);
}

static void limit_share(void)
{
	uint64_t reserve = info_value("pool_pages_reserved");
	struct user_proc hog = {0}, other = {0};
	int rh = start_user(&hog, 1000, HOG_THREADS, REGION_BASE, SLICE / TWO_MIB, 0);
	uint64_t free_hog = info_value("pool_pages_free");
	int ro = start_user(&other, 1001, 1, OTHER_BASE, 256, 0);
	uint64_t free_peak = info_value("pool_pages_free");
	printf("dunemini: limits.share: user 1000: %d threads got all their pages, %d did not (no context for want of "
	       "pages, or out of pages with their own freed); pool %llu pages free then, reserve %llu\n",
	       hog.entered, hog.ended, (unsigned long long)free_hog, (unsigned long long)reserve);
	CHECK(!rh && hog.entered + hog.ended == HOG_THREADS,
	      "limits.share: user 1000's %d table-hungry threads ran (%d got there, %d did not)", HOG_THREADS, hog.entered,
	      hog.ended);
	CHECK(!ro && other.entered == 1,
	      "limits.share: user 1001 meanwhile touched its 256 pages (%d of 1 thread got there, %d ended)", other.entered,
	      other.ended);
	CHECK(free_hog != ~0ull && free_hog >= reserve && free_peak >= reserve,
	      "limits.share: the pool kept its reserve (%llu, then %llu pages free; reserve %llu)",
	      (unsigned long long)free_hog, (unsigned long long)free_peak, (unsigned long long)reserve);
	int sh = finish_user(&hog), so = finish_user(&other);
	CHECK(sh == 0 && so == 0, "limits.share: both processes ended as they should (status %d %d)", sh, so);
}

static void limit_free(void)
{
	uint64_t before = info_value("ctx_pages");
	struct user_proc p = {0};
	uint64_t count = 2048;
	int r = start_user(&p, 0, 1, REGION_BASE, count, count * TWO_MIB);
	uint64_t during = info_value("ctx_pages");
	int st = finish_user(&p);
	/* the context's control block and root, and a few tables elsewhere (none here) */
	CHECK(!r && p.entered == 1 && st == 0 && during != ~0ull && during - before <= 8,
	      "limits.free: %llu pages touched one per 2 MiB, then munmapped from Dune: the context holds %llu pages "
	      "(tables freed; %llu before it existed)",
	      (unsigned long long)count, (unsigned long long)(during - before), (unsigned long long)before);
}

int mode_limits(void)
{
	uint64_t live0 = info_value("ctx_live"), pages0 = info_value("ctx_pages");
	unsigned long per_process = read_param("max_contexts_per_process"), per_user = read_param("max_contexts_per_user");
	if (live0 == ~0ull || prepare_region() || chown("/dev/dune", 0, DUNE_TEST_GID)) {
		CHECK(0, "limits: setup (hvprobe loaded, region, /dev/dune's group): %s", strerror(errno));
		return 0;
	}
	if (per_process == ~0ul || per_user == ~0ul)
		CHECK(0, "limits.contexts: dune.ko has no max_contexts_per_process or max_contexts_per_user parameter");
	else
		limit_contexts();
	limit_share();
	limit_free();
	if (per_process != ~0ul && per_user != ~0ul) {
		write_param("max_contexts_per_process", per_process);
		write_param("max_contexts_per_user", per_user);
	}
	chown("/dev/dune", 0, 0);
	uint64_t live1 = info_value("ctx_live"), pages1 = info_value("ctx_pages");
	CHECK(live1 == live0 && pages1 == pages0, "limits.baseline: contexts %llu -> %llu, their pages %llu -> %llu",
	      (unsigned long long)live0, (unsigned long long)live1, (unsigned long long)pages0, (unsigned long long)pages1);
	return 0;
}
