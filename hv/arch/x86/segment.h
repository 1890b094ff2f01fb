/* Segment descriptors -> VMCS guest segment fields (SDM Vol. 3A 3.4.5,
 * Vol. 3C 25.4.1 "access rights" format). Pure, host-testable. */
#ifndef HV_SEGMENT_H
#define HV_SEGMENT_H

#include "core/types.h"

#define SEG_AR_UNUSABLE BIT(16)
/* Busy 64-bit TSS, present: what VM entry accepts for a guest TR (SDM 27.3.1.2). */
#define SEG_AR_TSS64_BUSY 0x008b
#define SEG_AR_LDT 0x0082

struct segment_state {
	u16 selector;
	u64 base;
	u32 limit;
	u32 access_rights; /* VMX format: descriptor bits 47:40 in 7:0, 55:52 in 15:12 */
};

/* Describes selector from the GDT at gdt (limit = GDTR limit). A null or
 * out-of-limit selector, or a not-present descriptor, gives an unusable
 * segment. system = 16-byte descriptor (TSS, LDT) in IA-32e mode. */
void segment_from_gdt(const void *gdt, u16 gdt_limit, u16 selector, bool system, struct segment_state *out);

#endif
