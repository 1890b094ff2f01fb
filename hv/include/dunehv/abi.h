/*
 * dunehv hypercall ABI between Linux (guest ring 0) and the hypervisor.
 *
 * Shared by the hypervisor (hv/), the Linux side (linux-shim/, tests/guest/) and
 * user space (CPUID leaves only). Plain C, no dependencies besides fixed-width
 * integer types.
 *
 * Calling convention (Linux ring 0 only; ring 1..3 gets #UD):
 *   VMCALL with RAX = DUNEHV_HC_* function, arguments in RDI, RSI, RDX, R10.
 *   Result in RAX: >= 0 on success, a negative Linux errno value on failure.
 *   Guest buffers are passed by guest-physical address and must lie entirely in
 *   guest RAM outside the hypervisor's own memory, else -EFAULT.
 *
 * CPUID leaves (any ring):
 *   0x40000000: EAX = highest dunehv leaf, EBX:ECX:EDX = "DuneHV\0\0\0\0\0\0"
 *   0x40000001: EAX = DUNEHV_ABI_VERSION
 */
#ifndef DUNEHV_ABI_H
#define DUNEHV_ABI_H

#ifdef __KERNEL__
#include <linux/types.h>
typedef __u64 dunehv_u64;
typedef __u32 dunehv_u32;
#else
#include <stdint.h>
typedef uint64_t dunehv_u64;
typedef uint32_t dunehv_u32;
#endif

/* ABI version: major in bits 31..16, minor in bits 15..0. */
/* 2.0: the run struct reports backend-neutral exits (fault_*, vector,
 * vendor_*), no VMX exit qualification or interruption information.
 * 2.1: DUNEHV_CTX_EXIT_MACHINE_CHECK.
 * 2.2: the test hooks DUNEHV_HC_TEST_ENTRY_DELAY and _WINDOW_KICK.
 * 2.3: the test hook DUNEHV_HC_TEST_HOST_MTRR. */
#define DUNEHV_ABI_MAJOR 2
#define DUNEHV_ABI_MINOR 5
#define DUNEHV_ABI_VERSION ((DUNEHV_ABI_MAJOR << 16) | DUNEHV_ABI_MINOR)

#define DUNEHV_CPUID_BASE      0x40000000u
#define DUNEHV_CPUID_VERSION   0x40000001u
#define DUNEHV_CPUID_MAX_LEAF  DUNEHV_CPUID_VERSION
/* "DuneHV" in EBX, ECX, EDX (little-endian), zero padded. */
#define DUNEHV_CPUID_SIG_EBX   0x656e7544u /* "Dune" */
#define DUNEHV_CPUID_SIG_ECX   0x00005648u /* "HV\0\0" */
#define DUNEHV_CPUID_SIG_EDX   0x00000000u

/* Hypercall function numbers (RAX). The high half tags them as dunehv calls. */
#define DUNEHV_HC_BASE         0x44480000u /* 'D' 'H' */
/* () -> DUNEHV_ABI_VERSION */
#define DUNEHV_HC_VERSION      (DUNEHV_HC_BASE + 0)
/* (gpa of struct dunehv_info, size) -> bytes written */
#define DUNEHV_HC_INFO         (DUNEHV_HC_BASE + 1)
/* (gpa of buffer, size, position) -> bytes copied; RDX out = position of the
 * first byte copied (later than the requested one if the ring overwrote it). */
#define DUNEHV_HC_LOG_READ     (DUNEHV_HC_BASE + 2)
/* (gpa of struct dunehv_exit_stats, size) -> bytes written (a prefix if short) */
#define DUNEHV_HC_EXIT_STATS   (DUNEHV_HC_BASE + 3)
/* ABI 1.2: (cpu index, gpa of struct dunehv_cpu_stats, size) -> bytes
 * written (a prefix if short); -EINVAL for a CPU that is not up. */
#define DUNEHV_HC_CPU_STATS    (DUNEHV_HC_BASE + 4)

