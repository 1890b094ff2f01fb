#include "arch/x86/svm/svm_caps.h"
#include "arch/x86/svm/svm_defs.h"
#include "unit.h"

/* CPUID and VM_CR of Bochs 3.0's ryzen model under OVMF (cpudb/amd/ryzen.cc:
 * Fn8000_000A EBX 0x8000, EDX 0x44f). */
static struct svm_cpu_facts bochs_ryzen(void)
{
	return (struct svm_cpu_facts){.cpuid_svm = true, .cpuid_xsave = true, .cpuid_1g_pages = true, .cpuid_nx = true,
				      .phys_addr_bits = 40, .svm_features = 0x44f, .nr_asids = 0x8000, .vm_cr = 0};
}

UNIT_TEST(bochs_ryzen_is_usable)
{
	struct svm_cpu_facts f = bochs_ryzen();
	struct svm_controls c, again;
	char why[256];
	CHECK_EQ(svm_evaluate(&f, &c, why, sizeof(why)), SVM_USABLE);
	CHECK(c.npt_1g);
	CHECK(c.nrips);
	CHECK(c.flush_by_asid);
	CHECK(!c.decode_assists);
	CHECK_EQ(c.nr_asids, 0x8000);
	CHECK_EQ(svm_evaluate(&f, &again, why, sizeof(why)), SVM_USABLE);
	CHECK(svm_controls_compatible(&c, &again));
	/* QEMU's EPYC under TCG: no NRIPS; used where present, never required */
	f.svm_features = SVM_FEATURE_NPT;
	CHECK_EQ(svm_evaluate(&f, &again, why, sizeof(why)), SVM_USABLE);
	CHECK(!again.nrips);
	CHECK(!svm_controls_compatible(&c, &again));
}

UNIT_TEST(each_missing_feature_has_its_reason)
{
	struct svm_controls c;
	char why[256];
	struct svm_cpu_facts f = bochs_ryzen();
	f.cpuid_svm = false;
	CHECK_EQ(svm_evaluate(&f, &c, why, sizeof(why)), SVM_NO_CPU_SUPPORT);
	CHECK_STR_CONTAINS(why, "does not offer SVM");
	f = bochs_ryzen();
	f.vm_cr = VM_CR_SVMDIS | VM_CR_LOCK;
	CHECK_EQ(svm_evaluate(&f, &c, why, sizeof(why)), SVM_LOCKED_OFF);
	CHECK_STR_CONTAINS(why, "enable AMD-V/SVM in the firmware setup");
	CHECK_STR_CONTAINS(why, "locked");
	f = bochs_ryzen();
	f.svm_features &= ~SVM_FEATURE_NPT;
	CHECK_EQ(svm_evaluate(&f, &c, why, sizeof(why)), SVM_NO_NPT);
	CHECK_STR_CONTAINS(why, "nested paging");
	f = bochs_ryzen();
	f.nr_asids = 8;
	CHECK_EQ(svm_evaluate(&f, &c, why, sizeof(why)), SVM_TOO_FEW_ASIDS);
	CHECK_STR_CONTAINS(why, "8 ASIDs");
}

const struct unit_test svm_caps_tests[] = {
	{"bochs_ryzen_is_usable", bochs_ryzen_is_usable},
	{"each_missing_feature_has_its_reason", each_missing_feature_has_its_reason},
};
const unsigned svm_caps_count = sizeof(svm_caps_tests) / sizeof(svm_caps_tests[0]);
