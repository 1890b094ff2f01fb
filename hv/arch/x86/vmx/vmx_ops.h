/* VMX instructions (SDM Vol. 3C Chapter 31). Each returns false on VMfail. */
#ifndef HV_VMX_OPS_H
#define HV_VMX_OPS_H

#include "core/types.h"

static inline bool vmxon(u64 pa)
{
	u8 failed;
	__asm__ volatile("vmxon %1; setbe %0" : "=qm"(failed) : "m"(pa) : "cc", "memory");
	return !failed;
}

static inline void vmxoff(void) { __asm__ volatile("vmxoff" ::: "cc", "memory"); }

static inline bool vmclear(u64 pa)
{
	u8 failed;
	__asm__ volatile("vmclear %1; setbe %0" : "=qm"(failed) : "m"(pa) : "cc", "memory");
	return !failed;
}

static inline bool vmptrld(u64 pa)
{
	u8 failed;
	__asm__ volatile("vmptrld %1; setbe %0" : "=qm"(failed) : "m"(pa) : "cc", "memory");
	return !failed;
}

/* INVEPT / INVVPID descriptors (SDM 31.3). */
static inline void invept_all_contexts(void)
{
	struct {
		u64 eptp, reserved;
	} d = {0, 0};
	__asm__ volatile("invept %0, %1" ::"m"(d), "r"(2ull) : "cc", "memory");
}

static inline void invept_single_context(u64 eptp)
{
	struct {
		u64 eptp, reserved;
	} d = {eptp, 0};
	__asm__ volatile("invept %0, %1" ::"m"(d), "r"(1ull) : "cc", "memory");
}

static inline void invvpid_single_context(u16 vpid)
{
	struct {
		u64 vpid, gla;
	} d = {vpid, 0};
	__asm__ volatile("invvpid %0, %1" ::"m"(d), "r"(1ull) : "cc", "memory");
}

static inline void invvpid_all_contexts(void)
{
	struct {
		u64 vpid, gla;
	} d = {0, 0};
	__asm__ volatile("invvpid %0, %1" ::"m"(d), "r"(2ull) : "cc", "memory");
}

#endif
