/* The SVM backend's machine-wide state (struct hv.arch): the features every
 * CPU agreed on, Linux's nested page tables (AMD64 APM Vol. 2 15.25), and
 * the MSR and I/O permission maps (15.10, 15.11) of Linux and of Dune
 * contexts, shared by all CPUs. */
#ifndef HV_SVM_HV_H
#define HV_SVM_HV_H

#include "arch/x86/ept.h"
#include "arch/x86/svm/svm_caps.h"

/* The format of Dune contexts' guest-physical tables (arch/x86/dune_gpt.c). */
#define ARCH_DUNE_GPT_FORMAT (&npt_format)

/* SVM has no wait-for-SIPI state and drops a SIPI to a CPU not waiting:
 * INIT and SIPI are emulated, a CPU waits for SIPI in the hypervisor
 * (guest/init_sipi.c). */
#define ARCH_SIPI_IN_HOST 1

struct arch_hv {
	struct svm_cpu_facts facts;   /* the boot CPU's */
	struct svm_controls ctl;
	u64 linux_ncr3;               /* Linux's nested PML4 */
	struct ept_stats linux_npt_stats;
	u64 msrpm_pa;                 /* Linux's MSR permission map, 2 pages */
	u64 iopm_pa;                  /* Linux's I/O permission map, 3 pages */
	u64 dune_msrpm_pa;            /* Dune contexts': only the FS/GS bases pass */
	u64 dune_iopm_pa;             /* Dune contexts': no port */
	/* Linux's xAPIC page (IA32_APIC_BASE of every CPU): read-only in its
	 * NPT, so that ICR writes exit and INIT/SIPI are emulated (apic_icr). */
	u64 apic_page;
};

#endif
