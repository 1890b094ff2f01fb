/* SPDX-License-Identifier: MIT */
/* sbtime REPS -- CMD ARGS...: runs CMD REPS times, its stdout and stderr
 * to /dev/null, and prints "MEDIAN MIN STATUS": time stamp counter ticks
 * from fork to the end of waitpid (in Bochs the TSC counts emulated
 * instructions, not cycles), and the exit status of the first run that
 * failed, else 0 (128+N for signal N). For make bench-sandbox (sbbench.sh). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <x86intrin.h>

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 4 || strcmp(argv[2], "--")) {
		fprintf(stderr, "usage: sbtime REPS -- CMD [ARGS...]\n");
		return 2;
	}
	int reps = atoi(argv[1]), status = 0;
	if (reps < 1 || reps > 100)
		reps = 1;
	uint64_t t[100];
	for (int i = 0; i < reps; i++) {
		uint64_t t0 = __rdtsc();
		pid_t pid = fork();
		if (pid == 0) {
			int fd = open("/dev/null", O_WRONLY);
			dup2(fd, 1);
			dup2(fd, 2);
			execvp(argv[3], argv + 3);
			_exit(127);
		}
		int st = 0;
		waitpid(pid, &st, 0);
		t[i] = __rdtsc() - t0;
		if (!status) /* the first run that failed, if any */
			status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	qsort(t, (size_t)reps, sizeof(t[0]), cmp);
	printf("%llu %llu %d\n", (unsigned long long)t[reps / 2], (unsigned long long)t[0], status);
	return 0;
}
