/* The local APIC's interrupt command register (Intel SDM Vol. 3A 10.6.1
 * "Interrupt Command Register", Figure 10-12; x2APIC: 10.12.9; AMD64 APM
 * Vol. 2 16.5 "Interprocessor Interrupts"): the fields of a write and which
 * CPUs it reaches. Pure, host-testable. */
#ifndef HV_APIC_ICR_H
#define HV_APIC_ICR_H

#include "core/types.h"

#define MSR_X2APIC_ICR 0x830
#define APIC_BASE_X2APIC_ENABLE BIT(10)
#define APIC_BASE_ADDR_MASK 0x000ffffffffff000ull
#define XAPIC_ICR_LOW 0x300
#define XAPIC_ICR_HIGH 0x310

#define ICR_VECTOR_MASK 0xffu
#define ICR_DELIVERY_SHIFT 8
#define ICR_DELIVERY_MASK (7u << ICR_DELIVERY_SHIFT)
#define ICR_DELIVERY_NMI (4u << ICR_DELIVERY_SHIFT)
#define ICR_DELIVERY_INIT (5u << ICR_DELIVERY_SHIFT)
#define ICR_DELIVERY_STARTUP (6u << ICR_DELIVERY_SHIFT)
#define ICR_DEST_LOGICAL BIT(11)
#define ICR_DELIVERY_PENDING BIT(12)
#define ICR_LEVEL_ASSERT BIT(14)
#define ICR_TRIGGER_LEVEL BIT(15)
#define ICR_SHORTHAND_SHIFT 18
#define ICR_SHORTHAND_MASK (3u << ICR_SHORTHAND_SHIFT)

enum icr_shorthand { ICR_TO_DEST = 0, ICR_TO_SELF = 1, ICR_TO_ALL = 2, ICR_TO_OTHERS = 3 };

/* What a write of the ICR asks for, as the hypervisor treats it. */
enum icr_action {
	ICR_SEND,            /* any other IPI: sent as written */
	ICR_INIT,            /* INIT (level assert): emulated */
	ICR_INIT_DEASSERT,   /* INIT level de-assert: no effect on a modern CPU (10.6.1), dropped */
	ICR_STARTUP,         /* SIPI: emulated */
	ICR_REFUSED,         /* INIT/SIPI in logical destination mode: dunehv does not resolve it */
};

static inline enum icr_action icr_action(u32 low)
{
	u32 mode = low & ICR_DELIVERY_MASK;
	if (mode != ICR_DELIVERY_INIT && mode != ICR_DELIVERY_STARTUP)
		return ICR_SEND;
	if (mode == ICR_DELIVERY_INIT && (low & ICR_TRIGGER_LEVEL) && !(low & ICR_LEVEL_ASSERT))
		return ICR_INIT_DEASSERT;
	enum icr_shorthand sh = (enum icr_shorthand)((low & ICR_SHORTHAND_MASK) >> ICR_SHORTHAND_SHIFT);
	if (sh == ICR_TO_DEST && (low & ICR_DEST_LOGICAL))
		return ICR_REFUSED;
	return mode == ICR_DELIVERY_INIT ? ICR_INIT : ICR_STARTUP;
}

/* Whether a physical-mode or shorthand write reaches the CPU with APIC ID
 * apic_id, sent by the CPU with self_id. dest is the destination field
 * (xAPIC: ICR bits 63:56, x2APIC: 63:32); all ones is the broadcast. */
static inline bool icr_reaches(u32 low, u32 dest, bool x2apic, u32 self_id, u32 apic_id)
{
	switch ((enum icr_shorthand)((low & ICR_SHORTHAND_MASK) >> ICR_SHORTHAND_SHIFT)) {
	case ICR_TO_SELF:
		return apic_id == self_id;
	case ICR_TO_ALL:
		return true;
	case ICR_TO_OTHERS:
		return apic_id != self_id;
	case ICR_TO_DEST:
	default:
		return dest == (x2apic ? 0xffffffffu : 0xffu) || dest == apic_id;
	}
}

#endif
