// SPDX-License-Identifier: GPL-2.0
/*
 * A Dune thread's memory: the guest-physical windows of upstream Dune, EPT
 * entries filled lazily from the process's own pinned pages, and an MMU
 * notifier that takes them away whenever Linux changes the mapping (munmap,
 * mprotect, copy-on-write, migration, THP split, reclaim, exit), so that no
 * stale translation survives. A page is writable in the EPT only after a
 * write fault that Linux allowed (pinned with FOLL_WRITE), and executable
 * only if its VMA has VM_EXEC. Mappings without
 * struct pages behind them (VM_PFNMAP, such as the vDSO's vvar page) are
 * looked up in the page table instead of pinned; the hypervisor only accepts
 * RAM, so device memory stays out of reach.
 *
 * The pages xarray maps gpa >> 12 to either a pinned struct page * with
 * flags in bits 2..3 (bits 0..1 stay clear: the xarray reserves them) or an
 * xa_mk_value(pfn) for a VM_PFNMAP page (no pin). A 2 MiB leaf has an entry
 * (and a pin) for each of its 512 pages; a 1 GiB leaf (hugetlbfs only,
 * where one folio backs the whole range by construction) has one entry, at
 * its first page, holding the one pin that keeps the folio.
 */
#define pr_fmt(fmt) "dune: " fmt

#include <linux/highmem.h>
#include <linux/hugetlb.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>

#include "dune_priv.h"

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

#define ENTRY_WRITABLE 0x04ul /* mapped writable: the page is dirtied on release */
#define ENTRY_1G       0x08ul /* the pin of a whole 1 GiB leaf */
#define ENTRY_2M       0x10ul /* one of the 512 pages of a 2 MiB leaf */
#define ENTRY_FLAGS    0x1ful /* struct page is at least 32-byte aligned */

static void *page_entry(struct page *page, bool write, unsigned long leaf_flag)
{
	return (void *)((unsigned long)page | (write ? ENTRY_WRITABLE : 0) | leaf_flag);
}

/* Unpins what an entry holds (nothing for a VM_PFNMAP pfn). */
static void release_entry(void *entry)
{
	struct page *page = (struct page *)((unsigned long)entry & ~ENTRY_FLAGS);

	if (xa_is_value(entry))
		return;
	if ((unsigned long)entry & ENTRY_WRITABLE)
		set_page_dirty(page); /* under ept_lock: no page lock */
	unpin_user_page(page);
}

/* Unmaps [gpa, gpa + size) in the hypervisor (which flushes, INVEPT,
 * before it returns), then drops the records and pins of those pages;
 * ept_lock held. */
static void unmap_and_release(struct dune_vcpu *v, u64 gpa, u64 size)
{
	unsigned long index;
	void *entry;

	dunehv_call(DUNEHV_HC_CTX_UNMAP, v->handle, v->df->token, gpa, size);
	xa_for_each_range(&v->pages, index, entry, gpa >> PAGE_SHIFT, (gpa + size - 1) >> PAGE_SHIFT) {
		xa_erase(&v->pages, index);
		release_entry(entry);
	}
}

/* Drops the EPT entries and pins of [gpa, gpa + size), if it has any;
 * ept_lock held. */
static void unmap_gpa_range(struct dune_vcpu *v, u64 gpa, u64 size)
{
	if (xa_find(&v->pages, &(unsigned long){gpa >> PAGE_SHIFT}, (gpa + size - 1) >> PAGE_SHIFT, XA_PRESENT))
		unmap_and_release(v, gpa, size);
}

