// SPDX-License-Identifier: GPL-2.0
/*
 * hvprobe's hypercall fuzzer: /proc/dunehv/fuzz (write "N SEED").
 *
 * N hypercalls from Linux ring 0, split between two kernel threads on two
 * CPUs (one if only one is online), from a fixed-seed PRNG (xorshift64*):
 * mostly valid function numbers with random, edge and overlapping arguments,
 * some random numbers near the base, some fully random. The contexts each
 * thread creates are run, mapped, unmapped and destroyed at random, and one
 * call in 32 names the other thread's contexts, so runs, maps and destroys of
 * one context race on two CPUs.
 *
 * Linux ring 0 may break its own memory, so every buffer and every page the
 * fuzzer names is either inside its own scratch area (64 KiB) or one the
 * hypervisor must refuse: its own memory, across its edges, the local APIC,
 * beyond the physical address width, wrapping around, a size that leaves RAM,
 * a misaligned 2 MiB or 1 GiB page. A refused-class call that succeeds is
 * counted and fails the run. The test hooks are only called with a CPU index
 * that does not exist (their valid use stalls a CPU on purpose), or an MSR
 * that is no MTRR.
 *
 * Verdicts ("hvprobe: ok|not ok <id> - ..."):
 *  fuzz.calls     all N calls were answered (the hypervisor is alive)
 *  fuzz.refused   no call that must fail succeeded (memory that is not
 *                 Linux's, a CPU that does not exist, an unknown number)
 *  fuzz.baseline  contexts, their pages and the page pool back at their
 *                 values from before, once the fuzzer destroyed its contexts
 *  fuzz.log       the log ring still reads, from an intact line
 * and a table of calls and successes per function.
 */
#define pr_fmt(fmt) "hvprobe: " fmt

#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/proc_fs.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/fpu/api.h>
#include <asm/io.h>

#include "dunehv/abi.h"
#include "hvprobe.h"

