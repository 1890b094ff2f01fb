/* A VM exit as the vendor-neutral core sees it: the backend decodes its own
 * exit information (VMX: exit reason, qualification, interruption info; SVM:
 * exit code, EXITINFO1/2, EXITINTINFO) into
 * a kind and the few facts each kind carries, and keeps its own code only
 * for counters and for what the core cannot name (HV_EXIT_UNKNOWN). */
#ifndef HV_CORE_EXIT_H
#define HV_CORE_EXIT_H

#include "core/types.h"

enum hv_exit_kind {
	HV_EXIT_UNKNOWN,        /* nothing the core handles: dump and stop (Linux), end the run (Dune) */
	HV_EXIT_ENTRY_FAILED,   /* the guest state was refused at VM entry */
	HV_EXIT_EXCEPTION,      /* an exception the exception bitmap intercepts */
	HV_EXIT_NMI,            /* an NMI the exit consumed (VMX): the core looks at it */
	HV_EXIT_HOST_NMI,       /* an NMI that the host's NMI handler already took when the backend let it in (SVM: STGI) */
	HV_EXIT_INTERRUPT,      /* an external interrupt for Linux */
	HV_EXIT_TIME_SLICE,     /* a Dune context's time slice ran out */
	HV_EXIT_INIT,
	HV_EXIT_SIPI,
	HV_EXIT_NMI_WINDOW,     /* the guest can take the NMI held for it now */
	HV_EXIT_TRIPLE_FAULT,
	HV_EXIT_CPUID,
	HV_EXIT_HYPERCALL,
	HV_EXIT_MSR_READ,
	HV_EXIT_MSR_WRITE,
	HV_EXIT_CR_ACCESS,      /* the backend's own CR policy handles it */
	HV_EXIT_XSETBV,
	HV_EXIT_INVD,
	HV_EXIT_VIRT_INSN,      /* a virtualization or SMX instruction: #UD for the guest */
	HV_EXIT_GPA_FAULT,      /* an access the second-level page tables refused */
	HV_EXIT_MACHINE_CHECK,  /* a machine check in the guest (where intercepted), or during its VM entry */
	HV_EXIT_IO,             /* IN/OUT (INS/OUTS) to a port the guest's I/O intercepts cover */
	HV_EXIT_APIC_WRITE,     /* Linux wrote its xAPIC page, which the backend maps read-only (SVM) */
	HV_EXIT_NMI_IRET,       /* the IRET that ends Linux's NMI handler, or the step past it: the backend's
				 * own NMI blocking (SVM, which shows none; arch_linux_nmi_iret) */
	HV_NR_EXIT_KINDS
};

/* A guest-physical fault's access and what is known of it (the values of the
 * ABI's DUNEHV_ACCESS_* and DUNEHV_FAULT_*). */
#define HV_ACCESS_READ      0x1u
#define HV_ACCESS_WRITE     0x2u
#define HV_ACCESS_EXEC      0x4u
#define HV_FAULT_GLA_VALID  0x10u /* gla is the linear address being accessed */
#define HV_FAULT_PAGE_WALK  0x20u /* the fault hit the page walk for gla, not the access itself */

struct hv_exit {
	enum hv_exit_kind kind;
	u32 vendor_reason;          /* the backend's code (VMX: basic exit reason; SVM: exit code) */
	u16 counter;                /* the counters' slot of this exit (VMX: the basic reason; SVM: exit_names.h) */
	u64 vendor_qualification;   /* the backend's detail (VMX: exit qualification) */
	u32 instruction_length;     /* of the instruction that exited, where it did */
	union {
		struct {
			u8 vector;
			bool has_error;
			u32 error_code;
		} exception;
		struct {
			u64 gpa, gla;
			u32 access;     /* HV_ACCESS_* of the refused access, HV_FAULT_* */
		} fault;
		u8 sipi_vector;
		struct {
			u32 offset;     /* of the register in the APIC page */
			u32 size;       /* 1, 2, 4 or 8 bytes */
			u64 value;
		} apic_write;
		struct {
			u16 port;
			u8 size;        /* 1, 2 or 4 bytes */
			bool in;        /* IN/INS, else OUT/OUTS */
			bool string;    /* INS/OUTS, with or without REP */
		} io;
	};
};

#endif
