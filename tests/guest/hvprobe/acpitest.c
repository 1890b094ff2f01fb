// SPDX-License-Identifier: GPL-2.0
/*
 * hvprobe's ACPI sleep checks, /proc/dunehv/acpi_sleep (write anything).
 *
 * As Linux ring 0 attacking the hypervisor: the firmware under Bochs has no
 * FADT, so the PM1 registers are found as an attacker would, in the PIIX4
 * power-management function's PMBA (82371AB datasheet 7.1), or, on QEMU's
 * q35 machine, in the ICH9 LPC bridge's PMBASE (ICH9 datasheet 13.8.3.1);
 * SLP_TYP 1 is suspend to RAM on both (QEMU's DSDT says so for q35).
 * Without the hypervisor's guard, Bochs resets the machine at the first
 * write (iodev/acpi.cc), QEMU suspends it, and no verdict is printed.
 *  acpi.s3-word    a 16-bit write of SLP_TYP=S3 | SLP_EN to PM1 control:
 *                  the machine goes on, WAK_STS reads set (an immediate
 *                  wake), and clears when written with 1
 *  acpi.s3-byte    the same with an 8-bit write to PM1 control's second byte
 *  acpi.s3-string  REP OUTSW of the same value #GPs
 *  acpi.hv-alive   afterwards every CPU still answers DUNEHV_HC_INFO
 */
#define pr_fmt(fmt) "hvprobe: " fmt

#include <linux/kernel.h>
#include <linux/pci.h>
#include <linux/proc_fs.h>
#include <linux/delay.h>
#include <asm/asm.h>
#include <asm/io.h>

#include "dunehv/abi.h"
#include "hvprobe.h"

#define VERDICT(cond, id, fmt, ...) \
	pr_info("%s %s - " fmt "\n", (cond) ? "ok" : "not ok", id, ##__VA_ARGS__)

#define PIIX4_PM_DEVICE 0x7113
#define ICH9_LPC_DEVICE 0x2918
#define PM1_STS 0
#define PM1_CNT 4
#define WAK_STS 0x8000
#define SLP_EN 0x2000
#define SLP_TYP_S3 (1u << 10) /* PIIX4 SUS_TYP 001: suspend to RAM */
#define SLP_TYP_MASK (7u << 10)

/* Reads of PM1 status until WAK_STS shows; the reads it took, or 0. */
static unsigned int wait_wake(u16 pmba)
{
	for (unsigned int i = 1; i <= 1000; i++)
		if (inw(pmba + PM1_STS) & WAK_STS)
			return i;
	return 0;
}

/* Writes 1 to WAK_STS; true when it then reads clear. */
static bool clear_wake(u16 pmba)
{
	outw(WAK_STS, pmba + PM1_STS);
	return !(inw(pmba + PM1_STS) & WAK_STS);
}

/* REP OUTSW of one word; true when it faulted (#GP), by the fixup. */
static bool outsw_faults(u16 port, u16 value)
{
	unsigned long count = 1;
	const u16 *src = &value;
	int faulted = 1;

	asm volatile("1: rep outsw\n"
		     "   movl $0, %0\n"
		     "2:\n"
		     _ASM_EXTABLE(1b, 2b)
		     : "+r"(faulted), "+S"(src), "+c"(count)
		     : "d"(port)
		     : "memory");
	return faulted;
}

static long info_here(void *unused)
{
	struct dunehv_info info;

	return hvprobe_get_info(&info) == sizeof(info);
}

/* The PM1 block's I/O base: PIIX4's PMBA (config 0x40, bits 15:6) or the
 * ICH9 LPC bridge's PMBASE (config 0x40, bits 15:7); 0 where neither is. */
static u16 find_pm1_base(void)
{
	static const struct {
		u16 device;
		u16 mask;
	} pm_functions[] = {{PIIX4_PM_DEVICE, 0xffc0}, {ICH9_LPC_DEVICE, 0xff80}};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pm_functions); i++) {
		struct pci_dev *pm = pci_get_device(PCI_VENDOR_ID_INTEL, pm_functions[i].device, NULL);
		u32 reg = 0;

		if (!pm)
			continue;
		pci_read_config_dword(pm, 0x40, &reg);
		pci_dev_put(pm);
		return reg & pm_functions[i].mask;
	}
	return 0;
}

static void acpi_sleep_test(void)
{
	unsigned int reads, cpus = 0, answered = 0;
	u16 pmba = find_pm1_base(), cnt, seen;
	bool cleared;
	int cpu;

	if (!pmba) {
		VERDICT(false, "acpi.s3-word", "no PIIX4 power-management function (8086:7113) or ICH9 LPC bridge (8086:2918)");
		return;
	}
	cnt = inw(pmba + PM1_CNT) & ~(SLP_TYP_MASK | SLP_EN);
	pr_info("acpi: PM1 at 0x%x, control 0x%x\n", pmba, cnt);

	clear_wake(pmba);
	outw(cnt | SLP_TYP_S3 | SLP_EN, pmba + PM1_CNT);
	reads = wait_wake(pmba);
	seen = inw(pmba + PM1_CNT);
	cleared = clear_wake(pmba);
	VERDICT(reads && cleared && (seen & SLP_TYP_MASK) == SLP_TYP_S3, "acpi.s3-word",
		"outw(0x%x, 0x%x): still running, WAK_STS set after %u read(s), clear after writing 1: %s; control reads 0x%x",
		cnt | SLP_TYP_S3 | SLP_EN, pmba + PM1_CNT, reads, cleared ? "yes" : "no", seen);

	outb((cnt | SLP_TYP_S3 | SLP_EN) >> 8, pmba + PM1_CNT + 1);
	reads = wait_wake(pmba);
	cleared = clear_wake(pmba);
	VERDICT(reads && cleared, "acpi.s3-byte",
		"outb(0x%x, 0x%x): still running, WAK_STS set after %u read(s), clear after writing 1: %s",
		(cnt | SLP_TYP_S3 | SLP_EN) >> 8, pmba + PM1_CNT + 1, reads, cleared ? "yes" : "no");

	VERDICT(outsw_faults(pmba + PM1_CNT, cnt | SLP_TYP_S3 | SLP_EN), "acpi.s3-string",
		"rep outsw of 0x%x to 0x%x: #GP, still running", cnt | SLP_TYP_S3 | SLP_EN, pmba + PM1_CNT);
	clear_wake(pmba);
	outw(cnt, pmba + PM1_CNT);

	for_each_online_cpu(cpu) {
		cpus++;
		if (work_on_cpu(cpu, info_here, NULL) == 1)
			answered++;
	}
	VERDICT(cpus && answered == cpus, "acpi.hv-alive", "%u of %u CPUs answer DUNEHV_HC_INFO afterwards", answered,
		cpus);
}

static ssize_t acpi_sleep_write(struct file *file, const char __user *buf, size_t len, loff_t *pos)
{
	acpi_sleep_test();
	return len;
}

static const struct proc_ops acpi_sleep_ops = {
	.proc_write = acpi_sleep_write,
};

int hvprobe_acpi_proc_init(struct proc_dir_entry *dir)
{
	return proc_create("acpi_sleep", 0200, dir, &acpi_sleep_ops) ? 0 : -ENOMEM;
}
