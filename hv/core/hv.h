/* The hypervisor's state: one struct hv for the machine, one struct hv_cpu per
 * physical CPU (reached through the host GS base). No other globals. */
#ifndef HV_HV_H
#define HV_HV_H

#include "core/acpi_sleep.h"
#include "core/boot_info.h"
#include "core/vcpu.h"
#include "core/dune_ctx.h"
#include "include/dunehv/abi.h"
#include "core/log.h"
#include "core/page_pool.h"
#include "backend_types.h"

#define HV_LINUX_TLB_TAG 1 /* Linux's vCPUs' TLB tag: VMX VPID, SVM ASID */

struct __attribute__((packed)) tss64 {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3;
	u16 iomap_base;
};

struct __attribute__((packed, aligned(16))) idt_gate {
	u16 offset_low, selector;
	u8 ist, type_attr;
	u16 offset_mid;
	u32 offset_high, reserved;
};

/* Host IST stacks (TSS IST1..3): NMI, #DF, #MC. */
#define HOST_IST_NMI 1
#define HOST_IST_DF 2
#define HOST_IST_MC 3
#define HOST_IST_STACKS 3
#define HOST_IST_PAGES 4 /* per stack */

/* Host GDT selectors (SDM 26.2.3: host CS and TR must not be null). */
#define HOST_CS_SEL 0x08
#define HOST_DS_SEL 0x10
#define HOST_TR_SEL 0x18

struct hv;
struct dune_ctx;

/* Exits counted by the backend's reason code (VMX: basic exit reason), the
 * histogram the ABI's exit statistics report. */
struct exit_counters {
	u64 total;
	u64 count[DUNEHV_NR_EXIT_REASONS];
};

/* One CPU's mailbox for cross-CPU requests (smp.c). */
struct smp_mailbox {
	u32 owner_lock;           /* held by the requesting CPU for the round trip */
	u32 request;              /* enum smp_request; NONE once served */
	u64 arg;
	u32 done;                 /* set by the target when served */
};

/* One physical CPU. It runs one vCPU at a time (current): Linux's vCPU on
 * this CPU, or a Dune context's vCPU while Linux waits in DUNEHV_HC_CTX_RUN. */
struct hv_cpu {
	struct hv_cpu *self;      /* GS:0, see this_cpu() */
	struct vcpu *current;     /* GS:8, entry.asm: the vCPU entered next */
	/* GS:16, entry.asm: set by every NMI taken in root mode (and a #MC held
	 * for Linux); the entry path serves the mailbox and Linux's events
	 * again before entering (see vmentry_serve in core/vcpu_exit.c). */
	u32 serve_before_entry;
	struct arch_cpu arch;     /* GS:24: the backend's per-CPU part (VMX: its VMXON region) */
	struct hv *hv;
	u32 index;
	u32 apic_id;
	u64 stack_top;            /* host RSP on VM exit */
	/* One IST stack each for NMI, #DF and #MC (TSS IST1..3, SDM Vol. 3A
	 * 6.14.5): an NMI may come during the #MC handler and the other way
	 * round; on one shared stack the second would overwrite the first's
	 * frame, as Linux and KVM avoid the same way. */
	u64 ist_stack_top[HOST_IST_STACKS];
	struct vcpu linux_vcpu;   /* Linux's virtual CPU on this CPU */
	struct mtrr_state linux_mtrr; /* Linux's MTRRs on this CPU (core/mtrr.h) */
	/* While a Dune context runs here (dune_run.c): it, and where its exit
	 * goes in Linux's memory. */
	struct dune_ctx *running_ctx;
	u64 run_gpa;
	/* Cross-CPU requests (smp.c) */
	struct smp_mailbox mailbox;
	u64 nmi_ipis_sent;        /* atomic: bumped by senders before each NMI IPI */
	u64 nmi_ipis_seen;
	u64 requests_sent;        /* requests this CPU made to others */
	u32 stop_requested, stopped;
	/* INIT/SIPI (init_sipi.c) */
	u64 inits, sipis;
	/* Where the backend emulates them (SVM): SIPI_* of this CPU, atomic;
	 * the vector of a SIPI posted while it waits (SIPI_POSTED | vector). */
	u32 sipi_wait;
	u32 sipi_vector;
	u32 linux_icr_dest;       /* Linux's xAPIC ICR high half here (apic_icr.c) */
	/* test_hooks = on only (core/test_hooks.c): a delay in the entry window
	 * of this CPU's next VM entry, and whether it is under way. */
	u64 test_entry_delay_tsc; /* atomic */
	u32 test_in_entry_delay;  /* atomic */
	struct exit_counters exits[VCPU_NR_KINDS]; /* by the kind of vCPU that exited */
	/* Host descriptor tables. */
	u64 gdt[8];
	struct tss64 tss;
	struct idt_gate idt[256];
};

