/* hv_entry: the core's start, on every CPU. Called by the loader's launch
 * trampoline on the host page tables and that CPU's start-up stack, with the
 * firmware's GDT, IDT and segments still loaded; they become that CPU's
 * initial guest state. */
#include <stddef.h>
#include <string.h>

#include "arch.h"
#include "ept.h"
#include "dune_hypercall.h"
#include "guest_state.h"
#include "host_cpu.h"
#include "msr_bitmap.h"
#include "smp.h"
#include "hv.h"
#include "vmcs.h"
#include "vmcs_linux.h"
#include "vmx_ops.h"

/* Error codes returned to the loader (negative, see boot/launch.c). */
#define HV_ERR_BOOT_INFO -1
#define HV_ERR_VMX -2
#define HV_ERR_NOMEM -3
#define HV_ERR_VMXON -4
#define HV_ERR_VMCS -5
#define HV_ERR_VMLAUNCH -6

extern char __image_start[];

_Static_assert(offsetof(struct hv_cpu, launch_pending) == 20, "entry.asm CPU_LAUNCH_PENDING");

/* The one hypervisor instance lives in the core image's .bss. */
static struct hv the_hv;

u64 hv_image_virt_to_phys(const void *va)
{
	return the_hv.boot->hv_phys_base + ((u64)(uintptr_t)va - (u64)(uintptr_t)__image_start);
}

static void *pool_pa_to_va(u64 pa) { return phys_to_virt(pa); }

/* Linux's MSR bitmap (SDM 25.6.9): all MSRs pass through except VMX ones,
 * FEATURE_CONTROL, and writes to IA32_APIC_BASE. */

static int build_msr_bitmap(struct hv *hv)
{
	hv->msr_bitmap_pa = page_pool_alloc(&hv->pool);
	if (!hv->msr_bitmap_pa)
		return HV_ERR_NOMEM;
	u8 *bitmap = phys_to_virt(hv->msr_bitmap_pa);
	msr_bitmap_set(bitmap, MSR_IA32_FEATURE_CONTROL, true, true, true);
	for (u32 msr = MSR_IA32_VMX_FIRST; msr <= MSR_IA32_VMX_LAST + 1; msr++)
		msr_bitmap_set(bitmap, msr, true, true, true);
	msr_bitmap_set(bitmap, MSR_IA32_APIC_BASE, false, true, true);
	return 0;
}

/* EPT identity map of Linux's physical address space minus our memory. */
static int build_linux_ept(struct hv *hv)
{
	unsigned bits = hv->facts.phys_addr_bits ? hv->facts.phys_addr_bits : 36;
	if (bits > 48)
		bits = 48;
	mtrr_read(&hv->mtrr, bits);
	struct ept_hole hole = {hv->boot->hv_phys_base, hv->boot->hv_phys_size};
	u64 top = 1ull << bits;
	if (!hv->ctl.ept_1g && top > (512ull << 30))
		top = MAX(512ull << 30, ALIGN_UP(hv->boot->phys_map_top, SIZE_1G));
	struct ept_identity_params prm = {
		.top = top, .mtrr = &hv->mtrr, .holes = &hole, .hole_count = 1,
		.allow_2m = hv->ctl.ept_2m, .allow_1g = hv->ctl.ept_1g,
	};
	int r = ept_build_identity(&hv->pool, &prm, &hv->linux_ept_pml4, &hv->linux_ept_stats);
	if (r)
		return HV_ERR_NOMEM;
	hv->linux_eptp = ept_pointer(hv->linux_ept_pml4);
	const struct ept_stats *st = &hv->linux_ept_stats;
	log_printf(&hv->log, LOG_INFO,
		   "EPT for Linux: [0, %#llx) identity, hole [%#llx, %#llx) for dunehv; %llu x 1G, %llu x 2M, %llu x 4K leaves, %llu tables",
		   (unsigned long long)top, (unsigned long long)hole.base, (unsigned long long)(hole.base + hole.size),
		   (unsigned long long)st->leaves_1g, (unsigned long long)st->leaves_2m, (unsigned long long)st->leaves_4k,
		   (unsigned long long)st->tables);
	return 0;
}

