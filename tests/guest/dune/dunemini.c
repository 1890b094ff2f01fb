/*
 * dunemini: enters Dune mode through /dev/dune without libdune, to check the
 * module and the hypervisor directly: the ioctls and their bad arguments, a
 * context running our own page tables, system calls from Dune (write, getpid,
 * fork with the child in Linux mode, wait4), lazily filled memory, and the
 * exit status. Prints "dunemini: ... OK/FAIL" lines and "dunemini: done
 * failures=N".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dune.h"

extern void dunemini_guest(void);
volatile uint64_t dunemini_result[8];
uint64_t dunemini_buf, dunemini_buf_pages;

static int failures;
#define CHECK(cond, fmt, ...)                                                               \
	do {                                                                                \
		int ok_ = !!(cond);                                                         \
		printf("dunemini: " fmt " %s\n", ##__VA_ARGS__, ok_ ? "OK" : "FAIL");     \
		if (!ok_)                                                                   \
			failures++;                                                         \
	} while (0)

/* Page tables at 1 GiB (inside the identity window: GPA == VA): identity map
 * of [0, 4 GiB) with 2 MiB pages, so code, data and the tables themselves are
 * reachable at their own addresses. */
#define PT_BASE 0x40000000ul
static uint64_t build_page_tables(void)
{
	uint64_t *pt = mmap((void *)PT_BASE, 6 * 4096, PROT_READ | PROT_WRITE,
			    MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (pt == MAP_FAILED) {
		perror("dunemini: mmap page tables");
		exit(2);
	}
	uint64_t *pml4 = pt, *pdpt = pt + 512;
	pml4[0] = (PT_BASE + 4096) | 0x3;
	for (int g = 0; g < 4; g++) {
		uint64_t *pd = pt + 512 * (2 + g);
		pdpt[g] = (PT_BASE + 4096 * (2 + g)) | 0x3;
		for (int i = 0; i < 512; i++)
			pd[i] = (((uint64_t)g << 30) + ((uint64_t)i << 21)) | 0x83; /* P, W, PS */
	}
	return PT_BASE;
}

static uint8_t guest_stack[64 * 1024] __attribute__((aligned(16)));

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int fd = open("/dev/dune", O_RDWR);
	if (fd < 0) {
		printf("dunemini: open /dev/dune: %s FAIL\n", strerror(errno));
		return 1;
	}
	struct dune_layout layout;
	CHECK(ioctl(fd, DUNE_GET_LAYOUT, &layout) == 0, "GET_LAYOUT phys_limit=0x%llx base_map=0x%llx base_stack=0x%llx",
	      (unsigned long long)layout.phys_limit, (unsigned long long)layout.base_map,
	      (unsigned long long)layout.base_stack);
	long lstar = ioctl(fd, DUNE_GET_SYSCALL);
	CHECK(lstar <= -4096, "GET_SYSCALL (LSTAR, truncated like upstream) = 0x%lx", lstar);
	CHECK(ioctl(fd, DUNE_GET_LAYOUT, (void *)8) == -1 && errno == EFAULT, "GET_LAYOUT to a bad pointer -> EFAULT");
	CHECK(ioctl(fd, DUNE_ENTER, (void *)8) == -1 && errno == EFAULT, "ENTER with a bad pointer -> EFAULT");
	CHECK(ioctl(fd, 0xe9ff) == -1 && errno == ENOTTY, "unknown ioctl -> ENOTTY");
	struct dune_config bad = {.vcpu = 0xffff888000000000ull};
	CHECK(ioctl(fd, DUNE_ENTER, &bad) == -1 && errno == EINVAL, "ENTER with a garbage vcpu handle -> EINVAL");

	/* 16 MiB to touch from Dune mode, below 4 GiB (mapped by our tables) */
	dunemini_buf_pages = 4096;
	void *buf = mmap((void *)0x80000000ul, dunemini_buf_pages * 4096, PROT_READ | PROT_WRITE,
			 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		perror("dunemini: mmap buffer");
		return 2;
	}
	dunemini_buf = (uint64_t)buf;

	struct dune_config conf = {0};
	conf.rip = (uint64_t)dunemini_guest;
	conf.rsp = (uint64_t)(guest_stack + sizeof(guest_stack));
	conf.rflags = 0x2;
	conf.cr3 = build_page_tables();
	int r = ioctl(fd, DUNE_ENTER, &conf);
	CHECK(r == 0, "DUNE_ENTER returned %d", r);
	CHECK(conf.ret == DUNE_RET_EXIT && conf.status == 7, "session ended: ret=%lld status=%lld (want EXIT, 7)",
	      (long long)conf.ret, (long long)conf.status);
	CHECK(conf.vcpu != 0, "vcpu handle 0x%llx", (unsigned long long)conf.vcpu);
	CHECK(dunemini_result[0] == 0x656e7544, "CPUID in Dune: 0x%llx", (unsigned long long)dunemini_result[0]);
	CHECK(dunemini_result[1] == 31, "write from Dune -> %lld", (long long)dunemini_result[1]);
	CHECK(dunemini_result[2] == (uint64_t)getpid(), "getpid from Dune -> %lld", (long long)dunemini_result[2]);
	CHECK(dunemini_result[3] == dunemini_buf_pages, "%llu of %llu pages read back in Dune",
	      (unsigned long long)dunemini_result[3], (unsigned long long)dunemini_buf_pages);
	int status = (int)dunemini_result[5];
	CHECK((int64_t)dunemini_result[4] > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 69,
	      "fork from Dune: child %lld exited in Linux mode with %d", (long long)dunemini_result[4],
	      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	/* the memory written in Dune mode is the process's own */
	CHECK(((uint64_t *)buf)[4096 * 7 / 8] == 7, "Dune's writes visible in Linux mode");
	printf("dunemini: done failures=%d\n", failures);
	return failures ? 1 : 0;
}