static int dune_invalidate_range_start(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct dune_vcpu *v = container_of(mn, struct dune_vcpu, mn);
	u64 gpa[3], size[3];
	int n, i;

	spin_lock(&v->ept_lock);
	v->mmu_seq++;
	v->mmu_invalidating++;
	n = hva_to_gpa_ranges(v, range->start, range->end, gpa, size);
	for (i = 0; i < n; i++) {
		if (v->huge_leaves) {
			/* a huge leaf goes whole: so do the pins of all its pages */
			u64 align = v->huge_1g_leaves ? SZ_1G : SZ_2M, end = ALIGN(gpa[i] + size[i], align);

			gpa[i] = ALIGN_DOWN(gpa[i], align);
			size[i] = end - gpa[i];
		}
		unmap_gpa_range(v, gpa[i], size[i]);
	}
	spin_unlock(&v->ept_lock);
	return 0;
}

/* Linux has changed the page tables of the range (the PTEs are gone):
 * faults may pin and map again. A fault that pinned between _start and
 * here (pin_user_pages_fast walks the page table without mmap_lock and can
 * still find a PTE that is about to be zapped) sees the count or the
 * sequence changed and retries. */
static void dune_invalidate_range_end(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct dune_vcpu *v = container_of(mn, struct dune_vcpu, mn);

	spin_lock(&v->ept_lock);
	v->mmu_seq++;
	if (!WARN_ON_ONCE(!v->mmu_invalidating))
		v->mmu_invalidating--;
	spin_unlock(&v->ept_lock);
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
	.invalidate_range_end = dune_invalidate_range_end,
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

/* EPT rights of a page of the process: always read (the process's own page
 * tables decide the rest), write only after a write fault Linux allowed,
 * execute only where the VMA has VM_EXEC. The process runs in ring 0 and
 * can clear any NX bit of its own page tables, so the EPT is what keeps it
 * from executing what Linux mapped without PROT_EXEC (noexec mounts,
 * SELinux execmem, MemoryDenyWriteExecute). */
static u64 map_flags(bool write, bool exec)
{
	return DUNEHV_MAP_READ | (exec ? DUNEHV_MAP_EXEC : 0) | (write ? DUNEHV_MAP_WRITE : 0);
}

/* The process's VMA at an address, as Linux sees it now: whether the
 * process may execute there, and the range an EPT leaf may cover (a huge
 * leaf must not reach into a neighbour with other rights). */
struct vma_view {
	unsigned long start, end;
	bool exec, hugetlb_1g, file;
};

static bool view_vma(struct mm_struct *mm, unsigned long hva, struct vma_view *view)
{
	struct vm_area_struct *vma;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, hva);
	if (vma) {
		view->start = vma->vm_start;
		view->end = vma->vm_end;
		view->exec = vma->vm_flags & VM_EXEC;
		view->file = vma->vm_file;
		view->hugetlb_1g = is_vm_hugetlb_page(vma) && huge_page_size(hstate_vma(vma)) == SZ_1G;
	}
	mmap_read_unlock(mm);
	return vma;
}

/* The VMA covers the size-aligned range around hva. */
static bool view_covers(const struct vma_view *view, unsigned long hva, unsigned long size)
{
	unsigned long start = hva & ~(size - 1);

	return view->start <= start && start + size <= view->end;
}

/* The pfn that would back the start of hva's size-aligned range, if page
 * (behind hva) is part of a physically contiguous run covering it. */
static unsigned long first_pfn(struct page *page, unsigned long hva, unsigned long size)
{
	return page_to_pfn(page) - ((hva & (size - 1)) >> PAGE_SHIFT);
}

/* A VM_PFNMAP/VM_IO mapping has no struct pages to pin: find the pfn in
 * the process's page table (faulting it in first), honouring the VMA's and
 * the PTE's permissions. Nothing holds the page (KVM does the same): a
 * driver zaps the PTEs before it frees what is behind them, and that zap
 * is an invalidation that takes the EPT entry away first. Kernel 6.10 replaced follow_pte() with
 * follow_pfnmap_start(); this is the 6.1 form. */
