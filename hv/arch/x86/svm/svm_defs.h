/* AMD SVM definitions: the VMCB (AMD64 APM Vol. 2, Appendix B "Layout of
 * VMCB"), intercept bits (15.9-15.14), exit codes (Appendix C "SVM Intercept
 * Exit Codes"), event injection (15.20), the MSR and I/O permission maps
 * (15.10-15.11) and the SVM MSRs (15.30). */
#ifndef HV_SVM_DEFS_H
#define HV_SVM_DEFS_H

#include "core/types.h"

/* Table B-1: control area, offsets 0x000-0x3ff. */
struct __attribute__((packed)) vmcb_control {
	u32 intercept_cr;          /* 0x000: reads in 15:0, writes in 31:16 */
	u32 intercept_dr;          /* 0x004 */
	u32 intercept_exceptions;  /* 0x008: one bit per vector */
	u32 intercept_misc1;       /* 0x00c: INTERCEPT1_* */
	u32 intercept_misc2;       /* 0x010: INTERCEPT2_* */
	u32 intercept_misc3;       /* 0x014 */
	u8 reserved_018[0x03c - 0x018];
	u16 pause_filter_threshold; /* 0x03c */
	u16 pause_filter_count;    /* 0x03e */
	u64 iopm_base_pa;          /* 0x040 */
	u64 msrpm_base_pa;         /* 0x048 */
	u64 tsc_offset;            /* 0x050 */
	u32 guest_asid;            /* 0x058 */
	u8 tlb_control;            /* 0x05c: TLB_CONTROL_* */
	u8 reserved_05d[3];
	u64 v_intr;                /* 0x060: V_TPR, V_IRQ, V_INTR_MASKING ... */
	u64 interrupt_shadow;      /* 0x068: bit 0 */
	u64 exit_code;             /* 0x070 */
	u64 exit_info1;            /* 0x078 */
	u64 exit_info2;            /* 0x080 */
	u64 exit_int_info;         /* 0x088: EXITINTINFO, the EVENTINJ format */
	u64 np_control;            /* 0x090: bit 0 NP_ENABLE */
	u64 avic_apic_bar;         /* 0x098 */
	u64 ghcb_pa;               /* 0x0a0 */
	u64 event_inj;             /* 0x0a8: EVENTINJ */
	u64 n_cr3;                 /* 0x0b0: nested page table root */
	u64 virt_ext;              /* 0x0b8: LBR virtualization, VMSAVE/VMLOAD virtualization */
	u32 clean_bits;            /* 0x0c0 */
	u32 reserved_0c4;
	u64 next_rip;              /* 0x0c8: with NRIPS (15.7.1) */
	u8 insn_bytes_fetched;     /* 0x0d0: with decode assists (15.33) */
	u8 insn_bytes[15];
	u8 reserved_0e0[0x400 - 0x0e0];
};

/* Table B-2 segment format; attrib packs descriptor bits 47:40 (type, S,
 * DPL, P) into 7:0 and bits 55:52 (AVL, L, D/B, G) into 11:8. */
#define SVM_ATTRIB_L BIT(9) /* 64-bit code segment */
struct __attribute__((packed)) vmcb_segment {
	u16 selector;
	u16 attrib;
	u32 limit;
	u64 base;
};

/* Table B-2: state save area, offsets 0x400-0xfff (relative 0x000-). */
struct __attribute__((packed)) vmcb_save {
	struct vmcb_segment es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr; /* 0x000-0x09f */
	u8 reserved_0a0[0x0cb - 0x0a0];
	u8 cpl;                    /* 0x0cb */
	u32 reserved_0cc;
	u64 efer;                  /* 0x0d0 */
	u8 reserved_0d8[0x148 - 0x0d8];
	u64 cr4;                   /* 0x148 */
	u64 cr3;                   /* 0x150 */
	u64 cr0;                   /* 0x158 */
	u64 dr7;                   /* 0x160 */
	u64 dr6;                   /* 0x168 */
	u64 rflags;                /* 0x170 */
	u64 rip;                   /* 0x178 */
	u8 reserved_180[0x1d8 - 0x180];
	u64 rsp;                   /* 0x1d8 */
	u64 s_cet, ssp, isst_addr; /* 0x1e0 */
	u64 rax;                   /* 0x1f8 */
	u64 star;                  /* 0x200 */
	u64 lstar;                 /* 0x208 */
	u64 cstar;                 /* 0x210 */
	u64 sfmask;                /* 0x218 */
	u64 kernel_gs_base;        /* 0x220 */
	u64 sysenter_cs;           /* 0x228 */
	u64 sysenter_esp;          /* 0x230 */
	u64 sysenter_eip;          /* 0x238 */
	u64 cr2;                   /* 0x240 */
	u8 reserved_248[0x268 - 0x248];
	u64 g_pat;                 /* 0x268 */
	u64 dbgctl;                /* 0x270 */
	u64 br_from, br_to, last_excp_from, last_excp_to; /* 0x278 */
	u8 reserved_298[0xc00 - 0x298];
};

struct __attribute__((packed, aligned(4096))) vmcb {
	struct vmcb_control control;
	struct vmcb_save save;
};
_Static_assert(sizeof(struct vmcb) == 4096, "VMCB is one page");
_Static_assert(__builtin_offsetof(struct vmcb, control.next_rip) == 0x0c8, "VMCB next_rip");
_Static_assert(__builtin_offsetof(struct vmcb, save.efer) == 0x4d0, "VMCB efer");
_Static_assert(__builtin_offsetof(struct vmcb, save.rax) == 0x5f8, "VMCB rax");
_Static_assert(__builtin_offsetof(struct vmcb, save.g_pat) == 0x668, "VMCB g_pat");

