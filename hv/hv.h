/* The hypervisor's state: one struct hv for the machine, one struct hv_cpu per
 * physical CPU (reached through the host GS base). No other globals. */
#ifndef HV_HV_H
#define HV_HV_H

#include "boot_info.h"
#include "dune_ctx.h"
#include "ept.h"
#include "include/dunehv/abi.h"
#include "log.h"
#include "page_pool.h"
#include "vmx_caps.h"

#define HV_LINUX_VPID 1

/* Guest general-purpose registers saved by the VM-exit stub (entry.asm), in
 * the order of the register numbers used by exit qualifications (SDM Table
 * 28-3): rax, rcx, rdx, rbx, rsp (unused: RSP lives in the VMCS), rbp, rsi,
 * rdi, r8..r15. */
struct guest_regs {
	u64 gpr[16];
};
enum gpr_index { GPR_RAX, GPR_RCX, GPR_RDX, GPR_RBX, GPR_RSP, GPR_RBP, GPR_RSI, GPR_RDI, GPR_R8, GPR_R9, GPR_R10 };
_Static_assert(sizeof(struct guest_regs) == sizeof(((struct dunehv_ctx_run *)0)->gpr), "run struct GPR order");

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

/* Host GDT selectors (SDM 26.2.3: host CS and TR must not be null). */
#define HOST_CS_SEL 0x08
#define HOST_DS_SEL 0x10
#define HOST_TR_SEL 0x18

struct hv;
struct dune_ctx;

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

struct hv_cpu {
	struct hv_cpu *self;      /* GS:0, see this_cpu() */
	struct hv *hv;
	u32 index;
	u8 launch_pending;        /* entry.asm: VMLAUNCH (not VMRESUME) the current VMCS */
	u32 apic_id;
	u64 vmxon_pa, vmcs_pa;    /* vmcs_pa: Linux's VMCS on this CPU */
	u64 stack_top;            /* host RSP on VM exit */
	u64 ist_stack_top;        /* NMI, #DF, #MC */
	/* State of the exit being handled. */
	struct guest_regs *regs;
	u32 exit_reason;
	u64 exit_qualification;
	bool nmi_pending;         /* Linux's NMI, taken by the hypervisor, to give to Linux */
	/* Cross-CPU requests (smp.c) */
	struct smp_mailbox mailbox;
	u64 nmi_ipis_sent;        /* atomic: bumped by senders before each NMI IPI */
	u64 nmi_ipis_seen;
	u64 requests_sent;        /* requests this CPU made to others */
	u32 stop_requested, stopped;
	/* INIT/SIPI (init_sipi.c) */
	u64 inits, sipis;
	struct exit_counters linux_exits, dune_exits;
	/* While a Dune context runs on this CPU (dune_run.c): the context, where
	 * its exit goes in Linux's memory, and Linux's state to return to. */
	struct dune_ctx *current_ctx;
	u64 run_gpa;
	struct guest_regs linux_regs;
	u64 linux_kernel_gs_base, linux_cr2;
	/* Host descriptor tables. */
	u64 gdt[8];
	struct tss64 tss;
	struct idt_gate idt[256];
};

struct hv {
	struct hv_boot_info *boot;
	struct hv_config cfg;
	struct page_pool pool;
	struct vmx_cpu_facts facts;
	struct vmx_controls ctl;
	struct mtrr_state mtrr;
	struct log_ring log;
	u64 linux_ept_pml4;
	u64 linux_eptp;
	struct ept_stats linux_ept_stats;
	u64 msr_bitmap_pa;        /* Linux's MSR bitmap, shared by all CPUs */
	u64 xcr0_supported;       /* CPUID.D.0 EDX:EAX */
	u32 cpu_count;            /* CPUs the loader starts (bi->cpu_count) */
	u32 cpus_up;              /* atomic: CPUs launched so far */
	bool initialized;         /* hv_init done (boot CPU) */
	struct hv_cpu *cpus[HV_MAX_CPUS];
	u64 hv_memory_violations; /* atomic */
	struct dune_ctx_table dune;
	u64 dune_msr_bitmap_pa;   /* shared by all Dune contexts */
	u64 dune_shootdowns;      /* atomic: unmaps that flushed a context's EPT */
	u64 dune_migrations;      /* atomic: runs that moved a context's VMCS to another CPU */
};

static inline struct hv_cpu *this_cpu(void)
{
	struct hv_cpu *c;
	__asm__ volatile("mov %%gs:0, %0" : "=r"(c));
	return c;
}

/* Physical <-> host-virtual. The host maps all physical memory 1:1 in the
 * lower half; the core image is also mapped at HV_VIRT_BASE. */
static inline void *phys_to_virt(u64 pa) { return (void *)(uintptr_t)pa; }
u64 hv_image_virt_to_phys(const void *va);

/* Stops the machine per on_panic after printing why; never returns. */
__attribute__((noreturn, format(printf, 2, 3))) void hv_panic(struct hv_cpu *cpu, const char *fmt, ...);

/* entry.asm */
void vmexit_entry(void);
extern const u64 host_exception_stubs[256];
int msr_safe_read(u32 msr, u64 *value);
int msr_safe_write(u32 msr, u64 value);

#endif