/* Per-CPU block, its VMXON region, VMCS and stacks, all from the pool. */
static struct hv_cpu *create_cpu(struct hv *hv, u32 index)
{
	u64 cpu_pages = ALIGN_UP(sizeof(struct hv_cpu), PAGE_SIZE) / PAGE_SIZE;
	u64 cpu_pa = page_pool_alloc_pages(&hv->pool, cpu_pages, 1);
	u64 stack_pa = page_pool_alloc_pages(&hv->pool, HV_STACK_SIZE / PAGE_SIZE, 1);
	u64 ist_pa = page_pool_alloc_pages(&hv->pool, 4, 1);
	u64 vmxon_pa = page_pool_alloc(&hv->pool), vmcs_pa = page_pool_alloc(&hv->pool);
	if (!cpu_pa || !stack_pa || !ist_pa || !vmxon_pa || !vmcs_pa)
		return NULL;
	struct hv_cpu *cpu = phys_to_virt(cpu_pa);
	cpu->self = cpu;
	cpu->hv = hv;
	cpu->index = index;
	cpu->vmxon_pa = vmxon_pa;
	cpu->vmcs_pa = vmcs_pa;
	cpu->stack_top = stack_pa + HV_STACK_SIZE;
	cpu->ist_stack_top = ist_pa + 4 * PAGE_SIZE;
	host_cpu_init_tables(cpu);
	/* SDM 25.2 / 25.11.5: both regions start with the VMCS revision identifier. */
	*(u32 *)phys_to_virt(vmxon_pa) = hv->ctl.vmcs_revision;
	*(u32 *)phys_to_virt(vmcs_pa) = hv->ctl.vmcs_revision;
	return cpu;
}

/* SDM 24.7: FEATURE_CONTROL, CR0/CR4 fixed bits, CR4.VMXE, then VMXON. */
static int enter_vmx_root(struct hv *hv, struct hv_cpu *cpu, const struct vmx_controls *own)
{
	if (own->feature_control_write) /* this CPU's own MSR */
		wrmsr(MSR_IA32_FEATURE_CONTROL,
		      rdmsr(MSR_IA32_FEATURE_CONTROL) | FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMX_OUTSIDE_SMX);
	write_cr0(vmx_fixed_cr0(&hv->ctl, read_cr0(), false));
	write_cr4(vmx_fixed_cr4(&hv->ctl, read_cr4() | CR4_VMXE));
	if (!vmxon(cpu->vmxon_pa)) {
		write_cr4(read_cr4() & ~CR4_VMXE);
		return HV_ERR_VMXON;
	}
	return 0;
}

static u64 xcr0_supported(void)
{
	struct cpuid_regs r;
	cpuid_count(0, 0, &r);
	if (r.eax < 0xd)
		return 1;
	cpuid_count(0xd, 0, &r);
	return ((u64)r.edx << 32) | r.eax;
}

/* Machine-wide set-up, once, on the boot CPU: page pool, log ring, VMX
 * controls, Linux's EPT and MSR bitmap, the Dune context table. */
static long hv_init(struct hv *hv, struct hv_boot_info *bi)
{
	char why[CONFIG_ERROR_MAX];
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

	vmx_read_facts(&hv->facts);
	if (vmx_evaluate(&hv->facts, &hv->ctl, why, sizeof(why)) != VMX_USABLE) {
		log_printf(&hv->log, LOG_ERROR, "VMX unusable: %s", why);
		return HV_ERR_VMX;
	}
	hv->xcr0_supported = xcr0_supported();
	int r = build_linux_ept(hv);
	if (!r)
		r = build_msr_bitmap(hv);
	if (!r)
		r = dune_setup(hv) ? HV_ERR_NOMEM : 0;
	if (r) {
		log_printf(&hv->log, LOG_ERROR, "out of hypervisor memory during setup (memory = %llu MiB)",
			   (unsigned long long)(bi->hv_phys_size >> 20));
		return r;
	}
	hv->initialized = true;
	return 0;
}

