// SPDX-License-Identifier: GPL-2.0
/*
 * hvprobe ctxtest: exercises the hypervisor's Dune contexts directly (the
 * mechanism /dev/dune is built on). A tiny 64-bit guest runs in its own
 * context with its own second-level tables (EPT or NPT): CPUID answered by
 * the hypervisor, a system call by VMCALL (#UD on AMD, which the hypervisor
 * takes as the system call), a lazily mapped page (a guest-physical fault
 * answered by mapping), a spin loop with interrupts off (RFLAGS.IF = 0, as
 * libdune runs) that interrupts or the hypervisor's time slice must
 * preempt, INT3 (#BP exit), and exit_group. Then bad arguments, quota and
 * leak checks.
 */
#define pr_fmt(fmt) "hvprobe: ctx: " fmt

#include <linux/gfp.h>
#include <linux/mmzone.h>
#include <linux/io.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include "dunehv/abi.h"
#include "hvprobe.h"

static int failures;


/* Guest-physical layout: 2 MiB identity-mapped by one large page. */
#define G_PML4 0x1000
#define G_PDPT 0x2000
#define G_PD 0x3000
#define G_CODE 0x5000
#define G_DATA 0x6000
#define G_STACK 0x7000
#define G_LAZY 0x9000
#define LAZY_MAGIC 0x0123456789abcdefull
#define SPIN_LOOPS 20000000u
#define STORE_1G_DISP 50        /* guest_code offset of the disp32 above */
#define G_1G 0x40000000ull      /* guest-physical GiB mapped by one 1 GiB EPT leaf */

static const u8 guest_code[] = {
	0xb8, 0x00, 0x00, 0x00, 0x40,             /* mov eax, 0x40000000 */
	0x0f, 0xa2,                               /* cpuid */
	0x89, 0x1c, 0x25, 0x00, 0x60, 0x00, 0x00, /* mov [0x6000], ebx */
	0xb8, 0x27, 0x00, 0x00, 0x00,             /* mov eax, 39 (getpid) */
	0x0f, 0x01, 0xc1,                         /* vmcall */
	0x48, 0x89, 0x04, 0x25, 0x08, 0x60, 0x00, 0x00, /* mov [0x6008], rax */
	0x48, 0x8b, 0x04, 0x25, 0x00, 0x90, 0x00, 0x00, /* mov rax, [0x9000] */
	0x48, 0x89, 0x04, 0x25, 0x10, 0x60, 0x00, 0x00, /* mov [0x6010], rax */
	0x48, 0x89, 0x04, 0x25, 0x18, 0x60, 0x00, 0x00, /* mov [disp32], rax: through the 1 GiB leaf, patched */
	0xb9, SPIN_LOOPS & 0xff, (SPIN_LOOPS >> 8) & 0xff, (SPIN_LOOPS >> 16) & 0xff, SPIN_LOOPS >> 24, /* mov ecx, N */
	0xff, 0xc9,                               /* spin: dec ecx */
	0x75, 0xfc,                               /* jnz spin */
	0xcc,                                     /* int3 */
	0xb8, 0xe7, 0x00, 0x00, 0x00,             /* mov eax, 231 (exit_group) */
	0xbf, 0x2a, 0x00, 0x00, 0x00,             /* mov edi, 42 */
	0x0f, 0x01, 0xc1,                         /* vmcall */
	0xf4,                                     /* hlt */
	0xeb, 0xfd,                               /* jmp hlt */
};

struct guest {
	u64 handle, token;
	unsigned long pages[8]; /* kernel pages backing the guest */
	struct dunehv_ctx_run *run;
};

static long ctx_create(u64 token, u32 quota, u64 cr3)
{
	struct dunehv_ctx_create *cr = kzalloc(sizeof(*cr), GFP_KERNEL);
	long r;

	if (!cr)
		return -ENOMEM;
	cr->cr3 = cr3;
	cr->rip = G_CODE;
	cr->rsp = G_STACK + PAGE_SIZE;
	cr->rflags = 0x2;
	cr->token = token;
	cr->ept_page_quota = quota;
	r = dh_call5(DUNEHV_HC_CTX_CREATE, virt_to_phys(cr), sizeof(*cr), 0, 0, 0);
	kfree(cr);
	return r;
}

static long ctx_map(struct guest *g, u64 gpa, unsigned long kpage, u64 flags)
{
	return dh_call5(DUNEHV_HC_CTX_MAP, g->handle, g->token, gpa, virt_to_phys((void *)kpage) | flags, 0);
}

static long ctx_info(struct dunehv_info *info)
{
	return dh_call5(DUNEHV_HC_INFO, virt_to_phys(info), sizeof(*info), 0, 0, 0);
}

