/* SVM exit information (AMD64 APM Vol. 2 15.6 "#VMEXIT", Appendix C exit
 * codes) decoded into the core's struct hv_exit; the counters' slot of an
 * exit code is dunehv_svm_exit_slot's (include/dunehv/exit_names.h). */
#include "arch/x86/arch.h"
#include "arch/x86/ept.h"
#include "arch/x86/event_combine.h"
#include "arch/x86/guest_walk.h"
#include "arch/x86/insn_ea.h"
#include "arch/x86/svm/svm_defs.h"
#include "arch/x86/svm/svm_ops.h"
#include "arch/x86/vectors.h"
#include "backend.h"
#include "core/dune_ctx.h"
#include "core/guest_mem.h"
#include "core/hv.h"
#include "include/dunehv/exit_names.h"

/* The name of an exit code, from the counters' slot names. */
const char *arch_exit_reason_name(u32 code)
{
	return dunehv_exit_name(DUNEHV_VENDOR_SVM, dunehv_svm_exit_slot(code == 0xffffffffu ? SVM_EXIT_INVALID : code));
}

u32 arch_vendor(void) { return DUNEHV_VENDOR_SVM; }

static enum hv_exit_kind kind_of(u64 code)
{
	switch (code) {
	case SVM_EXIT_NMI: return HV_EXIT_HOST_NMI;
	case SVM_EXIT_INTR: return HV_EXIT_INTERRUPT;
	case SVM_EXIT_INIT: return HV_EXIT_INIT;
	case SVM_EXIT_SHUTDOWN: return HV_EXIT_TRIPLE_FAULT;
	case SVM_EXIT_CPUID: return HV_EXIT_CPUID;
	case SVM_EXIT_VMMCALL: return HV_EXIT_HYPERCALL;
	case SVM_EXIT_XSETBV: return HV_EXIT_XSETBV;
	case SVM_EXIT_INVD: return HV_EXIT_INVD;
	case SVM_EXIT_NPF: return HV_EXIT_GPA_FAULT;
	case SVM_EXIT_IOIO: return HV_EXIT_IO;
	case SVM_EXIT_IRET: return HV_EXIT_NMI_IRET; /* intercepted only while Linux's NMI handler runs (vcpu.c) */
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
		return HV_EXIT_VIRT_INSN;
	case SVM_EXIT_INVALID: return HV_EXIT_ENTRY_FAILED;
	default:
		if (code >= SVM_EXIT_EXCEPTION_BASE && code < SVM_EXIT_EXCEPTION_BASE + 32)
			return code == SVM_EXIT_EXCEPTION_BASE + VEC_MC ? HV_EXIT_MACHINE_CHECK : HV_EXIT_EXCEPTION;
		return HV_EXIT_UNKNOWN;
	}
}

/* The length of the instruction an intercept stopped at, without NRIPS:
 * the intercepts the backend sets stop at instructions of fixed length
 * (CPUID, RDMSR/WRMSR, INVD: 2 bytes; VMMCALL, XSETBV: 3; Linux puts no
 * prefixes on them). */
static u32 fixed_length(u64 code)
{
	switch (code) {
	case SVM_EXIT_CPUID:
	case SVM_EXIT_MSR:
	case SVM_EXIT_INVD:
		return 2;
	case SVM_EXIT_VMMCALL:
	case SVM_EXIT_XSETBV:
		return 3;
	default:
		return 0;
	}
}

/* Linux's guest-physical pages are the host's (identity), where RAM. */
static const void *linux_page(const void *boot, u64 gpa)
{
	return guest_buffer_ok(boot, gpa, PAGE_SIZE) ? phys_to_virt(gpa) : NULL;
}

/* A Dune context's are what its nested tables map them to (the pages its
 * process owns), where mapped. The tables stay while this CPU handles the
 * exit: an unmap frees them only after this CPU acknowledged its flush. */
static const void *dune_page(const void *ctx, u64 gpa)
{
	const struct dune_ctx *c = ctx;
	int level;
	u64 e = gpt_lookup(&npt_format, phys_to_virt, c->gpt_root, gpa, &level);
	if (!e)
		return NULL;
	u64 size = gpt_level_size(level);
	return phys_to_virt(((e & EPT_ADDR_MASK) & ~(size - 1)) | (gpa & (size - 1) & ~(PAGE_SIZE - 1)));
}

/* Reads up to len bytes at the guest's linear address gla, through its own
 * page tables and its guest-physical pages; how many it could. */
/* CR4.LA57: five-level paging in the guest's own tables. */
static bool guest_la57(const struct vmcb_save *g) { return g->cr4 & BIT(12); }

