/* Creating, mapping into, unmapping from and destroying Dune contexts. Every
 * argument is checked: handles and tokens (dune_ctx.c), guest-physical
 * addresses of the caller's structs, host-physical pages (Linux RAM only,
 * never the hypervisor's), sizes, permissions, and the EPT quota. */
#include "guest/dune_hypercall.h"

#include <string.h>

#include "arch/x86/arch.h"
#include "arch/x86/msr_bitmap.h"
#include "arch/x86/vmx/ept.h"
#include "backend.h"
#include "core/guest_mem.h"
#include "core/smp.h"

int dune_setup(struct hv *hv)
{
	hv->dune_msr_bitmap_pa = page_pool_alloc(&hv->pool);
	if (!hv->dune_msr_bitmap_pa)
		return -HV_ENOMEM;
	/* Every MSR access exits except FS/GS base (SDM 25.6.9; dune-abi 1.8). */
	u8 *bitmap = phys_to_virt(hv->dune_msr_bitmap_pa);
	memset(bitmap, 0xff, PAGE_SIZE);
	for (u32 msr = MSR_IA32_FS_BASE; msr <= MSR_IA32_GS_BASE; msr++)
		msr_bitmap_set(bitmap, msr, true, true, false);
	return 0;
}

u64 dune_ctx_pages(struct hv *hv)
{
	u64 pages = 0;
	for (unsigned i = 0; i < DUNEHV_CTX_MAX; i++)
		if (hv->dune.ctx[i].live)
			pages += 2 + hv->dune.ctx[i].table_pages; /* VMCS, EPT root, tables */
	return pages;
}

static void free_ctx_pages(struct hv *hv, struct dune_ctx *c)
{
	if (c->ept_root)
		ept_free_tables(&hv->pool, c->ept_root);
	c->ept_root = 0;
	arch_dune_vcpu_free(hv, c);
}

s64 hc_ctx_create(struct hv_cpu *cpu, u64 gpa, u64 size)
{
	struct hv *hv = cpu->hv;
	struct dunehv_ctx_create cr;
	if (size != sizeof(cr))
		return -HV_EINVAL;
	if (!guest_buffer_ok(hv->boot, gpa, size))
		return -HV_EFAULT;
	memcpy(&cr, phys_to_virt(gpa), sizeof(cr));
	if (cr.flags || cr.ept_page_quota == 0 || cr.ept_page_quota > DUNEHV_CTX_MAX_EPT_PAGES ||
	    (cr.cr3 & ~0xfffull) >= (1ull << hv->facts.phys_addr_bits))
		return -HV_EINVAL;

	int slot = dune_ctx_alloc(&hv->dune, cr.token);
	if (slot < 0)
		return slot;
	struct dune_ctx *c = &hv->dune.ctx[slot];
	c->quota = cr.ept_page_quota;
	c->ept_root = page_pool_alloc(&hv->pool);
	int r = c->ept_root ? arch_dune_vcpu_create(cpu, c, &cr) : -HV_ENOMEM;
	if (r) {
		free_ctx_pages(hv, c);
		dune_ctx_release(&hv->dune, c);
		return r;
	}
	/* The VPID and EPTP may have served an earlier context: every CPU flushes
	 * them when the context first runs there (dune_run.c). */
	log_printf(&hv->log, LOG_DEBUG, "Dune context %u created (vpid %u, quota %llu pages)", (unsigned)slot, c->vcpu.arch.vpid,
		   (unsigned long long)c->quota);
	return (s64)dune_ctx_handle((unsigned)slot, c->generation);
}

static s64 map_checked(struct hv_cpu *cpu, struct dune_ctx *c, u64 gpa, u64 hpa_flags);

s64 hc_ctx_map(struct hv_cpu *cpu, u64 handle, u64 token, u64 gpa, u64 hpa_flags)
{
	struct hv *hv = cpu->hv;
	int err;
	struct dune_ctx *c = dune_ctx_get(&hv->dune, handle, token, &err);
	if (!c)
		return err;
	s64 r = map_checked(cpu, c, gpa, hpa_flags);
	dune_ctx_put(&hv->dune, c);
	return r;
}

/* After the context's EPT lost or changed a translation: INVEPT here and on
 * the CPU it runs or ran on last. Any other CPU flushes the context when it
 * arrives there (dune_run.c), so no stale translation survives anywhere. */
static void shoot_down(struct hv_cpu *cpu, struct dune_ctx *c, u32 last_cpu)
{
	arch_vcpu_flush_gpt(&c->vcpu);
	if (last_cpu != DUNE_CTX_NO_CPU && last_cpu != cpu->index && cpu->hv->cpus[last_cpu])
		smp_call(cpu, cpu->hv->cpus[last_cpu], SMP_REQ_FLUSH_GPT, (u64)(uintptr_t)&c->vcpu);
}

