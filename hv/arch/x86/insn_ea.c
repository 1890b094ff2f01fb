/* Memory-operand address of a 64-bit instruction (SDM Vol. 2A 2.1 "Instruction
 * format", 2.2.1 REX, Tables 2-2/2-3 ModRM and SIB in 32/64-bit addressing,
 * 2.2.1.6 RIP-relative addressing; one- and two-byte opcode maps, Appendix A). */
#include "arch/x86/insn_ea.h"

/* One-byte opcodes with a ModRM byte (Appendix A, Table A-2). */
static bool one_byte_has_modrm(u8 op)
{
	if (op < 0x40)
		return (op & 7) < 4; /* ALU r/m forms: 00-03, 08-0b, ... 38-3b */
	switch (op) {
	case 0x62: case 0x63: case 0x69: case 0x6b:
	case 0xc0: case 0xc1: case 0xc6: case 0xc7:
	case 0xd0: case 0xd1: case 0xd2: case 0xd3:
	case 0xf6: case 0xf7: case 0xfe: case 0xff:
		return true;
	default:
		return (op >= 0x80 && op <= 0x8f) || (op >= 0xd8 && op <= 0xdf);
	}
}

/* Two-byte opcodes (0F xx) without one (Table A-3); the rest have one. */
static bool two_byte_has_modrm(u8 op)
{
	if ((op >= 0x30 && op <= 0x37) || (op >= 0x80 && op <= 0x8f) || (op >= 0xc8 && op <= 0xcf))
		return false;
	switch (op) {
	case 0x05: case 0x06: case 0x07: case 0x08: case 0x09: case 0x0b: case 0x0e:
	case 0x77: case 0xa0: case 0xa1: case 0xa2: case 0xa8: case 0xa9: case 0xaa:
		return false;
	default:
		return true;
	}
}

/* Immediate bytes after ModRM/SIB/displacement, for RIP-relative operands
 * (their base is the next instruction). */
static unsigned immediate_size(bool two_byte, u8 op, u8 reg, bool opsize16, bool three_byte_3a)
{
	if (three_byte_3a)
		return 1;
	if (two_byte)
		return (op == 0x70 || op == 0x71 || op == 0x72 || op == 0x73 || op == 0xa4 || op == 0xac || op == 0xba ||
			op == 0xc2 || op == 0xc4 || op == 0xc5 || op == 0xc6) ? 1 : 0;
	switch (op) {
	case 0x80: case 0x82: case 0x83: case 0x6b: case 0xc0: case 0xc1: case 0xc6:
		return 1;
	case 0x81: case 0x69: case 0xc7:
		return opsize16 ? 2 : 4;
	case 0xf6:
		return reg < 2 ? 1 : 0;
	case 0xf7:
		return reg < 2 ? (opsize16 ? 2 : 4) : 0;
	default:
		return 0;
	}
}

