/* The ACPI sleep registers from the firmware's tables, and the filter on
 * Linux's accesses to them (acpi_sleep.h says why). Pure logic: the tables
 * are read through the caller's map function. */
#include "core/acpi_sleep.h"

#include <string.h>

#define TABLE_HEADER_LEN 36
#define ROOT_TABLE_MAX (1ull << 20)
#define DSDT_MAX (16ull << 20)

/* FADT field offsets (ACPI 6.5 Table 5.9). */
#define FADT_DSDT 40
#define FADT_SMI_CMD 48
#define FADT_S4BIOS_REQ 54
#define FADT_PM1A_EVT 56
#define FADT_PM1B_EVT 60
#define FADT_PM1A_CNT 64
#define FADT_PM1B_CNT 68
#define FADT_FLAGS 112
#define FADT_X_DSDT 140
#define FADT_X_PM1A_EVT 148
#define FADT_X_PM1B_EVT 160
#define FADT_X_PM1A_CNT 172
#define FADT_X_PM1B_CNT 184
#define FADT_SLEEP_CONTROL 244
#define FADT_SLEEP_STATUS 256
#define FADT_HW_REDUCED_ACPI (1u << 20)

/* Generic address structure (ACPI 6.5 5.2.3.2). */
#define GAS_LEN 12
#define GAS_SPACE_MEMORY 0
#define GAS_SPACE_IO 1

static u64 le(const u8 *p, unsigned n)
{
	u64 v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (u64)p[i] << (8 * i);
	return v;
}

bool acpi_sleep_guard_add(struct acpi_sleep_guard *g, u16 port, enum acpi_byte_role role, u8 value)
{
	for (u32 i = 0; i < g->count; i++)
		if (g->bytes[i].port == port && g->bytes[i].role == role)
			return true;
	if (g->count == ACPI_SLEEP_MAX_BYTES)
		return false;
	g->bytes[g->count++] = (struct acpi_guarded_byte){port, (u8)role, value};
	return true;
}

/* A table's header and then all of it, through map; NULL if unreadable,
 * shorter than a header or longer than max. */
static const u8 *map_table(acpi_map_fn map, void *ctx, u64 pa, u64 max, u64 *len)
{
	const u8 *h = pa ? map(ctx, pa, TABLE_HEADER_LEN) : NULL;
	if (!h)
		return NULL;
	*len = le(h + 4, 4);
	if (*len < TABLE_HEADER_LEN || *len > max)
		return NULL;
	return map(ctx, pa, *len);
}

/* One integer constant of AML (ACPI 6.5 20.2.3: ZeroOp, OneOp, OnesOp,
 * ByteConst, WordConst, DWordConst, QWordConst) at *p, moved past it. */
static bool aml_integer(const u8 *aml, u64 len, u64 *p, u64 *out)
{
	static const u8 prefix_bytes[] = {[0x0a] = 1, [0x0b] = 2, [0x0c] = 4, [0x0e] = 8};
	if (*p >= len)
		return false;
	u8 op = aml[(*p)++];
	if (op == 0x00 || op == 0x01) {
		*out = op;
		return true;
	}
	if (op == 0xff) {
		*out = ~0ull;
		return true;
	}
	unsigned n = op < sizeof(prefix_bytes) ? prefix_bytes[op] : 0;
	if (!n || len - *p < n)
		return false;
	*out = le(aml + *p, n);
	*p += n;
	return true;
}

bool acpi_s5_from_aml(const u8 *aml, u64 len, u8 *type_a, u8 *type_b)
{
	for (u64 i = TABLE_HEADER_LEN + 1; i + 5 < len; i++) {
		if (memcmp(aml + i, "_S5_", 4) || aml[i + 4] != 0x12 /* PackageOp */)
			continue;
		bool named = aml[i - 1] == 0x08 /* NameOp */ || (aml[i - 1] == '\\' && aml[i - 2] == 0x08);
		if (!named)
			continue;
		u64 p = i + 5;
		p += 1 + (aml[p] >> 6); /* PkgLength: lead byte and 0-3 more (20.2.4) */
		if (p >= len)
			return false;
		u8 elements = aml[p++];
		u64 a, b = 0;
		if (!elements || !aml_integer(aml, len, &p, &a))
			return false;
		if (elements >= 2 && !aml_integer(aml, len, &p, &b))
			return false;
		if (elements == 1) /* one element: SLP_TYPa in bits 7:0, SLP_TYPb in 15:8 (as ACPICA reads it) */
			b = a >> 8;
		*type_a = (u8)(a & 7);
		*type_b = (u8)(b & 7);
		return true;
	}
	return false;
}

