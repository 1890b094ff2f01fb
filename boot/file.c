/* Files on the volume dunehv.efi came from (EFI_SIMPLE_FILE_SYSTEM_PROTOCOL). */
#include "loader.h"

EFI_STATUS loader_env_init(EFI_HANDLE image, struct loader_env *env)
{
	EFI_STATUS st;
	ZeroMem(env, sizeof(*env));
	env->image = image;
	st = uefi_call_wrapper(BS->HandleProtocol, 3, image, &LoadedImageProtocol, (void **)&env->loaded_image);
	if (EFI_ERROR(st))
		return st;
	env->root = LibOpenRoot(env->loaded_image->DeviceHandle);
	if (!env->root)
		return EFI_NOT_FOUND;
	/* The directory part of our own file path, e.g. \EFI\dunehv\dunehv.efi. */
	CHAR16 *self = DevicePathToStr(env->loaded_image->FilePath);
	UINTN len = self ? StrLen(self) : 0, cut = 0;
	for (UINTN i = 0; i < len; i++)
		if (self[i] == L'\\' || self[i] == L'/')
			cut = i + 1;
	if (cut == 0 || cut >= CONFIG_PATH_MAX) {
		StrCpy(env->dir, L"\\");
	} else {
		CopyMem(env->dir, self, cut * sizeof(CHAR16));
		env->dir[cut] = 0;
		for (UINTN i = 0; i < cut; i++)
			if (env->dir[i] == L'/')
				env->dir[i] = L'\\';
	}
	if (env->dir[0] != L'\\') { /* some firmware omits the leading separator */
		CHAR16 tmp[CONFIG_PATH_MAX];
		StrCpy(tmp, env->dir);
		env->dir[0] = L'\\';
		StrnCpy(env->dir + 1, tmp, CONFIG_PATH_MAX - 2);
		env->dir[CONFIG_PATH_MAX - 1] = 0;
	}
	if (self)
		FreePool(self);
	return EFI_SUCCESS;
}

void loader_resolve_path(const struct loader_env *env, const char *path, CHAR16 *out, UINTN out_chars)
{
	UINTN n = 0;
	if (path[0] != '\\' && path[0] != '/')
		for (const CHAR16 *d = env->dir; *d && n + 1 < out_chars; d++)
			out[n++] = *d;
	for (const char *p = path; *p && n + 1 < out_chars; p++)
		out[n++] = (CHAR16)(*p == '/' ? '\\' : (unsigned char)*p);
	out[n] = 0;
}

static EFI_STATUS open_file(const struct loader_env *env, const CHAR16 *path, EFI_FILE_HANDLE *fh)
{
	return uefi_call_wrapper(env->root->Open, 5, env->root, fh, (CHAR16 *)path, EFI_FILE_MODE_READ, 0);
}

EFI_STATUS loader_file_exists(const struct loader_env *env, const CHAR16 *path, UINT64 *size)
{
	EFI_FILE_HANDLE fh;
	EFI_STATUS st = open_file(env, path, &fh);
	if (EFI_ERROR(st))
		return st;
	EFI_FILE_INFO *info = LibFileInfo(fh);
	uefi_call_wrapper(fh->Close, 1, fh);
	if (!info)
		return EFI_DEVICE_ERROR;
	*size = info->FileSize;
	BOOLEAN dir = (info->Attribute & EFI_FILE_DIRECTORY) != 0;
	FreePool(info);
	return dir ? EFI_INVALID_PARAMETER : EFI_SUCCESS;
}

EFI_STATUS loader_read_file(const struct loader_env *env, const CHAR16 *path, struct loader_file *f)
{
	EFI_FILE_HANDLE fh;
	UINT64 size;
	EFI_STATUS st = loader_file_exists(env, path, &size);
	if (EFI_ERROR(st))
		return st;
	if (size > CONFIG_FILE_MAX)
		return EFI_BAD_BUFFER_SIZE; /* a config file, not a disk image */
	st = open_file(env, path, &fh);
	if (EFI_ERROR(st))
		return st;
	f->size = size;
	f->data = AllocatePool(size + 1);
	if (!f->data) {
		uefi_call_wrapper(fh->Close, 1, fh);
		return EFI_OUT_OF_RESOURCES;
	}
	st = uefi_call_wrapper(fh->Read, 3, fh, &f->size, f->data);
	uefi_call_wrapper(fh->Close, 1, fh);
	if (EFI_ERROR(st)) {
		FreePool(f->data);
		f->data = NULL;
	}
	return st;
}
