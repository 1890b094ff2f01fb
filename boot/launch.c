/* Puts the hypervisor under the running firmware: allocates its memory (as
 * EfiRuntimeServicesData, which Linux leaves alone), copies the core image in,
 * builds the host page tables and the boot record, and enters the core. */
#include "loader.h"

#include "../hv/arch/x86/virt_caps.h"

/* Minimal ELF64 definitions for the embedded core image. */
struct elf64_ehdr {
	UINT8 ident[16];
	UINT16 type, machine;
	UINT32 version;
	UINT64 entry, phoff, shoff;
	UINT32 flags;
	UINT16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct elf64_phdr {
	UINT32 type, flags;
	UINT64 offset, vaddr, paddr, filesz, memsz, align;
};
#define PT_LOAD 1
#define EM_X86_64 62

#define PTE_P 0x1ull
#define PTE_RW 0x2ull
#define PTE_PS 0x80ull
#define BOOT_STACK_SIZE (64u << 10)

static int is_guest_ram(UINT32 type)
{
	return type == EfiLoaderCode || type == EfiLoaderData || type == EfiBootServicesCode ||
	       type == EfiBootServicesData || type == EfiConventionalMemory || type == EfiACPIReclaimMemory ||
	       type == 14 /* EfiPersistentMemory */;
}

/* RAM ranges (merged, sorted) and the end of the highest described range. */
static EFI_STATUS collect_memory_map(struct hv_boot_info *bi, UINT64 *highest)
{
	UINTN entries, key, desc_size;
	UINT32 desc_version;
	EFI_MEMORY_DESCRIPTOR *map = LibMemoryMap(&entries, &key, &desc_size, &desc_version);
	if (!map)
		return EFI_OUT_OF_RESOURCES;
	*highest = 0;
	bi->ram_range_count = 0;
	/* Repeatedly take the lowest RAM descriptor above the last one (maps are short). */
	UINT64 cursor = 0;
	for (;;) {
		EFI_MEMORY_DESCRIPTOR *best = NULL;
		for (UINTN i = 0; i < entries; i++) {
			EFI_MEMORY_DESCRIPTOR *d = (EFI_MEMORY_DESCRIPTOR *)((UINT8 *)map + i * desc_size);
			UINT64 end = d->PhysicalStart + d->NumberOfPages * EFI_PAGE_SIZE;
			if (end > *highest)
				*highest = end;
			if (is_guest_ram(d->Type) && d->PhysicalStart >= cursor && (!best || d->PhysicalStart < best->PhysicalStart))
				best = d;
		}
		if (!best)
			break;
		UINT64 base = best->PhysicalStart, size = best->NumberOfPages * EFI_PAGE_SIZE;
		cursor = base + size;
		struct hv_ram_range *last = bi->ram_range_count ? &bi->ram[bi->ram_range_count - 1] : NULL;
		if (last && last->base + last->size == base)
			last->size += size;
		else if (bi->ram_range_count < HV_MAX_RAM_RANGES)
			bi->ram[bi->ram_range_count++] = (struct hv_ram_range){base, size};
		else
			break; /* more fragments than we track: the rest is treated as non-RAM */
	}
	FreePool(map);
	return EFI_SUCCESS;
}

/* Copies PT_LOAD segments to hv_base + (vaddr - HV_VIRT_BASE). */
static long load_core_image(UINT64 hv_base, UINT64 room, UINT64 *image_size, UINT64 *entry)
{
	const UINT8 *elf = hv_core_elf_start;
	UINTN elf_size = (UINTN)(hv_core_elf_end - hv_core_elf_start);
	const struct elf64_ehdr *eh = (const void *)elf;
	if (elf_size < sizeof(*eh) || CompareMem(eh->ident, "\177ELF", 4) || eh->machine != EM_X86_64 ||
	    eh->phoff + (UINT64)eh->phnum * sizeof(struct elf64_phdr) > elf_size)
		return -1;
	UINT64 end = 0;
	for (UINT16 i = 0; i < eh->phnum; i++) {
		const struct elf64_phdr *ph = (const void *)(elf + eh->phoff + i * (UINT64)eh->phentsize);
		if (ph->type != PT_LOAD || !ph->memsz)
			continue;
		if (ph->vaddr < HV_VIRT_BASE || ph->vaddr - HV_VIRT_BASE + ph->memsz > room || ph->filesz > ph->memsz ||
		    ph->offset + ph->filesz > elf_size)
			return -1;
		UINT8 *dst = (UINT8 *)(UINTN)(hv_base + (ph->vaddr - HV_VIRT_BASE));
		CopyMem(dst, elf + ph->offset, ph->filesz);
		ZeroMem(dst + ph->filesz, ph->memsz - ph->filesz);
		if (ph->vaddr - HV_VIRT_BASE + ph->memsz > end)
			end = ph->vaddr - HV_VIRT_BASE + ph->memsz;
	}
	*image_size = (end + EFI_PAGE_SIZE - 1) & ~(UINT64)(EFI_PAGE_SIZE - 1);
	*entry = eh->entry;
	return end ? 0 : -1;
}

/* Host page tables (SDM Vol. 3A 4.5): identity map of [0, top) with 2 MiB
 * pages, plus the hypervisor's memory at HV_VIRT_BASE. Tables are carved
 * from *next, inside the hypervisor's memory. */
static UINT64 take_page(UINT64 *next)
{
	UINT64 pa = *next;
	*next += EFI_PAGE_SIZE;
	ZeroMem((void *)(UINTN)pa, EFI_PAGE_SIZE);
	return pa;
}

static UINT64 build_host_page_tables(UINT64 *next, UINT64 top, UINT64 hv_base, UINT64 hv_size)
{
	UINT64 pml4 = take_page(next);
	UINT64 *pml4v = (UINT64 *)(UINTN)pml4;
	UINT64 pdpt_low = take_page(next);
	pml4v[0] = pdpt_low | PTE_P | PTE_RW;
	for (UINT64 gb = 0; gb < top >> 30; gb++) {
		UINT64 pd = take_page(next);
		UINT64 *pdv = (UINT64 *)(UINTN)pd;
		for (UINT64 j = 0; j < 512; j++)
			pdv[j] = ((gb << 30) + (j << 21)) | PTE_P | PTE_RW | PTE_PS;
		((UINT64 *)(UINTN)pdpt_low)[gb] = pd | PTE_P | PTE_RW;
	}
	/* HV_VIRT_BASE = PML4 slot 511, PDPT slot 510 (at most 1 GiB mapped there). */
	UINT64 pdpt_high = take_page(next), pd_high = take_page(next);
	pml4v[511] = pdpt_high | PTE_P | PTE_RW;
	((UINT64 *)(UINTN)pdpt_high)[510] = pd_high | PTE_P | PTE_RW;
	UINT64 high_size = hv_size < (1ull << 30) ? hv_size : (1ull << 30);
	for (UINT64 off = 0; off < high_size; off += 2ull << 20)
		((UINT64 *)(UINTN)pd_high)[off >> 21] = (hv_base + off) | PTE_P | PTE_RW | PTE_PS;
	return pml4;
}

/* 2 MiB-aligned runtime-data allocation: over-allocate, then trim. */
static EFI_STATUS allocate_hv_memory(UINT64 size, UINT64 *base)
{
	UINTN slack = (2u << 20) / EFI_PAGE_SIZE;
	UINTN pages = size / EFI_PAGE_SIZE + slack;
	EFI_PHYSICAL_ADDRESS pa = 0;
	EFI_STATUS st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiRuntimeServicesData, pages, &pa);
	if (EFI_ERROR(st))
		return st;
	UINT64 aligned = (pa + (2ull << 20) - 1) & ~((2ull << 20) - 1);
	UINTN head = (aligned - pa) / EFI_PAGE_SIZE, tail = slack - head;
	if (head)
		uefi_call_wrapper(BS->FreePages, 2, pa, head);
	if (tail)
		uefi_call_wrapper(BS->FreePages, 2, aligned + size, tail);
	*base = aligned;
	return EFI_SUCCESS;
}

