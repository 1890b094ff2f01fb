/* VMRUN's consistency checks (AMD64 APM Vol. 2 15.5.1), in its order. */
#include "arch/x86/svm/vmcb_check.h"

#define CR0_PE BIT(0)
#define CR0_NW BIT(29)
#define CR0_CD BIT(30)
#define CR0_PG BIT(31)
#define CR4_PAE BIT(5)
#define EFER_LME BIT(8)
/* EFER bits a CPU may have (APM Vol. 2 3.1.7): SCE, LME, LMA, NXE, SVME,
 * LMSLE, FFXSR, TCE, MCOMMIT, INTWB, UAIE, AIBRSE; the others are MBZ. */
#define EFER_DEFINED (BIT(0) | BIT(8) | BIT(10) | BIT(11) | BIT(12) | BIT(13) | BIT(14) | BIT(15) | BIT(17) | \
		      BIT(18) | BIT(20) | BIT(21))
#define SEG_ATTR_L BIT(9) /* descriptor bit 53 in the VMCB's packed attribute */
#define SEG_ATTR_D BIT(10)

/* 15.20: the types EVENTINJ may carry, and exceptions only up to 31, NMI
 * only as type NMI. */
static bool event_injection_ok(u64 event)
{
	if (!(event & EVENT_VALID))
		return true;
	u64 type = (event & EVENT_TYPE_MASK) >> EVENT_TYPE_SHIFT, vector = event & EVENT_VECTOR_MASK;
	if (type != EVENT_TYPE_INTR && type != EVENT_TYPE_NMI && type != EVENT_TYPE_EXCEPTION && type != EVENT_TYPE_SOFT_INT)
		return false;
	return type != EVENT_TYPE_EXCEPTION || (vector < 32 && vector != 2);
}

const char *vmcb_check_state(const struct vmcb *vmcb, unsigned phys_addr_bits)
{
	const struct vmcb_control *c = &vmcb->control;
	const struct vmcb_save *g = &vmcb->save;
	u64 phys_limit = phys_addr_bits >= 64 ? ~0ull : (1ull << phys_addr_bits);
	bool long_paging = (g->efer & EFER_LME) && (g->cr0 & CR0_PG);
	if (!(g->efer & EFER_SVME))
		return "EFER.SVME is clear";
	if ((g->cr0 & CR0_NW) && !(g->cr0 & CR0_CD))
		return "CR0.NW is set with CR0.CD clear";
	if (g->cr0 >> 32)
		return "CR0[63:32] is not zero";
	if (g->cr3 >= phys_limit)
		return "CR3 has a bit above the physical-address width set";
	if (g->cr4 >> 32)
		return "CR4[63:32] is not zero";
	if (g->dr6 >> 32)
		return "DR6[63:32] is not zero";
	if (g->dr7 >> 32)
		return "DR7[63:32] is not zero";
	if (g->efer & ~(u64)EFER_DEFINED)
		return "EFER has a must-be-zero bit set";
	if (long_paging && !(g->cr4 & CR4_PAE))
		return "EFER.LME and CR0.PG are set with CR4.PAE clear";
	if (long_paging && !(g->cr0 & CR0_PE))
		return "EFER.LME and CR0.PG are set with CR0.PE clear";
	if (long_paging && (g->cr4 & CR4_PAE) && (g->cs.attrib & SEG_ATTR_L) && (g->cs.attrib & SEG_ATTR_D))
		return "CS.L and CS.D are both set in long mode";
	if (!(c->intercept_misc2 & INTERCEPT2_VMRUN))
		return "the VMRUN intercept is clear";
	if (c->msrpm_base_pa + SVM_MSRPM_PAGES * 0x1000ull > phys_limit ||
	    c->iopm_base_pa + SVM_IOPM_PAGES * 0x1000ull > phys_limit)
		return "a permission map extends beyond the physical-address width";
	if (!event_injection_ok(c->event_inj))
		return "EVENTINJ is illegal";
	if (c->guest_asid == 0)
		return "the ASID is 0";
	return NULL;
}
