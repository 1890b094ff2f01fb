/* SPDX-License-Identifier: MIT */
/* The path checks of the reference interposers (interpose.h): the same
 * rules and the same real-path resolution as dune-sandbox's, with the
 * traced process's working directory and descriptors found in /proc. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../sandbox.h"
#include "interpose.h"

/* dune-sandbox's table is not linked here: syscall rules name nothing. */
long sandbox_syscall_number(const char *name)
{
	(void)name;
	return -1;
}

enum { READ, WRITE, OPEN_FLAGS };
#define NOFOLLOW 8

static const struct path_call {
	long nr;
	signed char path, dirfd, flags; /* argument numbers; -1: none (AT_FDCWD) */
	unsigned char how;              /* READ, WRITE or OPEN_FLAGS, | NOFOLLOW */
} calls[] = {
	{SYS_open, 0, -1, 1, OPEN_FLAGS},      {SYS_openat, 1, 0, 2, OPEN_FLAGS},
	{SYS_creat, 0, -1, -1, WRITE},         {SYS_stat, 0, -1, -1, READ},
	{SYS_lstat, 0, -1, -1, READ | NOFOLLOW}, {SYS_newfstatat, 1, 0, -1, READ},
	{SYS_statx, 1, 0, -1, READ},           {SYS_access, 0, -1, -1, READ},
	{SYS_faccessat, 1, 0, -1, READ},       {SYS_faccessat2, 1, 0, -1, READ},
	{SYS_execve, 0, -1, -1, READ},         {SYS_readlink, 0, -1, -1, READ | NOFOLLOW},
	{SYS_readlinkat, 1, 0, -1, READ | NOFOLLOW}, {SYS_chdir, 0, -1, -1, READ},
	{SYS_unlink, 0, -1, -1, WRITE | NOFOLLOW}, {SYS_unlinkat, 1, 0, -1, WRITE | NOFOLLOW},
	{SYS_mkdir, 0, -1, -1, WRITE | NOFOLLOW}, {SYS_mkdirat, 1, 0, -1, WRITE | NOFOLLOW},
	{SYS_rmdir, 0, -1, -1, WRITE | NOFOLLOW}, {SYS_rename, 0, -1, -1, WRITE | NOFOLLOW},
	{SYS_truncate, 0, -1, -1, WRITE},      {SYS_chmod, 0, -1, -1, WRITE},
};

static const struct path_call *find(long nr)
{
	for (unsigned i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		if (calls[i].nr == nr)
			return &calls[i];
	return NULL;
}

bool interpose_is_path_call(long nr) { return find(nr) != NULL; }

unsigned interpose_path_calls(const long **nrs)
{
	static long list[sizeof(calls) / sizeof(calls[0])];
	for (unsigned i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		list[i] = calls[i].nr;
	*nrs = list;
	return sizeof(calls) / sizeof(calls[0]);
}

/* The string at addr in pid's memory, page by page (a read may not cross
 * into an unmapped page). */
static int read_string(int pid, uint64_t addr, char *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		size_t chunk = 4096 - ((addr + got) & 4095);
		if (chunk > n - got)
			chunk = n - got;
		struct iovec local = {buf + got, chunk}, remote = {(void *)(addr + got), chunk};
		if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t)chunk)
			return -EFAULT;
		if (memchr(buf + got, 0, chunk))
			return 0;
		got += chunk;
	}
	return -ENAMETOOLONG;
}

/* pid's path made absolute: its working directory or the directory its
 * descriptor dirfd names. */
static int absolute(int pid, int dirfd, const char *path, char *out, size_t n)
{
	if (path[0] == '/') {
		snprintf(out, n, "%s", path);
		return 0;
	}
	char link[64], base[PATH_MAX];
	if (dirfd == AT_FDCWD)
		snprintf(link, sizeof(link), "/proc/%d/cwd", pid);
	else
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", pid, dirfd);
	ssize_t len = readlink(link, base, sizeof(base) - 1);
	if (len < 0)
		return -EBADF;
	base[len] = 0;
	return (size_t)snprintf(out, n, "%s/%s", base, path) < n ? 0 : -ENAMETOOLONG;
}

long interpose_check(int pid, long nr, const uint64_t a[6])
{
	const struct path_call *c = find(nr);
	char path[PATH_MAX], full[PATH_MAX * 2], real[PATH_MAX];
	int line;
	if (!c || !policy_has_path_rules())
		return 0;
	long r = read_string(pid, a[(int)c->path], path, sizeof(path));
	if (r || !path[0])
		return r;
	int dirfd = c->dirfd < 0 ? AT_FDCWD : (int)a[(int)c->dirfd];
	if ((r = absolute(pid, dirfd, path, full, sizeof(full))))
		return r;
	bool write = (c->how & 7) == WRITE, follow = !(c->how & NOFOLLOW);
	if ((c->how & 7) == OPEN_FLAGS) {
		uint64_t flags = a[(int)c->flags];
		write = (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC));
		follow = !(flags & O_NOFOLLOW);
	}
	if ((r = sandbox_resolve(AT_FDCWD, full, follow, real)))
		return r; /* as dune-sandbox: a directory that cannot be resolved fails the call */
	return policy_check_path(real, write, &line) ? -EACCES : 0;
}

void interpose_load_policy(const char *file, const char *tool)
{
	char err[512];
	if (policy_load(file, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", tool, err);
		exit(126);
	}
}
