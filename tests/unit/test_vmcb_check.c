#include "arch/x86/svm/vmcb_check.h"

#include <string.h>

#include "unit.h"

/* A VMCB in the state the loader leaves Linux's: 64-bit paging, flat CS. */
static void good_vmcb(struct vmcb *v)
{
	memset(v, 0, sizeof(*v));
	v->save.efer = BIT(8) | BIT(10) | BIT(11) | EFER_SVME; /* LME LMA NXE SVME */
	v->save.cr0 = 0x80010033;
	v->save.cr3 = 0x7fc01000;
	v->save.cr4 = 0x668;
	v->save.dr6 = 0xffff0ff0;
	v->save.dr7 = 0x400;
	v->save.cs.attrib = 0xa9b; /* L set, D clear */
	v->control.intercept_misc2 = INTERCEPT2_VMRUN;
	v->control.msrpm_base_pa = 0x7e000000;
	v->control.iopm_base_pa = 0x7e002000;
	v->control.guest_asid = 1;
}

/* Breaks rule i of APM Vol. 2 15.5.1 in x; the reason the check gives. */
static const char *spoil(struct vmcb *x, unsigned i)
{
	switch (i) {
	case 0: x->save.efer &= ~EFER_SVME; return "EFER.SVME is clear";
	case 1: x->save.cr0 |= BIT(29); return "CR0.NW is set with CR0.CD clear";
	case 2: x->save.cr0 |= BIT(32); return "CR0[63:32] is not zero";
	case 3: x->save.cr3 = 1ull << 40; return "CR3 has a bit above the physical-address width set";
	case 4: x->save.cr4 |= BIT(40); return "CR4[63:32] is not zero";
	case 5: x->save.dr6 |= BIT(33); return "DR6[63:32] is not zero";
	case 6: x->save.dr7 |= BIT(33); return "DR7[63:32] is not zero";
	case 7: x->save.efer |= BIT(9); return "EFER has a must-be-zero bit set";
	case 8: x->save.cr4 &= ~BIT(5); return "EFER.LME and CR0.PG are set with CR4.PAE clear";
	case 9: x->save.cr0 &= ~BIT(0); return "EFER.LME and CR0.PG are set with CR0.PE clear";
	case 10: x->save.cs.attrib |= BIT(10); return "CS.L and CS.D are both set in long mode";
	case 11: x->control.intercept_misc2 = 0; return "the VMRUN intercept is clear";
	case 12: x->control.iopm_base_pa = (1ull << 40) - 0x1000; return "a permission map extends beyond the physical-address width";
	case 13: /* an NMI as an exception */
		x->control.event_inj = EVENT_VALID | ((u64)EVENT_TYPE_EXCEPTION << EVENT_TYPE_SHIFT) | 2;
		return "EVENTINJ is illegal";
	case 14: /* reserved type 1 */
		x->control.event_inj = EVENT_VALID | (1ull << EVENT_TYPE_SHIFT);
		return "EVENTINJ is illegal";
	case 15: x->control.guest_asid = 0; return "the ASID is 0";
	default: return NULL;
	}
}

UNIT_TEST(vmcb_checks_follow_vmrun)
{
	static struct vmcb v;
	good_vmcb(&v);
	CHECK(vmcb_check_state(&v, 40) == NULL);
	/* each rule on its own */
	for (unsigned i = 0;; i++) {
		good_vmcb(&v);
		const char *want = spoil(&v, i);
		if (!want)
			break;
		const char *why = vmcb_check_state(&v, 40);
		CHECK(why && !strcmp(why, want));
	}
	/* legal: CD and NW both set, a #PF injected, 32-bit paging without PAE */
	good_vmcb(&v);
	v.save.cr0 |= BIT(29) | BIT(30);
	v.control.event_inj = EVENT_VALID | ((u64)EVENT_TYPE_EXCEPTION << EVENT_TYPE_SHIFT) | 14 | EVENT_ERROR_VALID;
	CHECK(vmcb_check_state(&v, 40) == NULL);
	good_vmcb(&v);
	v.save.efer = EFER_SVME;
	v.save.cr4 = 0;
	v.save.cs.attrib = 0xc9b;
	CHECK(vmcb_check_state(&v, 40) == NULL);
}

const struct unit_test vmcb_check_tests[] = {
	{"vmcb_checks_follow_vmrun", vmcb_checks_follow_vmrun},
};
const unsigned vmcb_check_count = sizeof(vmcb_check_tests) / sizeof(vmcb_check_tests[0]);