/* ABI 2.2, test hooks: only with `test_hooks = on` in dunehv.cfg, -EPERM
 * otherwise. They widen a CPU's entry window (after its last look at its
 * mailbox, before VM entry) on purpose, to show that what arrives there is
 * not left for a later exit. */
/* (cpu index, delay in TSC ticks) -> 0: that CPU's next VM entry waits that
 * long in its entry window; -EINVAL for a CPU that is not up */
#define DUNEHV_HC_TEST_ENTRY_DELAY (DUNEHV_HC_BASE + 0x20)
/* (cpu index, kind, timeout in TSC ticks): waits until that CPU (not the
 * caller's) is in its widened entry window, then sends it what kind names.
 * DUNEHV_TEST_KICK_REQUEST: a cross-CPU request; -> TSC ticks from posting
 * it to its acknowledgement, -ETIMEDOUT if none came within the timeout.
 * DUNEHV_TEST_KICK_NMI: an NMI as Linux would send it, for Linux on that
 * CPU; -> 0 once sent. -ETIMEDOUT if the CPU never reached the window. */
#define DUNEHV_HC_TEST_WINDOW_KICK (DUNEHV_HC_BASE + 0x21)
/* ABI 2.3: (MSR number) -> that MTRR MSR's value on the calling CPU as the
 * hypervisor's own accesses see it (the real MSR, not Linux's copy);
 * -EINVAL for an MSR that is no MTRR of this CPU. */
#define DUNEHV_HC_TEST_HOST_MTRR (DUNEHV_HC_BASE + 0x22)
#define DUNEHV_TEST_KICK_REQUEST 0
#define DUNEHV_TEST_KICK_NMI     1

/*
 * Dune contexts: VMX non-root contexts (own VMCS, EPT and VPID) that Linux's
 * /dev/dune module creates for its processes. Every call names the context by
 * its handle and the owner token given at creation (-EPERM if it differs).
 * The context's EPT starts empty; Linux maps its process's pages into it.
 */
/* (gpa of struct dunehv_ctx_create, size) -> handle > 0 */
#define DUNEHV_HC_CTX_CREATE   (DUNEHV_HC_BASE + 0x10)
/* (handle, token, gpa of struct dunehv_ctx_run) -> 0; runs the context until
 * an exit Linux must handle, described in the struct */
#define DUNEHV_HC_CTX_RUN      (DUNEHV_HC_BASE + 0x11)
/* (handle, token, gpa, hpa | DUNEHV_MAP_* flags) -> 0: maps one page */
#define DUNEHV_HC_CTX_MAP      (DUNEHV_HC_BASE + 0x12)
/* (handle, token, gpa, size) -> 0: removes every translation in the range */
#define DUNEHV_HC_CTX_UNMAP    (DUNEHV_HC_BASE + 0x13)
/* (handle, token) -> 0: frees the context and all its pages */
#define DUNEHV_HC_CTX_DESTROY  (DUNEHV_HC_BASE + 0x14)

#define DUNEHV_MAP_READ   0x1u
#define DUNEHV_MAP_WRITE  0x2u
#define DUNEHV_MAP_EXEC   0x4u
#define DUNEHV_MAP_2M     0x8u   /* a 2 MiB page: gpa and hpa 2 MiB aligned */
#define DUNEHV_MAP_1G     0x10u  /* ABI 1.1: a 1 GiB page, aligned; -EOPNOTSUPP without 1 GiB EPT pages */
#define DUNEHV_MAP_FLAGS  0x1fu

#define DUNEHV_CTX_MAX            256   /* live contexts in the machine */
#define DUNEHV_CTX_MAX_EPT_PAGES  8192  /* per-context EPT table quota ceiling */

struct dunehv_ctx_create {
	dunehv_u64 cr3;               /* guest CR3 (guest-physical) */
	dunehv_u64 rip, rsp, rflags;
	dunehv_u64 fs_base, gs_base;
	dunehv_u64 token;             /* owner token, required by every later call */
	dunehv_u32 ept_page_quota;    /* EPT table pages this context may use */
	dunehv_u32 flags;             /* 0 */
	/* ABI 2.4: the account whose pages (tables, and 2 per context) this
	 * context counts against (dune.ko: the uid), and its limit, which
	 * every creation for the account sets (0: none) */
	dunehv_u32 account;
	dunehv_u32 account_page_limit;
};

