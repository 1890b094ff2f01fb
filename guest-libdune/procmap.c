/* SPDX-License-Identifier: MIT */
/* /proc/self/maps, parsed (upstream's dune_procmap_* API). The file is read
 * whole before the first callback, so callbacks may map memory. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dune.h"

static char *read_maps(void)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	size_t cap = 16384, len = 0;
	char *buf = malloc(cap);
	if (fd < 0 || !buf)
		goto fail;
	for (;;) {
		if (cap - len < 4096) {
			char *bigger = realloc(buf, cap * 2);
			if (!bigger)
				goto fail;
			buf = bigger;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

static int classify(const struct dune_procmap_entry *e)
{
	const char *p = e->path;
	if (!p[0])
		return PROCMAP_TYPE_ANONYMOUS;
	if (p[0] == '/')
		return PROCMAP_TYPE_FILE;
	if (!strcmp(p, "[heap]"))
		return PROCMAP_TYPE_HEAP;
	if (!strncmp(p, "[stack", 6))
		return PROCMAP_TYPE_STACK;
	if (!strcmp(p, "[vsyscall]"))
		return PROCMAP_TYPE_VSYSCALL;
	if (!strcmp(p, "[vdso]"))
		return PROCMAP_TYPE_VDSO;
	if (!strcmp(p, "[vvar]"))
		return PROCMAP_TYPE_VVAR;
	return PROCMAP_TYPE_UNKNOWN;
}

/* One line: "begin-end rwxp offset dev inode   path" */
static int parse_line(char *line, struct dune_procmap_entry *e)
{
	char perms[5] = {0};
	int path_at = 0;
	unsigned long long begin, end, offset;
	if (sscanf(line, "%llx-%llx %4s %llx %*s %*s %n", &begin, &end, perms, &offset, &path_at) < 4 || !path_at)
		return -1;
	e->begin = begin;
	e->end = end;
	e->offset = offset;
	e->r = perms[0] == 'r';
	e->w = perms[1] == 'w';
	e->x = perms[2] == 'x';
	e->p = perms[3] == 'p';
	e->path = line + path_at;
	e->type = classify(e);
	return 0;
}

void dune_procmap_iterate(dune_procmap_cb cb)
{
	char *maps = read_maps(), *line, *save = NULL;
	if (!maps) {
		fprintf(stderr, "dune: cannot read /proc/self/maps\n");
		return;
	}
	for (line = strtok_r(maps, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct dune_procmap_entry e;
		if (!parse_line(line, &e))
			cb(&e);
	}
	free(maps);
}

static const char *type_name(int type)
{
	static const char *const names[] = {"unknown", "file", "anonymous", "heap", "stack", "vsyscall", "vdso", "vvar"};
	return type >= 0 && type <= PROCMAP_TYPE_VVAR ? names[type] : "?";
}

static void dump_entry(const struct dune_procmap_entry *e)
{
	printf("0x%016lx-0x%016lx %c%c%c%c %08lx %-9s %s\n", (unsigned long)e->begin, (unsigned long)e->end,
	       e->r ? 'r' : '-', e->w ? 'w' : '-', e->x ? 'x' : '-', e->p ? 'p' : 's', (unsigned long)e->offset,
	       type_name(e->type), e->path);
}

void dune_procmap_dump(void)
{
	printf("--- process map ---\n");
	dune_procmap_iterate(dump_entry);
	printf("-------------------\n");
}