static int lookup_pfnmap(struct mm_struct *mm, unsigned long hva, bool write, u64 *pfn)
{
	struct vm_area_struct *vma;
	spinlock_t *ptl;
	pte_t *ptep;
	int r = -EFAULT;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, hva);
	if (!vma || !(vma->vm_flags & (VM_IO | VM_PFNMAP)) || !(vma->vm_flags & VM_READ) ||
	    (write && !(vma->vm_flags & VM_WRITE)))
		goto out;
	if (follow_pte(mm, hva, &ptep, &ptl)) {
		if (fixup_user_fault(mm, hva, write ? FAULT_FLAG_WRITE : 0, NULL) ||
		    follow_pte(mm, hva, &ptep, &ptl))
			goto out;
	}
	if (!write || pte_write(*ptep)) {
		*pfn = pte_pfn(*ptep);
		r = 0;
	}
	pte_unmap_unlock(ptep, ptl);
out:
	mmap_read_unlock(mm);
	return r;
}

/* Records the translation of gpa and maps it in the hypervisor; ept_lock
 * held, and entry is from page_entry() or xa_mk_value(pfn). */
/* Records entry for the page at gpa, mapped in the hypervisor already; on
 * failure the mapping goes again. ept_lock held. */
static int map_entry_recorded(struct dune_vcpu *v, u64 gpa, void *entry)
{
	void *old = xa_store(&v->pages, gpa >> PAGE_SHIFT, entry, GFP_ATOMIC);

	if (xa_is_err(old)) {
		dunehv_call(DUNEHV_HC_CTX_UNMAP, v->handle, v->df->token, gpa & PAGE_MASK, PAGE_SIZE);
		return xa_err(old);
	}
	if (old)
		release_entry(old);
	return 0;
}

static int map_entry(struct dune_vcpu *v, u64 gpa, void *entry, u64 phys, bool write, bool exec)
{
	u64 flags = map_flags(write, exec);
	long r;

	r = dunehv_call(DUNEHV_HC_CTX_MAP, v->handle, v->df->token, gpa & PAGE_MASK, phys | flags);
	if (r) {
		if (r != -EDQUOT && r != -ENOMEM) /* those two: the run loop frees tables and retries */
			pr_info_ratelimited("mapping gpa 0x%llx failed: %ld\n", gpa, r);
		return (int)r;
	}
	return map_entry_recorded(v, gpa, entry);
}

/* A huge page behind hva (THP or hugetlbfs, order >= 9): pins all 512
 * pages of its 2 MiB-aligned range if they are one physically contiguous,
 * aligned run of the same folio, as the process maps them now. Returns the
 * first page's physical address, or 0 to fall back to 4 KiB. */
static phys_addr_t pin_huge_range(struct page *page, unsigned long hva, bool write, struct page **pages)
{
	struct folio *folio = page_folio(page);
	unsigned long start = hva & ~(SZ_2M - 1), pfn0 = first_pfn(page, hva, SZ_2M);
	long n;
	int i;

	if (folio_nr_pages(folio) < PTRS_PER_PMD || (pfn0 & (PTRS_PER_PMD - 1)) || pfn0 < folio_pfn(folio) ||
	    pfn0 + PTRS_PER_PMD > folio_pfn(folio) + folio_nr_pages(folio))
		return 0;
	n = pin_user_pages_fast(start, PTRS_PER_PMD, write ? FOLL_WRITE : 0, pages);
	for (i = 0; i < n; i++)
		if (pages[i] != pfn_to_page(pfn0 + i))
			break;
	if (n == PTRS_PER_PMD && i == PTRS_PER_PMD)
		return PFN_PHYS(pfn0);
	if (n > 0)
		unpin_user_pages(pages, n);
	return 0;
}

/* Some 4 KiB page of gpa's 2 MiB range is mapped already: a 2 MiB leaf
 * would be refused, so do not pin 512 pages to find out. (A 2 MiB leaf
 * there is no obstacle: it is replaced, e.g. to add write access.) */
static bool small_pages_mapped(struct dune_vcpu *v, u64 gpa)
{
	unsigned long first = (gpa & ~(u64)(SZ_2M - 1)) >> PAGE_SHIFT, index = first;
	void *entry = xa_find(&v->pages, &index, first + PTRS_PER_PMD - 1, XA_PRESENT);

	return entry && (xa_is_value(entry) || !((unsigned long)entry & ENTRY_2M));
}

