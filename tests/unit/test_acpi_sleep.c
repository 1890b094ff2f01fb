/* Unit tests of core/acpi_sleep.c: the sleep registers from synthetic ACPI
 * tables laid out as the firmware would (QEMU-like, ACPI 1.0 with an RSDT
 * only, hardware-reduced), the \_S5 scan, and the filter on IN/OUT. */
#include "core/acpi_sleep.h"
#include "unit.h"

/* Physical memory for the tables: pa is an offset into mem. */
static uint8_t mem[0x4000];

static const void *map_mem(void *ctx, uint64_t pa, uint64_t len)
{
	(void)ctx;
	return pa + len <= sizeof(mem) && pa + len >= pa ? mem + pa : NULL;
}

static void put(uint64_t pa, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		mem[pa + i] = (uint8_t)(v >> (8 * i));
}

static void header(uint64_t pa, const char *sig, uint32_t len)
{
	memcpy(mem + pa, sig, 4);
	put(pa + 4, len, 4);
}

static void gas(uint64_t pa, uint8_t space, uint64_t address)
{
	mem[pa] = space;
	mem[pa + 1] = 16;
	put(pa + 4, address, 8);
}

#define RSDP 0x20

/* RSDP at RSDP (revision rev), its root table at 0x100 (XSDT for rev >= 2,
 * else RSDT) listing one FADT at 0x200 of fadt_len; a DSDT at 0x400. */
static void layout(uint8_t rev, uint32_t fadt_len, const uint8_t *aml, uint32_t aml_len)
{
	memset(mem, 0, sizeof(mem));
	memcpy(mem + RSDP, "RSD PTR ", 8);
	mem[RSDP + 15] = rev;
	if (rev >= 2) {
		put(RSDP + 24, 0x100, 8);
		header(0x100, "XSDT", 36 + 8);
		put(0x100 + 36, 0x200, 8);
	} else {
		put(RSDP + 16, 0x100, 4);
		header(0x100, "RSDT", 36 + 4);
		put(0x100 + 36, 0x200, 4);
	}
	header(0x200, "FACP", fadt_len);
	put(0x200 + 40, 0x400, 4);
	header(0x400, "DSDT", 36 + aml_len);
	memcpy(mem + 0x400 + 36, aml, aml_len);
}

static bool guarded(const struct acpi_sleep_guard *g, uint16_t port, enum acpi_byte_role role, uint8_t value)
{
	for (uint32_t i = 0; i < g->count; i++)
		if (g->bytes[i].port == port && g->bytes[i].role == role && g->bytes[i].value == value)
			return true;
	return false;
}

/* QEMU's PIIX4 layout: PM1 event block at 0x600, control at 0x604 (both
 * the 32-bit and the extended fields), \_S3 {1,1,0,0}, \_S5 {0,0,0,0}. */
