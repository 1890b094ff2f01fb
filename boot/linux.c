/* Starting the Linux kernel's EFI stub through the firmware (UEFI spec 7.4
 * LoadImage/StartImage), with its command line as LoadOptions. */
#include "loader.h"

EFI_STATUS loader_start_linux(const struct loader_env *env, const CHAR16 *kernel_path, const char *cmdline)
{
	EFI_HANDLE kernel = NULL;
	EFI_LOADED_IMAGE *li;
	EFI_DEVICE_PATH *dp = FileDevicePath(env->loaded_image->DeviceHandle, (CHAR16 *)kernel_path);
	if (!dp)
		return EFI_OUT_OF_RESOURCES;
	EFI_STATUS st = uefi_call_wrapper(BS->LoadImage, 6, FALSE, env->image, dp, NULL, 0, &kernel);
	FreePool(dp);
	if (EFI_ERROR(st)) {
		say(L"error: cannot load the kernel %s: %r", kernel_path, st);
		return st;
	}
	st = uefi_call_wrapper(BS->HandleProtocol, 3, kernel, &LoadedImageProtocol, (void **)&li);
	if (EFI_ERROR(st))
		return st;
	UINTN n = 0;
	while (cmdline[n])
		n++;
	CHAR16 *opts = AllocatePool((n + 1) * sizeof(CHAR16));
	if (!opts)
		return EFI_OUT_OF_RESOURCES;
	for (UINTN i = 0; i < n; i++)
		opts[i] = (CHAR16)(unsigned char)cmdline[i];
	opts[n] = 0;
	li->LoadOptions = opts;
	li->LoadOptionsSize = (UINT32)((n + 1) * sizeof(CHAR16));
	say(L"starting Linux: %s %a", kernel_path, cmdline);
	st = uefi_call_wrapper(BS->StartImage, 3, kernel, NULL, NULL);
	say(L"error: the kernel returned to the loader: %r", st);
	return st;
}
