/* What dunemini's modes share (dunemini.c): the verdict lines, /dev/dune,
 * the page tables at PT_BASE, and entering the guest code of
 * dunemini_guest.S. */
#ifndef DUNEMINI_H
#define DUNEMINI_H

#include <stdint.h>
#include <stdio.h>

#include "dune.h"

extern int failures;
#define CHECK(cond, fmt, ...)                                                               \
	do {                                                                                \
		int ok_ = !!(cond);                                                         \
		printf("dunemini: " fmt " %s\n", ##__VA_ARGS__, ok_ ? "OK" : "FAIL");     \
		if (!ok_)                                                                   \
			failures++;                                                         \
	} while (0)

/* Page tables at 1 GiB (inside the identity window: GPA == VA): identity map
 * of [0, 4 GiB) with 2 MiB pages. */
#define PT_BASE 0x40000000ul

#define NOBODY 65534
#define DUNE_TEST_GID 990 /* /dev/dune's group in the tests that switch users */

extern int dune_fd;
extern uint8_t guest_stack[64 * 1024];
extern volatile uint64_t dunemini_entered, dunemini_release;

/* Enters Dune at rip on stack top sp (with regs' general registers, if
 * given); returns the session's dune_config, ret = -errno if DUNE_ENTER
 * failed. */
struct dune_config run_guest(void (*rip)(void), void *sp);
struct dune_config run_guest_with(void (*rip)(void), void *sp, const struct dune_config *regs);

/* dunemini_guest.S: touch one byte every RDX bytes, RSI times from RDI;
 * munmap(RDI, R8) if R8; check in (dunemini_entered), wait for
 * dunemini_release, exit(0) */
void dunemini_touch(void);

/* dunemini_limits.c */
int mode_limits(void);

#endif
