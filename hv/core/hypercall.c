/* dunehv hypercalls from Linux (see include/dunehv/abi.h). Every guest
 * buffer is checked against guest RAM and the hypervisor's own memory before
 * the host touches it through its identity map. */
#include "core/hypercall.h"

#include <string.h>

#include "arch/x86/arch.h"
#include "arch/x86/spec_barriers.h"
#include "backend.h"
#include "guest/dune_hypercall.h"
#include "core/guest_mem.h"
#include "core/test_hooks.h"

static s64 copy_to_guest(struct hv *hv, u64 gpa, u64 size, const void *src, u64 len)
{
	u64 n = MIN(size, len);
	if (!n)
		return 0;
	if (!guest_buffer_ok(hv->boot, gpa, n))
		return -HV_EFAULT;
	memcpy(phys_to_virt(gpa), src, n);
	return (s64)n;
}

static s64 hc_info(struct hv *hv, u64 gpa, u64 size)
{
	struct dunehv_info info = {
		.abi_version = DUNEHV_ABI_VERSION,
		.nr_cpus = __atomic_load_n(&hv->cpus_up, __ATOMIC_ACQUIRE),
		.hv_phys_base = hv->boot->hv_phys_base,
		.hv_phys_size = hv->boot->hv_phys_size,
		.log_size = LOG_RING_SIZE,
		.log_head = hv->log.head,
		.pool_pages_total = hv->pool.npages,
		.pool_pages_free = hv->pool.free_pages,
		.ctx_live = hv->dune.live,
		.ctx_pages = dune_ctx_pages(hv),
		.pool_pages_reserved = DUNE_POOL_RESERVE,
		.spec_barriers = spec_barrier_flags,
	};
	return copy_to_guest(hv, gpa, size, &info, sizeof(info));
}

static s64 hc_exit_stats(struct hv *hv, u64 gpa, u64 size)
{
	struct dunehv_exit_stats st = {.nr_reasons = DUNEHV_NR_EXIT_REASONS, .vendor = arch_vendor()};
	for (u32 c = 0; c < hv->cpu_count; c++) {
		const struct hv_cpu *cpu = __atomic_load_n(&hv->cpus[c], __ATOMIC_ACQUIRE);
		if (!cpu)
			continue;
		st.total_exits += cpu->exits[VCPU_LINUX].total;
		st.dune_total_exits += cpu->exits[VCPU_DUNE].total;
		for (unsigned i = 0; i < DUNEHV_NR_EXIT_REASONS; i++) {
			st.count[i] += cpu->exits[VCPU_LINUX].count[i];
			st.dune_count[i] += cpu->exits[VCPU_DUNE].count[i];
		}
	}
	st.hv_memory_violations = __atomic_load_n(&hv->hv_memory_violations, __ATOMIC_RELAXED);
	st.guest_tsc = rdtsc();
	return copy_to_guest(hv, gpa, size, &st, sizeof(st));
}

static s64 hc_cpu_stats(struct hv_cpu *self, u64 index, u64 gpa, u64 size)
{
	struct hv *hv = self->hv;
	const struct hv_cpu *cpu = hv_cpu_by_index(hv, index);
	if (!cpu)
		return -HV_EINVAL;
	/* Counters of a CPU are its own; read racily from another CPU, each is
	 * one aligned 64-bit load. */
	struct dunehv_cpu_stats st = {
		.cpu = cpu->index, .apic_id = cpu->apic_id, .nr_reasons = DUNEHV_NR_EXIT_REASONS,
		.current_cpu = self->index,
		.total_exits = cpu->exits[VCPU_LINUX].total, .dune_total_exits = cpu->exits[VCPU_DUNE].total,
		.inits = cpu->inits, .sipis = cpu->sipis, .nmi_ipis_received = cpu->nmi_ipis_seen,
		.requests_sent = cpu->requests_sent,
		.dune_migrations = __atomic_load_n(&hv->dune_migrations, __ATOMIC_RELAXED),
		.dune_shootdowns = __atomic_load_n(&hv->dune_shootdowns, __ATOMIC_RELAXED),
	};
	for (unsigned i = 0; i < DUNEHV_NR_EXIT_REASONS; i++) {
		st.count[i] = cpu->exits[VCPU_LINUX].count[i];
		st.dune_count[i] = cpu->exits[VCPU_DUNE].count[i];
	}
	return copy_to_guest(hv, gpa, size, &st, sizeof(st));
}

/* Copies log bytes in chunks through a bounce buffer: the ring lock is never
 * held while writing guest memory. */
static s64 hc_log_read(struct hv *hv, u64 gpa, u64 size, u64 *pos)
{
	char chunk[512];
	u64 done = 0, start = *pos;
	if (size && !guest_buffer_ok(hv->boot, gpa, size))
		return -HV_EFAULT;
	while (done < size) {
		u64 p = start + done;
		u64 n = log_read(&hv->log, &p, chunk, MIN(sizeof(chunk), size - done));
		if (done == 0)
			start = p; /* the ring may have dropped the requested start */
		if (!n)
			break;
		memcpy(phys_to_virt(gpa + done), chunk, n);
		done += n;
	}
	*pos = start;
	return (s64)done;
}

s64 hypercall_linux(struct hv_cpu *cpu, struct vcpu *v)
{
	struct guest_regs *r = &v->regs;
	struct hv *hv = cpu->hv;
	u64 a0 = r->gpr[GPR_RDI], a1 = r->gpr[GPR_RSI], a2 = r->gpr[GPR_RDX], a3 = r->gpr[GPR_R10];
	switch (r->gpr[GPR_RAX]) {
	case DUNEHV_HC_VERSION:
		return DUNEHV_ABI_VERSION;
	case DUNEHV_HC_INFO:
		return hc_info(hv, a0, a1);
	case DUNEHV_HC_LOG_READ:
		return hc_log_read(hv, a0, a1, &r->gpr[GPR_RDX]);
	case DUNEHV_HC_EXIT_STATS:
		return hc_exit_stats(hv, a0, a1);
	case DUNEHV_HC_CPU_STATS:
		return hc_cpu_stats(cpu, a0, a1, a2);
	case DUNEHV_HC_CTX_CREATE:
		return hc_ctx_create(cpu, a0, a1);
	case DUNEHV_HC_CTX_RUN:
		return hc_ctx_run(cpu, a0, a1, a2);
	case DUNEHV_HC_CTX_MAP:
		return hc_ctx_map(cpu, a0, a1, a2, a3);
	case DUNEHV_HC_CTX_UNMAP:
		return hc_ctx_unmap(cpu, a0, a1, a2, a3);
	case DUNEHV_HC_CTX_DESTROY:
		return hc_ctx_destroy(cpu, a0, a1);
	case DUNEHV_HC_TEST_ENTRY_DELAY:
		return hc_test_entry_delay(cpu, a0, a1);
	case DUNEHV_HC_TEST_WINDOW_KICK:
		return hc_test_window_kick(cpu, a0, a1, a2);
	case DUNEHV_HC_TEST_HOST_MTRR:
		return hc_test_host_mtrr(cpu, a0);
	default:
		return -HV_ENOSYS;
	}
}
