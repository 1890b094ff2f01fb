/* A minimal ACPI table set for firmware that has none (OVMF under Bochs): an
 * RSDP 2.0, an XSDT and a MADT (ACPI 6.5, 5.2.5 RSDP, 5.2.8 XSDT, 5.2.12
 * MADT) listing the CPUs MP services reported and the I/O APIC, so that Linux
 * finds every CPU. Firmware with ACPI tables is left untouched. */
#include "loader.h"

#define IOAPIC_BASE 0xfec00000u
#define LAPIC_BASE 0xfee00000u

struct __attribute__((packed)) acpi_rsdp {
	char signature[8];
	UINT8 checksum;
	char oem_id[6];
	UINT8 revision;
	UINT32 rsdt_address;
	UINT32 length;
	UINT64 xsdt_address;
	UINT8 extended_checksum;
	UINT8 reserved[3];
};

struct __attribute__((packed)) acpi_header {
	char signature[4];
	UINT32 length;
	UINT8 revision, checksum;
	char oem_id[6], oem_table_id[8];
	UINT32 oem_revision, creator_id, creator_revision;
};

struct __attribute__((packed)) madt_local_apic { UINT8 type, length, uid, apic_id; UINT32 flags; };
struct __attribute__((packed)) madt_local_x2apic { UINT8 type, length; UINT16 reserved; UINT32 x2apic_id, flags, uid; };
struct __attribute__((packed)) madt_ioapic { UINT8 type, length, id, reserved; UINT32 address, gsi_base; };
struct __attribute__((packed)) madt_override { UINT8 type, length, bus, source; UINT32 gsi; UINT16 flags; };
struct __attribute__((packed)) madt_lapic_nmi { UINT8 type, length, uid; UINT16 flags; UINT8 lint; };

static UINT8 checksum(const void *p, UINTN n)
{
	UINT8 sum = 0;
	for (UINTN i = 0; i < n; i++)
		sum += ((const UINT8 *)p)[i];
	return (UINT8)-sum;
}

static void fill_header(struct acpi_header *h, const char *sig, UINT32 length, UINT8 revision)
{
	CopyMem(h->signature, (void *)sig, 4);
	h->length = length;
	h->revision = revision;
	CopyMem(h->oem_id, "DUNEHV", 6);
	CopyMem(h->oem_table_id, "DUNEHV  ", 8);
	h->oem_revision = 1;
	CopyMem(&h->creator_id, "DNHV", 4);
	h->creator_revision = 1;
	h->checksum = 0;
	h->checksum = checksum(h, length);
}

/* The RSDP in the UEFI configuration table, the ACPI 2.0 one first (as
 * Linux's EFI stub takes it), or 0. */
UINT64 loader_acpi_rsdp(void)
{
	static EFI_GUID acpi20 = ACPI_20_TABLE_GUID, acpi10 = ACPI_TABLE_GUID;
	UINT64 rsdp10 = 0;
	for (UINTN i = 0; i < ST->NumberOfTableEntries; i++) {
		EFI_GUID *g = &ST->ConfigurationTable[i].VendorGuid;
		if (!CompareGuid(g, &acpi20))
			return (UINT64)(UINTN)ST->ConfigurationTable[i].VendorTable;
		if (!CompareGuid(g, &acpi10))
			rsdp10 = (UINT64)(UINTN)ST->ConfigurationTable[i].VendorTable;
	}
	return rsdp10;
}

static BOOLEAN firmware_has_acpi(void) { return loader_acpi_rsdp() != 0; }

/* The I/O APIC's own ID (I/O APIC datasheet: register 0, bits 27:24). */
static UINT8 ioapic_id(void)
{
	volatile UINT32 *sel = (volatile UINT32 *)(UINTN)IOAPIC_BASE;
	volatile UINT32 *win = (volatile UINT32 *)(UINTN)(IOAPIC_BASE + 0x10);
	*sel = 0;
	return (UINT8)((*win >> 24) & 0xf);
}

int loader_acpi_install_if_missing(const struct loader_cpus *cpus, const char **what)
{
	if (firmware_has_acpi())
		return 0;
	EFI_PHYSICAL_ADDRESS pa = 0xffffffff; /* below 4 GiB: the RSDP has a 32-bit RSDT field */
	if (EFI_ERROR(uefi_call_wrapper(BS->AllocatePages, 4, AllocateMaxAddress, EfiACPIReclaimMemory, 2, &pa))) {
		*what = "cannot allocate memory for the ACPI tables";
		return -1;
	}
	UINT8 *base = (UINT8 *)(UINTN)pa;
	ZeroMem(base, 2 * EFI_PAGE_SIZE);
	struct acpi_rsdp *rsdp = (void *)base;
	struct acpi_header *xsdt = (void *)(base + 64);
	UINT8 *madt = base + 128;

	/* MADT: local APIC address, PC-AT compatible (8259s present), one entry
	 * per CPU (x2APIC entries for IDs above 254), the I/O APIC, IRQ0 -> GSI2. */
	UINT32 off = sizeof(struct acpi_header);
	*(UINT32 *)(madt + off) = LAPIC_BASE;
	*(UINT32 *)(madt + off + 4) = 1;
	off += 8;
	for (UINT32 i = 0; i < cpus->count; i++) {
		if (cpus->apic_id[i] < 0xff) {
			struct madt_local_apic e = {0, sizeof(e), (UINT8)i, (UINT8)cpus->apic_id[i], 1};
			CopyMem(madt + off, &e, sizeof(e));
			off += sizeof(e);
		} else {
			struct madt_local_x2apic e = {9, sizeof(e), 0, cpus->apic_id[i], 1, i};
			CopyMem(madt + off, &e, sizeof(e));
			off += sizeof(e);
		}
	}
	struct madt_ioapic io = {1, sizeof(io), ioapic_id(), 0, IOAPIC_BASE, 0};
	CopyMem(madt + off, &io, sizeof(io));
	off += sizeof(io);
	struct madt_override irq0 = {2, sizeof(irq0), 0, 0, 2, 0};
	CopyMem(madt + off, &irq0, sizeof(irq0));
	off += sizeof(irq0);
	struct madt_lapic_nmi nmi = {4, sizeof(nmi), 0xff, 0, 1}; /* LINT1 is NMI on every CPU */
	CopyMem(madt + off, &nmi, sizeof(nmi));
	off += sizeof(nmi);
	fill_header((struct acpi_header *)madt, "APIC", off, 5);

	*(UINT64 *)((UINT8 *)xsdt + sizeof(struct acpi_header)) = (UINT64)(UINTN)madt;
	fill_header(xsdt, "XSDT", sizeof(struct acpi_header) + 8, 1);

	CopyMem(rsdp->signature, "RSD PTR ", 8);
	CopyMem(rsdp->oem_id, "DUNEHV", 6);
	rsdp->revision = 2;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt_address = (UINT64)(UINTN)xsdt;
	rsdp->checksum = checksum(rsdp, 20);
	rsdp->extended_checksum = checksum(rsdp, sizeof(*rsdp));

	static EFI_GUID acpi20 = ACPI_20_TABLE_GUID;
	if (EFI_ERROR(uefi_call_wrapper(BS->InstallConfigurationTable, 2, &acpi20, rsdp))) {
		*what = "cannot install the ACPI tables";
		return -1;
	}
	return 1;
}