long loader_launch_hypervisor(const struct loader_env *env, const struct hv_config *cfg,
			      const struct loader_cpus *cpus, const char **what, BOOLEAN *hv_active)
{
	(void)env;
	*hv_active = FALSE;
	UINT64 highest, hv_base, image_size, entry;
	struct hv_boot_info *bi;
	UINT64 size = cfg->memory_bytes;

	if (EFI_ERROR(allocate_hv_memory(size, &hv_base))) {
		*what = "cannot allocate the hypervisor's memory (try a smaller memory = in dunehv.cfg)";
		return -1;
	}
	if (load_core_image(hv_base, size / 2, &image_size, &entry)) {
		*what = "the embedded hypervisor core image is damaged";
		uefi_call_wrapper(BS->FreePages, 2, hv_base, size / EFI_PAGE_SIZE);
		return -1;
	}
	UINT64 next = hv_base + image_size;
	bi = (struct hv_boot_info *)(UINTN)take_page(&next);
	for (UINTN i = 1; i < (sizeof(*bi) + EFI_PAGE_SIZE - 1) / EFI_PAGE_SIZE; i++)
		take_page(&next);
	bi->magic = HV_BOOT_INFO_MAGIC;
	bi->version = HV_BOOT_INFO_VERSION;
	bi->hv_phys_base = hv_base;
	bi->hv_phys_size = size;
	bi->image_size = image_size;
	bi->config = *cfg;
	bi->acpi_rsdp = loader_acpi_rsdp(); /* for the ACPI sleep registers (hv/core/acpi_sleep.h) */
	if (EFI_ERROR(collect_memory_map(bi, &highest))) {
		*what = "cannot read the UEFI memory map";
		uefi_call_wrapper(BS->FreePages, 2, hv_base, size / EFI_PAGE_SIZE);
		return -1;
	}
	UINT64 top = highest < (4ull << 30) ? (4ull << 30) : (highest + (1ull << 30) - 1) & ~((1ull << 30) - 1);
	if (top > (512ull << 30))
		top = 512ull << 30; /* one host PDPT; RAM above is not reachable by the host (TODO) */
	bi->phys_map_top = top;
	/* One start-up stack per CPU, each used once while that CPU comes under the hypervisor. */
	UINT64 stack_base = next;
	bi->cpu_count = cpus->count;
	for (UINT32 i = 0; i < cpus->count; i++) {
		next += BOOT_STACK_SIZE;
		bi->cpus[i].stack_top = HV_VIRT_BASE + (next - hv_base);
		bi->cpus[i].index = i;
		bi->cpus[i].apic_id = cpus->apic_id[i];
	}
	UINT64 stack_end = next;
	bi->host_cr3 = build_host_page_tables(&next, top, hv_base, size);
	bi->pool_phys_base = next;
	if (next - hv_base > size / 2 || stack_end - hv_base > (1ull << 30)) {
		*what = "memory = is too small for the host page tables and start-up stacks";
		uefi_call_wrapper(BS->FreePages, 2, hv_base, size / EFI_PAGE_SIZE);
		return -1;
	}
	ZeroMem((void *)(UINTN)stack_base, stack_end - stack_base);
	bi->loader_tsc = 0;

	long r = dunehv_launch(bi, entry, &bi->cpus[0]);
	UINT32 failed_cpu = 0;
	if (!r) {
		/* The boot CPU is a guest now; MP services still work for it. */
		*hv_active = TRUE;
		r = loader_mp_launch_aps(cpus, bi, entry, &failed_cpu);
		if (r) {
			static char line[128];
			snprintf(line, sizeof(line), "CPU %u (APIC ID %u) could not be put under the hypervisor (code %ld)",
				 failed_cpu, cpus->apic_id[failed_cpu], r);
			*what = line;
			return r;
		}
	}
	if (r) {
		static const char *const reasons[] = {
			"hypervisor start failed",
			"hypervisor rejected the boot record",
			VIRT_NAME " unusable (see the [dunehv] log line above)",
			"out of hypervisor memory during setup (raise memory = in dunehv.cfg)",
			VIRT_NAME " could not be turned on (VMXON or EFER.SVME; see the [dunehv] log line above)",
			"control block setup failed (see the [dunehv] log line above)",
			"the first entry of Linux failed (control block dump above)",
		};
		*what = (r < 0 && -r < (long)(sizeof(reasons) / sizeof(reasons[0]))) ? reasons[-r] : reasons[0];
		uefi_call_wrapper(BS->FreePages, 2, hv_base, size / EFI_PAGE_SIZE);
	}
	return r;
}