static void leave_vmx(void)
{
	vmxoff();
	write_cr4(read_cr4() & ~CR4_VMXE);
}

/* Per-CPU set-up, on the CPU itself: its capabilities (hybrid CPUs differ
 * per core), its block, VMXON, Linux's VMCS for this CPU, and VMLAUNCH.
 * Returns only on failure. */
static long hv_cpu_up(struct hv *hv, u32 index)
{
	char why[CONFIG_ERROR_MAX];
	struct hv_boot_cpu *bc = &hv->boot->cpus[index];
	struct vmx_cpu_facts facts;
	struct vmx_controls ctl;
	vmx_read_facts(&facts);
	if (vmx_evaluate(&facts, &ctl, why, sizeof(why)) != VMX_USABLE) {
		log_printf(&hv->log, LOG_ERROR, "CPU %u: VMX unusable: %s", index, why);
		return HV_ERR_VMX;
	}
	if (!vmx_controls_compatible(&ctl, &hv->ctl)) {
		log_printf(&hv->log, LOG_ERROR, "CPU %u offers other VMX controls than the boot CPU", index);
		return HV_ERR_VMX;
	}
	struct hv_cpu *cpu = create_cpu(hv, index);
	if (!cpu) {
		log_printf(&hv->log, LOG_ERROR, "CPU %u: out of hypervisor memory (memory = %llu MiB)", index,
			   (unsigned long long)(hv->boot->hv_phys_size >> 20));
		return HV_ERR_NOMEM;
	}
	cpu->apic_id = bc->apic_id;

	long r = enter_vmx_root(hv, cpu, &ctl);
	if (r) {
		log_printf(&hv->log, LOG_ERROR, "CPU %u: VMXON failed", index);
		return r;
	}
	/* Nothing cached from before VMXON may be used (SDM 29.4.3.3). */
	invept_all_contexts();
	invvpid_all_contexts();
	/* SDM 25.11.3: VMCLEAR then VMPTRLD makes the VMCS current and clear. */
	if (!vmclear(cpu->vmcs_pa) || !vmptrld(cpu->vmcs_pa)) {
		leave_vmx();
		log_printf(&hv->log, LOG_ERROR, "CPU %u: VMCLEAR/VMPTRLD failed", index);
		return HV_ERR_VMCS;
	}
	u32 bad_field = vmcs_setup_linux(hv, cpu, bc);
	if (bad_field) {
		log_printf(&hv->log, LOG_ERROR, "CPU %u: VMWRITE of field %#x refused (VM-instruction error %u)", index,
			   bad_field, vmcs_read32(VMCS_VM_INSTRUCTION_ERROR));
		leave_vmx();
		return HV_ERR_VMCS;
	}
	/* Published before the launch: from now on other CPUs may send it requests. */
	__atomic_store_n(&hv->cpus[index], cpu, __ATOMIC_RELEASE);
	__atomic_add_fetch(&hv->cpus_up, 1, __ATOMIC_RELEASE);
	log_printf(&hv->log, LOG_INFO, "VMX on, CPU %u (APIC ID %u): pin %#x proc %#x proc2 %#x exit %#x entry %#x; launching Linux's CPU",
		   index, cpu->apic_id, hv->ctl.pinbased, hv->ctl.procbased, hv->ctl.procbased2, hv->ctl.exit, hv->ctl.entry);

	/* SDM 31.3 VMLAUNCH: on success the guest resumes in the trampoline. */
	__asm__ volatile("vmlaunch" ::: "cc", "memory");
	u32 err = vmcs_read32(VMCS_VM_INSTRUCTION_ERROR);
	log_printf(&hv->log, LOG_ERROR, "CPU %u: VMLAUNCH failed: VM-instruction error %u", index, err);
	__atomic_store_n(&hv->cpus[index], NULL, __ATOMIC_RELEASE);
	__atomic_sub_fetch(&hv->cpus_up, 1, __ATOMIC_RELEASE);
	cpu->regs = NULL;
	vmcs_dump(cpu);
	leave_vmx();
	return HV_ERR_VMLAUNCH;
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
