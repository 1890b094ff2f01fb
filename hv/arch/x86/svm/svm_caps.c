/* SVM capability evaluation (AMD64 APM Vol. 2 15.4 "Enabling SVM": CPUID
 * Fn8000_0001 ECX.SVM and VM_CR.SVMDIS; Fn8000_000A for NPT and ASIDs). */
#include "arch/x86/svm/svm_caps.h"

#include <stdio.h>

#include "arch/x86/arch.h"
#include "arch/x86/svm/svm_defs.h"

/* Linux's vCPUs use ASID 1, Dune contexts the others. */
#define SVM_MIN_ASIDS 16

enum svm_verdict svm_evaluate(const struct svm_cpu_facts *f, struct svm_controls *out, char *why, size_t why_len)
{
	if (why && why_len)
		why[0] = '\0';
	if (!f->cpuid_svm) {
		snprintf(why, why_len, "the CPU does not offer SVM (CPUID Fn8000_0001 ECX.SVM[bit 2] = 0)");
		return SVM_NO_CPU_SUPPORT;
	}
	if (f->vm_cr & VM_CR_SVMDIS) {
		snprintf(why, why_len, "SVM is disabled by the firmware (VM_CR = 0x%llx%s); enable AMD-V/SVM in the firmware setup",
			 (unsigned long long)f->vm_cr, (f->vm_cr & VM_CR_LOCK) ? ", locked" : "");
		return SVM_LOCKED_OFF;
	}
	if (!(f->svm_features & SVM_FEATURE_NPT)) {
		snprintf(why, why_len, "the CPU has no nested paging (CPUID Fn8000_000A EDX = 0x%x)", f->svm_features);
		return SVM_NO_NPT;
	}
	if (f->nr_asids < SVM_MIN_ASIDS) {
		snprintf(why, why_len, "the CPU offers %u ASIDs, dunehv needs %u", f->nr_asids, SVM_MIN_ASIDS);
		return SVM_TOO_FEW_ASIDS;
	}
	*out = (struct svm_controls){
		.npt_1g = f->cpuid_1g_pages,
		.nrips = f->svm_features & SVM_FEATURE_NRIPS,
		.flush_by_asid = f->svm_features & SVM_FEATURE_FLUSH_BY_ASID,
		.decode_assists = f->svm_features & SVM_FEATURE_DECODE_ASSISTS,
		.nr_asids = f->nr_asids,
	};
	return SVM_USABLE;
}

bool svm_controls_compatible(const struct svm_controls *a, const struct svm_controls *b)
{
	return a->npt_1g == b->npt_1g && a->nrips == b->nrips && a->flush_by_asid == b->flush_by_asid &&
	       a->decode_assists == b->decode_assists && a->nr_asids == b->nr_asids;
}

void svm_read_facts(struct svm_cpu_facts *f)
{
	struct cpuid_regs r;
	*f = (struct svm_cpu_facts){0};
	cpuid_count(1, 0, &r);
	f->cpuid_xsave = r.ecx & BIT(26);
	u32 max_ext = cpuid_max_extended_leaf();
	if (max_ext >= 0x80000001) {
		cpuid_count(0x80000001, 0, &r);
		f->cpuid_svm = r.ecx & BIT(2);
		f->cpuid_1g_pages = r.edx & BIT(26);
		f->cpuid_nx = r.edx & BIT(20);
	}
	f->phys_addr_bits = cpuid_phys_addr_bits(max_ext);
	if (!f->cpuid_svm)
		return;
	if (max_ext >= 0x8000000a) {
		cpuid_count(0x8000000a, 0, &r);
		f->nr_asids = r.ebx;
		f->svm_features = r.edx;
	}
	f->vm_cr = rdmsr(MSR_VM_CR);
}
