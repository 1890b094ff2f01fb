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

/* INVEPT / INVVPID (SDM 31.3): type 1 single-context, 2 all-context; a
 * type the CPU does not support (IA32_VMX_EPT_VPID_CAP, vmx_caps.c) or a bad
 * descriptor is a VMfail, reported as false. */
#define INV_SINGLE_CONTEXT 1ull
#define INV_ALL_CONTEXTS 2ull

static inline bool invept(u64 type, u64 eptp)
{
	struct {
		u64 eptp, reserved;
	} d = {eptp, 0};
	u8 failed;
	__asm__ volatile("invept %1, %2; setbe %0" : "=qm"(failed) : "m"(d), "r"(type) : "cc", "memory");
	return !failed;
}

static inline bool invvpid(u64 type, u16 vpid)
{
	struct {
		u64 vpid, gla;
	} d = {vpid, 0};
	u8 failed;
	__asm__ volatile("invvpid %1, %2; setbe %0" : "=qm"(failed) : "m"(d), "r"(type) : "cc", "memory");
	return !failed;
}

#endif
