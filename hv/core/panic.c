/* Clean stop of the whole machine: print why, then follow on_panic. */
#include <stdarg.h>

#include "arch/x86/arch.h"
#include "core/hv.h"
#include "core/smp.h"

static __attribute__((noreturn)) void stop_machine(enum on_panic how)
{
	cli();
	if (how == ON_PANIC_BOCHS_SHUTDOWN) {
		/* Bochs exits when "Shutdown" is written to port 0x8900. */
		for (const char *s = "Shutdown"; *s; s++)
			outb(0x8900, (u8)*s);
	} else if (how == ON_PANIC_RESET) {
		outb(0xcf9, 0x0e); /* PCI reset control register: hard reset */
		outb(0x64, 0xfe);  /* keyboard controller reset as a fallback */
	}
	for (;;)
		hlt();
}

void hv_panic(struct hv_cpu *cpu, const char *fmt, ...)
{
	struct hv *hv = cpu->hv;
	va_list ap;
	/* Every other CPU stops first (NMI), then this one says why. */
	__atomic_store_n(&hv->log.panicking, 1, __ATOMIC_RELAXED);
	smp_stop_others(cpu);
	va_start(ap, fmt);
	log_printf(&hv->log, LOG_ERROR, "PANIC on CPU %u (APIC ID %u); the other CPUs are stopped:", cpu->index,
		   cpu->apic_id);
	log_vprintf(&hv->log, LOG_ERROR, fmt, ap);
	va_end(ap);
	log_printf(&hv->log, LOG_ERROR, "stopped (on_panic = %s), after %llu VM exits", config_on_panic_name(hv->cfg.on_panic),
		   (unsigned long long)(cpu->exits[VCPU_LINUX].total + cpu->exits[VCPU_DUNE].total));
	stop_machine(hv->cfg.on_panic);
}