/* A port from a 32-bit FADT block address (always I/O space). */
static bool legacy_port(u64 address, u16 *port)
{
	*port = (u16)address;
	return address && address < 0xffff;
}

/* A port from a generic address structure; *in_memory when it is a
 * memory-mapped register, which an I/O bitmap cannot trap. */
static bool gas_port(const u8 *gas, u16 *port, bool *in_memory)
{
	u64 address = le(gas + 4, 8);
	*port = (u16)address;
	if (!address)
		return false;
	if (gas[0] == GAS_SPACE_MEMORY)
		*in_memory = true;
	return gas[0] == GAS_SPACE_IO && address < 0xffff;
}

static void guard_fadt(const u8 *f, u64 len, acpi_map_fn map, void *ctx, struct acpi_sleep_guard *g)
{
	/* The DSDT Linux uses: X_DSDT where set, else DSDT (ACPI 6.5 5.2.9). */
	u64 dsdt_pa = len >= FADT_X_DSDT + 8 ? le(f + FADT_X_DSDT, 8) : 0;
	if (!dsdt_pa)
		dsdt_pa = le(f + FADT_DSDT, 4);
	u64 dsdt_len;
	const u8 *dsdt = map_table(map, ctx, dsdt_pa, DSDT_MAX, &dsdt_len);
	if (g->s5_type_a == ACPI_S5_UNKNOWN && dsdt)
		acpi_s5_from_aml(dsdt, dsdt_len, &g->s5_type_a, &g->s5_type_b);

	/* PM1a/PM1b control (second byte: SLP_EN, SLP_TYP) and status (second
	 * byte: WAK_STS), from both the 32-bit and the extended fields: Linux
	 * may use either. */
	static const struct {
		u32 legacy, extended;
		bool control, b;
	} pm1[] = {
		{FADT_PM1A_CNT, FADT_X_PM1A_CNT, true, false},
		{FADT_PM1B_CNT, FADT_X_PM1B_CNT, true, true},
		{FADT_PM1A_EVT, FADT_X_PM1A_EVT, false, false},
		{FADT_PM1B_EVT, FADT_X_PM1B_EVT, false, true},
	};
	for (unsigned i = 0; i < sizeof(pm1) / sizeof(pm1[0]); i++) {
		u16 ports[2];
		bool in_memory = false;
		unsigned n = 0;
		if (legacy_port(le(f + pm1[i].legacy, 4), &ports[n]))
			n++;
		if (len >= pm1[i].extended + GAS_LEN && gas_port(f + pm1[i].extended, &ports[n], &in_memory))
			n++;
		if (in_memory && pm1[i].control)
			g->unguarded = "a PM1 control block in memory space";
		for (unsigned k = 0; k < n; k++) {
			u16 second_byte = (u16)(ports[k] + 1);
			if (pm1[i].control)
				acpi_sleep_guard_add(g, second_byte, ACPI_BYTE_SLEEP_CONTROL, pm1[i].b ? g->s5_type_b : g->s5_type_a);
			else
				acpi_sleep_guard_add(g, second_byte, ACPI_BYTE_WAKE_STATUS, 0);
		}
	}

	/* Hardware-reduced ACPI's sleep control and status registers (8 bits;
	 * SLP_TYPa goes to the control register, ACPI 6.5 7.4.2.2). */
	if (len >= FADT_SLEEP_STATUS + GAS_LEN) {
		u16 port;
		bool in_memory = false;
		if (gas_port(f + FADT_SLEEP_CONTROL, &port, &in_memory))
			acpi_sleep_guard_add(g, port, ACPI_BYTE_SLEEP_CONTROL, g->s5_type_a);
		if (in_memory)
			g->unguarded = "a sleep control register in memory space";
		in_memory = false;
		if (gas_port(f + FADT_SLEEP_STATUS, &port, &in_memory))
			acpi_sleep_guard_add(g, port, ACPI_BYTE_WAKE_STATUS, 0);
	}

	/* S4BIOS: a write of S4BIOS_REQ to SMI_CMD makes the firmware save
	 * memory and resume at the waking vector (ACPI 6.5 16.3.3). */
	u32 flags = len >= FADT_FLAGS + 4 ? (u32)le(f + FADT_FLAGS, 4) : 0;
	u16 smi;
	if (!(flags & FADT_HW_REDUCED_ACPI) && f[FADT_S4BIOS_REQ] && legacy_port(le(f + FADT_SMI_CMD, 4), &smi))
		acpi_sleep_guard_add(g, smi, ACPI_BYTE_SMI_COMMAND, f[FADT_S4BIOS_REQ]);
}

