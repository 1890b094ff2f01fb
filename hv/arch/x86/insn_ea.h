/* The linear address of an instruction's memory operand, for a
 * second-level fault whose exit gives only the guest-physical address (AMD's
 * nested page fault, APM Vol. 2 15.25.6): decoded from the instruction's
 * bytes (SDM Vol. 2A Chapter 2: legacy prefixes, REX, opcode, ModRM, SIB,
 * displacement, immediate) and the guest's registers. 64-bit code only.
 * Pure, host-testable. */
#ifndef HV_INSN_EA_H
#define HV_INSN_EA_H

#include "core/types.h"

struct insn_regs {
	const u64 *gpr;     /* rax rcx rdx rbx rsp rbp rsi rdi r8..r15 (RSP current) */
	u64 rip;            /* of the instruction */
	u64 fs_base, gs_base;
};

/* Decodes the instruction in bytes[0, len) and sets *gla to the address of
 * its memory operand (for MOVS, the source when !write, the destination
 * when write). 0, or -1 when the bytes are not an instruction this decoder
 * knows to have a memory operand (the caller then knows no address). */
int insn_memory_address(const u8 *bytes, unsigned len, const struct insn_regs *r, bool write, u64 *gla);

#endif
