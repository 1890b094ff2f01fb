/* SPDX-License-Identifier: MIT */
/* Saving and loading the FPU/SSE/AVX state with XSAVE, for user-level
 * context switching in Dune mode (upstream's libdune/fpu.h API). The guest
 * uses the thread's own XCR0, set by Linux. */
#ifndef LIBDUNE_FPU_H
#define LIBDUNE_FPU_H

#include <stdint.h>
#include <string.h>

struct fpu_area {
	/* legacy region (FXSAVE layout) */
	uint16_t cwd, swd, twd, fop;
	uint64_t rip, rdp;
	uint32_t mxcsr, mxcsr_mask;
	uint32_t st_regs[32];
	uint32_t xmm_regs[64];
	uint32_t padding[12];
	uint32_t sw_reserved[12];
	/* XSAVE header */
	uint64_t xstate_bv;
	uint64_t xcomp_bv;
	uint64_t reserved[6];
	/* extended components (AVX and later), up to 4 KiB in all */
	uint8_t extended[4096 - 512 - 64];
} __attribute__((aligned(64)));

static inline void dune_fpu_init(struct fpu_area *fp)
{
	memset(fp, 0, sizeof(*fp));
	fp->cwd = 0x37f;
	fp->mxcsr = 0x1f80;
}

static inline void dune_fpu_load(struct fpu_area *fp)
{
	__asm__ volatile("xrstor64 %0" ::"m"(*fp), "a"(~0u), "d"(~0u) : "memory");
}

static inline void dune_fpu_save(struct fpu_area *fp)
{
	__asm__ volatile("xsaveopt64 %0" : "=m"(*fp) : "a"(~0u), "d"(~0u) : "memory");
}

static inline void dune_fpu_save_safe(struct fpu_area *fp)
{
	__asm__ volatile("xsave64 %0" : "=m"(*fp) : "a"(~0u), "d"(~0u) : "memory");
}

#endif
