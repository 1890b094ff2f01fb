/* The rest of libdune's API in Dune mode: dune_vm_page_walk, dune_vm_clone
 * (a second page table, switched to with CR3), copy-on-write through
 * dune_vm_default_pgflt_handler, dune_vm_collect_dirty (4 KiB pages, and a
 * 2 MiB page it splits), the ELF reader, XSAVE-based FPU save/restore, and
 * the main stack growing past what Linux had mapped (dune.ko's EPT fault
 * lets Linux grow it). Prints "apitest: <what> OK|FAIL" and a done line. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../dune.h"

#define CHECK_PREFIX "apitest: "
#include "check.h"

#define AREA 0x600000000000ul /* guest-only addresses, no host mapping */

static int count_leaf(const void *arg, ptent_t *pte, void *va)
{
	(void)pte, (void)va;
	(*(int *)arg)++;
	return 0;
}

static void cow_handler(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	(void)tf;
	dune_vm_default_pgflt_handler(addr, fec);
}

static int count_load(struct dune_elf *elf, Elf64_Phdr *p)
{
	if (p->p_type == PT_LOAD)
		(*(int *)elf->priv)++;
	return 0;
}

static int find_text(struct dune_elf *elf, const char *name, int idx, Elf64_Shdr *s)
{
	(void)s;
	if (!strcmp(name, ".text"))
		*(int *)elf->priv = idx;
	return 0;
}

static void count_dirty(void *page, void *arg)
{
	(void)page;
	(*(int *)arg)++;
}

/* 1 MiB of stack at depth 256: far below the stack Linux mapped at exec */
static long __attribute__((noinline)) deep(int n)
{
	volatile char pad[4096];
	pad[0] = (char)(n & 63);
	pad[4095] = 1;
	long below = n ? deep(n - 1) : 0;
	return below + pad[0] + pad[4095];
}

static char low_pages[3 * 4096] __attribute__((aligned(4096))); /* in a 2 MiB page of the [0, 4 GiB) window */

static inline unsigned long read_cr3(void)
{
	unsigned long v;
	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}