/* Maps the pinned 2 MiB run with one EPT leaf; ept_lock held. */
static int map_huge(struct dune_vcpu *v, u64 gpa, phys_addr_t phys, bool write, bool exec, struct page **pages)
{
	u64 flags = map_flags(write, exec) | DUNEHV_MAP_2M;
	u64 base = gpa & ~(u64)(SZ_2M - 1);
	long r;
	int i;

	r = dunehv_call(DUNEHV_HC_CTX_MAP, v->handle, v->df->token, base, phys | flags);
	if (r)
		return (int)r; /* e.g. 4 KiB pages are mapped there: the caller maps 4 KiB */
	for (i = 0; i < PTRS_PER_PMD; i++) {
		void *old = xa_store(&v->pages, (base >> PAGE_SHIFT) + i, page_entry(pages[i], write, ENTRY_2M), GFP_ATOMIC);

		if (xa_is_err(old)) {
			/* out of memory for the index: drop the leaf and what is recorded */
			dunehv_call(DUNEHV_HC_CTX_UNMAP, v->handle, v->df->token, base, SZ_2M);
			while (i-- > 0)
				xa_erase(&v->pages, (base >> PAGE_SHIFT) + i);
			return xa_err(old);
		}
		if (old)
			release_entry(old);
	}
	v->huge_leaves = true;
	return 0;
}

/* A 1 GiB hugetlbfs page behind hva: the VMA's huge page size is 1 GiB and
 * it covers the 1 GiB-aligned range, so one folio backs all of it. Returns
 * its physical address, or 0. */
static phys_addr_t huge_1g_range(const struct vma_view *view, struct page *page, unsigned long hva)
{
	struct folio *folio = page_folio(page);
	unsigned long pfn0 = first_pfn(page, hva, SZ_1G);

	if (folio_nr_pages(folio) < (SZ_1G >> PAGE_SHIFT) || pfn0 != folio_pfn(folio) || !view->hugetlb_1g ||
	    !view_covers(view, hva, SZ_1G))
		return 0;
	return PFN_PHYS(pfn0);
}

/* Maps a 1 GiB leaf held by the one pin of page; ept_lock held. */
static int map_1g(struct dune_vcpu *v, u64 gpa, phys_addr_t phys, struct page *page, bool write, bool exec)
{
	u64 flags = map_flags(write, exec) | DUNEHV_MAP_1G;
	u64 base = gpa & ~(u64)(SZ_1G - 1);
	long r;

	r = dunehv_call(DUNEHV_HC_CTX_MAP, v->handle, v->df->token, base, phys | flags);
	if (r)
		return (int)r; /* no 1 GiB EPT pages, or smaller pages mapped there */
	v->huge_1g_leaves = true;
	v->huge_leaves = true;
	r = map_entry_recorded(v, base, page_entry(page, write, ENTRY_1G));
	return (int)r;
}

/* Fault-around, as Linux does for file pages (do_fault_around): with a
 * 4 KiB fault in a file mapping, the other pages of its aligned 64 KiB
 * block that Linux has present already in the same VMA are mapped too,
 * read-only (a write still faults, as without) and executable as the VMA
 * is. Only present pages (get_user_page_fast_only: no fault, no
 * allocation), so the process's memory is what it was; what it saves is a
 * run exit per page of the program text and data that Linux's own
 * fault-around brought in with the first. Not in anonymous memory: there
 * a first touch is Linux's first touch too, its neighbours are absent, and
 * looking for them made a fresh page's EPT fault twice as dear. */
#define AROUND_PAGES 16

struct around {
	u64 gpa[AROUND_PAGES];
	struct page *page[AROUND_PAGES];
	int n;
};

static void around_release(struct around *a)
{
	while (a->n > 0)
		unpin_user_page(a->page[--a->n]);
}

