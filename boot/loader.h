/* dunehv.efi, the UEFI loader: shared declarations of its parts. */
#ifndef BOOT_LOADER_H
#define BOOT_LOADER_H

#include "../hv/arch/x86/virt_caps.h"
#include <efi.h>
#include <efilib.h>
#include <stdio.h>

#include "../hv/core/boot_info.h"

/* One line on the console (which OVMF mirrors to COM1), prefixed "dunehv: ". */
#define say(fmt, ...) Print(L"dunehv: " fmt L"\n", ##__VA_ARGS__)

struct loader_file {
	void *data;
	UINTN size;
};

/* Where dunehv.efi was loaded from. */
struct loader_env {
	EFI_HANDLE image;
	EFI_LOADED_IMAGE *loaded_image;
	EFI_FILE_HANDLE root;     /* root of the volume holding dunehv.efi */
	CHAR16 dir[CONFIG_PATH_MAX]; /* its directory, e.g. \EFI\dunehv\ */
};

/* file.c */
EFI_STATUS loader_env_init(EFI_HANDLE image, struct loader_env *env);
/* Absolute volume path of a config path (relative to env->dir unless it starts with '\'). */
void loader_resolve_path(const struct loader_env *env, const char *path, CHAR16 *out, UINTN out_chars);
EFI_STATUS loader_read_file(const struct loader_env *env, const CHAR16 *path, struct loader_file *f);
EFI_STATUS loader_file_exists(const struct loader_env *env, const CHAR16 *path, UINT64 *size);
/* memmap.c: the largest run of free RAM (adjacent free descriptors merged)
 * and all free RAM, in bytes. */
EFI_STATUS loader_free_memory(UINT64 *largest_run, UINT64 *total);

/* The machine's CPUs: index 0 is the boot CPU, then MP services order. */
struct loader_cpus {
	UINT32 count;
	UINTN mp_number[HV_MAX_CPUS];
	UINT32 apic_id[HV_MAX_CPUS];
};

/* mp.c: MP services. discover fills cpus (error: *what says why);
 * check_virt runs the backend's capability check (VMX or SVM) on every AP
 * and requires the boot CPU's result (error: why); launch_aps brings each
 * AP under the hypervisor, returning 0 or the failing CPU's negative code. */
EFI_STATUS loader_mp_discover(struct loader_cpus *cpus, const char **what);
int loader_mp_check_virt(const struct loader_cpus *cpus, const virt_controls *boot_ctl, char *why, UINTN why_len);
long loader_mp_launch_aps(const struct loader_cpus *cpus, struct hv_boot_info *bi, UINT64 entry, UINT32 *failed_cpu);

/* acpi.c: installs RSDP/XSDT/MADT when the firmware has no ACPI table.
 * Returns 1 if it did, 0 if the firmware has ACPI, -1 on error (*what). */
int loader_acpi_install_if_missing(const struct loader_cpus *cpus, const char **what);
/* The RSDP Linux will be given (ACPI 2.0 first), or 0. */
UINT64 loader_acpi_rsdp(void);

/* launch.c: returns 0 once every CPU runs as the hypervisor's guest, else a
 * negative code; *what gets a description of the failure. With
 * *hv_active set, the boot CPU is already under the hypervisor (an AP
 * failed): the machine cannot go on. */
long loader_launch_hypervisor(const struct loader_env *env, const struct hv_config *cfg,
			      const struct loader_cpus *cpus, const char **what, BOOLEAN *hv_active);

/* linux.c: LoadImage + StartImage of the kernel with cmdline (ASCII). */
EFI_STATUS loader_start_linux(const struct loader_env *env, const CHAR16 *kernel_path, const char *cmdline);

/* trampoline.asm */
long dunehv_launch(struct hv_boot_info *bi, UINT64 entry, struct hv_boot_cpu *cpu);
extern const UINT8 hv_core_elf_start[], hv_core_elf_end[];

#endif
