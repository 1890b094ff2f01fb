/* Thin inline wrappers over x86-64 instructions used by the hypervisor. */
#ifndef HV_ARCH_H
#define HV_ARCH_H

#include "arch/x86/vectors.h"
#include "core/types.h"

struct cpuid_regs {
	u32 eax, ebx, ecx, edx;
};

static inline void cpuid_count(u32 leaf, u32 subleaf, struct cpuid_regs *r)
{
	__asm__ volatile("cpuid"
			 : "=a"(r->eax), "=b"(r->ebx), "=c"(r->ecx), "=d"(r->edx)
			 : "a"(leaf), "c"(subleaf));
}

/* The highest extended CPUID leaf, and the physical-address width from
 * leaf 0x80000008 (36 where the leaf is missing), as both backends' and
 * the loader's capability checks read them (SDM Vol. 2A CPUID). */
static inline u32 cpuid_max_extended_leaf(void)
{
	struct cpuid_regs r;
	cpuid_count(0x80000000, 0, &r);
	return r.eax;
}

static inline unsigned cpuid_phys_addr_bits(u32 max_ext)
{
	struct cpuid_regs r;
	if (max_ext < 0x80000008)
		return 36;
	cpuid_count(0x80000008, 0, &r);
	return r.eax & 0xff;
}

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}

static inline void wrmsr(u32 msr, u64 value)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((u32)value), "d"((u32)(value >> 32)) : "memory");
}

#define DEFINE_CR_ACCESSORS(n)                                                      \
	static inline u64 read_cr##n(void)                                          \
	{                                                                           \
		u64 v;                                                              \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));                   \
		return v;                                                           \
	}                                                                           \
	static inline void write_cr##n(u64 v)                                       \
	{                                                                           \
		__asm__ volatile("mov %0, %%cr" #n ::"r"(v) : "memory");            \
	}
DEFINE_CR_ACCESSORS(0)
DEFINE_CR_ACCESSORS(2)
DEFINE_CR_ACCESSORS(3)
DEFINE_CR_ACCESSORS(4)

static inline u64 read_dr7(void)
{
	u64 v;
	__asm__ volatile("mov %%dr7, %0" : "=r"(v));
	return v;
}

static inline u64 read_rflags(void)
{
	u64 v;
	__asm__ volatile("pushfq; popq %0" : "=r"(v));
	return v;
}

struct __attribute__((packed)) descriptor_table_reg {
	u16 limit;
	u64 base;
};

static inline void sgdt(struct descriptor_table_reg *r) { __asm__ volatile("sgdt %0" : "=m"(*r)); }
static inline void sidt(struct descriptor_table_reg *r) { __asm__ volatile("sidt %0" : "=m"(*r)); }

#define DEFINE_SEG_READ(seg)                                                        \
	static inline u16 read_##seg(void)                                          \
	{                                                                           \
		u16 v;                                                              \
		__asm__ volatile("mov %%" #seg ", %0" : "=rm"(v));                  \
		return v;                                                           \
	}
DEFINE_SEG_READ(cs)
DEFINE_SEG_READ(ds)
DEFINE_SEG_READ(es)
DEFINE_SEG_READ(fs)
DEFINE_SEG_READ(gs)
DEFINE_SEG_READ(ss)

static inline u16 read_tr(void)
{
	u16 v;
	__asm__ volatile("str %0" : "=rm"(v));
	return v;
}

static inline u16 read_ldtr(void)
{
	u16 v;
	__asm__ volatile("sldt %0" : "=rm"(v));
	return v;
}

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline u8 inb(u16 port)
{
	u8 v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline u16 inw(u16 port)
{
	u16 v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline u32 inl(u16 port)
{
	u32 v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void hlt(void) { __asm__ volatile("hlt" ::: "memory"); }
static inline void wbinvd(void) { __asm__ volatile("wbinvd" ::: "memory"); }
static inline u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

static inline void xsetbv(u32 index, u64 value)
{
	__asm__ volatile("xsetbv" ::"c"(index), "a"((u32)value), "d"((u32)(value >> 32)) : "memory");
}

/* MSR numbers (SDM Vol. 4). */
#define MSR_IA32_FEATURE_CONTROL 0x03a
#define MSR_IA32_APIC_BASE 0x01b
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_DEBUGCTL 0x1d9
#define MSR_IA32_PAT 0x277
#define MSR_IA32_XSS 0xda0
#define MSR_IA32_VMX_BASIC 0x480
#define MSR_IA32_VMX_PINBASED_CTLS 0x481
#define MSR_IA32_VMX_PROCBASED_CTLS 0x482
#define MSR_IA32_VMX_EXIT_CTLS 0x483
#define MSR_IA32_VMX_ENTRY_CTLS 0x484
#define MSR_IA32_VMX_MISC 0x485
#define MSR_IA32_VMX_CR0_FIXED0 0x486
#define MSR_IA32_VMX_CR0_FIXED1 0x487
#define MSR_IA32_VMX_CR4_FIXED0 0x488
#define MSR_IA32_VMX_CR4_FIXED1 0x489
#define MSR_IA32_VMX_PROCBASED_CTLS2 0x48b
#define MSR_IA32_VMX_EPT_VPID_CAP 0x48c
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS 0x48d
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48e
#define MSR_IA32_VMX_TRUE_EXIT_CTLS 0x48f
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS 0x490
#define MSR_IA32_VMX_VMFUNC 0x491
#define MSR_IA32_VMX_FIRST MSR_IA32_VMX_BASIC
#define MSR_IA32_VMX_LAST 0x492 /* includes IA32_VMX_PROCBASED_CTLS3 */
#define MSR_IA32_EFER 0xc0000080
#define MSR_IA32_FS_BASE 0xc0000100
#define MSR_IA32_GS_BASE 0xc0000101
#define MSR_IA32_KERNEL_GS_BASE 0xc0000102
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SFMASK 0xc0000084

#define FEATURE_CONTROL_LOCKED BIT(0)
#define FEATURE_CONTROL_VMX_INSIDE_SMX BIT(1)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX BIT(2)

#define CR0_PE BIT(0)
#define CR0_NE BIT(5)
#define CR0_PG BIT(31)
#define CR4_VMXE BIT(13)
#define CR4_OSXSAVE BIT(18)
#define CR4_PKE BIT(22)
#define EFER_LME BIT(8)
#define EFER_LMA BIT(10)
#define RFLAGS_TF BIT(8)
#define RFLAGS_IF BIT(9)
#define DR6_BS BIT(14) /* single step */

#endif