/* Exit kinds reported by DUNEHV_HC_CTX_RUN. */
#define DUNEHV_CTX_EXIT_SYSCALL    1 /* hypercall at CPL 0: Linux system call in RAX, args */
#define DUNEHV_CTX_EXIT_FAULT      2 /* guest-physical fault at fault_gpa (not in the context's EPT) */
#define DUNEHV_CTX_EXIT_INTERRUPT  3 /* external interrupt or NMI for Linux: run again */
#define DUNEHV_CTX_EXIT_EXCEPTION  4 /* #DB or #BP: vector, instruction_length */
#define DUNEHV_CTX_EXIT_UNHANDLED  5 /* any other exit; vendor_reason says which */
#define DUNEHV_CTX_EXIT_MACHINE_CHECK 6 /* (ABI 2.1) a machine check in the context: Linux's handler runs it */

/* fault_access of DUNEHV_CTX_EXIT_FAULT */
#define DUNEHV_ACCESS_READ         0x1u
#define DUNEHV_ACCESS_WRITE        0x2u
#define DUNEHV_ACCESS_EXEC         0x4u
#define DUNEHV_FAULT_GLA_VALID     0x10u /* fault_gla is the linear address accessed */
#define DUNEHV_FAULT_PAGE_WALK     0x20u /* the page walk for fault_gla faulted, not the access */

/* vendor: what vendor_reason and vendor_qualification number */
#define DUNEHV_VENDOR_VMX          1 /* basic VM-exit reason (SDM Vol. 3C Appendix C), exit qualification */
#define DUNEHV_VENDOR_SVM          2 /* (ABI 2.5) SVM exit code (AMD64 APM Vol. 2 Appendix C), EXITINFO1 */

/* In: the registers to run with. Out: the registers and the exit. */
struct dunehv_ctx_run {
	dunehv_u64 gpr[16];           /* rax rcx rdx rbx (rsp) rbp rsi rdi r8..r15 */
	dunehv_u64 rip, rsp, rflags;
	dunehv_u32 exit;              /* DUNEHV_CTX_EXIT_* */
	dunehv_u32 cpl;
	dunehv_u64 fault_gpa, fault_gla; /* DUNEHV_CTX_EXIT_FAULT */
	dunehv_u32 fault_access;      /* DUNEHV_ACCESS_* | DUNEHV_FAULT_* */
	dunehv_u32 vector;            /* DUNEHV_CTX_EXIT_EXCEPTION */
	dunehv_u32 instruction_length; /* of the instruction that exited, where one did */
	dunehv_u32 vendor;            /* DUNEHV_VENDOR_* */
	/* DUNEHV_CTX_EXIT_UNHANDLED: the backend's exit code and its detail
	 * (upstream Dune reports the VMX reason with DUNE_RET_UNHANDLED_VMEXIT) */
	dunehv_u32 vendor_reason;
	dunehv_u32 reserved;
	dunehv_u64 vendor_qualification;
	/* In (ABI 1.1): an exception to raise in the context before its next
	 * instruction; the hypervisor clears it once queued. Only
	 * DUNEHV_INJECT_PAGE_FAULT exists: a #PF with inject_error_code (bits
	 * 0..4, SDM Vol. 3A 4.7) and CR2 = inject_cr2, for an access Linux does
	 * not allow (munmap'ed, or written after mprotect to read-only). A #PF
	 * raised while an event was being delivered becomes #DF (SDM Table 6-5);
	 * a third fault ends the run with DUNEHV_CTX_EXIT_UNHANDLED, vendor_reason
	 * 2 (VMX's triple fault). */
	dunehv_u32 inject;
	dunehv_u32 inject_error_code;
	dunehv_u64 inject_cr2;
};
#define DUNEHV_INJECT_NONE        0
#define DUNEHV_INJECT_PAGE_FAULT  1
#define DUNEHV_PF_ERROR_MASK      0x1fu

