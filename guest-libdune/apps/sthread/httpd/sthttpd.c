/* SPDX-License-Identifier: MIT */
/* sthttpd: the motivating example of Wedge and of the Dune paper's sthread
 * section: a small HTTP/1.1 server that serves each connection in its own
 * sthread, which gets only the connection's descriptor, its own buffer (a
 * tag of its own) and the document tree (a read-only tag): a bug in the
 * request handler cannot reach another connection's data, nor the
 * server's. --fork serves each connection in a forked process instead, for
 * comparison.
 *
 *   sthttpd [--fork] [--count N] PORT DOCROOT
 *
 * Serves the regular files directly in DOCROOT (read at start) on
 * 127.0.0.1:PORT, then exits after N connections (--count; else never).
 * GET /whoami answers with the address of the connection's buffer
 * (X-Buffer), and GET /peek/HEX answers with 16 bytes read from address HEX:
 * a deliberate memory-disclosure bug, so that a test can show that an
 * sthread cannot read another connection's buffer with it. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sthread.h"

#define MAX_DOCS 64
#define BUF 4096

struct doc {
	char name[64];
	size_t off, len;
};

struct docs {
	int n;
	struct doc doc[MAX_DOCS];
	char data[]; /* the files, one after another */
};

struct conn {
	int fd;
	const struct docs *docs;
	char buf[BUF];
};

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int respond(int fd, const char *status, const char *extra, const char *body, size_t len)
{
	char head[256];
	int h = snprintf(head, sizeof(head), "HTTP/1.1 %s\r\nContent-Length: %zu\r\n%s\r\n", status, len, extra);
	return send_all(fd, head, (size_t)h) || send_all(fd, body, len);
}

/* One connection: requests until the client closes (keep-alive). Runs in
 * an sthread (or a forked child): it may use only c, the documents, and
 * c->fd. */
static void *serve(void *arg)
{
	struct conn *c = arg;
	size_t have = 0;
	for (;;) {
		char *end;
		while (!(end = memmem(c->buf, have, "\r\n\r\n", 4))) {
			if (have == BUF)
				return (void *)1L; /* a request too big */
			ssize_t n = read(c->fd, c->buf + have, BUF - have);
			if (n <= 0)
				return NULL; /* the client is done */
			have += (size_t)n;
		}
		size_t used = (size_t)(end + 4 - c->buf);
		char path[128] = "";
		if (sscanf(c->buf, "GET %127s", path) != 1) {
			respond(c->fd, "400 Bad Request", "", "", 0);
		} else if (!strcmp(path, "/whoami")) {
			char extra[64], body[32];
			snprintf(extra, sizeof(extra), "X-Buffer: %p\r\n", (void *)c->buf);
			int n = snprintf(body, sizeof(body), "%p\n", (void *)c->buf);
			respond(c->fd, "200 OK", extra, body, (size_t)n);
		} else if (!strncmp(path, "/peek/", 6)) {
			/* the bug: reads wherever the client says */
			const char *at = (const char *)strtoul(path + 6, NULL, 16);
			char bytes[16];
			memcpy(bytes, at, sizeof(bytes));
			respond(c->fd, "200 OK", "", bytes, sizeof(bytes));
		} else {
			const struct doc *d = NULL;
			for (int i = 0; i < c->docs->n && !d; i++)
				if (!strcmp(path + 1, c->docs->doc[i].name))
					d = &c->docs->doc[i];
			if (d)
				respond(c->fd, "200 OK", "Content-Type: text/html\r\n", c->docs->data + d->off, d->len);
			else
				respond(c->fd, "404 Not Found", "", "", 0);
		}
		memmove(c->buf, c->buf + used, have - used);
		have -= used;
	}
}

/* The files of root into mem (NULL: only their total size). */
static size_t load_docs(const char *root, struct docs *docs)
{
	DIR *dir = opendir(root);
	size_t total = sizeof(struct docs);
	if (!dir)
		return 0;
	struct dirent *e;
	int n = 0;
	while ((e = readdir(dir)) && n < MAX_DOCS) {
		char path[512];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", root, e->d_name);
		if (stat(path, &st) || !S_ISREG(st.st_mode) || strlen(e->d_name) >= 64)
			continue;
		if (docs) {
			int fd = open(path, O_RDONLY);
			ssize_t got = fd >= 0 ? read(fd, docs->data + (total - sizeof(struct docs)), (size_t)st.st_size) : -1;
			if (fd >= 0)
				close(fd);
			if (got != st.st_size)
				continue;
			snprintf(docs->doc[n].name, sizeof(docs->doc[n].name), "%s", e->d_name);
			docs->doc[n].off = total - sizeof(struct docs);
			docs->doc[n].len = (size_t)got;
			docs->n = ++n;
		} else {
			n++;
		}
		total += (size_t)st.st_size;
	}
	closedir(dir);
	return total;
}

