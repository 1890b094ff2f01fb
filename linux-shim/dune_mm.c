// SPDX-License-Identifier: GPL-2.0
/*
 * A Dune thread's memory: the guest-physical windows of upstream Dune, EPT
 * entries filled lazily from the process's own pinned pages, and an MMU
 * notifier that takes them away whenever Linux changes the mapping (munmap,
 * mprotect, copy-on-write, migration, THP split, reclaim, exit), so that no
 * stale translation survives. A page is writable in the EPT only after a
 * write fault that Linux allowed (pinned with FOLL_WRITE).
 */
#define pr_fmt(fmt) "dune: " fmt

#include <linux/highmem.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>

#include "dune_priv.h"

#define EPT_QUAL_WRITE BIT(1)

void dune_layout_compute(struct mm_struct *mm, struct dune_layout *l)
{
	l->phys_limit = 1ull << boot_cpu_data.x86_phys_bits;
	l->base_map = LG_ALIGN(mm->mmap_base) - GPA_MAP_SIZE;
	l->base_stack = LG_ALIGN(mm->start_stack) - GPA_STACK_SIZE;
}

/* dune-abi 2.1: the stack window, then the mmap window, then identity. */
static bool gpa_to_hva(struct dune_vcpu *v, u64 gpa, unsigned long *hva)
{
	u64 p = v->phys_limit;

	if (gpa >= p)
		return false;
	if (gpa >= p - GPA_STACK_SIZE)
		*hva = v->base_stack + (gpa - (p - GPA_STACK_SIZE));
	else if (gpa >= p - GPA_STACK_SIZE - GPA_MAP_SIZE)
		*hva = v->base_map + (gpa - (p - GPA_STACK_SIZE - GPA_MAP_SIZE));
	else
		*hva = gpa;
	return *hva < TASK_SIZE_MAX;
}

/* Every GPA range through which [start, end) of the process is reachable. */
static int hva_to_gpa_ranges(struct dune_vcpu *v, unsigned long start, unsigned long end, u64 gpa[3], u64 size[3])
{
	u64 p = v->phys_limit;
	struct {
		u64 hva, len, gpa;
	} win[3] = {
		{v->base_stack, GPA_STACK_SIZE, p - GPA_STACK_SIZE},
		{v->base_map, GPA_MAP_SIZE, p - GPA_STACK_SIZE - GPA_MAP_SIZE},
		{0, p - GPA_STACK_SIZE - GPA_MAP_SIZE, 0},
	};
	int n = 0, i;

	for (i = 0; i < 3; i++) {
		u64 s = max_t(u64, start, win[i].hva), e = min_t(u64, end, win[i].hva + win[i].len);

		if (s >= e)
			continue;
		gpa[n] = win[i].gpa + (s - win[i].hva);
		size[n] = e - s;
		n++;
	}
	return n;
}

/* Drops the EPT entries and pins of [gpa, gpa + size); ept_lock held. */
static void unmap_gpa_range(struct dune_vcpu *v, u64 gpa, u64 size)
{
	unsigned long index;
	void *entry;

	if (!xa_find(&v->pages, &(unsigned long){gpa >> PAGE_SHIFT}, (gpa + size - 1) >> PAGE_SHIFT, XA_PRESENT))
		return;
	/* the hypervisor flushes (INVEPT) before this returns */
	dunehv_call(DUNEHV_HC_CTX_UNMAP, v->handle, v->df->token, gpa, size);
	xa_for_each_range(&v->pages, index, entry, gpa >> PAGE_SHIFT, (gpa + size - 1) >> PAGE_SHIFT) {
		struct page *page = (struct page *)((unsigned long)entry & ~1ul);

		xa_erase(&v->pages, index);
		if ((unsigned long)entry & 1)
			set_page_dirty(page);
		unpin_user_page(page);
		v->nr_pinned--;
	}
}

static int dune_invalidate_range_start(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct dune_vcpu *v = container_of(mn, struct dune_vcpu, mn);
	u64 gpa[3], size[3];
	int n, i;

	spin_lock(&v->ept_lock);
	v->mmu_seq++;
	n = hva_to_gpa_ranges(v, range->start, range->end, gpa, size);
	for (i = 0; i < n; i++)
		unmap_gpa_range(v, gpa[i], size[i]);
	spin_unlock(&v->ept_lock);
	return 0;
}