#define VERDICT(cond, id, fmt, ...) \
	pr_info("%s %s - " fmt "\n", (cond) ? "ok" : "not ok", id, ##__VA_ARGS__)

#define SCRATCH_ORDER 4
#define SCRATCH_BYTES (PAGE_SIZE << SCRATCH_ORDER)
#define FUZZ_CTXS 8

enum fuzz_fn {
	FN_VERSION, FN_INFO, FN_LOG_READ, FN_EXIT_STATS, FN_CPU_STATS, FN_CTX_CREATE, FN_CTX_RUN, FN_CTX_MAP,
	FN_CTX_UNMAP, FN_CTX_DESTROY, FN_TEST_HOOK, FN_OTHER, FN_COUNT
};
static const char *const fn_names[FN_COUNT] = {
	"version", "info", "log-read", "exit-stats", "cpu-stats", "ctx-create", "ctx-run", "ctx-map",
	"ctx-unmap", "ctx-destroy", "test-hooks", "other-numbers",
};

struct fuzz_ctx {
	u64 handle, token;
};

struct fuzz_worker {
	int cpu;
	u64 rng, calls;
	u8 *scratch;
	phys_addr_t scratch_pa;
	struct fuzz_ctx ctx[FUZZ_CTXS];
	u64 count[FN_COUNT], succeeded[FN_COUNT];
	u64 refused_class, wrongly_accepted;
	char first_wrong[200];
	struct fuzz_worker *other;
	struct completion done;
};

/* What the hypervisor told us about itself before the run. */
static struct dunehv_info hv_info;
static u64 phys_limit;

static u64 next(struct fuzz_worker *w)
{
	/* xorshift64* (Vigna): fixed seed, same sequence every run */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 0x2545f4914f6cdd1dull;
}

static u64 below(struct fuzz_worker *w, u64 n) { return n ? next(w) % n : 0; }

/* Sizes at the edges of a struct of size s, and wild ones. */
static u64 edge_size(struct fuzz_worker *w, u64 s)
{
	switch (below(w, 8)) {
	case 0: return 0;
	case 1: return s - 1;
	case 2: return s + 1;
	case 3: return 1;
	case 4: return below(w, SCRATCH_BYTES);
	default: return s;
	}
}

/* Where pick_buffer put a buffer. */
enum buffer_kind {
	BUF_SCRATCH,   /* inside the scratch area, size cut to fit */
	BUF_FORBIDDEN, /* memory that is not Linux's RAM, or across its edges */
	BUF_LEAVES_RAM /* starts in the scratch area, but its size leaves RAM */
};

/* A guest-physical buffer of *size bytes (see enum buffer_kind). */
static enum buffer_kind pick_buffer(struct fuzz_worker *w, u64 *gpa, u64 *size)
{
	u64 base = hv_info.hv_phys_base, hv_size = hv_info.hv_phys_size;

	switch (below(w, 20)) {
	case 0: /* inside the hypervisor */
		*gpa = base + (below(w, hv_size) & ~7ull);
		return BUF_FORBIDDEN;
	case 1: /* across its start */
		*gpa = base - 8;
		*size = 16 + below(w, 4096);
		return BUF_FORBIDDEN;
	case 2: /* across its end */
		*gpa = base + hv_size - 8;
		*size = 16 + below(w, 4096);
		return BUF_FORBIDDEN;
	case 3: /* the local APIC's page */
		*gpa = 0xfee00000ull + (below(w, 4096) & ~7ull);
		return BUF_FORBIDDEN;
	case 4: /* beyond the physical address width */
		*gpa = phys_limit - 8 + below(w, 1ull << 20) * 8;
		return BUF_FORBIDDEN;
	case 5: /* wraps around */
		*gpa = ~0ull - below(w, 4096);
		*size = *size ? *size : 64;
		return BUF_FORBIDDEN;
	case 6: /* from our own buffer out of RAM: 64 TiB and more */
		*gpa = w->scratch_pa;
		*size = (1ull << 46) + below(w, 1ull << 46);
		return BUF_LEAVES_RAM;
	default: {
		u64 off = below(w, SCRATCH_BYTES) & ~(u64)(below(w, 2) ? 7 : 0);

		*size = min_t(u64, *size, SCRATCH_BYTES - off);
		*gpa = w->scratch_pa + off;
		return BUF_SCRATCH;
	}
	}
}

/* A refused-class call must fail. */
static void check_refused(struct fuzz_worker *w, bool refused_class, long r, const char *what, u64 a, u64 b)
{
	if (!refused_class)
		return;
	w->refused_class++;
	if (r >= 0 && !w->wrongly_accepted++)
		snprintf(w->first_wrong, sizeof(w->first_wrong), "%s(0x%llx, 0x%llx) -> %ld", what, a, b, r);
}

/* A context to name: a live one of ours with its token (the first from a
 * random slot on), the other thread's, a wrong token, or garbage. */
static void pick_ctx(struct fuzz_worker *w, u64 *handle, u64 *token, int *slot)
{
	unsigned r = below(w, 32);
	struct fuzz_worker *owner = (r == 0 && w->other) ? w->other : w;
	int i = below(w, FUZZ_CTXS), k;

	for (k = 0; k < FUZZ_CTXS && !READ_ONCE(owner->ctx[(i + k) % FUZZ_CTXS].handle); k++)
		;
	i = (i + k) % FUZZ_CTXS;
	*slot = owner == w ? i : -1;
	*handle = READ_ONCE(owner->ctx[i].handle);
	*token = READ_ONCE(owner->ctx[i].token);
	if (r == 1)
		*token ^= 1ull << below(w, 64); /* the wrong token */
	else if (r == 2)
		*handle = next(w); /* garbage */
	else if (r == 3)
		*handle += 1 + below(w, 3);
}

static void fill_random(struct fuzz_worker *w, void *p, size_t n)
{
	u8 *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (u8)next(w);
}

static long fuzz_ctx_create(struct fuzz_worker *w)
{
	static const u32 quotas[] = {0, 1, 3, 8, 64, DUNEHV_CTX_MAX_EPT_PAGES, DUNEHV_CTX_MAX_EPT_PAGES + 1};
	struct dunehv_ctx_create cr;
	u64 gpa, size = edge_size(w, sizeof(cr));
	int slot = below(w, FUZZ_CTXS);
	bool refused;
	long r;

	fill_random(w, &cr, sizeof(cr));
	if (below(w, 4)) {
		cr.flags = 0;
		cr.cr3 = below(w, 2) ? w->scratch_pa : (next(w) & (phys_limit - 1) & ~0xfffull);
		cr.rip = (u64)((s64)(cr.rip << 16) >> 16);
		cr.fs_base = (u64)((s64)(cr.fs_base << 16) >> 16);
		cr.gs_base = (u64)((s64)(cr.gs_base << 16) >> 16);
		cr.ept_page_quota = quotas[below(w, ARRAY_SIZE(quotas))];
	}
	if (below(w, 4))
		size = sizeof(cr);
	/* the size must be the struct's: one that leaves RAM is refused too */
	refused = pick_buffer(w, &gpa, &size) != BUF_SCRATCH;
	if (!refused && size >= sizeof(cr))
		memcpy(phys_to_virt(gpa), &cr, sizeof(cr));
	/* one slot each: destroy what it held first */
	if (w->ctx[slot].handle)
		dh_call5(DUNEHV_HC_CTX_DESTROY, w->ctx[slot].handle, w->ctx[slot].token, 0, 0, 0);
	WRITE_ONCE(w->ctx[slot].handle, 0);
	r = dh_call5(DUNEHV_HC_CTX_CREATE, gpa, size, 0, 0, 0);
	if (r > 0 && !refused) {
		WRITE_ONCE(w->ctx[slot].token, cr.token);
		WRITE_ONCE(w->ctx[slot].handle, (u64)r);
	}
	check_refused(w, refused, r, "ctx-create", gpa, size);
	return r;
}

static long fuzz_ctx_run(struct fuzz_worker *w)
{
	struct dunehv_ctx_run run;
	u64 handle, token, gpa, size = sizeof(run);
	int slot;
	bool refused;
	long r;

	pick_ctx(w, &handle, &token, &slot);
	fill_random(w, &run, sizeof(run));
	if (below(w, 2)) {
		/* canonical addresses, so that most such runs get past VM entry
		 * (a failed entry breaks the context for good) */
		run.rip = (u64)((s64)(run.rip << 16) >> 16);
		run.rsp = (u64)((s64)(run.rsp << 16) >> 16);
		run.inject = below(w, 2) ? DUNEHV_INJECT_NONE : DUNEHV_INJECT_PAGE_FAULT;
	}
	/* no size: one that leaves RAM names the scratch area's struct */
	refused = pick_buffer(w, &gpa, &size) == BUF_FORBIDDEN;
	if (!refused) {
		/* the hypervisor reads and writes the whole struct: keep it inside */
		gpa = w->scratch_pa + (below(w, SCRATCH_BYTES - sizeof(run)) & ~7ull);
		memcpy(phys_to_virt(gpa), &run, sizeof(run));
	}
	/* The context runs with this CPU's FPU registers (as dune.ko's
	 * threads do): keep the interrupted task's out of its reach. */
	kernel_fpu_begin();
	r = dh_call5(DUNEHV_HC_CTX_RUN, handle, token, gpa, 0, 0);
	kernel_fpu_end();
	check_refused(w, refused, r, "ctx-run", handle, gpa);
	return r;
}

/* A page the hypervisor must never map into a context: its own (whole, so
 * also as a large leaf's base), the local APIC's, beyond the physical
 * address width, at the top of the address space. */
static u64 pick_forbidden_page(struct fuzz_worker *w)
{
	u64 base = hv_info.hv_phys_base, pages = hv_info.hv_phys_size >> PAGE_SHIFT;

	switch (below(w, 6)) {
	case 0: return base;
	case 1: return base + below(w, pages) * PAGE_SIZE;
	case 2: return base + (pages - 1) * PAGE_SIZE;
	case 3: return 0xfee00000ull;
	case 4: return phys_limit + below(w, 1ull << 20) * PAGE_SIZE;
	default: return ~0xfffull;
	}
}

/* A page to map: one of our scratch pages (4 KiB leaves), a large leaf
 * near our scratch that is never aligned, or a forbidden page. */
static long fuzz_ctx_map(struct fuzz_worker *w)
{
	u64 handle, token, gpa, hpa, flags = (next(w) & DUNEHV_MAP_FLAGS) | (below(w, 4) ? DUNEHV_MAP_READ : 0), junk = 0;
	bool large = flags & (DUNEHV_MAP_2M | DUNEHV_MAP_1G), refused = true;
	int slot;
	long r;

	pick_ctx(w, &handle, &token, &slot);
	gpa = below(w, 2) ? (next(w) & (phys_limit - 1) & ~0xfffull) : (below(w, 64) << 21);
	if (below(w, 8) == 0)
		gpa |= below(w, 4096); /* misaligned */
	if (below(w, 8) == 0)
		junk = next(w) & 0xfe0; /* bits that must be zero */
	if (!large && below(w, 4)) {
		hpa = w->scratch_pa + below(w, 1u << SCRATCH_ORDER) * PAGE_SIZE;
		refused = false;
	} else if (large && below(w, 2)) {
		hpa = ALIGN_DOWN(w->scratch_pa, SZ_2M) + (1 + below(w, 511)) * PAGE_SIZE;
	} else {
		hpa = pick_forbidden_page(w);
	}
	r = dh_call5(DUNEHV_HC_CTX_MAP, handle, token, gpa, hpa | flags | junk, 0);
	check_refused(w, refused, r, "ctx-map", gpa, hpa | flags);
	return r;
}

static long fuzz_ctx_unmap(struct fuzz_worker *w)
{
	static const u64 sizes[] = {0, 1, PAGE_SIZE, SZ_2M, SZ_1G, ~0ull, 1ull << 48};
	u64 handle, token, gpa = next(w), size;
	int slot;

	pick_ctx(w, &handle, &token, &slot);
	if (below(w, 2))
		gpa &= (phys_limit - 1) & ~0xfffull;
	size = below(w, 2) ? sizes[below(w, ARRAY_SIZE(sizes))] : next(w);
	return dh_call5(DUNEHV_HC_CTX_UNMAP, handle, token, gpa, size, 0);
}

static long fuzz_ctx_destroy(struct fuzz_worker *w)
{
	u64 handle, token;
	int slot;
	long r;

	pick_ctx(w, &handle, &token, &slot);
	r = dh_call5(DUNEHV_HC_CTX_DESTROY, handle, token, 0, 0, 0);
	if (!r && slot >= 0 && READ_ONCE(w->ctx[slot].handle) == handle)
		WRITE_ONCE(w->ctx[slot].handle, 0);
	return r;
}

/* Buffer calls: INFO, LOG_READ, EXIT_STATS, CPU_STATS. */
static long fuzz_buffer_call(struct fuzz_worker *w, enum fuzz_fn fn)
{
	static const u64 sizes[] = {sizeof(struct dunehv_info), 0, sizeof(struct dunehv_exit_stats),
				    sizeof(struct dunehv_cpu_stats)};
	u64 size = edge_size(w, sizes[fn == FN_INFO ? 0 : fn == FN_LOG_READ ? 1 : fn == FN_EXIT_STATS ? 2 : 3]);
	u64 gpa, index = below(w, 4) ? below(w, 3) : next(w);
	enum buffer_kind kind = pick_buffer(w, &gpa, &size);
	/* INFO and the stats write a prefix of their struct (min of size and
	 * its size), LOG_READ up to size bytes */
	bool refused = kind == BUF_FORBIDDEN || (kind == BUF_LEAVES_RAM && fn == FN_LOG_READ);
	long r;

	if (fn == FN_LOG_READ && kind == BUF_SCRATCH && !size)
		size = below(w, SCRATCH_BYTES - (gpa - w->scratch_pa) + 1);
	switch (fn) {
	case FN_INFO:
		r = dh_call5(DUNEHV_HC_INFO, gpa, size, 0, 0, 0);
		break;
	case FN_LOG_READ:
		r = dh_call5(DUNEHV_HC_LOG_READ, gpa, size, below(w, 2) ? next(w) : below(w, 1u << 20), 0, 0);
		break;
	case FN_EXIT_STATS:
		r = dh_call5(DUNEHV_HC_EXIT_STATS, gpa, size, 0, 0, 0);
		break;
	default:
		r = dh_call5(DUNEHV_HC_CPU_STATS, index, gpa, size, 0, 0);
		break;
	}
	/* a zero-sized copy names no memory */
	check_refused(w, refused && size, r, fn_names[fn], gpa, size);
	return r;
}

/* Each function's share of the calls, in percent; the rest (11) go to
 * other numbers. */
static const u8 share[FN_OTHER] = {
	[FN_VERSION] = 5, [FN_INFO] = 5, [FN_LOG_READ] = 5, [FN_EXIT_STATS] = 5, [FN_CPU_STATS] = 5,
	[FN_CTX_CREATE] = 10, [FN_CTX_RUN] = 15, [FN_CTX_MAP] = 20, [FN_CTX_UNMAP] = 10, [FN_CTX_DESTROY] = 7,
	[FN_TEST_HOOK] = 2,
};

static void fuzz_one(struct fuzz_worker *w)
{
	unsigned pick = below(w, 100);
	enum fuzz_fn fn;
	long r;

	for (fn = 0; fn < FN_OTHER && pick >= share[fn]; fn++)
		pick -= share[fn];
	switch (fn) {
	case FN_VERSION:
		r = dh_call5(DUNEHV_HC_VERSION, next(w), next(w), next(w), next(w), next(w));
		break;
	case FN_INFO:
	case FN_LOG_READ:
	case FN_EXIT_STATS:
	case FN_CPU_STATS:
		r = fuzz_buffer_call(w, fn);
		break;
	case FN_CTX_CREATE:
		r = fuzz_ctx_create(w);
		break;
	case FN_CTX_RUN:
		r = fuzz_ctx_run(w);
		break;
	case FN_CTX_MAP:
		r = fuzz_ctx_map(w);
		break;
	case FN_CTX_UNMAP:
		r = fuzz_ctx_unmap(w);
		break;
	case FN_CTX_DESTROY:
		r = fuzz_ctx_destroy(w);
		break;
	case FN_TEST_HOOK:
		/* a CPU index that does not exist, or an MSR that is no MTRR:
		 * -EINVAL (or -EPERM, hooks off) */
		if (below(w, 3))
			r = dh_call5(below(w, 2) ? DUNEHV_HC_TEST_ENTRY_DELAY : DUNEHV_HC_TEST_WINDOW_KICK,
				     (1ull << 32) + below(w, 1ull << 32), next(w), below(w, 1000), 0, 0);
		else
			r = dh_call5(DUNEHV_HC_TEST_HOST_MTRR, below(w, 2) ? below(w, 0xfe) : next(w) | (1ull << 32), 0, 0, 0, 0);
		check_refused(w, true, r, "test-hook", 0, 0);
		break;
	default: {
		u64 nr = below(w, 2) ? DUNEHV_HC_BASE + 0x5 + below(w, 0x40) : next(w);

		if ((nr >= DUNEHV_HC_TEST_ENTRY_DELAY && nr <= DUNEHV_HC_TEST_HOST_MTRR) ||
		    (nr >= DUNEHV_HC_CTX_CREATE && nr <= DUNEHV_HC_CTX_DESTROY))
			nr = DUNEHV_HC_BASE + 0x3f; /* the valid ones have their own generators */
		r = dh_call5(nr, next(w), next(w), next(w), next(w), next(w));
		check_refused(w, true, r, "other-number", nr, 0);
		break;
	}
	}
	w->count[fn]++;
	if (r >= 0)
		w->succeeded[fn]++;
	w->calls++;
}

static int fuzz_thread(void *arg)
{
	struct fuzz_worker *w = arg;
	u64 n = w->calls, i;
	int slot;

	w->calls = 0;
	for (i = 0; i < n; i++) {
		fuzz_one(w);
		if ((i & 255) == 255)
			cond_resched();
	}
	for (slot = 0; slot < FUZZ_CTXS; slot++)
		if (w->ctx[slot].handle)
			dh_call5(DUNEHV_HC_CTX_DESTROY, w->ctx[slot].handle, w->ctx[slot].token, 0, 0, 0);
	complete(&w->done);
	return 0;
}

static bool read_info(struct dunehv_info *info) { return hvprobe_get_info(info) == sizeof(*info); }

/* The newest bytes of the log ring read back, end a line, and hold a
 * whole "[dunehv] " line (the first, or the one after the first newline). */
static bool log_intact(char *buf, size_t size, u64 *head)
{
	struct dunehv_info info;
	u64 pos;
	long n;
	char *nl;

	if (!read_info(&info))
		return false;
	*head = info.log_head;
	pos = info.log_head > size ? info.log_head - size : 0;
	n = dh_call5(DUNEHV_HC_LOG_READ, virt_to_phys(buf), size, pos, 0, 0);
	if (n <= 0 || buf[n - 1] != '\n')
		return false;
	buf[n - 1] = 0;
	if (!pos)
		return !strncmp(buf, "[dunehv] ", 9);
	nl = strchr(buf, '\n');
	return nl && !strncmp(nl + 1, "[dunehv] ", 9);
}

static void run_fuzz(u64 n, u64 seed)
{
	struct fuzz_worker *w[2] = {NULL, NULL};
	struct dunehv_info after;
	char *logbuf = kmalloc(1024, GFP_KERNEL);
	int cpus[2], nw = 0, cpu, i, fn;
	u64 calls = 0, refused = 0, wrong = 0, head_before = 0, head_after = 0;
	bool log_ok;

	phys_limit = 1ull << boot_cpu_data.x86_phys_bits;
	if (!logbuf || !read_info(&hv_info)) {
		VERDICT(false, "fuzz.calls", "no dunehv info");
		goto out;
	}
	for_each_online_cpu(cpu) {
		if (nw < 2)
			cpus[nw++] = cpu;
	}
	for (i = 0; i < nw; i++) {
		w[i] = kzalloc(sizeof(*w[i]), GFP_KERNEL);
		if (!w[i])
			goto out;
		w[i]->scratch = (u8 *)__get_free_pages(GFP_KERNEL | __GFP_ZERO, SCRATCH_ORDER);
		if (!w[i]->scratch)
			goto out;
		w[i]->scratch_pa = virt_to_phys(w[i]->scratch);
		w[i]->cpu = cpus[i];
		w[i]->rng = seed * 2 + 1 + i * 0x9e3779b97f4a7c15ull;
		w[i]->calls = n / nw + (i < (int)(n % nw));
		init_completion(&w[i]->done);
	}
	if (nw == 2) {
		w[0]->other = w[1];
		w[1]->other = w[0];
	}
	log_intact(logbuf, 1024, &head_before);
	for (i = 0; i < nw; i++) {
		struct task_struct *t = kthread_create(fuzz_thread, w[i], "hvfuzz/%d", cpus[i]);

		if (IS_ERR(t)) {
			complete(&w[i]->done);
			continue;
		}
		kthread_bind(t, cpus[i]);
		wake_up_process(t);
	}
	for (i = 0; i < nw; i++)
		wait_for_completion(&w[i]->done);

	pr_info("fuzz: %-14s %10s %10s\n", "function", "calls", "succeeded");
	for (fn = 0; fn < FN_COUNT; fn++) {
		u64 c = 0, s = 0;

		for (i = 0; i < nw; i++) {
			c += w[i]->count[fn];
			s += w[i]->succeeded[fn];
		}
		pr_info("fuzz: %-14s %10llu %10llu\n", fn_names[fn], c, s);
	}
	for (i = 0; i < nw; i++) {
		calls += w[i]->calls;
		refused += w[i]->refused_class;
		wrong += w[i]->wrongly_accepted;
	}
	VERDICT(calls == n, "fuzz.calls", "%llu of %llu hypercalls answered (seed %llu, %d threads on CPUs %d and %d)",
		calls, n, seed, nw, cpus[0], nw > 1 ? cpus[1] : cpus[0]);
	VERDICT(!wrong, "fuzz.refused",
		"%llu of %llu calls that must fail (memory that is not Linux's, a CPU that does not exist, an unknown number) succeeded%s%s",
		wrong, refused, wrong ? ": first " : "",
		wrong ? (w[0]->wrongly_accepted ? w[0]->first_wrong : w[1]->first_wrong) : "");
	if (read_info(&after))
		VERDICT(after.ctx_live == hv_info.ctx_live && after.ctx_pages == hv_info.ctx_pages &&
				after.pool_pages_free == hv_info.pool_pages_free,
			"fuzz.baseline",
			"contexts %llu -> %llu, their pages %llu -> %llu, free pool pages %llu -> %llu", hv_info.ctx_live,
			after.ctx_live, hv_info.ctx_pages, after.ctx_pages, hv_info.pool_pages_free, after.pool_pages_free);
	else
		VERDICT(false, "fuzz.baseline", "INFO failed after the run");
	log_ok = log_intact(logbuf, 1024, &head_after);
	VERDICT(log_ok && head_after >= head_before, "fuzz.log",
		"the log ring reads back whole lines after the run (head %llu -> %llu)", head_before, head_after);
out:
	for (i = 0; i < nw; i++) {
		if (w[i] && w[i]->scratch)
			free_pages((unsigned long)w[i]->scratch, SCRATCH_ORDER);
		kfree(w[i]);
	}
	kfree(logbuf);
}

static ssize_t fuzz_write(struct file *file, const char __user *ubuf, size_t len, loff_t *pos)
{
	char buf[64];
	unsigned long long n, seed;

	if (len >= sizeof(buf) || copy_from_user(buf, ubuf, len))
		return -EINVAL;
	buf[len] = 0;
	if (sscanf(buf, "%llu %llu", &n, &seed) != 2 || !n)
		return -EINVAL;
	run_fuzz(n, seed);
	return len;
}

static const struct proc_ops fuzz_ops = {
	.proc_write = fuzz_write,
};

int hvprobe_fuzz_proc_init(struct proc_dir_entry *dir)
{
	return proc_create("fuzz", 0200, dir, &fuzz_ops) ? 0 : -ENOMEM;
}
