/* SPDX-License-Identifier: MIT */
/* sthttpc: sthttpd's client. Checks (one verdict each) or a benchmark:
 *
 *   sthttpc check PORT DOCROOT   a document as on disk, a 404, and the
 *                                isolation check: a request on connection
 *                                B crafted to read connection A's buffer
 *                                (/peek/ADDR, the address A's /whoami
 *                                gave) must not return A's secret, while
 *                                A goes on being served
 *   sthttpc bench PORT N         N requests, a connection each; prints
 *                                "sthttpc: bench N TICKS" (TSC ticks per
 *                                request: in Bochs emulated instructions) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <x86intrin.h>
#define VERDICT_PROGRAM "sthttpc"
#include "../../../test/verdict.h"

static int port;

static int connect_server(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends req and reads one response (headers and Content-Length bytes) into
 * out; its length, or -1 (closed before a whole response). */
static long exchange(int fd, const char *req, char *out, size_t cap)
{
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		return -1;
	size_t have = 0;
	for (;;) {
		char *end = have ? memmem(out, have, "\r\n\r\n", 4) : NULL;
		if (end) {
			const char *cl = strcasestr(out, "Content-Length:");
			size_t want = (size_t)(end + 4 - out) + (cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0);
			if (have >= want)
				return (long)want;
		}
		if (have == cap)
			return -1;
		ssize_t n = read(fd, out + have, cap - have);
		if (n <= 0)
			return -1;
		have += (size_t)n;
	}
}

static int check(const char *root)
{
	static char resp[65536], file[65536];
	char path[512];
	snprintf(path, sizeof(path), "%s/index.html", root);
	FILE *f = fopen(path, "r");
	size_t flen = f ? fread(file, 1, sizeof(file), f) : 0;
	if (f)
		fclose(f);
	int fd = connect_server();
	long n = exchange(fd, "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n", resp, sizeof(resp));
	char *body = n > 0 ? memmem(resp, (size_t)n, "\r\n\r\n", 4) : NULL;
	verdict(body && !strncmp(resp, "HTTP/1.1 200", 12) && (size_t)(resp + n - body - 4) == flen &&
			!memcmp(body + 4, file, flen),
		"http.get", "GET /index.html: %ld bytes, as on disk (%zu)", n, flen);
	n = exchange(fd, "GET /nothing HTTP/1.1\r\n\r\n", resp, sizeof(resp));
	verdict(n > 0 && !strncmp(resp, "HTTP/1.1 404", 12), "http.404", "GET /nothing on the same connection: %.12s",
		n > 0 ? resp : "(closed)");
	close(fd);

	/* A: keeps its connection; its buffer holds its request, with a secret */
	int a = connect_server();
	n = exchange(a, "GET /whoami HTTP/1.1\r\nX-Secret: s3cr3t-of-A\r\n\r\n", resp, sizeof(resp));
	const char *xb = n > 0 ? strstr(resp, "X-Buffer: ") : NULL;
	unsigned long addr = xb ? strtoul(xb + 10, NULL, 16) : 0;
	/* B: asks the handler's bug for A's buffer, where A's secret is */
	int b = connect_server();
	char req[128];
	snprintf(req, sizeof(req), "GET /peek/%lx HTTP/1.1\r\n\r\n", addr + 32 /* after "GET /whoami HTTP/1.1\r\nX-Secret: " */);
	n = exchange(b, req, resp, sizeof(resp));
	bool leaked = n > 0 && memmem(resp, (size_t)n, "s3cr3t", 6);
	verdict(addr && !leaked && n > 0 && !strncmp(resp, "HTTP/1.1 500", 12), "http.isolation",
		"B's crafted read of A's buffer (%#lx): %s", addr,
		leaked ? "A's secret leaked" : n > 0 ? (!strncmp(resp, "HTTP/1.1 500", 12) ? "refused (500: its sthread was stopped)" : "answered, without the secret") : "no answer");
	close(b);
	n = exchange(a, "GET /index.html HTTP/1.1\r\n\r\n", resp, sizeof(resp));
	verdict(n > 0 && !strncmp(resp, "HTTP/1.1 200", 12), "http.after-attack", "A is still served: %.12s",
		n > 0 ? resp : "(closed)");
	close(a);
	return verdict_failures ? 1 : 0;
}

static int bench(long count)
{
	static char resp[65536];
	int bad = 0;
	unsigned long long t0 = __rdtsc();
	for (long i = 0; i < count; i++) {
		int fd = connect_server();
		long n = fd >= 0 ? exchange(fd, "GET /index.html HTTP/1.1\r\n\r\n", resp, sizeof(resp)) : -1;
		bad += n <= 0 || strncmp(resp, "HTTP/1.1 200", 12);
		if (fd >= 0)
			close(fd);
	}
	unsigned long long t = __rdtsc() - t0;
	printf("sthttpc: bench %ld %llu failures %d\n", count, t / (unsigned long long)count, bad);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "check")) {
		port = atoi(argv[2]);
		return check(argv[3]);
	}
	if (argc == 4 && !strcmp(argv[1], "bench")) {
		port = atoi(argv[2]);
		return bench(atol(argv[3]));
	}
	fprintf(stderr, "usage: sthttpc check PORT DOCROOT | sthttpc bench PORT N\n");
	return 2;
}