/* Pins the present neighbours of hva (not yet mapped); before ept_lock. */
static void around_pin(struct dune_vcpu *v, const struct vma_view *view, u64 gpa, unsigned long hva, struct around *a)
{
	unsigned long block = hva & ~(AROUND_PAGES * PAGE_SIZE - 1), addr, at;
	struct page *page;

	a->n = 0;
	for (addr = max(block, view->start); addr < min(block + AROUND_PAGES * PAGE_SIZE, view->end); addr += PAGE_SIZE) {
		u64 n_gpa = (gpa & PAGE_MASK) + addr - (hva & PAGE_MASK);

		if (addr == (hva & PAGE_MASK) || !gpa_to_hva(v, n_gpa, &at) || at != addr ||
		    xa_load(&v->pages, n_gpa >> PAGE_SHIFT))
			continue;
		if (!get_user_page_fast_only(addr, 0, &page))
			continue; /* not present in Linux: left to its own fault */
		put_page(page);
		if (pin_user_pages_fast(addr, 1, 0, &page) != 1)
			continue;
		a->gpa[a->n] = n_gpa;
		a->page[a->n++] = page;
	}
}

/* Maps the pinned neighbours; ept_lock held, the sequence checked. Each
 * pin goes to its entry, or is dropped. */
static void around_map(struct dune_vcpu *v, bool exec, struct around *a)
{
	while (a->n > 0) {
		struct page *page = a->page[--a->n];
		u64 n_gpa = a->gpa[a->n];

		if (xa_load(&v->pages, n_gpa >> PAGE_SHIFT) ||
		    map_entry(v, n_gpa, page_entry(page, false, 0), page_to_phys(page), false, exec))
			unpin_user_page(page);
	}
}

/* EPT violation at gpa: pin the process's page behind it and map it (with
 * a 2 MiB leaf when a huge page backs the whole aligned range and its VMA
 * covers it), executable if the VMA is.
 * -ERANGE: gpa is in none of the process's windows; -EFAULT: Linux does not
 * let the process make this access (nothing mapped there, a write to a
 * read-only mapping, or an instruction fetch from a mapping without
 * PROT_EXEC), which the caller turns into a #PF for the process;
 * -EAGAIN: Linux is changing the mapping right now (between an
 * invalidation's start and end): nothing is mapped, and the caller enters
 * the context again, which faults again (KVM's RET_PF_RETRY). */
void dune_mm_zap(struct dune_vcpu *v)
{
	spin_lock(&v->ept_lock);
	/* even with no page recorded: tables a refused map left empty go too */
	unmap_and_release(v, 0, 1ull << 48);
	v->huge_leaves = v->huge_1g_leaves = false;
	spin_unlock(&v->ept_lock);
}

/* Where nothing is mapped yet, Linux's own page fault may still map
 * something: below a stack that grows down, it grows the stack (within its
 * rlimit and guard gap). GUP does not (since "gup: don't expand stack",
 * 6.1.37 and later), and the function that does, expand_stack, is not
 * exported. A read through uaccess faults the way the process's own read
 * would, so Linux applies its rules; it reads, never writes. Whether the
 * page is there now (pin again to know). */
static bool grow_stack(unsigned long hva)
{
	u8 byte;

	return !get_user(byte, (u8 __user *)hva);
}

