/* SPDX-License-Identifier: MIT */
/* Host unit tests of dune-sandbox's policy (policy.c) and path resolution
 * (paths.c), built with AddressSanitizer and UndefinedBehaviorSanitizer
 * (make sandbox-unit-bin; tests/test_unit.py runs them). Prints "PASS
 * name" or "FAIL name" per test and "N tests, M failed checks". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sandbox.h"

static int failures;
#define CHECK(c) \
	do { if (!(c)) { fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)

/* syscalls.c's table is not linked here: a few names. */
long sandbox_syscall_number(const char *name)
{
	return !strcmp(name, "mkdir") ? 83 : !strcmp(name, "uname") ? 63 : !strcmp(name, "read") ? 0 : -1;
}

static char dir[256];

static const char *write_policy(const char *text)
{
	static char path[300];
	snprintf(path, sizeof(path), "%s/p.policy", dir);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static int load(const char *text, char *err, size_t n)
{
	policy_reset();
	return policy_load(write_policy(text), err, n);
}

static int path_ok(const char *p, bool write)
{
	int line;
	return policy_check_path(p, write, &line);
}

static void test_paths(void)
{
	char err[256];
	CHECK(load("", err, sizeof(err)) == 0);
	CHECK(path_ok("/etc/shadow", true) == 0); /* the null policy */
	CHECK(load("path ro /\npath deny /tmp/x/secret\npath rw /tmp/x/rw/\n# a comment\n\npath rw /dev/null\n", err,
		   sizeof(err)) == 0);
	CHECK(path_ok("/etc/passwd", false) == 0);
	CHECK(path_ok("/etc/passwd", true) == -EACCES);
	CHECK(path_ok("/tmp/x/secret", false) == -EACCES);
	CHECK(path_ok("/tmp/x/secret/key", false) == -EACCES);
	CHECK(path_ok("/tmp/x/secretive", false) == 0); /* a prefix is whole components */
	CHECK(path_ok("/tmp/x/rw/new", true) == 0);
	CHECK(path_ok("/tmp/x/rw", true) == 0);
	CHECK(path_ok("/tmp/x/rwx", true) == -EACCES);
	CHECK(path_ok("/dev/null", true) == 0);
	CHECK(load("path rw /tmp\n", err, sizeof(err)) == 0);
	CHECK(path_ok("/etc/passwd", false) == -EACCES); /* no rule covers it */
	CHECK(path_ok("/", false) == -EACCES);
}

static struct sockaddr_in in4(const char *a, unsigned port)
{
	struct sockaddr_in s = {.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, a, &s.sin_addr);
	return s;
}

static void test_net(void)
{
	char err[256];
	int line;
	CHECK(load("net connect allow 127.0.0.1 7000\nnet connect allow 10.0.0.0/8 1000-2000\n"
		   "net connect allow ::1\nnet bind allow any 8080\nnet connect deny any\n",
		   err, sizeof(err)) == 0);
	struct sockaddr_in s = in4("127.0.0.1", 7000);
	CHECK(policy_check_net(false, &s, sizeof(s), &line) == 0 && line == 1);
	s = in4("127.0.0.1", 7001);
	CHECK(policy_check_net(false, &s, sizeof(s), &line) == -EACCES && line == 5);
	s = in4("10.200.3.4", 1500);
	CHECK(policy_check_net(false, &s, sizeof(s), &line) == 0);
	s = in4("11.0.0.1", 1500);
	CHECK(policy_check_net(false, &s, sizeof(s), &line) == -EACCES);
	s = in4("10.0.0.1", 999);
	CHECK(policy_check_net(false, &s, sizeof(s), &line) == -EACCES);
	s = in4("0.0.0.0", 8080);
	CHECK(policy_check_net(true, &s, sizeof(s), &line) == 0);
	s = in4("0.0.0.0", 8081);
	CHECK(policy_check_net(true, &s, sizeof(s), &line) == -EACCES); /* no bind rule covers it */
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(22)};
	inet_pton(AF_INET6, "::1", &s6.sin6_addr);
	CHECK(policy_check_net(false, &s6, sizeof(s6), &line) == 0);
	inet_pton(AF_INET6, "::2", &s6.sin6_addr);
	CHECK(policy_check_net(false, &s6, sizeof(s6), &line) == -EACCES);
	struct sockaddr_un un = {.sun_family = AF_UNIX, .sun_path = "/x"};
	CHECK(policy_check_net(false, &un, sizeof(un), &line) == 0); /* a path: the path rules decide */
	CHECK(policy_check_net(false, &s, 1, &line) == 0);             /* too short to be one */
}

static void test_syscalls_and_options(void)
{
	char err[256];
	CHECK(load("syscall deny mkdir uname\n", err, sizeof(err)) == 0);
	CHECK(policy_check_syscall(83) == -EPERM && policy_check_syscall(63) == -EPERM && policy_check_syscall(0) == 0);
	CHECK(load("syscall default deny\nsyscall allow read\non-deny kill\nlimit nofile 64\n", err, sizeof(err)) == 0);
	CHECK(policy_check_syscall(0) == 0 && policy_check_syscall(83) == -EPERM && policy_check_syscall(9999) == -EPERM);
	CHECK(policy_kill_on_deny);
	CHECK(!policy_has_path_rules());
}

static void bad(const char *text, const char *want)
{
	char err[256] = "";
	CHECK(load(text, err, sizeof(err)) == -EINVAL);
	if (!strstr(err, want)) {
		fprintf(stderr, "policy %s: error '%s' lacks '%s'\n", text, err, want);
		failures++;
	}
}

