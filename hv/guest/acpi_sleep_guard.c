/* Linux may not put the machine to sleep (core/acpi_sleep.h says why): at
 * set-up the sleep registers are found and their bytes trapped in Linux's
 * I/O bitmaps; each trapped IN/OUT is then done here, filtered. */
#include <stdio.h>

#include "arch/x86/arch.h"
#include "backend.h"
#include "guest/acpi_sleep_guard.h"

/* The firmware's tables, read through the host's identity map before Linux
 * runs: only RAM the host maps, never the hypervisor's own memory. */
static const void *map_firmware_table(void *ctx, u64 pa, u64 len)
{
	struct hv *hv = ctx;
	if (!len || pa + len < pa || pa + len > hv->boot->phys_map_top ||
	    ranges_overlap(pa, len, hv->boot->hv_phys_base, hv->boot->hv_phys_size))
		return NULL;
	return phys_to_virt(pa);
}

/* PCI configuration mechanism #1 (PCI Local Bus 3.0, 3.2.2.3.2), bus 0. */
static u32 pci_conf1_read32(u32 device, u32 function, u32 reg)
{
	outl(0xcf8, 0x80000000u | (device << 11) | (function << 8) | (reg & 0xfc));
	return inl(0xcfc);
}

/* Without a FADT (OVMF under Bochs has no ACPI tables), the PIIX4's power
 * management function (82371AB datasheet 7.1): PMBA at 0x40, PM1 status at
 * PMBA + 0, PM1 control at PMBA + 4; SUS_TYP 0 is soft off (7.2.3). */
static bool guard_piix4(struct acpi_sleep_guard *g)
{
	for (u32 device = 0; device < 32; device++) {
		if (pci_conf1_read32(device, 3, 0) != 0x71138086u)
			continue;
		u16 pmba = (u16)(pci_conf1_read32(device, 3, 0x40) & 0xffc0);
		if (!pmba)
			return false;
		*g = (struct acpi_sleep_guard){.source = "the PIIX4 power-management function (no FADT)",
					       .s5_type_a = 0, .s5_type_b = 0};
		acpi_sleep_guard_add(g, (u16)(pmba + 5), ACPI_BYTE_SLEEP_CONTROL, 0);
		acpi_sleep_guard_add(g, (u16)(pmba + 1), ACPI_BYTE_WAKE_STATUS, 0);
		return true;
	}
	return false;
}

void acpi_sleep_guard_init(struct hv *hv)
{
	struct acpi_sleep_guard *g = &hv->acpi_sleep;
	const char *why = "no RSDP";
	if (acpi_sleep_from_tables(hv->boot->acpi_rsdp, map_firmware_table, hv, g, &why) && !guard_piix4(g)) {
		log_printf(&hv->log, LOG_WARN, "ACPI sleep: %s and no PIIX4: no sleep register to guard", why);
		return;
	}
	for (u32 i = 0; i < g->count; i++)
		arch_linux_trap_port(hv, g->bytes[i].port);
	char s5[24] = "unknown: all refused";
	if (g->s5_type_a != ACPI_S5_UNKNOWN)
		snprintf(s5, sizeof(s5), "%u/%u", g->s5_type_a, g->s5_type_b);
	log_printf(&hv->log, LOG_INFO, "ACPI sleep: %u register bytes from %s trapped; only S5 (SLP_TYP %s) may pass%s%s",
		   g->count, g->source, s5, g->unguarded ? "; NOT guarded: " : "", g->unguarded ? g->unguarded : "");
	for (u32 i = 0; i < g->count; i++)
		log_printf(&hv->log, LOG_DEBUG, "ACPI sleep: port %#x: %s", g->bytes[i].port,
			   g->bytes[i].role == ACPI_BYTE_SLEEP_CONTROL ? "SLP_EN/SLP_TYP"
			   : g->bytes[i].role == ACPI_BYTE_WAKE_STATUS ? "WAK_STS"
								       : "SMI_CMD (S4BIOS request)");
}

static u32 port_in(u16 port, u32 size)
{
	return size == 1 ? inb(port) : size == 2 ? inw(port) : inl(port);
}

static void port_out(u16 port, u32 size, u32 value)
{
	if (size == 1)
		outb(port, (u8)value);
	else if (size == 2)
		outw(port, (u16)value);
	else
		outl(port, value);
}

/* An IN/OUT of Linux that touches a trapped byte (SDM 26.1.3, exit
 * qualification 28.2.1 Table 28-5), done natively after the filter. INS
 * and OUTS to these registers are refused with #GP: no ACPI code uses
 * them, and emulating them would mean walking Linux's page tables. */
void acpi_sleep_guard_io(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	struct hv *hv = cpu->hv;
	const struct acpi_sleep_guard *g = &hv->acpi_sleep;
	u16 port = e->io.port;
	u32 size = e->io.size;
	if (e->io.string || (size != 1 && size != 2 && size != 4)) {
		log_limited(&hv->log, &hv->acpi_log_limit, rdtsc(), LOG_WARN,
			    "ACPI sleep: string I/O at port %#x refused with #GP (rip %#llx)", port,
			    (unsigned long long)arch_vcpu_rip(v));
		linux_vcpu_inject(cpu, v, VEC_GP, true, 0);
		return;
	}
	u64 *rax = &v->regs.gpr[GPR_RAX];
	u32 mask = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	if (e->io.in) {
		bool pending = __atomic_load_n(&hv->acpi_wake_pending, __ATOMIC_ACQUIRE);
		u32 value = acpi_sleep_filter_in(g, port, size, port_in(port, size), pending);
		/* A 32-bit IN zeroes RAX's upper half; 8 and 16 bits keep the rest (SDM Vol. 1 3.4.1.1). */
		*rax = size == 4 ? value : (*rax & ~(u64)mask) | value;
	} else {
		struct acpi_out_verdict out = acpi_sleep_filter_out(g, port, size, (u32)*rax & mask);
		if (out.wake_cleared)
			__atomic_store_n(&hv->acpi_wake_pending, false, __ATOMIC_RELEASE);
		if (!out.suppress)
			port_out(port, size, out.value);
		if (out.refused >= 0) {
			/* Answered as a firmware that woke at once: WAK_STS reads set. */
			__atomic_store_n(&hv->acpi_wake_pending, true, __ATOMIC_RELEASE);
			u64 n = __atomic_add_fetch(&hv->acpi_sleeps_refused, 1, __ATOMIC_RELAXED);
			if (out.refused == ACPI_REFUSED_S4BIOS)
				log_limited(&hv->log, &hv->acpi_log_limit, rdtsc(), LOG_WARN,
					    "ACPI sleep #%llu refused: S4BIOS request to SMI_CMD %#x (CPU %u)",
					    (unsigned long long)n, port, cpu->index);
			else
				log_limited(&hv->log, &hv->acpi_log_limit, rdtsc(), LOG_WARN,
					    "ACPI sleep #%llu refused: SLP_TYP %d with SLP_EN at port %#x (CPU %u); only S5 may pass",
					    (unsigned long long)n, out.refused, port, cpu->index);
		}
	}
	arch_vcpu_skip_instruction(v, e);
}