/* Exit statistics count exits by the backend's code (VMX: basic VM-exit
 * reason, SDM Vol. 3 Appendix C: 0..77; SVM: a slot per group of exit
 * codes, exit_names.h), a histogram of this many slots. */
#define DUNEHV_NR_EXIT_REASONS 80

struct dunehv_info {
	dunehv_u32 abi_version;
	dunehv_u32 nr_cpus;          /* CPUs under the hypervisor */
	dunehv_u64 hv_phys_base;     /* hypervisor memory, absent from Linux's EPT */
	dunehv_u64 hv_phys_size;
	dunehv_u64 log_size;         /* bytes in the log ring */
	dunehv_u64 log_head;         /* position one past the newest byte logged */
	dunehv_u64 pool_pages_total; /* hypervisor page pool */
	dunehv_u64 pool_pages_free;
	dunehv_u64 ctx_live;         /* Dune contexts */
	dunehv_u64 ctx_pages;        /* pages held by Dune contexts (VMCS, EPT tables) */
	dunehv_u64 pool_pages_reserved; /* ABI 2.4: pool pages Dune contexts' tables never take */
	dunehv_u64 spec_barriers;    /* ABI 2.4: DUNEHV_SPEC_* speculation barriers in use */
};

/* Speculation barriers at the hypervisor's switches (ABI 2.4; which ones
 * follow from the CPU and `mitigations` in dunehv.cfg). */
#define DUNEHV_SPEC_RSB_FILL   0x1u  /* the return stack buffer refilled at every VM exit */
#define DUNEHV_SPEC_IBPB       0x2u  /* IBPB when a Dune context leaves the CPU for Linux */
#define DUNEHV_SPEC_VERW       0x4u  /* VERW (CPU buffers cleared) before every VM entry */
#define DUNEHV_SPEC_L1D_FLUSH  0x8u  /* the L1 data cache flushed before every VM entry */
#define DUNEHV_SPEC_L1TF_OPEN  0x100u /* the CPU needs an L1D flush but has no IA32_FLUSH_CMD */

struct dunehv_exit_stats {
	dunehv_u32 nr_reasons;       /* DUNEHV_NR_EXIT_REASONS */
	dunehv_u32 vendor;           /* ABI 2.5: DUNEHV_VENDOR_* of the slots (0 before: VMX) */
	dunehv_u64 total_exits;
	dunehv_u64 hv_memory_violations; /* guest accesses into hypervisor memory */
	dunehv_u64 guest_tsc;            /* RDTSC at the moment of the call */
	dunehv_u64 count[DUNEHV_NR_EXIT_REASONS]; /* per basic exit reason, all CPUs */
	dunehv_u64 dune_total_exits;                  /* exits of Dune contexts */
	dunehv_u64 dune_count[DUNEHV_NR_EXIT_REASONS];
};

/* One CPU's counters (ABI 1.2). */
struct dunehv_cpu_stats {
	dunehv_u32 cpu;              /* hypervisor CPU index (0 = boot CPU) */
	dunehv_u32 apic_id;
	dunehv_u32 nr_reasons;       /* DUNEHV_NR_EXIT_REASONS */
	dunehv_u32 current_cpu;      /* the CPU the call ran on */
	dunehv_u64 total_exits;      /* Linux's exits on this CPU */
	dunehv_u64 dune_total_exits; /* Dune contexts' exits on this CPU */
	dunehv_u64 inits, sipis;     /* INIT and SIPI emulated for Linux on this CPU */
	dunehv_u64 nmi_ipis_received;   /* the hypervisor's cross-CPU requests taken */
	dunehv_u64 requests_sent;       /* cross-CPU requests this CPU made */
	dunehv_u64 dune_migrations;     /* machine-wide: context VMCSes moved between CPUs */
	dunehv_u64 dune_shootdowns;     /* machine-wide: unmaps that flushed a context's EPT */
	dunehv_u64 count[DUNEHV_NR_EXIT_REASONS];
	dunehv_u64 dune_count[DUNEHV_NR_EXIT_REASONS];
};

#endif /* DUNEHV_ABI_H */