UNIT_TEST(acpi_sleep_qemu_like_fadt)
{
	static const uint8_t aml[] = {0x10, 0x0c, '\\', 0x00, /* a Scope before, as in real DSDTs */
				      0x08, '_', 'S', '3', '_', 0x12, 0x06, 0x04, 0x01, 0x01, 0x00, 0x00,
				      0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00};
	layout(2, 276, aml, sizeof(aml));
	put(0x200 + 48, 0xb2, 4); /* SMI_CMD, no S4BIOS_REQ */
	put(0x200 + 56, 0x600, 4);
	put(0x200 + 64, 0x604, 4);
	gas(0x200 + 148, 1, 0x600);
	gas(0x200 + 172, 1, 0x604);
	struct acpi_sleep_guard g;
	const char *why = NULL;
	CHECK_EQ(acpi_sleep_from_tables(RSDP, map_mem, NULL, &g, &why), 0);
	CHECK_EQ(g.count, 2);
	CHECK(guarded(&g, 0x605, ACPI_BYTE_SLEEP_CONTROL, 0));
	CHECK(guarded(&g, 0x601, ACPI_BYTE_WAKE_STATUS, 0));
	CHECK_EQ(g.s5_type_a, 0);
	CHECK(g.unguarded == NULL);

	/* Which accesses exit: any that touches 0x601 or 0x605. */
	CHECK(acpi_sleep_touches(&g, 0x604, 2));
	CHECK(acpi_sleep_touches(&g, 0x602, 4));
	CHECK(acpi_sleep_touches(&g, 0x600, 2));
	CHECK(!acpi_sleep_touches(&g, 0x604, 1));
	CHECK(!acpi_sleep_touches(&g, 0x606, 2));

	/* S3 by a word write: SLP_EN dropped, SCI_EN and SLP_TYP kept. */
	struct acpi_out_verdict v = acpi_sleep_filter_out(&g, 0x604, 2, (1u << 13) | (1u << 10) | 1u);
	CHECK_EQ(v.value, (1u << 10) | 1u);
	CHECK_EQ(v.refused, 1);
	CHECK(!v.suppress);
	/* S5 passes untouched. */
	v = acpi_sleep_filter_out(&g, 0x604, 2, (1u << 13) | 1u);
	CHECK_EQ(v.value, (1u << 13) | 1u);
	CHECK_EQ(v.refused, -1);
	/* S3 by a byte write to the second byte, and by a dword from 0x602. */
	v = acpi_sleep_filter_out(&g, 0x605, 1, 0x24);
	CHECK_EQ(v.value, 0x04);
	CHECK_EQ(v.refused, 1);
	v = acpi_sleep_filter_out(&g, 0x602, 4, 0x24010000u | 0xffff);
	CHECK_EQ(v.value, 0x04010000u | 0xffff);
	CHECK_EQ(v.refused, 1);

	/* The wake answer: WAK_STS reads set while pending; a write of 1 clears. */
	CHECK_EQ(acpi_sleep_filter_in(&g, 0x600, 2, 0x0001, true), 0x8001);
	CHECK_EQ(acpi_sleep_filter_in(&g, 0x600, 2, 0x0001, false), 0x0001);
	CHECK_EQ(acpi_sleep_filter_in(&g, 0x601, 1, 0x00, true), 0x80);
	CHECK_EQ(acpi_sleep_filter_in(&g, 0x600, 4, 0x00010001u, true), 0x00018001u);
	CHECK(acpi_sleep_filter_out(&g, 0x600, 2, 0x8000).wake_cleared);
	CHECK(!acpi_sleep_filter_out(&g, 0x600, 2, 0x0001).wake_cleared);
}

/* ACPI 1.0: an RSDT only, a 116-byte FADT with PM1a and PM1b, \_S5 with
 * ByteConst elements behind a root prefix, and S4BIOS through SMI_CMD. */
UNIT_TEST(acpi_sleep_rsdt_pm1b_and_s4bios)
{
	static const uint8_t aml[] = {0x08, '\\', '_', 'S', '5', '_', 0x12, 0x08, 0x02, 0x0a, 0x07, 0x0a, 0x05};
	layout(0, 116, aml, sizeof(aml));
	put(0x200 + 48, 0xb2, 4);
	mem[0x200 + 54] = 0xf2;
	put(0x200 + 56, 0x1400, 4);
	put(0x200 + 60, 0x1100, 4);
	put(0x200 + 64, 0x1404, 4);
	put(0x200 + 68, 0x1500, 4);
	struct acpi_sleep_guard g;
	const char *why = NULL;
	CHECK_EQ(acpi_sleep_from_tables(RSDP, map_mem, NULL, &g, &why), 0);
	CHECK_EQ(g.s5_type_a, 7);
	CHECK_EQ(g.s5_type_b, 5);
	CHECK(guarded(&g, 0x1405, ACPI_BYTE_SLEEP_CONTROL, 7));
	CHECK(guarded(&g, 0x1501, ACPI_BYTE_SLEEP_CONTROL, 5));
	CHECK(guarded(&g, 0x1401, ACPI_BYTE_WAKE_STATUS, 0));
	CHECK(guarded(&g, 0x1101, ACPI_BYTE_WAKE_STATUS, 0));
	CHECK(guarded(&g, 0xb2, ACPI_BYTE_SMI_COMMAND, 0xf2));
	CHECK_EQ(g.count, 5);
	/* PM1b takes its own S5 type: 5 passes there, 7 does not. */
	CHECK_EQ(acpi_sleep_filter_out(&g, 0x1500, 2, (1u << 13) | (5u << 10)).refused, -1);
	CHECK_EQ(acpi_sleep_filter_out(&g, 0x1500, 2, (1u << 13) | (7u << 10)).refused, 7);
	CHECK_EQ(acpi_sleep_filter_out(&g, 0x1404, 2, (1u << 13) | (7u << 10)).refused, -1);
	/* The S4BIOS request is not written at all; other SMI commands are. */
	struct acpi_out_verdict v = acpi_sleep_filter_out(&g, 0xb2, 1, 0xf2);
	CHECK(v.suppress);
	CHECK_EQ(v.refused, ACPI_REFUSED_S4BIOS);
	v = acpi_sleep_filter_out(&g, 0xb2, 1, 0xf0);
	CHECK(!v.suppress);
	CHECK_EQ(v.refused, -1);
}