static s64 read_disp(const u8 *p, unsigned size)
{
	if (size == 1)
		return (int8_t)p[0];
	return (s32)((u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24);
}

/* What precedes the opcode (2.1.1 legacy prefixes, at most 14; 2.2.1 REX). */
struct insn_prefixes {
	bool opsize16, addr32;
	u64 seg_base;
	u8 rex;
};

static unsigned read_prefixes(const u8 *bytes, unsigned len, const struct insn_regs *r, struct insn_prefixes *p)
{
	unsigned i = 0;
	*p = (struct insn_prefixes){0};
	for (; i < len && i < 14; i++) {
		u8 b = bytes[i];
		if (b == 0x66)
			p->opsize16 = true;
		else if (b == 0x67)
			p->addr32 = true;
		else if (b == 0x64)
			p->seg_base = r->fs_base;
		else if (b == 0x65)
			p->seg_base = r->gs_base;
		else if (!(b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x26))
			break;
	}
	if (i < len && (bytes[i] & 0xf0) == 0x40)
		p->rex = bytes[i++];
	return i;
}

/* The memory operand whose ModRM byte is at bytes[*i] (Tables 2-2/2-3):
 * its effective address before the segment base, RIP-relative ones
 * still without RIP and the instruction's length (*rip_relative); *i
 * moves past ModRM, SIB and the displacement. -1: a register operand,
 * or the bytes end. */
static int modrm_memory(const u8 *bytes, unsigned len, unsigned *i, u8 rex, const struct insn_regs *r, unsigned *reg,
			u64 *ea, bool *rip_relative)
{
	if (*i >= len)
		return -1;
	u8 modrm = bytes[(*i)++];
	unsigned mod = modrm >> 6, rm = modrm & 7;
	*reg = (modrm >> 3) & 7;
	if (mod == 3)
		return -1;
	*ea = 0;
	*rip_relative = false;
	unsigned disp_size = mod == 1 ? 1 : mod == 2 ? 4 : 0;
	if (rm == 4) {
		if (*i >= len)
			return -1;
		u8 sib = bytes[(*i)++];
		unsigned scale = sib >> 6, index = ((sib >> 3) & 7) | ((rex & 2) ? 8 : 0), base = (sib & 7) | ((rex & 1) ? 8 : 0);
		if (index != 4)
			*ea += r->gpr[index] << scale;
		if ((sib & 7) == 5 && mod == 0)
			disp_size = 4; /* no base, disp32 */
		else
			*ea += r->gpr[base];
	} else if (rm == 5 && mod == 0) {
		*rip_relative = true;
		disp_size = 4;
	} else {
		*ea += r->gpr[rm | ((rex & 1) ? 8 : 0)];
	}
	if (*i + disp_size > len)
		return -1;
	if (disp_size) {
		*ea += (u64)read_disp(bytes + *i, disp_size);
		*i += disp_size;
	}
	return 0;
}

int insn_memory_address(const u8 *bytes, unsigned len, const struct insn_regs *r, bool write, u64 *gla)
{
	struct insn_prefixes p;
	unsigned i = read_prefixes(bytes, len, r, &p);
	if (i >= len)
		return -1;
	u8 op = bytes[i++];
	bool two_byte = false, three_3a = false;
	if (op == 0x0f) {
		if (i >= len)
			return -1;
		op = bytes[i++];
		two_byte = true;
		if (op == 0x38 || op == 0x3a) {
			three_3a = op == 0x3a;
			if (i >= len)
				return -1;
			i++; /* the third opcode byte: all of 0F 38 and 0F 3A have ModRM */
		} else if (!two_byte_has_modrm(op)) {
			return -1;
		}
	} else if (op == 0xa4 || op == 0xa5 || op == 0xac || op == 0xad || op == 0xaa || op == 0xab) {
		/* MOVS reads [RSI] and writes [RDI]; LODS reads [RSI]; STOS writes [RDI] */
		bool uses_rdi = op == 0xaa || op == 0xab || ((op == 0xa4 || op == 0xa5) && write);
		u64 a = r->gpr[uses_rdi ? 7 : 6];
		*gla = p.seg_base + (p.addr32 ? (u32)a : a);
		return 0;
	} else if (!one_byte_has_modrm(op)) {
		return -1;
	}
	if (!two_byte && op == 0x8d)
		return -1; /* LEA: no access */
	unsigned reg;
	u64 ea;
	bool rip_relative;
	if (modrm_memory(bytes, len, &i, p.rex, r, &reg, &ea, &rip_relative))
		return -1;
	if (rip_relative) {
		unsigned imm = immediate_size(two_byte, op, reg, p.opsize16, three_3a);
		if (i + imm > len)
			return -1;
		ea += r->rip + i + imm;
	}
	*gla = p.seg_base + (p.addr32 ? (u32)ea : ea);
	return 0;
}

int insn_store(const u8 *bytes, unsigned len, const struct insn_regs *r, struct insn_store *st)
{
	struct insn_prefixes p;
	unsigned i = read_prefixes(bytes, len, r, &p);
	if (i >= len)
		return -1;
	u8 op = bytes[i++];
	/* MOV r/m, reg (88, 89); XCHG r/m, reg (86, 87); MOV r/m, imm (C6, C7 /0) */
	if (op != 0x88 && op != 0x89 && op != 0x86 && op != 0x87 && op != 0xc6 && op != 0xc7)
		return -1;
	bool byte_op = !(op & 1);
	unsigned size = byte_op ? 1 : (p.rex & 8) ? 8 : p.opsize16 ? 2 : 4;
	unsigned reg;
	u64 ea;
	bool rip_relative;
	if (modrm_memory(bytes, len, &i, p.rex, r, &reg, &ea, &rip_relative))
		return -1;
	u64 value;
	if (op == 0xc6 || op == 0xc7) {
		unsigned imm = byte_op ? 1 : size == 2 ? 2 : 4; /* a 64-bit store takes a sign-extended imm32 */
		if (reg != 0 || i + imm > len)
			return -1;
		value = imm == 1 ? bytes[i] : imm == 2 ? (u64)(bytes[i] | bytes[i + 1] << 8) : (u64)read_disp(bytes + i, 4);
		i += imm;
	} else {
		unsigned n = reg | ((p.rex & 4) ? 8 : 0);
		if (byte_op && !p.rex && n >= 4)
			value = r->gpr[n - 4] >> 8; /* AH, CH, DH, BH (2.2.1.2) */
		else
			value = r->gpr[n];
	}
	if (rip_relative)
		ea += r->rip + i;
	st->gla = p.seg_base + (p.addr32 ? (u32)ea : ea);
	st->value = size == 8 ? value : value & ((1ull << (8 * size)) - 1);
	st->size = size;
	st->length = i;
	return 0;
}
