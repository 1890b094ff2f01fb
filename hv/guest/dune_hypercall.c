/* Creating, mapping into, unmapping from and destroying Dune contexts. Every
 * argument is checked: handles and tokens (dune_ctx.c), guest-physical
 * addresses of the caller's structs, host-physical pages (Linux RAM only,
 * never the hypervisor's), sizes, permissions, and the table quota. */
#include "guest/dune_hypercall.h"

#include <string.h>

#include "arch/x86/arch.h"
#include "backend.h"
#include "core/guest_mem.h"
#include "core/smp.h"

u64 dune_ctx_pages(struct hv *hv)
{
	u64 pages = 0;
	for (unsigned i = 0; i < DUNEHV_CTX_MAX; i++)
		if (hv->dune.ctx[i].live)
			pages += DUNE_CTX_FIXED_PAGES + hv->dune.ctx[i].table_pages;
	return pages;
}

static void free_ctx_pages(struct hv *hv, struct dune_ctx *c)
{
	if (c->gpt_root)
		arch_gpt_free(hv, c);
	c->gpt_root = 0;
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
	    (cr.cr3 & ~0xfffull) >= (1ull << hv->phys_addr_bits))
		return -HV_EINVAL;

	int slot = dune_ctx_alloc(&hv->dune, cr.token, cr.account, cr.account_page_limit);
	if (slot < 0)
		return slot;
	struct dune_ctx *c = &hv->dune.ctx[slot];
	c->quota = cr.ept_page_quota;
	c->gpt_root = page_pool_alloc(&hv->pool);
	int r = c->gpt_root ? arch_dune_vcpu_create(cpu, c, &cr) : -HV_ENOMEM;
	if (r) {
		free_ctx_pages(hv, c);
		dune_ctx_release(&hv->dune, c);
		return r;
	}
	/* The TLB tag (VPID, ASID) and the tables' address may have served an
	 * earlier context: every CPU flushes them when the context first runs
	 * there (dune_run.c). */
	log_printf(&hv->log, LOG_DEBUG, "Dune context %u created (TLB tag %u, quota %llu pages)", (unsigned)slot, c->vcpu.tlb_tag,
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

/* After the context's tables lost or changed a translation: a flush here
 * (VMX: INVEPT; SVM: at the context's next VMRUN) and on the CPU it runs
 * or ran on last. Any other CPU flushes the context when it
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
	    (hpa & (size - 1)) || (gpa & (size - 1)) || gpa >= (1ull << hv->phys_addr_bits))
		return -HV_EINVAL;
	if ((unsigned)level > arch_gpt_max_level(hv))
		return -HV_EOPNOTSUPP;
	/* The page must be Linux's RAM: never the hypervisor's, never MMIO. */
	if (!guest_page_ok(hv->boot, hpa, size))
		return -HV_EFAULT;
	u32 access = HV_ACCESS_READ | ((flags & DUNEHV_MAP_WRITE) ? HV_ACCESS_WRITE : 0) |
		     ((flags & DUNEHV_MAP_EXEC) ? HV_ACCESS_EXEC : 0);
	smp_spin_lock(cpu, &c->lock);
	int r = arch_gpt_map(hv, c, gpa, hpa, (unsigned)level, access);
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
	u64 detached = 0;
	smp_spin_lock(cpu, &c->lock);
	u64 removed = arch_gpt_unmap(hv, c, gpa, size, &detached);
	u32 last_cpu = c->last_cpu;
	spin_unlock(&c->lock);
	/* No stale translation may survive on any CPU: shoot down before
	 * returning, and before the emptied tables can serve anyone else. */
	if (removed || detached) {
		shoot_down(cpu, c, last_cpu);
		__atomic_add_fetch(&hv->dune_shootdowns, 1, __ATOMIC_RELAXED);
	}
	if (detached) {
		smp_spin_lock(cpu, &c->lock);
		arch_gpt_free_detached(hv, c, detached);
		spin_unlock(&c->lock);
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
