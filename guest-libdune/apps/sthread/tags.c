/* SPDX-License-Identifier: MIT */
/* Memory tags (Wedge): regions of the process's memory that a security
 * context grants whole, read-only or read-write, and smalloc's blocks in
 * them. The blocks' bookkeeping lives here, outside the tag: an sthread
 * that may write a tag can change its data, not how the parent's smalloc
 * and sfree see it. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sthread_priv.h"

#define MAX_TAGS 1024
#define TAG_DEFAULT_SIZE (64u << 10)
#define ALIGN 16

struct block {
	size_t off, size;
	bool used;
};

struct tag {
	bool exists;
	struct tag_info info;
	struct block *blocks; /* in address order, covering the tag */
	int nblocks, cap;
};

static struct tag tags[MAX_TAGS];
static pthread_mutex_t tag_lock = PTHREAD_MUTEX_INITIALIZER;

tag_t tag_new_size(size_t size)
{
	if (!size || size > (1ull << 36))
		return -EINVAL;
	size = (size + PGSIZE - 1) & ~(size_t)(PGSIZE - 1);
	void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return -ENOMEM;
	struct block *b = malloc(16 * sizeof(*b));
	if (!b) {
		munmap(mem, size);
		return -ENOMEM;
	}
	pthread_mutex_lock(&tag_lock);
	int t = 0;
	while (t < MAX_TAGS && tags[t].exists)
		t++;
	if (t == MAX_TAGS) {
		pthread_mutex_unlock(&tag_lock);
		munmap(mem, size);
		free(b);
		return -ENOSPC;
	}
	b[0] = (struct block){0, size, false};
	tags[t] = (struct tag){.exists = true, .info = {(uintptr_t)mem, size, 0}, .blocks = b, .nblocks = 1, .cap = 16};
	pthread_mutex_unlock(&tag_lock);
	return t;
}

tag_t tag_new(void) { return tag_new_size(TAG_DEFAULT_SIZE); }

int tag_delete(tag_t t)
{
	pthread_mutex_lock(&tag_lock);
	if (t < 0 || t >= MAX_TAGS || !tags[t].exists) {
		pthread_mutex_unlock(&tag_lock);
		return -EINVAL;
	}
	if (tags[t].info.users) {
		pthread_mutex_unlock(&tag_lock);
		return -EBUSY;
	}
	munmap((void *)tags[t].info.base, tags[t].info.size);
	free(tags[t].blocks);
	tags[t].exists = false;
	pthread_mutex_unlock(&tag_lock);
	return 0;
}

bool sc_tags_exist(const sc_t *sc)
{
	struct tag_info t;
	for (int i = 0; i < sc->ntags; i++)
		if (!tag_get(sc->mem[i].tag, &t))
			return false;
	return true;
}

bool tag_get(tag_t t, struct tag_info *out)
{
	pthread_mutex_lock(&tag_lock);
	bool ok = t >= 0 && t < MAX_TAGS && tags[t].exists;
	if (ok)
		*out = tags[t].info;
	pthread_mutex_unlock(&tag_lock);
	return ok;
}

void tag_use(tag_t t, int delta)
{
	pthread_mutex_lock(&tag_lock);
	if (t >= 0 && t < MAX_TAGS && tags[t].exists)
		tags[t].info.users += delta;
	pthread_mutex_unlock(&tag_lock);
}

void *smalloc(tag_t t, size_t size)
{
	if (!size)
		size = 1;
	size = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	void *p = NULL;
	pthread_mutex_lock(&tag_lock);
	if (t < 0 || t >= MAX_TAGS || !tags[t].exists)
		goto out;
	struct tag *g = &tags[t];
	for (int i = 0; i < g->nblocks; i++) {
		struct block *b = &g->blocks[i];
		if (b->used || b->size < size)
			continue;
		if (b->size > size) { /* split: the rest stays free */
			if (g->nblocks == g->cap) {
				struct block *nb = realloc(g->blocks, (size_t)g->cap * 2 * sizeof(*nb));
				if (!nb)
					goto out;
				g->blocks = nb;
				g->cap *= 2;
				b = &g->blocks[i];
			}
			memmove(b + 2, b + 1, (size_t)(g->nblocks - i - 1) * sizeof(*b));
			b[1] = (struct block){b->off + size, b->size - size, false};
			b->size = size;
			g->nblocks++;
		}
		b->used = true;
		p = (void *)(g->info.base + b->off);
		break;
	}
out:
	pthread_mutex_unlock(&tag_lock);
	return p;
}

void sfree(void *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&tag_lock);
	for (int t = 0; t < MAX_TAGS; t++) {
		struct tag *g = &tags[t];
		if (!g->exists || (uintptr_t)p < g->info.base || (uintptr_t)p >= g->info.base + g->info.size)
			continue;
		size_t off = (uintptr_t)p - g->info.base;
		for (int i = 0; i < g->nblocks; i++) {
			if (g->blocks[i].off != off || !g->blocks[i].used)
				continue;
			g->blocks[i].used = false;
			if (i + 1 < g->nblocks && !g->blocks[i + 1].used) { /* merge with the next */
				g->blocks[i].size += g->blocks[i + 1].size;
				memmove(&g->blocks[i + 1], &g->blocks[i + 2], (size_t)(g->nblocks - i - 2) * sizeof(struct block));
				g->nblocks--;
			}
			if (i > 0 && !g->blocks[i - 1].used) { /* and the previous */
				g->blocks[i - 1].size += g->blocks[i].size;
				memmove(&g->blocks[i], &g->blocks[i + 1], (size_t)(g->nblocks - i - 1) * sizeof(struct block));
				g->nblocks--;
			}
			break;
		}
		break;
	}
	pthread_mutex_unlock(&tag_lock);
}
