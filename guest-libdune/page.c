/* SPDX-License-Identifier: MIT */
/* The page pool: guest page tables and pages libdune hands out live at
 * PAGEBASE (8 GiB), inside the identity window, so their guest-physical
 * address equals their virtual one. Reserved lazily (MAP_NORESERVE). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dune.h"

struct page *pages;
static struct page *free_list;
static uint64_t next_fresh, nr_free;
static pthread_mutex_t page_lock = PTHREAD_MUTEX_INITIALIZER;

int dune_page_init(void);
int dune_page_init(void)
{
	void *mem = mmap((void *)PAGEBASE, MAX_PAGES * PGSIZE, PROT_READ | PROT_WRITE,
			 MAP_FIXED_NOREPLACE | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem != (void *)PAGEBASE)
		return -1;
	pages = calloc(MAX_PAGES, sizeof(struct page));
	return pages ? 0 : -1;
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
	dune_printf("dune: %llu pages in use, %llu free\n", (unsigned long long)(next_fresh - nr_free),
		    (unsigned long long)nr_free);
}
