/* Where every VM exit enters C (from the backend's exit stub): the exit of
 * the vCPU this CPU ran, decoded by the backend and handled by the guest
 * code of its kind; then whatever vCPU is current is entered. */
#include "backend.h"
#include "core/smp.h"
#include "core/test_hooks.h"
#include "guest/dune_hypercall.h"
#include "guest/init_sipi.h"
#include "guest/linux_exits.h"

static void prepare_entry(struct hv_cpu *cpu);

void vmexit_handler(void)
{
	struct hv_cpu *cpu = this_cpu();
	struct vcpu *v = cpu->current;
	struct hv_exit e;
	arch_exit_decode(cpu, v, &e);
	if (v->kind == VCPU_DUNE)
		dune_vmexit(cpu, v, &e);
	else
		linux_vmexit(cpu, v, &e);
	prepare_entry(cpu);
	if (__atomic_load_n(&cpu->test_entry_delay_tsc, __ATOMIC_RELAXED))
		test_entry_delay(cpu); /* test_hooks = on: widens the entry window */
}

/* The last look before entering the current vCPU: the mailbox, an INIT
 * for this CPU where the backend emulates INIT/SIPI, and what
 * Linux's vCPU holds (given to Linux if it runs next; if a Dune context
 * runs, its run ends at once and Linux takes it then). serve_before_entry
 * is cleared first, so that an NMI from here on sets it again and the
 * entry stub comes back through vmentry_serve. */
static void prepare_entry(struct hv_cpu *cpu)
{
	__atomic_store_n(&cpu->serve_before_entry, 0, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST); /* the NMI handler runs on this CPU */
	smp_serve(cpu);
	if (ARCH_SIPI_IN_HOST && __atomic_load_n(&cpu->sipi_wait, __ATOMIC_ACQUIRE))
		init_sipi_before_entry(cpu); /* an emulated INIT: waits here for the SIPI */
	struct vcpu *v = cpu->current;
	if (v == &cpu->linux_vcpu)
		arch_vcpu_deliver_events(v);
	else if (cpu->linux_vcpu.nmi_pending || cpu->linux_vcpu.mce_pending)
		arch_vcpu_end_time_slice(cpu, v);
}

/* The entry stub found serve_before_entry set: an NMI came in root mode
 * after the last look (a request, or Linux's NMI), or a #MC held for Linux. */
void vmentry_serve(void) { prepare_entry(this_cpu()); }

void linux_vcpu_inject(struct hv_cpu *cpu, struct vcpu *v, u8 vector, bool has_error, u32 error_code)
{
	if (!arch_vcpu_inject_exception(v, vector, has_error, error_code)) {
		arch_vcpu_dump(cpu, v);
		hv_panic(cpu, "Linux triple fault: exception %u while delivering #DF", vector);
	}
}

/* The entry instruction itself failed. For a Dune vCPU Linux gets the
 * failure back; for Linux itself the machine stops. */
void vcpu_entry_instruction_failed(struct hv_cpu *cpu, u32 vm_instruction_error)
{
	struct vcpu *v = cpu->current;
	if (v->kind == VCPU_DUNE) {
		dune_entry_instruction_failed(cpu, v, vm_instruction_error);
		return;
	}
	arch_vcpu_dump(cpu, v);
	hv_panic(cpu, "VM entry of Linux failed, VM-instruction error %u", vm_instruction_error);
}