/* The process exits or execs: the context dies with its address space (the
 * file may live on in other processes that share it after fork). */
static void dune_mm_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct dune_vcpu *v = container_of(mn, struct dune_vcpu, mn);

	spin_lock(&v->ept_lock);
	v->mmu_seq++;
	unmap_gpa_range(v, 0, v->phys_limit);
	if (v->handle)
		dunehv_call(DUNEHV_HC_CTX_DESTROY, v->handle, v->df->token, 0, 0);
	v->handle = 0;
	v->mm_gone = true;
	spin_unlock(&v->ept_lock);
}

static const struct mmu_notifier_ops dune_mmu_ops = {
	.invalidate_range_start = dune_invalidate_range_start,
	.release = dune_mm_release,
};

int dune_mm_attach(struct dune_vcpu *v)
{
	struct dune_layout l;
	int r;

	dune_layout_compute(current->mm, &l);
	v->phys_limit = l.phys_limit;
	v->base_map = l.base_map;
	v->base_stack = l.base_stack;
	spin_lock_init(&v->ept_lock);
	xa_init(&v->pages);
	v->mm = current->mm;
	mmgrab(v->mm);
	v->mn.ops = &dune_mmu_ops;
	r = mmu_notifier_register(&v->mn, v->mm);
	if (r) {
		mmdrop(v->mm);
		v->mm = NULL;
		return r;
	}
	v->mn_registered = true;
	return 0;
}

void dune_mm_detach(struct dune_vcpu *v)
{
	if (v->mn_registered) {
		mmu_notifier_unregister(&v->mn, v->mm);
		v->mn_registered = false;
	}
	spin_lock(&v->ept_lock);
	unmap_gpa_range(v, 0, v->phys_limit ? v->phys_limit : 1);
	spin_unlock(&v->ept_lock);
	xa_destroy(&v->pages);
	if (v->mm) {
		mmdrop(v->mm);
		v->mm = NULL;
	}
}

/* EPT violation at gpa: pin the process's page behind it and map it. */
int dune_fault_in(struct dune_vcpu *v, u64 gpa, u64 qualification)
{
	bool write = qualification & EPT_QUAL_WRITE;
	unsigned long hva;
	struct page *page;
	u64 seq, flags;
	void *old;
	long r;

	if (!gpa_to_hva(v, gpa, &hva))
		return -EFAULT;
	for (;;) {
		spin_lock(&v->ept_lock);
		seq = v->mmu_seq;
		spin_unlock(&v->ept_lock);
		r = pin_user_pages_fast(hva & PAGE_MASK, 1, write ? FOLL_WRITE : 0, &page);
		if (r != 1)
			return r < 0 ? (int)r : -EFAULT;
		spin_lock(&v->ept_lock);
		if (seq == v->mmu_seq)
			break;
		/* Linux changed the mapping meanwhile: this page may be stale */
		spin_unlock(&v->ept_lock);
		unpin_user_page(page);
	}
	flags = DUNEHV_MAP_READ | DUNEHV_MAP_EXEC | (write ? DUNEHV_MAP_WRITE : 0);
	r = dunehv_call(DUNEHV_HC_CTX_MAP, v->handle, v->df->token, gpa & PAGE_MASK, page_to_phys(page) | flags);
	if (r) {
		spin_unlock(&v->ept_lock);
		unpin_user_page(page);
		pr_info_ratelimited("mapping gpa 0x%llx failed: %ld\n", gpa, r);
		return (int)r;
	}
	old = xa_store(&v->pages, gpa >> PAGE_SHIFT, (void *)((unsigned long)page | write), GFP_ATOMIC);
	if (xa_is_err(old)) {
		dunehv_call(DUNEHV_HC_CTX_UNMAP, v->handle, v->df->token, gpa & PAGE_MASK, PAGE_SIZE);
		spin_unlock(&v->ept_lock);
		unpin_user_page(page);
		return xa_err(old);
	}
	if (old) {
		if ((unsigned long)old & 1)
			set_page_dirty((struct page *)((unsigned long)old & ~1ul));
		unpin_user_page((struct page *)((unsigned long)old & ~1ul));
	} else {
		v->nr_pinned++;
	}
	spin_unlock(&v->ept_lock);
	return 0;
}
