/* The firmware's free RAM, from its memory map (UEFI 2.x, 7.2
 * EFI_BOOT_SERVICES.GetMemoryMap): what dunehv.cfg's memory = is checked
 * against before anything is loaded. */
#include "loader.h"

EFI_STATUS loader_free_memory(UINT64 *largest_run, UINT64 *total)
{
	UINTN size = 0, key, desc_size;
	UINT32 desc_version;
	EFI_MEMORY_DESCRIPTOR *map = NULL;
	EFI_STATUS st = uefi_call_wrapper(BS->GetMemoryMap, 5, &size, map, &key, &desc_size, &desc_version);
	if (st != EFI_BUFFER_TOO_SMALL)
		return EFI_ERROR(st) ? st : EFI_DEVICE_ERROR;
	size += 8 * desc_size; /* the pool allocation below may add descriptors */
	st = uefi_call_wrapper(BS->AllocatePool, 3, EfiLoaderData, size, (void **)&map);
	if (EFI_ERROR(st))
		return st;
	st = uefi_call_wrapper(BS->GetMemoryMap, 5, &size, map, &key, &desc_size, &desc_version);
	if (EFI_ERROR(st)) {
		uefi_call_wrapper(BS->FreePool, 1, map);
		return st;
	}
	/* descriptors come sorted by address in practice, not by contract:
	 * runs of adjacent free descriptors are merged where they follow */
	UINT64 run_start = 0, run_end = 0;
	*largest_run = *total = 0;
	for (UINTN off = 0; off + desc_size <= size; off += desc_size) {
		const EFI_MEMORY_DESCRIPTOR *d = (const EFI_MEMORY_DESCRIPTOR *)((const char *)map + off);
		if (d->Type != EfiConventionalMemory)
			continue;
		UINT64 start = d->PhysicalStart, bytes = d->NumberOfPages * EFI_PAGE_SIZE;
		*total += bytes;
		if (start == run_end)
			run_end += bytes;
		else {
			run_start = start;
			run_end = start + bytes;
		}
		if (run_end - run_start > *largest_run)
			*largest_run = run_end - run_start;
	}
	uefi_call_wrapper(BS->FreePool, 1, map);
	return EFI_SUCCESS;
}
