/* SPDX-License-Identifier: MIT */
/* Paths as the policy sees them: absolute, with every symbolic link and
 * every "." and ".." resolved (realpath), so that neither ".." nor a link
 * leads out of a prefix. Resolution runs in the monitor, with the
 * process's own working directory and descriptors. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox.h"

/* Where a relative path starts: the working directory, or the directory
 * dirfd names. */
static int base_dir(int dirfd, char *out, size_t n)
{
	if (dirfd == AT_FDCWD)
		return getcwd(out, n) ? 0 : -errno;
	char link[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
	ssize_t len = readlink(link, out, n - 1);
	if (len < 0)
		return errno == ENOENT ? -EBADF : -errno;
	out[len] = 0;
	return 0;
}

int sandbox_resolve(int dirfd, const char *path, bool follow, char *out)
{
	char full[PATH_MAX * 2];
	if (path[0] == '/') {
		snprintf(full, sizeof(full), "%s", path);
	} else {
		char base[PATH_MAX];
		int r = base_dir(dirfd, base, sizeof(base));
		if (r)
			return r;
		if ((size_t)snprintf(full, sizeof(full), "%s/%s", base, path) >= sizeof(full))
			return -ENAMETOOLONG;
	}
	if (follow && realpath(full, out))
		return 0;
	if (follow && errno != ENOENT)
		return -errno;
	/* The last component itself (not followed, or not there yet): the
	 * real path of its directory, then its name. */
	size_t len = strlen(full);
	while (len > 1 && full[len - 1] == '/')
		full[--len] = 0;
	char *slash = strrchr(full, '/');
	const char *last = slash + 1;
	if (!strcmp(last, ".") || !strcmp(last, "..") || !*last)
		return realpath(full, out) ? 0 : -errno;
	char dir[PATH_MAX * 2];
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash == full ? 1 : slash - full), full);
	char real_dir[PATH_MAX];
	if (!realpath(dir, real_dir))
		return -errno;
	if ((size_t)snprintf(out, PATH_MAX, "%s%s%s", real_dir, strcmp(real_dir, "/") ? "/" : "", last) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

int sandbox_fd_path(int fd, char *out, size_t n)
{
	char link[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t len = readlink(link, out, n - 1);
	if (len < 0)
		return -errno;
	out[len] = 0;
	return 0;
}

/* /proc/PID/mem and /proc/PID/task/TID/mem: through them Linux reads and
 * writes any address of the process, the monitor's included. */
bool sandbox_is_mem_file(const char *real)
{
	const char *p = real;
	if (strncmp(p, "/proc/", 6))
		return false;
	p += 6;
	if (*p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	if (!strncmp(p, "/task/", 6)) {
		p += 6;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return !strcmp(p, "/mem");
}