/* Every FADT that a root table (XSDT: 8-byte entries, RSDT: 4-byte) lists. */
static unsigned guard_from_root(u64 root_pa, unsigned entry_size, acpi_map_fn map, void *ctx, struct acpi_sleep_guard *g)
{
	u64 root_len, fadt_len;
	const u8 *root = map_table(map, ctx, root_pa, ROOT_TABLE_MAX, &root_len);
	unsigned found = 0;
	if (!root)
		return 0;
	for (u64 off = TABLE_HEADER_LEN; off + entry_size <= root_len; off += entry_size) {
		const u8 *t = map_table(map, ctx, le(root + off, entry_size), ROOT_TABLE_MAX, &fadt_len);
		/* The oldest FADT (ACPI 1.0) ends after the PM blocks' lengths. */
		if (t && !memcmp(t, "FACP", 4) && fadt_len >= FADT_FLAGS) {
			guard_fadt(t, fadt_len, map, ctx, g);
			found++;
		}
	}
	return found;
}

int acpi_sleep_from_tables(u64 rsdp_pa, acpi_map_fn map, void *ctx, struct acpi_sleep_guard *g, const char **why)
{
	*g = (struct acpi_sleep_guard){.s5_type_a = ACPI_S5_UNKNOWN, .s5_type_b = ACPI_S5_UNKNOWN};
	/* RSDP (ACPI 6.5 5.2.5.3): RSDT at 16, revision at 15, XSDT at 24. */
	const u8 *rsdp = rsdp_pa ? map(ctx, rsdp_pa, 36) : NULL;
	if (!rsdp || memcmp(rsdp, "RSD PTR ", 8)) {
		*why = "no RSDP";
		return -1;
	}
	unsigned fadts = 0;
	if (rsdp[15] >= 2)
		fadts += guard_from_root(le(rsdp + 24, 8), 8, map, ctx, g);
	fadts += guard_from_root(le(rsdp + 16, 4), 4, map, ctx, g);
	if (!fadts) {
		*why = "no FADT";
		*g = (struct acpi_sleep_guard){.s5_type_a = ACPI_S5_UNKNOWN, .s5_type_b = ACPI_S5_UNKNOWN};
		return -1;
	}
	g->source = "the FADT";
	return 0;
}

/* Whether an access of size bytes at port includes guarded byte b. */
static bool in_access(const struct acpi_guarded_byte *b, u16 port, u32 size)
{
	return b->port >= port && (u32)b->port < (u32)port + size;
}

bool acpi_sleep_touches(const struct acpi_sleep_guard *g, u16 port, u32 size)
{
	for (u32 i = 0; i < g->count; i++)
		if (in_access(&g->bytes[i], port, size))
			return true;
	return false;
}

struct acpi_out_verdict acpi_sleep_filter_out(const struct acpi_sleep_guard *g, u16 port, u32 size, u32 value)
{
	struct acpi_out_verdict v = {.value = value, .refused = -1};
	for (u32 i = 0; i < g->count; i++) {
		const struct acpi_guarded_byte *b = &g->bytes[i];
		if (!in_access(b, port, size))
			continue;
		unsigned shift = 8 * (b->port - port);
		u8 byte = (u8)(value >> shift);
		switch (b->role) {
		case ACPI_BYTE_SLEEP_CONTROL:
			if (byte & ACPI_SLP_EN) {
				u8 type = (byte & ACPI_SLP_TYP_MASK) >> ACPI_SLP_TYP_SHIFT;
				if (b->value == ACPI_S5_UNKNOWN || type != b->value) {
					v.value &= ~(ACPI_SLP_EN << shift);
					v.refused = type;
				}
			}
			break;
		case ACPI_BYTE_WAKE_STATUS:
			if (byte & ACPI_WAK_STS)
				v.wake_cleared = true;
			break;
		case ACPI_BYTE_SMI_COMMAND:
			if (byte == b->value) {
				v.suppress = true;
				v.refused = ACPI_REFUSED_S4BIOS;
			}
			break;
		}
	}
	return v;
}

u32 acpi_sleep_filter_in(const struct acpi_sleep_guard *g, u16 port, u32 size, u32 value, bool wake_pending)
{
	if (!wake_pending)
		return value;
	for (u32 i = 0; i < g->count; i++) {
		const struct acpi_guarded_byte *b = &g->bytes[i];
		if (b->role == ACPI_BYTE_WAKE_STATUS && in_access(b, port, size))
			value |= ACPI_WAK_STS << (8 * (b->port - port));
	}
	return value;
}