/* Intercept vector 3 (offset 0x00c), APM 15.9-15.14. */
#define INTERCEPT1_INTR BIT(0)
#define INTERCEPT1_NMI BIT(1)
#define INTERCEPT1_SMI BIT(2)
#define INTERCEPT1_INIT BIT(3)
#define INTERCEPT1_VINTR BIT(4)
#define INTERCEPT1_RDPMC BIT(15)
#define INTERCEPT1_CPUID BIT(18)
#define INTERCEPT1_IRET BIT(20)
#define INTERCEPT1_INVD BIT(22)
#define INTERCEPT1_HLT BIT(24)
#define INTERCEPT1_INVLPGA BIT(26)
#define INTERCEPT1_IOIO_PROT BIT(27)
#define INTERCEPT1_MSR_PROT BIT(28)
#define INTERCEPT1_TASK_SWITCH BIT(29)
#define INTERCEPT1_SHUTDOWN BIT(31)
/* Intercept vector 4 (offset 0x010). */
#define INTERCEPT2_VMRUN BIT(0)
#define INTERCEPT2_VMMCALL BIT(1)
#define INTERCEPT2_VMLOAD BIT(2)
#define INTERCEPT2_VMSAVE BIT(3)
#define INTERCEPT2_STGI BIT(4)
#define INTERCEPT2_CLGI BIT(5)
#define INTERCEPT2_SKINIT BIT(6)
#define INTERCEPT2_WBINVD BIT(9)
#define INTERCEPT2_MONITOR BIT(10)
#define INTERCEPT2_MWAIT BIT(11)
#define INTERCEPT2_MWAIT_ARMED BIT(12)
#define INTERCEPT2_XSETBV BIT(13)

#define TLB_CONTROL_NOTHING 0
#define TLB_CONTROL_FLUSH_ALL 1     /* every ASID */
#define TLB_CONTROL_FLUSH_ASID 3    /* this guest's ASID (FlushByAsid) */

#define V_INTR_MASKING BIT(24)
#define NP_ENABLE BIT(0)

/* EVENTINJ / EXITINTINFO (APM 15.20). */
#define EVENT_VECTOR_MASK 0xffull
#define EVENT_TYPE_SHIFT 8
#define EVENT_TYPE_MASK (7ull << EVENT_TYPE_SHIFT)
#define EVENT_TYPE_INTR 0
#define EVENT_TYPE_NMI 2
#define EVENT_TYPE_EXCEPTION 3
#define EVENT_TYPE_SOFT_INT 4
#define EVENT_ERROR_VALID BIT(11)
#define EVENT_VALID BIT(31)

/* Exit codes (Appendix C). */
#define SVM_EXIT_CR0_READ 0x000
#define SVM_EXIT_CR0_WRITE 0x010
#define SVM_EXIT_EXCEPTION_BASE 0x040 /* + vector */
#define SVM_EXIT_INTR 0x060
#define SVM_EXIT_NMI 0x061
#define SVM_EXIT_SMI 0x062
#define SVM_EXIT_INIT 0x063
#define SVM_EXIT_VINTR 0x064
#define SVM_EXIT_CPUID 0x072
#define SVM_EXIT_IRET 0x074
#define SVM_EXIT_INVD 0x076
#define SVM_EXIT_PAUSE 0x077
#define SVM_EXIT_HLT 0x078
#define SVM_EXIT_INVLPGA 0x07a
#define SVM_EXIT_IOIO 0x07b
#define SVM_EXIT_MSR 0x07c
#define SVM_EXIT_TASK_SWITCH 0x07d
#define SVM_EXIT_SHUTDOWN 0x07f
#define SVM_EXIT_VMRUN 0x080
#define SVM_EXIT_VMMCALL 0x081
#define SVM_EXIT_VMLOAD 0x082
#define SVM_EXIT_VMSAVE 0x083
#define SVM_EXIT_STGI 0x084
#define SVM_EXIT_CLGI 0x085
#define SVM_EXIT_SKINIT 0x086
#define SVM_EXIT_RDTSCP 0x087
#define SVM_EXIT_XSETBV 0x08d
#define SVM_EXIT_NPF 0x400
#define SVM_EXIT_INVALID 0xffffffffffffffffull

/* IOIO exit information 1 (APM 15.10.2 Figure 15-2). */
#define IOIO_IN BIT(0)
#define IOIO_STRING BIT(2)
#define IOIO_SIZE_SHIFT 4 /* bits 6:4: SZ8, SZ16, SZ32 */

/* Nested page fault exit information 1 (APM 15.25.6): a #PF error code. */
#define NPF_PRESENT BIT(0)
#define NPF_WRITE BIT(1)
#define NPF_FETCH BIT(4)
#define NPF_FINAL_GPA BIT(32)
#define NPF_IN_WALK BIT(33)

/* Sizes of the permission maps (APM 15.10.1, 15.11). */
#define SVM_IOPM_PAGES 3
#define SVM_MSRPM_PAGES 2

/* SVM MSRs (APM 15.30). */
#define MSR_VM_CR 0xc0010114
#define VM_CR_R_INIT BIT(1)
#define VM_CR_LOCK BIT(3)
#define VM_CR_SVMDIS BIT(4)
#define MSR_VM_HSAVE_PA 0xc0010117
#define EFER_SVME BIT(12)
#define EFER_NXE BIT(11)

#endif
