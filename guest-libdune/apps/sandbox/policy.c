/* SPDX-License-Identifier: MIT */
/* The policy file (README, "dune-sandbox"): one rule per line,
 *   path ro|rw|deny PREFIX          file access by real path
 *   net connect|bind allow|deny ADDR[/BITS]|any [PORT[-PORT]]
 *   syscall allow|deny NAME...      by the names of <asm/unistd_64.h>
 *   syscall default allow|deny
 *   limit nofile|as|cpu|fsize|nproc|data|stack|core VALUE
 *   on-deny error|kill
 * and '#' comments. No file (or an empty one) is the null policy: it
 * allows everything the sandbox knows. With any path rule, paths no rule
 * covers are denied; with any net rule, addresses no rule covers are. The
 * longest matching path prefix decides, and the first matching net rule. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "sandbox.h"

#define MAX_PATH_RULES 128
#define MAX_NET_RULES 128

struct path_rule {
	char *prefix;
	size_t len;
	enum policy_access access;
	int line;
};

struct net_rule {
	bool bind, allow, any;
	int family;
	unsigned char addr[16];
	unsigned bits;
	unsigned port_lo, port_hi;
	int line;
};

static struct path_rule path_rules[MAX_PATH_RULES];
static unsigned n_path_rules;
static struct net_rule net_rules[MAX_NET_RULES];
static unsigned n_net_rules;
static unsigned char syscall_rule[POLICY_MAX_SYSCALL]; /* 0: default, 1: allow, 2: deny */
static bool syscall_default_deny;
bool policy_kill_on_deny;
const char *policy_file;

static const struct {
	const char *name;
	int resource;
} limits[] = {{"nofile", RLIMIT_NOFILE}, {"as", RLIMIT_AS}, {"cpu", RLIMIT_CPU}, {"fsize", RLIMIT_FSIZE},
	      {"nproc", RLIMIT_NPROC}, {"data", RLIMIT_DATA}, {"stack", RLIMIT_STACK}, {"core", RLIMIT_CORE}};

static unsigned long long limit_value[sizeof(limits) / sizeof(limits[0])];
static bool limit_set[sizeof(limits) / sizeof(limits[0])];

/* The limits, set once the program is loaded (the monitor's own set-up,
 * libdune's page pool included, does not count against them). */
int policy_apply_limits(char *err, size_t n)
{
	for (unsigned i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		struct rlimit rl = {limit_value[i], limit_value[i]};
		if (limit_set[i] && setrlimit(limits[i].resource, &rl)) {
			snprintf(err, n, "limit %s %llu: %s", limits[i].name, limit_value[i], strerror(errno));
			return -errno;
		}
	}
	return 0;
}

static int parse_error(char *err, size_t n, const char *file, int line, const char *what, const char *word)
{
	snprintf(err, n, "%s:%d: %s%s%s%s", file, line, what, word ? " '" : "", word ? word : "", word ? "'" : "");
	return -EINVAL;
}

static int add_path_rule(const char *access, const char *prefix, int line, char *err, size_t n, const char *file)
{
	enum policy_access a;
	if (!strcmp(access, "ro"))
		a = POLICY_RO;
	else if (!strcmp(access, "rw"))
		a = POLICY_RW;
	else if (!strcmp(access, "deny"))
		a = POLICY_DENY;
	else
		return parse_error(err, n, file, line, "path wants ro, rw or deny, not", access);
	if (prefix[0] != '/')
		return parse_error(err, n, file, line, "a path prefix must be absolute:", prefix);
	if (n_path_rules == MAX_PATH_RULES)
		return parse_error(err, n, file, line, "too many path rules", NULL);
	char *p = strdup(prefix);
	size_t len = strlen(p);
	while (len > 1 && p[len - 1] == '/')
		p[--len] = 0;
	path_rules[n_path_rules++] = (struct path_rule){p, len, a, line};
	return 0;
}

