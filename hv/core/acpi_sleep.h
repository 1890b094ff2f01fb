/* Which I/O-port bytes put the machine to sleep, and the filter that keeps
 * Linux from entering any sleep state but S5 (soft off).
 *
 * Why: in S3 (and S1, S2, S4 by firmware) the CPUs lose VMX and the firmware
 * resumes at Linux's waking vector, with the hypervisor's memory as ordinary
 * RAM and no CPU under the hypervisor's control. KVM and Jailhouse never
 * face it (the host owns the sleep registers); Xen owns them too and makes
 * its Linux ask by hypercall. dunehv refuses the request and answers it as a
 * firmware that woke at once: the sleep-enable bit is dropped from the write
 * and the wake status reads as set until Linux clears it, so Linux's suspend
 * path returns as from a failed suspend ("restore the machine status and go
 * on", arch/x86/kernel/acpi/wakeup_64.S) instead of spinning on WAK_STS.
 *
 * The registers, byte by byte (ACPI 6.5 4.8.3.1 PM1 status and 4.8.3.2 PM1
 * control, 4.8.3.7 sleep control and status of the hardware-reduced model;
 * 5.2.9 FADT): SLP_EN is bit 13 and SLP_TYP bits 12:10 of PM1 control, i.e.
 * bits 5 and 4:2 of its second byte, the same bits as in the 8-bit sleep
 * control register; WAK_STS is bit 15 of PM1 status, bit 7 of its second
 * byte, the same bit as in the 8-bit sleep status register. So the filter
 * needs only those bytes, and the CPU's I/O bitmap traps any access that
 * touches one of them (SDM 26.1.3), whatever its width. Also guarded: the
 * S4BIOS request value written to SMI_CMD (ACPI 6.5 5.2.9, 16.3.3). */
#ifndef HV_CORE_ACPI_SLEEP_H
#define HV_CORE_ACPI_SLEEP_H

#include "core/types.h"

#define ACPI_SLEEP_MAX_BYTES 16
#define ACPI_SLP_EN 0x20u        /* in a sleep-control byte */
#define ACPI_SLP_TYP_SHIFT 2
#define ACPI_SLP_TYP_MASK 0x1cu
#define ACPI_WAK_STS 0x80u       /* in a wake-status byte */
#define ACPI_S5_UNKNOWN 0xff     /* no \_S5 found: every sleep request is refused */

enum acpi_byte_role {
	ACPI_BYTE_SLEEP_CONTROL, /* SLP_EN, SLP_TYP: enable passes only with the S5 type */
	ACPI_BYTE_WAKE_STATUS,   /* WAK_STS: read as set while a refused sleep is pending */
	ACPI_BYTE_SMI_COMMAND,   /* SMI_CMD: the S4BIOS request value is dropped */
};

struct acpi_guarded_byte {
	u16 port;
	u8 role;  /* enum acpi_byte_role */
	u8 value; /* SLEEP_CONTROL: the S5 SLP_TYP (or ACPI_S5_UNKNOWN); SMI_COMMAND: S4BIOS_REQ */
};

struct acpi_sleep_guard {
	u32 count;
	struct acpi_guarded_byte bytes[ACPI_SLEEP_MAX_BYTES];
	const char *source;     /* where the registers came from, for the log */
	const char *unguarded;  /* a sleep register that cannot be trapped (memory space), or NULL */
	u8 s5_type_a, s5_type_b;
};

/* Reads physical memory for the table walk: a pointer to len bytes at pa,
 * or NULL where they may not be read (outside RAM the host maps, or inside
 * the hypervisor). */
typedef const void *(*acpi_map_fn)(void *ctx, u64 pa, u64 len);

/* Fills g from the FADT the RSDP at rsdp_pa leads to (XSDT, else RSDT) and
 * the \_S5 package of its DSDT. Returns 0, or -1 with why set when there is
 * no usable FADT (g is then empty). */
int acpi_sleep_from_tables(u64 rsdp_pa, acpi_map_fn map, void *ctx, struct acpi_sleep_guard *g, const char **why);

/* Adds one guarded byte (duplicates are kept once); false when full. */
bool acpi_sleep_guard_add(struct acpi_sleep_guard *g, u16 port, enum acpi_byte_role role, u8 value);

/* \_S5's SLP_TYPa and SLP_TYPb from a DSDT's AML (header included): the
 * first "Name (_S5, Package () {a, b, ...})" with constant elements
 * (ACPI 6.5 20.2.5.2 DefName, 20.2.5.4 DefPackage, 20.2.3 constants). */
bool acpi_s5_from_aml(const u8 *aml, u64 len, u8 *type_a, u8 *type_b);

/* True when an access of size bytes at port touches a guarded byte. */
bool acpi_sleep_touches(const struct acpi_sleep_guard *g, u16 port, u32 size);

/* What an OUT of size bytes at port does instead. */
struct acpi_out_verdict {
	u32 value;         /* with SLP_EN dropped from every sleep-control byte that asks for another state than S5 */
	int refused;       /* the refused SLP_TYP, ACPI_REFUSED_S4BIOS, or -1 */
	bool suppress;     /* the S4BIOS request to SMI_CMD: the write is not done at all */
	bool wake_cleared; /* the write clears a WAK_STS (write 1 to clear) */
};
#define ACPI_REFUSED_S4BIOS 8
struct acpi_out_verdict acpi_sleep_filter_out(const struct acpi_sleep_guard *g, u16 port, u32 size, u32 value);

/* An IN of size bytes at port that read value: with a refused sleep
 * pending, WAK_STS reads as set. */
u32 acpi_sleep_filter_in(const struct acpi_sleep_guard *g, u16 port, u32 size, u32 value, bool wake_pending);

#endif
