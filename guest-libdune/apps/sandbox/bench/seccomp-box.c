/* SPDX-License-Identifier: MIT */
/* seccomp-box [--policy FILE] -- PROG ARGS...: PROG under a seccomp-bpf
 * filter that sends its path calls (interpose.c's list) to this process
 * (SECCOMP_RET_USER_NOTIF) and lets every other call through in the
 * kernel. The supervisor checks the path against dune-sandbox's path rules
 * and answers with SECCOMP_USER_NOTIF_FLAG_CONTINUE or -EACCES. The filter
 * is inherited by every process and thread PROG starts. Exit status:
 * PROG's, or 128+N. The second reference point of make bench-sandbox (the
 * kernel's own documentation warns that CONTINUE is no security boundary:
 * the path may change after the check). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "interpose.h"

static int install_filter(void)
{
	const long *nrs;
	unsigned n = interpose_path_calls(&nrs);
	struct sock_filter f[8 + 2 * 64];
	unsigned k = 0;
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	for (unsigned i = 0; i < n && i < 64; i++) {
		f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nrs[i], 0, 1);
		f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
	}
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = {(unsigned short)k, f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
}

static int send_fd(int sock, int fd)
{
	char data = 0, ctl[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {&data, 1};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char data, ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {&data, 1};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
	if (recvmsg(sock, &m, 0) != 1)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	int fd = -1;
	if (c && c->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* Answers notifications until the listener goes away (no process under
 * the filter is left) or the program has ended. */
static void *supervise(void *arg)
{
	int listener = (int)(long)arg;
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	for (;;) {
		memset(&req, 0, sizeof(req));
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req)) {
			if (errno == EINTR || errno == ENOENT)
				continue;
			return NULL;
		}
		long r = interpose_check((int)req.pid, req.data.nr, (const uint64_t *)req.data.args);
		memset(&resp, 0, sizeof(resp));
		resp.id = req.id;
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id))
			continue; /* the caller is gone */
		if (r)
			resp.error = (int)r;
		else
			resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
	}
}

int main(int argc, char **argv)
{
	int i = 1;
	if (i + 1 < argc && !strcmp(argv[i], "--policy")) {
		interpose_load_policy(argv[i + 1], "seccomp-box");
		i += 2;
	}
	if (i + 1 >= argc || strcmp(argv[i], "--")) {
		fprintf(stderr, "usage: seccomp-box [--policy FILE] -- PROG [ARGS...]\n");
		return 126;
	}
	char **prog = argv + i + 1;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		perror("seccomp-box: socketpair");
		return 126;
	}
	pid_t child = fork();
	if (child == 0) {
		close(sv[0]);
		int listener = install_filter();
		if (listener < 0 || send_fd(sv[1], listener)) {
			fprintf(stderr, "seccomp-box: installing the filter: %s\n", strerror(errno));
			_exit(126);
		}
		close(listener);
		close(sv[1]);
		execvp(prog[0], prog);
		fprintf(stderr, "seccomp-box: %s: %s\n", prog[0], strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	int listener = recv_fd(sv[0]);
	pthread_t th;
	if (listener < 0 || pthread_create(&th, NULL, supervise, (void *)(long)listener)) {
		fprintf(stderr, "seccomp-box: no listener from the child\n");
		return 126;
	}
	int st;
	if (waitpid(child, &st, 0) != child)
		return 126;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
