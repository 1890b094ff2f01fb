/* hv_entry: the core's start, on every CPU. Called by the loader's launch
 * trampoline on the host page tables and that CPU's start-up stack, with the
 * firmware's GDT, IDT and segments still loaded; they become that CPU's
 * initial guest state. */
#include <stddef.h>
#include <string.h>

#include "arch/x86/host_cpu.h"
#include "backend.h"
#include "core/hv.h"
#include "core/setup.h"
#include "guest/acpi_sleep_guard.h"
#include "guest/dune_hypercall.h"

extern char __image_start[];

/* The one hypervisor instance lives in the core image's .bss. */
static struct hv the_hv;

u64 hv_image_virt_to_phys(const void *va)
{
	return the_hv.boot->hv_phys_base + ((u64)(uintptr_t)va - (u64)(uintptr_t)__image_start);
}

static void *pool_pa_to_va(u64 pa) { return phys_to_virt(pa); }

/* Per-CPU block and stacks, from the pool (the backend adds its own). */
static struct hv_cpu *create_cpu(struct hv *hv, u32 index)
{
	u64 cpu_pages = ALIGN_UP(sizeof(struct hv_cpu), PAGE_SIZE) / PAGE_SIZE;
	u64 cpu_pa = page_pool_alloc_pages(&hv->pool, cpu_pages, 1);
	u64 stack_pa = page_pool_alloc_pages(&hv->pool, HV_STACK_SIZE / PAGE_SIZE, 1);
	u64 ist_pa = page_pool_alloc_pages(&hv->pool, HOST_IST_STACKS * HOST_IST_PAGES, 1);
	if (!cpu_pa || !stack_pa || !ist_pa)
		return NULL;
	struct hv_cpu *cpu = phys_to_virt(cpu_pa);
	cpu->self = cpu;
	cpu->hv = hv;
	cpu->index = index;
	cpu->stack_top = stack_pa + HV_STACK_SIZE;
	for (unsigned i = 0; i < HOST_IST_STACKS; i++)
		cpu->ist_stack_top[i] = ist_pa + (i + 1) * HOST_IST_PAGES * PAGE_SIZE;
	cpu->linux_vcpu.kind = VCPU_LINUX;
	host_cpu_init_tables(cpu);
	return cpu;
}

/* Machine-wide set-up, once, on the boot CPU: page pool, log ring, the
 * backend's (VMX controls, Linux's EPT, MSR and I/O bitmaps), the Dune
 * context table, the ACPI sleep registers Linux may not use. */
static long hv_init(struct hv *hv, struct hv_boot_info *bi)
{
	hv->boot = bi;
	hv->cfg = bi->config;
	if (bi->cpu_count == 0 || bi->cpu_count > HV_MAX_CPUS)
		return HV_ERR_BOOT_INFO;
	hv->cpu_count = bi->cpu_count;
	if (page_pool_init(&hv->pool, bi->pool_phys_base, bi->hv_phys_base + bi->hv_phys_size - bi->pool_phys_base,
			   pool_pa_to_va))
		return HV_ERR_NOMEM;
	u64 log_pa = page_pool_alloc_pages(&hv->pool, LOG_RING_SIZE / PAGE_SIZE, 1);
	if (!log_pa)
		return HV_ERR_NOMEM;
	log_init(&hv->log, phys_to_virt(log_pa), hv->cfg.serial_port, hv->cfg.log_level);
	log_printf(&hv->log, LOG_INFO, "core starting: memory [%#llx, %#llx) (%llu MiB), image %llu KiB, pool %llu pages, %u CPUs",
		   (unsigned long long)bi->hv_phys_base, (unsigned long long)(bi->hv_phys_base + bi->hv_phys_size),
		   (unsigned long long)(bi->hv_phys_size >> 20), (unsigned long long)(bi->image_size >> 10),
		   (unsigned long long)hv->pool.free_pages, hv->cpu_count);
	if (hv->cfg.test_hooks)
		log_printf(&hv->log, LOG_WARN, "test_hooks = on: the DUNEHV_HC_TEST_* hypercalls are enabled (test suite only)");

	long r = arch_hv_init(hv);
	if (r == HV_ERR_UNUSABLE)
		return r;
	if (!r)
		r = arch_dune_setup(hv) ? HV_ERR_NOMEM : 0;
	if (!r)
		acpi_sleep_guard_init(hv);
	if (r) {
		log_printf(&hv->log, LOG_ERROR, "out of hypervisor memory during setup (memory = %llu MiB)",
			   (unsigned long long)(bi->hv_phys_size >> 20));
		return r;
	}
	hv->initialized = true;
	return 0;
}

void hv_cpu_publish(struct hv *hv, struct hv_cpu *cpu)
{
	__atomic_store_n(&hv->cpus[cpu->index], cpu, __ATOMIC_RELEASE);
	__atomic_add_fetch(&hv->cpus_up, 1, __ATOMIC_RELEASE);
}

void hv_cpu_unpublish(struct hv *hv, struct hv_cpu *cpu)
{
	__atomic_store_n(&hv->cpus[cpu->index], NULL, __ATOMIC_RELEASE);
	__atomic_sub_fetch(&hv->cpus_up, 1, __ATOMIC_RELEASE);
}

long hv_cpu_out_of_memory(struct hv *hv, u32 index)
{
	log_printf(&hv->log, LOG_ERROR, "CPU %u: out of hypervisor memory (memory = %llu MiB)", index,
		   (unsigned long long)(hv->boot->hv_phys_size >> 20));
	return HV_ERR_NOMEM;
}

/* Per-CPU set-up, on the CPU itself: its block, then the backend makes the
 * CPU's Linux a guest. Returns only on failure. */
static long hv_cpu_up(struct hv *hv, u32 index)
{
	struct hv_cpu *cpu = create_cpu(hv, index);
	if (!cpu)
		return hv_cpu_out_of_memory(hv, index);
	cpu->apic_id = hv->boot->cpus[index].apic_id;
	return arch_cpu_up(hv, cpu, &hv->boot->cpus[index]);
}

/* The core's entry, called by the loader's trampoline on each CPU in turn:
 * index 0 is the boot CPU, which also does the machine-wide set-up. */
long hv_entry(struct hv_boot_info *bi, u32 index)
{
	struct hv *hv = &the_hv;
	if (bi->magic != HV_BOOT_INFO_MAGIC || bi->version != HV_BOOT_INFO_VERSION || index >= HV_MAX_CPUS)
		return HV_ERR_BOOT_INFO;
	if (index == 0) {
		long r = hv_init(hv, bi);
		if (r)
			return r;
	} else if (!hv->initialized || bi != hv->boot || index >= hv->cpu_count || hv->cpus[index]) {
		return HV_ERR_BOOT_INFO;
	}
	return hv_cpu_up(hv, index);
}