/* Without a \_S5 package of constants every sleep request is refused, S5
 * included; hardware-reduced ACPI's sleep registers are guarded, and one in
 * memory space is reported as not guarded. */
UNIT_TEST(acpi_sleep_unknown_s5_and_hardware_reduced)
{
	static const uint8_t aml[] = {0x14, 0x08, '_', 'S', '5', '_', 0x00, 0xa4, 0x00}; /* a Method, not a Name */
	layout(2, 276, aml, sizeof(aml));
	put(0x200 + 112, 1u << 20, 4);
	gas(0x200 + 244, 1, 0x1000);
	gas(0x200 + 256, 1, 0x1001);
	struct acpi_sleep_guard g;
	const char *why = NULL;
	CHECK_EQ(acpi_sleep_from_tables(RSDP, map_mem, NULL, &g, &why), 0);
	CHECK_EQ(g.s5_type_a, ACPI_S5_UNKNOWN);
	CHECK(guarded(&g, 0x1000, ACPI_BYTE_SLEEP_CONTROL, ACPI_S5_UNKNOWN));
	CHECK(guarded(&g, 0x1001, ACPI_BYTE_WAKE_STATUS, 0));
	CHECK_EQ(g.count, 2);
	CHECK_EQ(acpi_sleep_filter_out(&g, 0x1000, 1, ACPI_SLP_EN).refused, 0);
	CHECK_EQ(acpi_sleep_filter_out(&g, 0x1000, 1, ACPI_SLP_EN).value, 0);
	CHECK(g.unguarded == NULL);

	gas(0x200 + 244, 0, 0xfe000000u);
	CHECK_EQ(acpi_sleep_from_tables(RSDP, map_mem, NULL, &g, &why), 0);
	CHECK(g.unguarded != NULL);
	CHECK_EQ(g.count, 1);
}

/* Bad tables: no RSDP, a root table that claims more than exists, no FADT;
 * \_S5 packages cut short or with one element. */
UNIT_TEST(acpi_sleep_bad_tables_and_s5_forms)
{
	static const uint8_t aml[] = {0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00};
	struct acpi_sleep_guard g;
	const char *why = NULL;
	layout(2, 276, aml, sizeof(aml));
	mem[RSDP] = 'X';
	CHECK_EQ(acpi_sleep_from_tables(RSDP, map_mem, NULL, &g, &why), -1);
	CHECK_STR_CONTAINS(why, "RSDP");
	CHECK_EQ(g.count, 0);

	layout(2, 276, aml, sizeof(aml));
	put(0x100 + 4, 0x7fffffff, 4); /* XSDT length beyond memory */
	put(RSDP + 16, 0, 4);           /* and no RSDT */
	CHECK_EQ(acpi_sleep_from_tables(RSDP, map_mem, NULL, &g, &why), -1);
	CHECK_STR_CONTAINS(why, "FADT");

	layout(2, 276, aml, sizeof(aml));
	memcpy(mem + 0x200, "APIC", 4);
	CHECK_EQ(acpi_sleep_from_tables(RSDP, map_mem, NULL, &g, &why), -1);

	/* The \_S5 scan alone. */
	uint8_t t[64] = {0};
	uint8_t a = 0, b = 0;
	static const uint8_t one_word[] = {0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x01, 0x0b, 0x05, 0x07};
	memcpy(t + 36, one_word, sizeof(one_word));
	CHECK(acpi_s5_from_aml(t, 36 + sizeof(one_word), &a, &b));
	CHECK_EQ(a, 5);
	CHECK_EQ(b, 7);
	CHECK(!acpi_s5_from_aml(t, 36 + sizeof(one_word) - 1, &a, &b)); /* cut inside the WordConst */
	static const uint8_t bad_const[] = {0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x0d, 0x00};
	memset(t, 0, sizeof(t));
	memcpy(t + 36, bad_const, sizeof(bad_const));
	CHECK(!acpi_s5_from_aml(t, 36 + sizeof(bad_const), &a, &b));
	CHECK(!acpi_s5_from_aml(t, 20, &a, &b));
}

const struct unit_test acpi_sleep_tests[] = {{"qemu_like_fadt", acpi_sleep_qemu_like_fadt},
					     {"rsdt_pm1b_and_s4bios", acpi_sleep_rsdt_pm1b_and_s4bios},
					     {"unknown_s5_and_hardware_reduced", acpi_sleep_unknown_s5_and_hardware_reduced},
					     {"bad_tables_and_s5_forms", acpi_sleep_bad_tables_and_s5_forms}};
const unsigned acpi_sleep_count = 4;