struct hv {
	struct hv_boot_info *boot;
	struct hv_config cfg;
	struct page_pool pool;
	struct arch_hv arch;      /* the backend's machine-wide part */
	struct mtrr_state mtrr;
	struct log_ring log;
	struct log_limit dune_entry_log_limit; /* failed VM entries of Dune contexts */
	struct log_limit icr_log_limit;        /* INIT/SIPI the hypervisor does not send (apic_icr.c) */
	unsigned phys_addr_bits;  /* CPUID.80000008:EAX[7:0], set by arch_hv_init */
	u64 xcr0_supported;       /* CPUID.D.0 EDX:EAX */
	u32 cpu_count;            /* CPUs the loader starts (bi->cpu_count) */
	u32 cpus_up;              /* atomic: CPUs launched so far */
	bool initialized;         /* hv_init done (boot CPU) */
	struct hv_cpu *cpus[HV_MAX_CPUS];
	u64 hv_memory_violations; /* atomic */
	struct dune_ctx_table dune;
	u64 dune_shootdowns;      /* atomic: unmaps that flushed a context's EPT */
	u64 dune_migrations;      /* atomic: runs that moved a context's VMCS to another CPU */
	struct acpi_sleep_guard acpi_sleep; /* the sleep registers Linux's I/O bitmaps trap */
	bool acpi_wake_pending;   /* atomic: a sleep was refused; WAK_STS reads set until Linux clears it */
	u64 acpi_sleeps_refused;  /* atomic */
	struct log_limit acpi_log_limit;
};

static inline struct hv_cpu *this_cpu(void)
{
	struct hv_cpu *c;
	__asm__ volatile("mov %%gs:0, %0" : "=r"(c));
	return c;
}

/* The CPU of that index once it is started (published), else NULL. */
static inline struct hv_cpu *hv_cpu_by_index(struct hv *hv, u64 index)
{
	return index < hv->cpu_count ? __atomic_load_n(&hv->cpus[index], __ATOMIC_ACQUIRE) : NULL;
}

/* Physical <-> host-virtual. The host maps all physical memory 1:1 in the
 * lower half; the core image is also mapped at HV_VIRT_BASE. */
static inline void *phys_to_virt(u64 pa) { return (void *)(uintptr_t)pa; }
u64 hv_image_virt_to_phys(const void *va);

/* Stops the machine per on_panic after printing why; never returns. */
__attribute__((noreturn, format(printf, 2, 3))) void hv_panic(struct hv_cpu *cpu, const char *fmt, ...);

/* Queues exception vector for Linux's vCPU v (arch_vcpu_inject_exception);
 * a fault Linux's own state made impossible to deliver (a triple fault)
 * stops the machine. core/vcpu_exit.c. */
void linux_vcpu_inject(struct hv_cpu *cpu, struct vcpu *v, u8 vector, bool has_error, u32 error_code);

/* Called by the backend's exit stub for every VM exit (core/vcpu_exit.c),
 * and when the entry instruction failed with the backend's error code. */
void vmexit_handler(void);
/* Called by the exit stub before an entry when an NMI came in root mode. */
void vmentry_serve(void);
void vcpu_entry_instruction_failed(struct hv_cpu *cpu, u32 vm_instruction_error);

/* arch/x86/vmx/entry.asm, arch/x86/exc.asm */
void vmexit_entry(void);
extern const u64 host_exception_stubs[256];
int msr_safe_read(u32 msr, u64 *value);
int msr_safe_write(u32 msr, u64 value);

#endif