static void free_guest(struct guest *g)
{
	int i;

	if (g->handle)
		dh_call5(DUNEHV_HC_CTX_DESTROY, g->handle, g->token, 0, 0, 0);
	for (i = 0; i < ARRAY_SIZE(g->pages); i++)
		if (g->pages[i])
			free_page(g->pages[i]);
	kfree(g->run);
}

/* Builds the guest: page tables, code, data and stack, all but the lazy page mapped. */
static int build_guest(struct guest *g)
{
	static const u64 gpas[] = {G_PML4, G_PDPT, G_PD, G_CODE, G_DATA, G_STACK, G_LAZY};
	u64 *pml4, *pdpt, *pd;
	long r;
	int i;

	memset(g, 0, sizeof(*g));
	g->token = get_random_u64() | 1;
	g->run = kzalloc(sizeof(*g->run), GFP_KERNEL);
	if (!g->run)
		return -ENOMEM;
	for (i = 0; i < ARRAY_SIZE(gpas); i++) {
		g->pages[i] = get_zeroed_page(GFP_KERNEL);
		if (!g->pages[i])
			return -ENOMEM;
	}
	pml4 = (u64 *)g->pages[0];
	pdpt = (u64 *)g->pages[1];
	pd = (u64 *)g->pages[2];
	pml4[0] = G_PDPT | 0x3;  /* present, writable */
	pdpt[0] = G_PD | 0x3;
	pd[0] = 0x0 | 0x83;      /* 2 MiB page at 0 */
	pdpt[1] = G_1G | 0x83;   /* 1 GiB page at 1 GiB (guest paging) */
	memcpy((void *)g->pages[3], guest_code, sizeof(guest_code));
	*(u64 *)g->pages[6] = LAZY_MAGIC;

	r = ctx_create(g->token, 16, G_PML4);
	if (r <= 0)
		return r ? (int)r : -EINVAL;
	g->handle = r;
	for (i = 0; i < 6; i++) { /* everything but the lazy page */
		r = ctx_map(g, gpas[i], g->pages[i], DUNEHV_MAP_READ | DUNEHV_MAP_WRITE | DUNEHV_MAP_EXEC);
		if (r)
			return (int)r;
	}
	return 0;
}

/* A 1 GiB EPT leaf: the first GiB of Linux RAM the hypervisor accepts
 * whole (it refuses one with a hole or its own memory in it) is mapped at
 * G_1G, and one free page in it, taken with alloc_contig_range, receives
 * the guest's store. Returns that page's pfn, or 0. */
static unsigned long map_1g_leaf(struct guest *g, u64 *hpa_base)
{
	u64 base;
	int k;

	for (base = 0; base < (16ull << 30); base += SZ_1G) {
		if (dh_call5(DUNEHV_HC_CTX_MAP, g->handle, g->token, G_1G,
			     base | DUNEHV_MAP_READ | DUNEHV_MAP_WRITE | DUNEHV_MAP_1G, 0))
			continue;
		for (k = 0; k < 64; k++) {
			unsigned long pfn = PHYS_PFN(base + (u64)k * SZ_16M + SZ_8M);

			if (alloc_contig_range(pfn, pfn + 1, MIGRATE_MOVABLE, GFP_KERNEL) == 0) {
				u32 disp = (u32)(G_1G + (PFN_PHYS(pfn) - base));

				memset(pfn_to_kaddr(pfn), 0, PAGE_SIZE);
				memcpy((u8 *)g->pages[3] + STORE_1G_DISP, &disp, sizeof(disp));
				*hpa_base = base;
				return pfn;
			}
		}
		dh_call5(DUNEHV_HC_CTX_UNMAP, g->handle, g->token, G_1G, SZ_1G, 0);
	}
	return 0;
}