int dune_fault_in(struct dune_vcpu *v, u64 gpa, unsigned int access)
{
	bool write = access & DUNE_FAULT_WRITE, exec = access & DUNE_FAULT_EXEC, grant_exec;
	unsigned long hva;
	struct vma_view view;
	struct page *page = NULL, **huge = NULL;
	struct around around = {.n = 0};
	phys_addr_t huge_phys = 0, phys_1g = 0;
	u64 seq, pfn = 0;
	unsigned int in_progress;
	bool grew = false;
	long r;

	if (!gpa_to_hva(v, gpa, &hva))
		return -ERANGE;
	for (;;) {
		spin_lock(&v->ept_lock);
		seq = v->mmu_seq;
		spin_unlock(&v->ept_lock);
		page = NULL;
		r = pin_user_pages_fast(hva & PAGE_MASK, 1, write ? FOLL_WRITE : 0, &page);
		if (r != 1) {
			if (r != -EFAULT && r != 0) {
				kfree(huge);
				return (int)r;
			}
			page = NULL;
			r = lookup_pfnmap(v->mm, hva, write, &pfn);
			if (r && !grew && grow_stack(hva)) {
				grew = true;
				continue;
			}
			if (r) {
				kfree(huge);
				return (int)r;
			}
		}
		/* after the sequence was read: an mprotect from here on retries.
		 * A fetch at the SYSCALL entry may execute this one 4 KiB page
		 * without PROT_EXEC; it is mapped without write (an exec fault is
		 * no write fault), and a later write fault takes execute away
		 * again (map_flags follows the VMA): W^X. */
		if (!view_vma(v->mm, hva, &view) || (exec && !view.exec && !(access & DUNE_FAULT_ENTRY_FETCH))) {
			if (page)
				unpin_user_page(page);
			kfree(huge);
			return -EFAULT;
		}
		grant_exec = view.exec || exec;
		phys_1g = page && PageCompound(page) && view.exec == grant_exec ? huge_1g_range(&view, page, hva) : 0;
		if (page && PageCompound(page) && !phys_1g && view.exec == grant_exec && view_covers(&view, hva, SZ_2M) &&
		    !small_pages_mapped(v, gpa)) {
			if (!huge)
				huge = kmalloc_array(PTRS_PER_PMD, sizeof(*huge), GFP_KERNEL);
			if (huge)
				huge_phys = pin_huge_range(page, hva, write, huge);
		}
		if (!phys_1g && !huge_phys && view.file)
			around_pin(v, &view, gpa, hva, &around);
		spin_lock(&v->ept_lock);
		if (seq == v->mmu_seq && !v->mmu_invalidating)
			break;
		/* Linux changed the mapping meanwhile, or is changing it: these
		 * pages may be stale */
		in_progress = v->mmu_invalidating;
		spin_unlock(&v->ept_lock);
		if (page)
			unpin_user_page(page);
		if (huge_phys)
			unpin_user_pages(huge, PTRS_PER_PMD);
		huge_phys = 0;
		around_release(&around);
		if (in_progress) {
			kfree(huge);
			return -EAGAIN;
		}
	}
	if (phys_1g && !map_1g(v, gpa, phys_1g, page, write, grant_exec)) {
		spin_unlock(&v->ept_lock); /* the leaf keeps the pin of page */
		kfree(huge);
		return 0;
	}
	if (huge_phys) {
		r = map_huge(v, gpa, huge_phys, write, grant_exec, huge);
		if (r)
			unpin_user_pages(huge, PTRS_PER_PMD);
		else {
			spin_unlock(&v->ept_lock);
			unpin_user_page(page); /* the run holds its own pin of it */
			kfree(huge);
			return 0;
		}
	}
	if (grant_exec && !view.exec && v->huge_leaves) {
		/* the fetch exception maps this 4 KiB page alone: a huge leaf
		 * around it goes whole first (its pages fault back in) */
		u64 align = v->huge_1g_leaves ? SZ_1G : SZ_2M;

		unmap_gpa_range(v, ALIGN_DOWN(gpa, align), align);
	}
	if (page)
		r = map_entry(v, gpa, page_entry(page, write, 0), page_to_phys(page), write, grant_exec);
	else
		r = map_entry(v, gpa, xa_mk_value(pfn), PFN_PHYS(pfn), write, grant_exec);
	if (!r)
		around_map(v, view.exec, &around);
	spin_unlock(&v->ept_lock);
	around_release(&around); /* what was not mapped */
	if (r && page)
		unpin_user_page(page);
	kfree(huge);
	return (int)r;
}