static unsigned read_guest(struct hv_cpu *cpu, struct vcpu *v, const struct vmcb_save *g, u64 gla, u8 *out, unsigned len)
{
	bool la57 = guest_la57(g);
	if (v->kind == VCPU_DUNE)
		return guest_read_linear(g->cr3, la57, gla, out, len, dune_page, cpu->running_ctx);
	return guest_read_linear(g->cr3, la57, gla, out, len, linux_page, cpu->hv->boot);
}

/* The instruction at RIP, for insn_ea.c, which decodes 64-bit code only:
 * false outside it (Linux's real-mode or 32-bit code) or where RIP's page
 * cannot be read. */
struct fetched_insn {
	u8 bytes[15];
	unsigned n;
	u64 regs[16];
	struct insn_regs r;
};

static bool fetch_insn(struct hv_cpu *cpu, struct vcpu *v, const struct vmcb_save *g, struct fetched_insn *f)
{
	if (!(g->efer & EFER_LMA) || !(g->cs.attrib & SVM_ATTRIB_L))
		return false;
	f->n = read_guest(cpu, v, g, g->rip, f->bytes, sizeof(f->bytes));
	for (unsigned i = 0; i < 16; i++)
		f->regs[i] = v->regs.gpr[i];
	f->regs[GPR_RSP] = g->rsp;
	f->r = (struct insn_regs){.gpr = f->regs, .rip = g->rip, .fs_base = g->fs.base, .gs_base = g->gs.base};
	return f->n > 0;
}

/* A nested page fault gives no linear address (APM 15.25.6). For a data
 * access it is found from the faulting instruction (decoded by insn_ea.c),
 * for a fetch from RIP (the page of RIP or the next one, where the
 * instruction crosses into it), so that the guest gets the #PF with CR2
 * that VMX's exit qualification allows (guest/linux_exits.c, and dune.ko
 * for a Dune process). */
static void recover_linear_address(struct hv_cpu *cpu, struct vcpu *v, const struct vmcb_save *g, struct hv_exit *e)
{
	if (e->fault.access & HV_ACCESS_EXEC) {
		u64 page = e->fault.gpa & ~(PAGE_SIZE - 1), gpa, la = g->rip & ~(PAGE_SIZE - 1);
		bool la57 = guest_la57(g);
		const void *ctx = cpu->running_ctx;
		for (unsigned i = 0; i < 2 && v->kind == VCPU_DUNE; i++, la += PAGE_SIZE) {
			if (!guest_walk(g->cr3, la57, la, dune_page, ctx, &gpa) && (gpa & ~(PAGE_SIZE - 1)) == page) {
				e->fault.gla = la | (e->fault.gpa & (PAGE_SIZE - 1));
				e->fault.access |= HV_FAULT_GLA_VALID;
				return;
			}
		}
		return;
	}
	struct fetched_insn f;
	u64 gla;
	if (fetch_insn(cpu, v, g, &f) &&
	    !insn_memory_address(f.bytes, f.n, &f.r, e->fault.access & HV_ACCESS_WRITE, &gla)) {
		e->fault.gla = gla;
		e->fault.access |= HV_FAULT_GLA_VALID;
	}
}

/* Linux's write of its xAPIC page, which its NPT maps read-only (setup.c):
 * the store is decoded (insn_ea.c) so that the core can replay it or, for
 * the ICR, emulate INIT/SIPI (guest/apic_icr.c). Only 64-bit code is
 * decoded (Linux and the firmware write the APIC from long mode); any other
 * write stays a refused access (#GP for Linux, logged). */
static bool decode_apic_write(struct hv_cpu *cpu, struct vcpu *v, const struct vmcb_save *g, struct hv_exit *e)
{
	if (v->kind != VCPU_LINUX || (e->fault.gpa & ~(PAGE_SIZE - 1)) != cpu->hv->arch.apic_page ||
	    (e->fault.access & (HV_ACCESS_WRITE | HV_FAULT_PAGE_WALK)) != HV_ACCESS_WRITE)
		return false;
	struct fetched_insn f;
	struct insn_store st;
	if (!fetch_insn(cpu, v, g, &f) || insn_store(f.bytes, f.n, &f.r, &st))
		return false;
	e->kind = HV_EXIT_APIC_WRITE;
	e->counter = DUNEHV_SVM_SLOT_APIC_WRITE;
	e->apic_write.offset = (u32)(e->fault.gpa & (PAGE_SIZE - 1));
	e->apic_write.size = st.size;
	e->apic_write.value = st.value;
	e->instruction_length = st.length;
	return true;
}