static int add_net_rule(char **w, int nw, int line, char *err, size_t n, const char *file)
{
	struct net_rule r = {.line = line, .port_lo = 0, .port_hi = 65535};
	if (nw < 4 || nw > 5)
		return parse_error(err, n, file, line, "net wants: net connect|bind allow|deny ADDR[/BITS]|any [PORT[-PORT]]", NULL);
	if (!strcmp(w[1], "bind"))
		r.bind = true;
	else if (strcmp(w[1], "connect"))
		return parse_error(err, n, file, line, "net wants connect or bind, not", w[1]);
	if (!strcmp(w[2], "allow"))
		r.allow = true;
	else if (strcmp(w[2], "deny"))
		return parse_error(err, n, file, line, "net wants allow or deny, not", w[2]);
	if (!strcmp(w[3], "any")) {
		r.any = true;
	} else {
		char addr[64];
		snprintf(addr, sizeof(addr), "%s", w[3]);
		char *slash = strchr(addr, '/');
		if (slash)
			*slash = 0;
		if (inet_pton(AF_INET, addr, r.addr) == 1) {
			r.family = AF_INET;
			r.bits = 32;
		} else if (inet_pton(AF_INET6, addr, r.addr) == 1) {
			r.family = AF_INET6;
			r.bits = 128;
		} else {
			return parse_error(err, n, file, line, "not an IPv4 or IPv6 address:", w[3]);
		}
		if (slash) {
			char *end;
			unsigned long bits = strtoul(slash + 1, &end, 10);
			if (*end || bits > r.bits)
				return parse_error(err, n, file, line, "bad prefix length in", w[3]);
			r.bits = (unsigned)bits;
		}
	}
	if (nw == 5) {
		char *end;
		unsigned long lo = strtoul(w[4], &end, 10), hi = lo;
		if (*end == '-')
			hi = strtoul(end + 1, &end, 10);
		if (*end || lo > 65535 || hi > 65535 || lo > hi)
			return parse_error(err, n, file, line, "bad port or port range", w[4]);
		r.port_lo = (unsigned)lo;
		r.port_hi = (unsigned)hi;
	}
	if (n_net_rules == MAX_NET_RULES)
		return parse_error(err, n, file, line, "too many net rules", NULL);
	net_rules[n_net_rules++] = r;
	return 0;
}

static int parse_line(char **w, int nw, int line, char *err, size_t n, const char *file)
{
	if (!strcmp(w[0], "path")) {
		if (nw != 3)
			return parse_error(err, n, file, line, "path wants: path ro|rw|deny PREFIX", NULL);
		return add_path_rule(w[1], w[2], line, err, n, file);
	}
	if (!strcmp(w[0], "net"))
		return add_net_rule(w, nw, line, err, n, file);
	if (!strcmp(w[0], "syscall")) {
		if (nw < 3)
			return parse_error(err, n, file, line, "syscall wants: syscall allow|deny NAME... or syscall default allow|deny", NULL);
		bool deny = !strcmp(w[1], "deny");
		if (!deny && strcmp(w[1], "allow") && strcmp(w[1], "default"))
			return parse_error(err, n, file, line, "syscall wants allow, deny or default, not", w[1]);
		if (!strcmp(w[1], "default")) {
			if (nw != 3 || (strcmp(w[2], "allow") && strcmp(w[2], "deny")))
				return parse_error(err, n, file, line, "syscall default wants allow or deny", NULL);
			syscall_default_deny = !strcmp(w[2], "deny");
			return 0;
		}
		for (int i = 2; i < nw; i++) {
			long nr = sandbox_syscall_number(w[i]);
			if (nr < 0)
				return parse_error(err, n, file, line, "no system call the sandbox knows is named", w[i]);
			syscall_rule[nr] = deny ? 2 : 1;
		}
		return 0;
	}
	if (!strcmp(w[0], "limit")) {
		if (nw != 3)
			return parse_error(err, n, file, line, "limit wants: limit NAME VALUE", NULL);
		for (unsigned i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
			if (strcmp(w[1], limits[i].name))
				continue;
			char *end;
			unsigned long long v = strtoull(w[2], &end, 0);
			if (*end || w[2][0] == '-')
				return parse_error(err, n, file, line, "a limit wants a number, not", w[2]);
			limit_value[i] = v;
			limit_set[i] = true;
			return 0;
		}
		return parse_error(err, n, file, line, "no such limit:", w[1]);
	}
	if (!strcmp(w[0], "on-deny")) {
		if (nw != 2 || (strcmp(w[1], "error") && strcmp(w[1], "kill")))
			return parse_error(err, n, file, line, "on-deny wants error or kill", NULL);
		policy_kill_on_deny |= !strcmp(w[1], "kill");
		return 0;
	}
	return parse_error(err, n, file, line, "unknown keyword", w[0]);
}