static inline void write_cr3(unsigned long v) { __asm__ volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (dune_init_and_enter()) {
		printf("apitest: cannot enter Dune FAIL\n");
		return 1;
	}

	/* four fresh pages, walked */
	int r = dune_vm_map_pages(pgroot, (void *)AREA, 4 * PGSIZE, PERM_R | PERM_W);
	int leaves = 0;
	dune_vm_page_walk(pgroot, (void *)AREA, (void *)(AREA + 16 * PGSIZE), count_leaf, &leaves);
	CHECK(r == 0 && leaves == 4, "dune_vm_page_walk finds the 4 pages just mapped (%d)", leaves);

	/* a clone: same data, own tables; a page mapped only in the clone */
	strcpy((char *)AREA, "shared leaf");
	ptent_t *clone = dune_vm_clone(pgroot);
	r = clone ? dune_vm_map_pages(clone, (void *)(AREA + 8 * PGSIZE), PGSIZE, PERM_R | PERM_W) : -1;
	unsigned long cr3 = read_cr3();
	int seen_in_clone = 0;
	if (clone && !r) {
		write_cr3((unsigned long)clone);
		seen_in_clone = !strcmp((char *)AREA, "shared leaf");
		*(volatile char *)(AREA + 8 * PGSIZE) = 1;
		write_cr3(cr3);
	}
	ptent_t *pte;
	int absent = dune_vm_lookup(pgroot, (void *)(AREA + 8 * PGSIZE), CREATE_NONE, &pte) || !(*pte & PTE_P);
	CHECK(clone && !r && seen_in_clone && absent,
	      "dune_vm_clone: the clone shares the leaves, its own mappings stay its own");
	if (clone)
		dune_vm_free(clone);

	/* copy-on-write */
	struct page *orig = dune_page_alloc();
	strcpy((char *)dune_page2pa(orig), "original");
	dune_vm_map_phys(pgroot, (void *)(AREA + 32 * PGSIZE), PGSIZE, (void *)dune_page2pa(orig), PERM_R | PERM_COW);
	dune_page_get(orig);
	dune_register_pgflt_handler(cow_handler);
	char *cow = (char *)(AREA + 32 * PGSIZE);
	strcpy(cow, "written");
	dune_vm_lookup(pgroot, cow, CREATE_NONE, &pte);
	CHECK(!strcmp(cow, "written") && !strcmp((char *)dune_page2pa(orig), "original") && PTE_ADDR(*pte) != dune_page2pa(orig) &&
	      (*pte & PTE_W) && !(*pte & PTE_COW),
	      "copy-on-write: the write got a private copy, the original page kept its data");
	dune_register_pgflt_handler(NULL);

	/* dirty bits: 4 KiB pages (AREA, written above) */
	long d0 = dune_vm_collect_dirty(pgroot, (void *)AREA, 4 * PGSIZE, NULL, NULL);
	((volatile char *)AREA)[PGSIZE + 5] = 1;
	((volatile char *)AREA)[3 * PGSIZE] = 1;
	int seen = 0;
	long d1 = dune_vm_collect_dirty(pgroot, (void *)AREA, 4 * PGSIZE, count_dirty, &seen);
	long d2 = dune_vm_collect_dirty(pgroot, (void *)AREA, 4 * PGSIZE, NULL, NULL);
	CHECK(d0 >= 1 && d1 == 2 && seen == 2 && d2 == 0,
	      "dune_vm_collect_dirty: 2 of 4 pages written, reported once (%ld, %ld [%d], %ld)", d0, d1, seen, d2);
	/* a 2 MiB page (split at the first call) */
	low_pages[0] = 1;
	long s0 = dune_vm_collect_dirty(pgroot, low_pages, sizeof(low_pages), NULL, NULL);
	low_pages[4096 + 7] = 1;
	long s1 = dune_vm_collect_dirty(pgroot, low_pages, sizeof(low_pages), NULL, NULL);
	ptent_t *leaf;
	int small = !dune_vm_lookup(pgroot, low_pages, CREATE_NONE, &leaf) && !(*leaf & PTE_PS);
	long s2 = dune_vm_collect_dirty(pgroot, (char *)low_pages + 1, 4096, NULL, NULL);
	CHECK(s0 == 3 && s1 == 1 && small && s2 == -EINVAL,
	      "dune_vm_collect_dirty splits a 2 MiB page: %ld, then 1 page written: %ld, unaligned: %ld", s0, s1, s2);

	/* ELF */
	struct dune_elf elf;
	int loads = 0, text = -1;
	r = dune_elf_open(&elf, "/proc/self/exe");
	if (!r) {
		elf.priv = &loads;
		dune_elf_iter_ph(&elf, count_load);
		elf.priv = &text;
		dune_elf_iter_sh(&elf, find_text);
	}
	CHECK(!r && elf.hdr.e_machine == EM_X86_64 && loads >= 2 && text > 0,
	      "dune_elf_open(/proc/self/exe): %d PT_LOAD segments, .text is section %d", loads, text);
	struct dune_elf bad;
	char junk[128] = "not an ELF image";
	int br = dune_elf_open_mem(&bad, junk, sizeof(junk));
	CHECK(br == -ENOEXEC, "dune_elf_open_mem on junk -> -ENOEXEC (%d)", br);
	if (!r)
		dune_elf_close(&elf);

	/* FPU: save, clobber, restore */
	static struct fpu_area fpu;
	double in = 1.25, out = 0;
	__asm__ volatile("movsd %0, %%xmm0" ::"m"(in) : "xmm0");
	dune_fpu_save_safe(&fpu);
	__asm__ volatile("xorpd %%xmm0, %%xmm0" ::: "xmm0");
	dune_fpu_load(&fpu);
	__asm__ volatile("movsd %%xmm0, %0" : "=m"(out));
	CHECK(out == 1.25 && fpu.mxcsr != 0, "dune_fpu_save_safe/dune_fpu_load keep xmm0 (%g)", out);

	/* the main stack, grown in Dune mode */
	long sum = deep(256), want = 0;
	for (int n = 0; n <= 256; n++)
		want += (n & 63) + 1;
	CHECK(sum == want, "1 MiB of recursion on the main stack (%ld of %ld)", sum, want);

	printf("apitest: done failures=%d\n", check_failures);
	return check_failures ? 1 : 0;
}