static s64 map_checked(struct hv_cpu *cpu, struct dune_ctx *c, u64 gpa, u64 hpa_flags)
{
	struct hv *hv = cpu->hv;
	u64 flags = hpa_flags & DUNEHV_MAP_FLAGS, hpa = hpa_flags & ~(u64)0xfff;
	int level = (flags & DUNEHV_MAP_1G) ? 3 : (flags & DUNEHV_MAP_2M) ? 2 : 1;
	u64 size = level == 3 ? SIZE_1G : level == 2 ? SIZE_2M : PAGE_SIZE;
	if (!(flags & DUNEHV_MAP_READ) || (hpa_flags & 0xfe0) || ((flags & DUNEHV_MAP_2M) && (flags & DUNEHV_MAP_1G)) ||
	    (hpa & (size - 1)) || (gpa & (size - 1)) || gpa >= (1ull << hv->facts.phys_addr_bits))
		return -HV_EINVAL;
	/* SDM 28.3.2: a 1 GiB EPT leaf needs IA32_VMX_EPT_VPID_CAP bit 17 */
	if (level == 3 && !hv->ctl.ept_1g)
		return -HV_EOPNOTSUPP;
	/* The page must be Linux's RAM: never the hypervisor's, never MMIO. */
	if (!guest_buffer_ok(hv->boot, hpa, size))
		return -HV_EFAULT;
	u64 bits = EPT_READ | ((flags & DUNEHV_MAP_WRITE) ? EPT_WRITE : 0) | ((flags & DUNEHV_MAP_EXEC) ? EPT_EXECUTE : 0) |
		   ((u64)MEMTYPE_WB << EPT_MEMTYPE_SHIFT) | EPT_IGNORE_PAT;
	smp_spin_lock(cpu, &c->lock);
	int r = ept_map_leaf(&hv->pool, c->ept_root, gpa, hpa, level, bits, &c->table_pages, c->quota);
	u32 last_cpu = c->last_cpu;
	spin_unlock(&c->lock);
	/* A replaced leaf may be cached with other rights (SDM 29.4.3.1). */
	if (!r)
		shoot_down(cpu, c, last_cpu);
	return r;
}

s64 hc_ctx_unmap(struct hv_cpu *cpu, u64 handle, u64 token, u64 gpa, u64 size)
{
	struct hv *hv = cpu->hv;
	int err;
	if (!size || gpa + size < gpa)
		return -HV_EINVAL;
	struct dune_ctx *c = dune_ctx_get(&hv->dune, handle, token, &err);
	if (!c)
		return err;
	smp_spin_lock(cpu, &c->lock);
	u64 removed = ept_unmap_range(phys_to_virt, c->ept_root, gpa, size);
	u32 last_cpu = c->last_cpu;
	spin_unlock(&c->lock);
	/* No stale translation may survive on any CPU: shoot down before returning. */
	if (removed) {
		shoot_down(cpu, c, last_cpu);
		__atomic_add_fetch(&hv->dune_shootdowns, 1, __ATOMIC_RELAXED);
	}
	dune_ctx_put(&hv->dune, c);
	return (s64)removed;
}

s64 hc_ctx_destroy(struct hv_cpu *cpu, u64 handle, u64 token)
{
	struct hv *hv = cpu->hv;
	int err;
	struct dune_ctx *c = dune_ctx_begin_destroy(&hv->dune, handle, token, &err);
	if (!c)
		return err;
	/* No new lookups; wait for calls and runs on other CPUs to drop theirs
	 * (a run ends at its next exit: the preemption timer bounds it). */
	while (dune_ctx_refs(&hv->dune, c) > 1) {
		smp_serve(cpu);
		cpu_relax();
	}
	/* Evicted from the CPU that may cache it before its pages are reused
	 * (VMX: VMCLEAR where the VMCS is active, SDM 25.11.3; Linux's vCPU
	 * stays loaded here). */
	smp_spin_lock(cpu, &c->lock);
	if (c->last_cpu != DUNE_CTX_NO_CPU && hv->cpus[c->last_cpu])
		smp_call(cpu, hv->cpus[c->last_cpu], SMP_REQ_EVICT_VCPU, (u64)(uintptr_t)&c->vcpu);
	u32 last_cpu = c->last_cpu;
	spin_unlock(&c->lock);
	shoot_down(cpu, c, last_cpu);
	free_ctx_pages(hv, c);
	dune_ctx_release(&hv->dune, c);
	return 0;
}
