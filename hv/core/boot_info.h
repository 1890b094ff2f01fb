/* What the UEFI loader hands to the hypervisor core (boot/ -> hv/).
 * The loader copies the core's image into the hypervisor's memory, builds the
 * host page tables and this record, then, on each CPU in turn (boot CPU
 * first), calls hv_entry(bi, index) on that CPU's start-up stack with the
 * firmware's CR3 replaced by host_cr3. */
#ifndef HV_BOOT_INFO_H
#define HV_BOOT_INFO_H

#include "core/config.h"

#define HV_BOOT_INFO_MAGIC 0x6f666e69426e7644ull /* "DvnBinfo" */
#define HV_BOOT_INFO_VERSION 3

/* Core image virtual base: the loader maps the hypervisor's memory here. */
#define HV_VIRT_BASE 0xffffffff80000000ull
#define HV_STACK_SIZE (32ull << 10)
#define HV_MAX_RAM_RANGES 128
#define HV_MAX_CPUS 64

/* One CPU's launch record. The loader's trampoline stores the CPU state it
 * will resume as the hypervisor's guest (guest_*). */
struct hv_boot_cpu {
	u64 guest_rip, guest_rsp, guest_rflags, guest_cr3;
	u64 stack_top;          /* host stack for this CPU's start-up (virtual) */
	u32 index;              /* hypervisor CPU index = MP services number */
	u32 apic_id;            /* from MP services */
};
struct hv_ram_range {
	u64 base, size; /* guest RAM (usable by Linux or firmware), page aligned */
};

struct hv_boot_info {
	u64 magic;
	u32 version;
	u32 ram_range_count;
	u64 hv_phys_base;       /* all hypervisor memory: image, tables, pool */
	u64 hv_phys_size;
	u64 image_size;         /* bytes at hv_phys_base used by the core image */
	u64 pool_phys_base;     /* first page free for the page pool */
	u64 host_cr3;           /* host PML4 built by the loader */
	u64 phys_map_top;       /* host identity map covers [0, phys_map_top) */
	u64 loader_tsc;         /* TSC when the loader started (for boot timing) */
	u32 cpu_count;          /* CPUs the loader will start (boot CPU = index 0) */
	u32 reserved;
	u64 acpi_rsdp;          /* the ACPI RSDP Linux will be given (physical), or 0 */
	struct hv_config config;
	struct hv_ram_range ram[HV_MAX_RAM_RANGES];
	struct hv_boot_cpu cpus[HV_MAX_CPUS];
};

#endif
