/* Machine checks the hypervisor takes, and how each reaches Linux, whose
 * handler owns the machine-check banks (SDM Vol. 3B 16.3.1.2 IA32_MCG_STATUS;
 * Vol. 3C 27.9 "Machine-Check Events during VM Entry").
 *
 * - In Linux's vCPU the exception bitmap leaves #MC alone: Linux's own IDT
 *   takes it, as on bare metal.
 * - One during VM entry of Linux's vCPU (exit reason 41), or one taken in
 *   VMX root operation that the hypervisor can return from (RIPV), is held
 *   for Linux's vCPU and injected at its next entry.
 * - One in a Dune context (the bitmap intercepts #MC there) ends the run
 *   with DUNEHV_CTX_EXIT_MACHINE_CHECK: dune.ko runs Linux's handler as for
 *   a fault in the process's user mode (as KVM does for its guests).
 * - One in root operation without RIPV cannot be returned from: panic.
 * Pure: the injection state is given as an interruption-information word. */
#ifndef HV_X86_MACHINE_CHECK_H
#define HV_X86_MACHINE_CHECK_H

#include "core/types.h"

#define MSR_IA32_MCG_STATUS 0x17a
#define MCG_STATUS_RIPV (1ull << 0) /* restart IP valid: the interrupted code can go on */
#define MCG_STATUS_EIPV (1ull << 1) /* error IP valid: the interrupted instruction caused it */
#define MCG_STATUS_MCIP (1ull << 2) /* machine check in progress (cleared by Linux's handler) */

enum machine_check_origin {
	MC_IN_ROOT,        /* taken in VMX root operation, on the host IDT */
	MC_ENTERING_LINUX, /* during VM entry of Linux's vCPU (exit reason 41) */
	MC_IN_DUNE,        /* in a Dune context, or during its VM entry */
};

enum machine_check_route {
	MC_PANIC,          /* the hypervisor cannot return to where it was */
	MC_HOLD_FOR_LINUX, /* inject #MC into Linux's vCPU at its next entry */
	MC_END_DUNE_RUN,   /* the run ends with DUNEHV_CTX_EXIT_MACHINE_CHECK */
};

/* Where a machine check goes. Only one taken in root operation depends on
 * IA32_MCG_STATUS: without RIPV the hypervisor cannot go on. Those in a
 * guest are Linux's to judge, whatever their status says. */
enum machine_check_route machine_check_route(enum machine_check_origin origin, u64 mcg_status);

enum machine_check_delivery {
	MC_DELIVER_NOW,         /* inject #MC at this entry */
	MC_DELIVER_AFTER_EVENT, /* an event already queued goes first: #MC at the next exit */
	MC_DELIVER_DROP,        /* the CPU waits for SIPI and takes no event (SDM 25.4.2) */
};

/* How a #MC held for Linux's vCPU goes in, given the event the next entry
 * already injects (interruption-information word, SDM Vol. 3C 25.8.3) and
 * whether the vCPU waits for SIPI. Nothing queued is ever replaced: a fault
 * replaced would be re-raised, but an interrupt or NMI would be lost. */
enum machine_check_delivery machine_check_delivery(u32 queued_info, bool waiting_for_sipi);

#endif
