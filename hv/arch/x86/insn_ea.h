/* The linear address of an instruction's memory operand, for a
 * second-level fault whose exit gives only the guest-physical address (AMD's
 * nested page fault, APM Vol. 2 15.25.6): decoded from the instruction's
 * bytes (SDM Vol. 2A Chapter 2: legacy prefixes, REX, opcode, ModRM, SIB,
 * displacement, immediate) and the guest's registers; and, for the few
 * stores the hypervisor replays, the value stored and the instruction's
 * length. 64-bit code only. Pure, host-testable. */
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

/* A store to memory the hypervisor can replay for the guest (an xAPIC
 * register write it intercepts through nested paging: Linux writes them
 * with MOV, or XCHG on CPUs with the 11AP erratum): MOV r/m, reg (88/89),
 * XCHG r/m, reg (86/87) and MOV r/m, imm (C6/C7 /0). */
struct insn_store {
	u64 gla;         /* where it stores */
	u64 value;       /* what, zero-extended from size bytes */
	unsigned size;   /* 1, 2, 4 or 8 */
	unsigned length; /* of the instruction, prefixes included */
};
/* 0 and *st, or -1 for any other instruction (or bytes that end early). */
int insn_store(const u8 *bytes, unsigned len, const struct insn_regs *r, struct insn_store *st);

#endif