void policy_reset(void)
{
	for (unsigned i = 0; i < n_path_rules; i++)
		free(path_rules[i].prefix);
	n_path_rules = n_net_rules = 0;
	memset(syscall_rule, 0, sizeof(syscall_rule));
	memset(limit_set, 0, sizeof(limit_set));
	syscall_default_deny = policy_kill_on_deny = false;
	policy_file = NULL;
}

int policy_load(const char *file, char *err, size_t n)
{
	FILE *f = fopen(file, "re");
	if (!f) {
		snprintf(err, n, "%s: %s", file, strerror(errno));
		return -errno;
	}
	char buf[4096];
	int line = 0, r = 0;
	while (!r && fgets(buf, sizeof(buf), f)) {
		line++;
		char *hash = strchr(buf, '#');
		if (hash)
			*hash = 0;
		char *w[16], *save = NULL;
		int nw = 0;
		for (char *t = strtok_r(buf, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
			if (nw == 16) {
				r = parse_error(err, n, file, line, "too many words", NULL);
				break;
			}
			w[nw++] = t;
		}
		if (!r && nw)
			r = parse_line(w, nw, line, err, n, file);
	}
	fclose(f);
	if (!r)
		policy_file = file;
	return r;
}

/* Does prefix (no trailing slash, "/" alone for the root) cover path? */
static bool covers(const struct path_rule *r, const char *path)
{
	if (r->len == 1)
		return path[0] == '/';
	return !strncmp(path, r->prefix, r->len) && (path[r->len] == 0 || path[r->len] == '/');
}

int policy_check_path(const char *real, bool write, int *rule_line)
{
	*rule_line = 0;
	if (!n_path_rules)
		return 0;
	const struct path_rule *best = NULL;
	for (unsigned i = 0; i < n_path_rules; i++)
		if (covers(&path_rules[i], real) && (!best || path_rules[i].len >= best->len))
			best = &path_rules[i];
	if (!best)
		return -EACCES;
	*rule_line = best->line;
	if (best->access == POLICY_DENY || (write && best->access == POLICY_RO))
		return -EACCES;
	return 0;
}

static bool addr_matches(const struct net_rule *r, const unsigned char *addr)
{
	unsigned full = r->bits / 8, rest = r->bits % 8;
	if (memcmp(addr, r->addr, full))
		return false;
	return !rest || ((addr[full] ^ r->addr[full]) & (0xff00 >> rest) & 0xff) == 0;
}

int policy_check_net(bool bind, const void *sa, size_t len, int *rule_line)
{
	*rule_line = 0;
	if (!n_net_rules || len < sizeof(sa_family_t))
		return 0;
	const struct sockaddr *s = sa;
	const unsigned char *addr;
	unsigned port;
	if (s->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = sa;
		addr = (const unsigned char *)&in->sin_addr;
		port = ntohs(in->sin_port);
	} else if (s->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = sa;
		addr = (const unsigned char *)&in6->sin6_addr;
		port = ntohs(in6->sin6_port);
	} else {
		return 0; /* Unix sockets: their paths are checked as paths */
	}
	for (unsigned i = 0; i < n_net_rules; i++) {
		const struct net_rule *r = &net_rules[i];
		if (r->bind != bind || port < r->port_lo || port > r->port_hi)
			continue;
		if (!r->any && (r->family != s->sa_family || !addr_matches(r, addr)))
			continue;
		*rule_line = r->line;
		return r->allow ? 0 : -EACCES;
	}
	return -EACCES;
}

int policy_check_syscall(long nr)
{
	if (nr < 0 || nr >= POLICY_MAX_SYSCALL)
		return syscall_default_deny ? -EPERM : 0;
	if (syscall_rule[nr])
		return syscall_rule[nr] == 2 ? -EPERM : 0;
	return syscall_default_deny ? -EPERM : 0;
}

bool policy_has_path_rules(void) { return n_path_rules != 0; }