static void test_bad_files(void)
{
	bad("path ro /\npth rw /tmp\n", "p.policy:2: unknown keyword 'pth'");
	bad("path maybe /\n", ":1: path wants ro, rw or deny, not 'maybe'");
	bad("path ro tmp\n", ":1: a path prefix must be absolute: 'tmp'");
	bad("path ro\n", ":1: path wants: path ro|rw|deny PREFIX");
	bad("net connect allow 300.1.1.1\n", ":1: not an IPv4 or IPv6 address: '300.1.1.1'");
	bad("net connect allow 10.0.0.0/33\n", ":1: bad prefix length in '10.0.0.0/33'");
	bad("net connect allow any 70000\n", ":1: bad port or port range '70000'");
	bad("net connect allow any 20-10\n", ":1: bad port or port range '20-10'");
	bad("net listen allow any\n", ":1: net wants connect or bind, not 'listen'");
	bad("syscall deny no_such_call\n", ":1: no system call the sandbox knows is named 'no_such_call'");
	bad("limit files 3\n", ":1: no such limit: 'files'");
	bad("limit nofile -1\n", ":1: a limit wants a number, not '-1'");
	bad("on-deny explode\n", ":1: on-deny wants error or kill");
	char err[256];
	policy_reset();
	CHECK(policy_load("/nonexistent/policy", err, sizeof(err)) == -ENOENT && strstr(err, "/nonexistent/policy: "));
}

static void test_resolve(void)
{
	char p[PATH_MAX], out[PATH_MAX], d[256];
	snprintf(p, sizeof(p), "%s/data", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/secret", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/data/link", dir);
	CHECK(symlink("../secret/key", p) == 0);
	snprintf(p, sizeof(p), "%s/data/file", dir);
	close(open(p, O_CREAT | O_WRONLY, 0644));
	snprintf(p, sizeof(p), "%s/secret/key", dir);
	close(open(p, O_CREAT | O_WRONLY, 0644));


	char want[PATH_MAX];
	char *real_dir = realpath(dir, NULL); /* d: short, so the formats below cannot truncate */
	snprintf(d, sizeof(d), "%s", real_dir ? real_dir : "?");
	free(real_dir);
	snprintf(want, sizeof(want), "%s/secret/key", d);
	snprintf(p, sizeof(p), "%s/data/../secret/key", dir);
	CHECK(sandbox_resolve(AT_FDCWD, p, true, out) == 0 && !strcmp(out, want));
	snprintf(p, sizeof(p), "%s/data/link", dir);
	CHECK(sandbox_resolve(AT_FDCWD, p, true, out) == 0 && !strcmp(out, want)); /* followed */
	snprintf(want, sizeof(want), "%s/data/link", d);
	CHECK(sandbox_resolve(AT_FDCWD, p, false, out) == 0 && !strcmp(out, want)); /* the link itself */
	snprintf(p, sizeof(p), "%s/data/new-file", dir);
	snprintf(want, sizeof(want), "%s/data/new-file", d);
	CHECK(sandbox_resolve(AT_FDCWD, p, true, out) == 0 && !strcmp(out, want)); /* not there yet */
	snprintf(p, sizeof(p), "%s/nodir/x", dir);
	CHECK(sandbox_resolve(AT_FDCWD, p, true, out) == -ENOENT);
	/* relative: to the working directory, or to a directory descriptor */
	snprintf(p, sizeof(p), "%s/data", dir);
	char cwd[PATH_MAX];
	getcwd(cwd, sizeof(cwd));
	CHECK(chdir(p) == 0);
	snprintf(want, sizeof(want), "%s/secret/key", d);
	CHECK(sandbox_resolve(AT_FDCWD, "link", true, out) == 0 && !strcmp(out, want));
	CHECK(sandbox_resolve(AT_FDCWD, "..", true, out) == 0 && !strcmp(out, d));
	CHECK(chdir(cwd) == 0);
	int fd = open(p, O_RDONLY | O_DIRECTORY);
	snprintf(want, sizeof(want), "%s/data/file", d);
	CHECK(sandbox_resolve(fd, "./file", true, out) == 0 && !strcmp(out, want));
	close(fd);
	CHECK(sandbox_resolve(987, "x", true, out) == -EBADF);
	CHECK(sandbox_resolve(AT_FDCWD, "/", true, out) == 0 && !strcmp(out, "/"));

	CHECK(sandbox_is_mem_file("/proc/123/mem"));
	CHECK(sandbox_is_mem_file("/proc/123/task/456/mem"));
	CHECK(!sandbox_is_mem_file("/proc/123/maps"));
	CHECK(!sandbox_is_mem_file("/proc/self/mem")); /* resolved paths only: self is a link */
	CHECK(!sandbox_is_mem_file("/tmp/proc/1/mem"));
	CHECK(!sandbox_is_mem_file("/proc/1/memx"));
}

int main(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {{"policy.paths", test_paths},
		     {"policy.net", test_net},
		     {"policy.syscalls_and_options", test_syscalls_and_options},
		     {"policy.bad_files", test_bad_files},
		     {"paths.resolve", test_resolve}};
	snprintf(dir, sizeof(dir), "/tmp/policy-unit.XXXXXX");
	if (!mkdtemp(dir))
		return 2;
	unsigned n = sizeof(tests) / sizeof(tests[0]);
	for (unsigned i = 0; i < n; i++) {
		int before = failures;
		tests[i].fn();
		printf("%s %s\n", failures == before ? "PASS" : "FAIL", tests[i].name);
	}
	policy_reset();
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		failures++;
	printf("%u tests, %d failed checks\n", n, failures);
	return failures ? 1 : 0;
}