struct reaper {
	sthread_t st;
	int fd, number;
	tag_t tag;
};

/* Joins a connection's sthread, says why when one was stopped, and frees
 * what the connection had. */
static void *reap(void *arg)
{
	struct reaper *r = arg;
	void *ret;
	if (sthread_join(r->st, &ret) == STHREAD_STOPPED) {
		fprintf(stderr, "sthttpd: connection %d stopped: %s\n", r->number, sthread_error());
		respond(r->fd, "500 Internal Server Error", "Connection: close\r\n", "", 0);
	}
	close(r->fd);
	tag_delete(r->tag);
	free(r);
	return NULL;
}

int main(int argc, char **argv)
{
	bool fork_mode = false;
	long count = -1;
	int a = 1;
	for (; a < argc && argv[a][0] == '-'; a++) {
		if (!strcmp(argv[a], "--fork"))
			fork_mode = true;
		else if (!strcmp(argv[a], "--count") && a + 1 < argc)
			count = atol(argv[++a]);
		else
			break;
	}
	if (argc - a != 2) {
		fprintf(stderr, "usage: sthttpd [--fork] [--count N] PORT DOCROOT\n");
		return 2;
	}
	int port = atoi(argv[a]);
	const char *root = argv[a + 1];
	signal(SIGPIPE, SIG_IGN);
	if (fork_mode)
		signal(SIGCHLD, SIG_IGN); /* children reaped by Linux */
	int r = fork_mode ? 0 : sthread_init();
	if (r) {
		fprintf(stderr, "sthttpd: sthread_init: %s\n", strerror(-r));
		return 1;
	}
	size_t size = load_docs(root, NULL);
	if (!size) {
		fprintf(stderr, "sthttpd: %s: cannot read the documents\n", root);
		return 1;
	}
	tag_t docs_tag = fork_mode ? -1 : tag_new_size(size);
	struct docs *docs = fork_mode ? calloc(1, size) : smalloc(docs_tag, size);
	if (!docs) {
		fprintf(stderr, "sthttpd: no memory for the documents\n");
		return 1;
	}
	load_docs(root, docs);
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 64)) {
		perror("sthttpd: bind/listen");
		return 1;
	}
	printf("sthttpd: serving %d documents on 127.0.0.1:%d with %s\n", docs->n, port,
	       fork_mode ? "a process per connection" : "an sthread per connection");
	fflush(stdout);
	for (int number = 1; count < 0 || number <= count; number++) {
		int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		if (fork_mode) {
			pid_t pid = fork();
			if (!pid) {
				struct conn *c = malloc(sizeof(*c));
				c->fd = fd;
				c->docs = docs;
				_exit(serve(c) ? 1 : 0);
			}
			close(fd);
			continue;
		}
		tag_t t = tag_new_size(sizeof(struct conn));
		struct conn *c = t >= 0 ? smalloc(t, sizeof(*c)) : NULL;
		struct reaper *rp = malloc(sizeof(*rp));
		sc_t sc;
		sc_init(&sc);
		if (!c || !rp || sc_mem_add(&sc, docs_tag, PROT_READ) || sc_mem_add(&sc, t, PROT_READ | PROT_WRITE) ||
		    sc_fd_add(&sc, fd, PROT_READ | PROT_WRITE)) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->docs = docs;
		*rp = (struct reaper){.fd = fd, .number = number, .tag = t};
		pthread_t th;
		if (sthread_create(&rp->st, &sc, serve, c) ||
		    pthread_create(&th, NULL, reap, rp) || pthread_detach(th)) {
			fprintf(stderr, "sthttpd: connection %d: cannot start its sthread\n", number);
			close(fd);
			tag_delete(t);
			free(rp);
		}
	}
	/* --count reached: the last connections finish first */
	if (!fork_mode)
		while (1) {
			struct sthread_stats s;
			sthread_get_stats(&s);
			if (!s.live)
				break;
			usleep(10000);
		}
	return 0;
}