/* Upstream libdune's system call is VMCALL (0F 01 C1), #UD on AMD: in a
 * Dune context it is the hypercall, as is VMMCALL (0F 01 D9, which its own
 * intercept catches first). Any other #UD is the process's. */
static bool is_hypercall_insn(struct hv_cpu *cpu, struct vcpu *v, const struct vmcb_save *g)
{
	u8 b[3];
	return read_guest(cpu, v, g, g->rip, b, sizeof(b)) == sizeof(b) && b[0] == 0x0f && b[1] == 0x01 &&
	       (b[2] == 0xc1 || b[2] == 0xd9);
}

void arch_exit_decode(struct hv_cpu *cpu, struct vcpu *v, struct hv_exit *e)
{
	struct vmcb *vmcb = phys_to_virt(v->arch.vmcb_pa);
	struct vmcb_control *c = &vmcb->control;
	u64 code = c->exit_code;
	*e = (struct hv_exit){
		.kind = kind_of(code),
		.vendor_reason = (u32)code,
		.counter = (u16)dunehv_svm_exit_slot(code),
		.vendor_qualification = c->exit_info1,
	};
	if (e->kind == HV_EXIT_ENTRY_FAILED)
		return; /* VMRUN refused the state (15.5.1): nothing ran, EVENTINJ as it was */
	/* APM 15.20: an event the exit interrupted is delivered again at the
	 * next entry; the one injected at this entry went in. */
	c->event_inj = (c->exit_int_info & EVENT_VALID) ? c->exit_int_info : 0;
	c->tlb_control = TLB_CONTROL_NOTHING; /* a flush the handlers ask for sets it again (vcpu.c) */
	if (code == SVM_EXIT_IOIO) {
		e->instruction_length = (u32)(c->exit_info2 - vmcb->save.rip); /* EXITINFO2 is the next RIP (15.10.2) */
	} else if (cpu->hv->arch.ctl.nrips && c->next_rip > vmcb->save.rip) {
		e->instruction_length = (u32)(c->next_rip - vmcb->save.rip);
	} else {
		e->instruction_length = fixed_length(code);
	}
	if (code == SVM_EXIT_MSR) {
		e->kind = c->exit_info1 ? HV_EXIT_MSR_WRITE : HV_EXIT_MSR_READ;
	} else if (code == SVM_EXIT_EXCEPTION_BASE + VEC_DB && v->kind == VCPU_LINUX && v->arch.nmi_iret_stepping) {
		e->kind = HV_EXIT_NMI_IRET; /* the single step past the IRET of Linux's NMI handler (vcpu.c) */
	} else if (code == SVM_EXIT_EXCEPTION_BASE + VEC_UD && v->kind == VCPU_DUNE &&
		   is_hypercall_insn(cpu, v, &vmcb->save)) {
		e->kind = HV_EXIT_HYPERCALL;
		e->instruction_length = 3;
	} else if (e->kind == HV_EXIT_EXCEPTION || e->kind == HV_EXIT_MACHINE_CHECK) {
		/* 15.12: EXITINFO1 holds the error code of the exceptions that have one. */
		u8 vector = (u8)(code - SVM_EXIT_EXCEPTION_BASE);
		e->exception.vector = vector;
		e->exception.has_error = exception_has_error_code(vector);
		e->exception.error_code = e->exception.has_error ? (u32)c->exit_info1 : 0;
	} else if (e->kind == HV_EXIT_GPA_FAULT) {
		/* 15.25.6: EXITINFO1 is a #PF error code, EXITINFO2 the guest-physical address; no linear address. */
		u64 q = c->exit_info1;
		e->fault.gpa = c->exit_info2;
		e->fault.access = (q & NPF_FETCH) ? HV_ACCESS_EXEC : (q & NPF_WRITE) ? HV_ACCESS_WRITE : HV_ACCESS_READ;
		if (q & NPF_IN_WALK)
			e->fault.access |= HV_FAULT_PAGE_WALK;
		if (decode_apic_write(cpu, v, &vmcb->save, e))
			return;
		if (!(q & NPF_IN_WALK) &&
		    (v->kind == VCPU_DUNE || (!(e->fault.access & HV_ACCESS_EXEC) && vmcb->save.cpl == 0)))
			recover_linear_address(cpu, v, &vmcb->save, e);
	} else if (e->kind == HV_EXIT_IO) {
		u64 q = c->exit_info1;
		e->io.port = (u16)(q >> 16);
		e->io.size = (q & BIT(IOIO_SIZE_SHIFT)) ? 1 : (q & BIT(IOIO_SIZE_SHIFT + 1)) ? 2 : 4;
		e->io.in = q & IOIO_IN;
		e->io.string = q & IOIO_STRING;
	}
}
