/* Linux's local APIC writes where the backend intercepts them: the SVM
 * backend maps Linux's xAPIC page read-only in its nested page tables and
 * intercepts writes of the x2APIC ICR (MSR 0x830), because INIT must never
 * reach a CPU under the hypervisor and SVM drops a SIPI to a CPU that does
 * not wait for one (guest/init_sipi.c). Every write but the ICR's is
 * replayed to the real APIC as written; an ICR write (Intel SDM Vol. 3A
 * 11.6.1, x2APIC 11.12.9; AMD64 APM Vol. 2 16.5) sends its IPI as written,
 * except INIT and SIPI to a CPU under the hypervisor, which are emulated.
 * A CPU the loader has not launched yet (the firmware wakes the APs while
 * the loader launches them one by one) gets them natively. */
#include "guest/apic_icr.h"

#include "arch/x86/apic_icr.h"
#include "arch/x86/arch.h"
#include "backend.h"
#include "core/smp.h"
#include "guest/init_sipi.h"
#include "guest/linux_exits.h"

static void replay_register_write(u32 offset, u32 size, u64 value)
{
	volatile u8 *reg = lapic_mmio(rdmsr(MSR_IA32_APIC_BASE)) + offset;
	switch (size) {
	case 1: *(volatile u8 *)reg = (u8)value; break;
	case 2: *(volatile u16 *)reg = (u16)value; break;
	case 8: *(volatile u64 *)reg = value; break;
	default: *(volatile u32 *)reg = (u32)value; break;
	}
}

/* INIT or SIPI to each CPU the write reaches. */
static void emulate_init_sipi(struct hv_cpu *self, u32 low, u32 dest, bool x2apic, enum icr_action action)
{
	struct hv *hv = self->hv;
	for (u32 i = 0; i < hv->cpu_count; i++) {
		u32 id = hv->boot->cpus[i].apic_id;
		if (!icr_reaches(low, dest, x2apic, self->apic_id, id))
			continue;
		struct hv_cpu *target = hv_cpu_by_index(hv, i);
		if (!target)
			lapic_send_icr(low & ~(ICR_SHORTHAND_MASK | ICR_DEST_LOGICAL), id); /* not launched yet */
		else if (action == ICR_INIT)
			init_sipi_send_init(self, target);
		else
			init_sipi_send_sipi(target, (u8)(low & ICR_VECTOR_MASK));
	}
}

/* An ICR write other than a plain IPI: true if it was one (done here). */
static bool handle_init_sipi(struct hv_cpu *cpu, u32 low, u32 dest, bool x2apic)
{
	enum icr_action action = icr_action(low);
	switch (action) {
	case ICR_SEND:
		return false;
	case ICR_INIT_DEASSERT:
		return true; /* only a synchronization message on old CPUs (SDM 11.6.1) */
	case ICR_REFUSED:
		log_limited(&cpu->hv->log, &cpu->hv->icr_log_limit, rdtsc(), LOG_WARN,
			    "CPU %u: %s in logical destination mode (ICR %#x, destination %#x) not sent: dunehv resolves INIT/SIPI destinations by APIC ID only",
			    cpu->index, (low & ICR_DELIVERY_MASK) == ICR_DELIVERY_INIT ? "INIT" : "SIPI", low, dest);
		return true;
	case ICR_INIT:
	case ICR_STARTUP:
		emulate_init_sipi(cpu, low, dest, x2apic, action);
		return true;
	}
	return true;
}

void linux_apic_write(struct hv_cpu *cpu, struct vcpu *v, const struct hv_exit *e)
{
	u32 offset = e->apic_write.offset, size = e->apic_write.size;
	u64 value = e->apic_write.value;
	if (offset == XAPIC_ICR_LOW && size == 4) {
		/* The high half as Linux wrote it last (the hypervisor's own NMI
		 * IPIs from this CPU write it too, smp.c). */
		if (!handle_init_sipi(cpu, (u32)value, cpu->linux_icr_dest, false))
			lapic_send_icr((u32)value, cpu->linux_icr_dest);
	} else {
		if (offset == XAPIC_ICR_HIGH && size == 4)
			cpu->linux_icr_dest = (u32)value >> 24;
		replay_register_write(offset, size, value);
	}
	arch_vcpu_skip_instruction(v, e);
}

bool linux_x2apic_icr_write(struct hv_cpu *cpu, u64 value)
{
	/* Only in x2APIC mode, and never with bits the CPU reserves (SDM
	 * 11.12.9): the CPU itself says so for the IPIs sent as written. */
	if (!(rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_X2APIC_ENABLE))
		return false;
	if (handle_init_sipi(cpu, (u32)value, (u32)(value >> 32), true))
		return true;
	return !msr_safe_write(MSR_X2APIC_ICR, value);
}
