/* SPDX-License-Identifier: MIT */
/* The page pool: guest page tables and pages libdune hands out live at
 * PAGEBASE (8 GiB), inside the identity window, so their guest-physical
 * address equals their virtual one. Reserved lazily (MAP_NORESERVE). The
 * pool's first pages hold its own struct page array: mapped in the guest
 * page tables with the pool's 2 MiB pages, so dune_init need not map 16 MiB
 * of a separate array one 4 KiB page at a time (precise mode), and touched
 * only as far as pages are handed out (one page of it per 256). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dune.h"

struct page *pages;
static struct page *free_list;
static uint64_t next_fresh, nr_free;
#define META_PAGES ((MAX_PAGES * sizeof(struct page) + PGSIZE - 1) / PGSIZE)
static pthread_mutex_t page_lock = PTHREAD_MUTEX_INITIALIZER;

int dune_page_init(void);
int dune_page_init(void)
{
	void *mem = mmap((void *)PAGEBASE, MAX_PAGES * PGSIZE, PROT_READ | PROT_WRITE,
			 MAP_FIXED_NOREPLACE | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem != (void *)PAGEBASE)
		return -1;
	pages = mem; /* zero: fresh anonymous memory */
	next_fresh = META_PAGES;
	/* 4 KiB pages for the array and the first 2 MiB of pages (the page
	 * tables of up to 1 GiB of 4 KiB mappings): a transparent huge page
	 * there would make every process, however small, zero 2 MiB twice
	 * and dune.ko pin 512 pages twice for its first EPT leaves. Beyond,
	 * a big user of page tables gets huge pages as Linux decides. */
	madvise(mem, (META_PAGES + 512) * PGSIZE, MADV_NOHUGEPAGE);
	return 0;
}

struct page *dune_page_alloc(void)
{
	struct page *pg = NULL;
	pthread_mutex_lock(&page_lock);
	if (free_list) {
		pg = free_list;
		free_list = pg->next;
		nr_free--;
	} else if (next_fresh < MAX_PAGES) {
		pg = &pages[next_fresh++];
	}
	pthread_mutex_unlock(&page_lock);
	if (pg) {
		pg->ref = 1;
		pg->next = NULL;
		memset((void *)dune_page2pa(pg), 0, PGSIZE);
	}
	return pg;
}

void dune_page_free(struct page *pg)
{
	pthread_mutex_lock(&page_lock);
	pg->next = free_list;
	free_list = pg;
	nr_free++;
	pthread_mutex_unlock(&page_lock);
}

void dune_page_stats(void)
{
	dune_printf("dune: %llu pages in use, %llu free\n", (unsigned long long)(next_fresh - META_PAGES - nr_free),
		    (unsigned long long)nr_free);
}