static void run_guest(struct guest *g)
{
	struct dunehv_ctx_run *run = g->run;
	unsigned int syscalls = 0, ept = 0, breakpoints = 0, interrupts = 0, other = 0, i;
	u64 *data = (u64 *)g->pages[4];
	long exit_status = -1, r = 0;

	u64 base_1g = 0;
	unsigned long pfn_1g = map_1g_leaf(g, &base_1g);

	run->rip = G_CODE;
	run->rsp = G_STACK + PAGE_SIZE;
	run->rflags = 0x2;
	for (i = 0; i < 100000 && exit_status < 0; i++) {
		r = dh_call5(DUNEHV_HC_CTX_RUN, g->handle, g->token, virt_to_phys(run), 0, 0);
		if (r)
			break;
		switch (run->exit) {
		case DUNEHV_CTX_EXIT_SYSCALL:
			syscalls++;
			if (run->gpr[0] == 231)
				exit_status = run->gpr[7]; /* rdi */
			else if (run->gpr[0] == 39)
				run->gpr[0] = task_tgid_vnr(current);
			else
				run->gpr[0] = -ENOSYS;
			break;
		case DUNEHV_CTX_EXIT_FAULT:
			ept++;
			pr_info("guest-physical fault at gpa 0x%llx (access 0x%x)\n", run->fault_gpa, run->fault_access);
			if ((run->fault_gpa & PAGE_MASK) != G_LAZY || ept > 1) {
				other++;
				goto out;
			}
			r = ctx_map(g, G_LAZY, g->pages[6], DUNEHV_MAP_READ);
			if (r)
				goto out;
			break;
		case DUNEHV_CTX_EXIT_EXCEPTION:
			breakpoints++;
			if (run->vector != 3)
				goto out;
			run->rip += run->instruction_length; /* past INT3 */
			break;
		case DUNEHV_CTX_EXIT_INTERRUPT:
			interrupts++;
			cond_resched();
			break;
		default:
			pr_info("unhandled exit: reason %u qualification 0x%llx rip 0x%llx\n", run->vendor_reason,
				run->vendor_qualification, run->rip);
			other++;
			goto out;
		}
	}
out:
	CHECK(r == 0, "RUN hypercalls succeeded (last %ld)", r);
	CHECK(data[0] == DUNEHV_CPUID_SIG_EBX, "CPUID 0x40000000 inside the context: ebx=0x%llx (no exit to Linux)",
	      data[0]);
	CHECK(data[1] == task_tgid_vnr(current), "system call by VMCALL: getpid -> %lld", data[1]);
	CHECK(ept == 1 && data[2] == LAZY_MAGIC, "lazily mapped page after %u EPT exit(s): 0x%llx", ept, data[2]);
	CHECK(breakpoints == 1, "INT3 came back as a #BP exit (%u)", breakpoints);
	CHECK(interrupts > 0, "interrupts or the time slice preempted the spinning context %u times", interrupts);
	CHECK(exit_status == 42 && syscalls == 2 && other == 0, "exit_group(%ld) after %u system calls", exit_status,
	      syscalls);
	CHECK(pfn_1g && *(u64 *)pfn_to_kaddr(pfn_1g) == LAZY_MAGIC,
	      "a 1 GiB EPT leaf (gpa 0x%llx -> hpa 0x%llx): the context's store landed in our page", G_1G, base_1g);
	if (pfn_1g)
		free_contig_range(pfn_1g, 1);
}

static void bad_arguments(struct guest *g, const struct dunehv_info *info)
{
	u64 hv_page = info->hv_phys_base + info->hv_phys_size / 2;
	long r;

	r = dh_call5(DUNEHV_HC_CTX_RUN, g->handle + 0x10000, g->token, virt_to_phys(g->run), 0, 0);
	CHECK(r == -EINVAL, "RUN with a stale handle -> %ld", r);
	r = dh_call5(DUNEHV_HC_CTX_RUN, 0xdeadbeefcafe, g->token, virt_to_phys(g->run), 0, 0);
	CHECK(r == -EINVAL, "RUN with a garbage handle -> %ld", r);
	r = dh_call5(DUNEHV_HC_CTX_RUN, g->handle, g->token ^ 1, virt_to_phys(g->run), 0, 0);
	CHECK(r == -EPERM, "RUN with another owner's token -> %ld", r);
	r = dh_call5(DUNEHV_HC_CTX_RUN, g->handle, g->token, hv_page, 0, 0);
	CHECK(r == -EFAULT, "RUN with its struct in hypervisor memory -> %ld", r);
	r = dh_call5(DUNEHV_HC_CTX_MAP, g->handle, g->token, 0x20000, hv_page | DUNEHV_MAP_READ, 0);
	CHECK(r == -EFAULT, "MAP of a hypervisor page -> %ld", r);
	r = dh_call5(DUNEHV_HC_CTX_MAP, g->handle, g->token, 0x20000, 0xfffffff000ull | DUNEHV_MAP_READ, 0);
	CHECK(r == -EFAULT, "MAP of a page beyond RAM -> %ld", r);
	r = ctx_map(g, 0x20800, g->pages[4], DUNEHV_MAP_READ);
	CHECK(r == -EINVAL, "MAP at an unaligned gpa -> %ld", r);
	r = ctx_map(g, 0x20000, g->pages[4], DUNEHV_MAP_WRITE);
	CHECK(r == -EINVAL, "MAP without read permission -> %ld", r);
	r = ctx_map(g, 1ull << 52, g->pages[4], DUNEHV_MAP_READ);
	CHECK(r == -EINVAL, "MAP beyond the guest-physical width -> %ld", r);
	r = ctx_map(g, 0x200000, g->pages[4], DUNEHV_MAP_READ | DUNEHV_MAP_2M);
	CHECK(r == -EINVAL, "MAP of a 2 MiB page from a 4 KiB-aligned page -> %ld", r);
	r = ctx_map(g, G_1G, g->pages[4], DUNEHV_MAP_READ | DUNEHV_MAP_1G);
	CHECK(r == -EINVAL, "MAP of a 1 GiB page from a 4 KiB-aligned page -> %ld", r);
	r = dh_call5(DUNEHV_HC_CTX_MAP, g->handle, g->token, G_1G, DUNEHV_MAP_READ | DUNEHV_MAP_2M | DUNEHV_MAP_1G, 0);
	CHECK(r == -EINVAL, "MAP with both the 2 MiB and the 1 GiB flag -> %ld", r);
	r = dh_call5(DUNEHV_HC_CTX_MAP, g->handle, g->token, G_1G,
		     (info->hv_phys_base & ~(SZ_1G - 1)) | DUNEHV_MAP_READ | DUNEHV_MAP_1G, 0);
	CHECK(r == -EFAULT, "MAP of the 1 GiB page around the hypervisor's memory -> %ld", r);
	g->run->inject = 7;
	r = dh_call5(DUNEHV_HC_CTX_RUN, g->handle, g->token, virt_to_phys(g->run), 0, 0);
	g->run->inject = DUNEHV_INJECT_NONE;
	CHECK(r == -EINVAL, "RUN asking to raise an unknown exception kind -> %ld", r);
	r = dh_call5(DUNEHV_HC_CTX_UNMAP, g->handle, g->token, 0x1000, 0, 0);
	CHECK(r == -EINVAL, "UNMAP of size 0 -> %ld", r);
	r = ctx_create(1, 0, G_PML4);
	CHECK(r == -EINVAL, "CREATE with quota 0 -> %ld", r);
	r = ctx_create(1, DUNEHV_CTX_MAX_EPT_PAGES + 1, G_PML4);
	CHECK(r == -EINVAL, "CREATE with a quota over the ceiling -> %ld", r);
	r = dh_call5(DUNEHV_HC_CTX_CREATE, hv_page, sizeof(struct dunehv_ctx_create), 0, 0, 0);
	CHECK(r == -EFAULT, "CREATE with its struct in hypervisor memory -> %ld", r);
	r = dh_call5(DUNEHV_HC_CTX_CREATE, virt_to_phys(g->run), 3, 0, 0, 0);
	CHECK(r == -EINVAL, "CREATE with a wrong struct size -> %ld", r);
}

