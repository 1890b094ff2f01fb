/* dunehv.efi, the UEFI loader: shared declarations of its parts. */
#ifndef BOOT_LOADER_H
#define BOOT_LOADER_H

#include <efi.h>
#include <efilib.h>

#include "../hv/boot_info.h"

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

/* launch.c: returns 0 once the CPU runs as the hypervisor's guest, else a
 * negative code; *what gets a description of the failure. */
long loader_launch_hypervisor(const struct loader_env *env, const struct hv_config *cfg, const char **what);

/* linux.c: LoadImage + StartImage of the kernel with cmdline (ASCII). */
EFI_STATUS loader_start_linux(const struct loader_env *env, const CHAR16 *kernel_path, const char *cmdline);

/* trampoline.asm */
long dunehv_launch(struct hv_boot_info *bi, UINT64 entry);
extern const UINT8 hv_core_elf_start[], hv_core_elf_end[];

#endif
