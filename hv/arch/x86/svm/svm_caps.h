/* Can this CPU run dunehv under AMD SVM, and with which features? A pure
 * function of CPUID and VM_CR (AMD64 APM Vol. 2 15.4 "Enabling SVM", 15.30
 * and CPUID Fn8000_000A), host-testable; the loader runs the same check on
 * every CPU before the launch. */
#ifndef HV_SVM_CAPS_H
#define HV_SVM_CAPS_H

#include "core/types.h"

struct svm_cpu_facts {
	bool cpuid_svm;          /* CPUID Fn8000_0001 ECX[2] */
	bool cpuid_xsave;        /* CPUID.1:ECX[26] */
	bool cpuid_1g_pages;     /* CPUID Fn8000_0001 EDX[26] */
	bool cpuid_nx;           /* CPUID Fn8000_0001 EDX[20] */
	unsigned phys_addr_bits; /* CPUID Fn8000_0008 EAX[7:0] */
	u32 svm_features;        /* CPUID Fn8000_000A EDX, only with cpuid_svm */
	u32 nr_asids;            /* CPUID Fn8000_000A EBX */
	u64 vm_cr;               /* MSR VM_CR, only with cpuid_svm */
};

/* CPUID Fn8000_000A EDX (APM Vol. 3 E.4.9). */
#define SVM_FEATURE_NPT BIT(0)
#define SVM_FEATURE_NRIPS BIT(3)
#define SVM_FEATURE_VMCB_CLEAN BIT(5)
#define SVM_FEATURE_FLUSH_BY_ASID BIT(6)
#define SVM_FEATURE_DECODE_ASSISTS BIT(7)

enum svm_verdict {
	SVM_USABLE = 0,
	SVM_NO_CPU_SUPPORT,  /* no SVM at all (Intel, an emulator without it, hidden by a hypervisor) */
	SVM_LOCKED_OFF,      /* VM_CR.SVMDIS set (and locked) by the firmware */
	SVM_NO_NPT,
	SVM_TOO_FEW_ASIDS,
};

/* What every CPU's VMCBs use; a CPU's must match the boot CPU's. NRIPS,
 * flush-by-ASID and decode assists are used where present, never required. */
struct svm_controls {
	bool npt_1g;          /* 1 GiB nested leaves */
	bool nrips;           /* next RIP saved at instruction intercepts (15.7.1) */
	bool flush_by_asid;   /* TLB_CONTROL 3 (15.16.1) */
	bool decode_assists;  /* instruction bytes at #NPF/#PF (15.33) */
	u32 nr_asids;
};

/* Decides; on failure writes one line saying what is missing into why. */
enum svm_verdict svm_evaluate(const struct svm_cpu_facts *f, struct svm_controls *out, char *why, size_t why_len);

/* Whether two CPUs offer the same features the VMCBs use. */
bool svm_controls_compatible(const struct svm_controls *a, const struct svm_controls *b);

/* Reads the facts from the running CPU (VM_CR only if CPUID has SVM). */
void svm_read_facts(struct svm_cpu_facts *f);

#endif