static void quota_and_unmap(void)
{
	struct guest g;
	long r;

	if (build_guest(&g)) {
		failures++;
		pr_info("guest setup for the quota check failed FAIL\n");
		free_guest(&g);
		return;
	}
	/* 16 table pages, 3 in use: each new GiB needs a PD and a PT */
	r = 0;
	for (int i = 1; i <= 10 && !r; i++)
		r = ctx_map(&g, (u64)i << 30, g.pages[4], DUNEHV_MAP_READ);
	CHECK(r == -EDQUOT, "EPT quota stops a context from taking more tables -> %ld", r);
	r = dh_call5(DUNEHV_HC_CTX_UNMAP, g.handle, g.token, 0, 1ull << 48, 0);
	CHECK(r >= 6, "UNMAP of everything removed %ld translations", r);
	free_guest(&g);
}

int hvprobe_ctx_selftest(void)
{
	struct dunehv_info *before = kzalloc(sizeof(*before), GFP_KERNEL);
	struct dunehv_info *after = kzalloc(sizeof(*after), GFP_KERNEL);
	struct guest g;
	long r;
	int i;

	failures = 0;
	if (!before || !after || ctx_info(before) != sizeof(*before)) {
		pr_info("INFO failed FAIL\n");
		failures++;
		goto out;
	}
	r = build_guest(&g);
	CHECK(r == 0, "context created and mapped (%ld)", r);
	if (!r) {
		run_guest(&g);
		bad_arguments(&g, before);
	}
	free_guest(&g);
	r = dh_call5(DUNEHV_HC_CTX_DESTROY, g.handle, g.token, 0, 0, 0);
	CHECK(r == -EINVAL, "DESTROY twice -> %ld", r);
	quota_and_unmap();

	/* Many lifetimes leave nothing behind. */
	for (i = 0; i < 200; i++) {
		if (build_guest(&g)) {
			free_guest(&g);
			break;
		}
		free_guest(&g);
	}
	CHECK(i == 200, "%d context lifetimes", i);
	ctx_info(after);
	CHECK(after->ctx_live == before->ctx_live && after->ctx_pages == before->ctx_pages &&
	      after->pool_pages_free == before->pool_pages_free,
	      "no leak: live %llu->%llu, pages %llu->%llu, pool free %llu->%llu", before->ctx_live, after->ctx_live,
	      before->ctx_pages, after->ctx_pages, before->pool_pages_free, after->pool_pages_free);
out:
	kfree(before);
	kfree(after);
	pr_info("selftest done failures=%d\n", failures);
	return failures;
}
