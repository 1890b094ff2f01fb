/* The VMX backend's machine-wide state (struct hv.arch): the capabilities and
 * controls every CPU agreed on (SDM Vol. 3D Appendix A), Linux's EPT
 * (SDM 29.3), the MSR bitmaps (SDM 25.6.9) and Linux's I/O bitmaps (25.6.4) that all VMCSes share. */
#ifndef HV_VMX_HV_H
#define HV_VMX_HV_H

#include "arch/x86/ept.h"
#include "arch/x86/vmx/vmx_caps.h"

/* The format of Dune contexts' guest-physical tables (arch/x86/dune_gpt.c). */
#define ARCH_DUNE_GPT_FORMAT (&ept_format)

/* VMX's INIT and SIPI exit (SDM 26.2); a CPU waits for SIPI in the
 * wait-for-SIPI activity state (guest/init_sipi.c). */
#define ARCH_SIPI_IN_HOST 0

struct arch_hv {
	struct vmx_cpu_facts facts;   /* the boot CPU's; the others' controls must match */
	struct vmx_controls ctl;
	u64 linux_ept_pml4;
	u64 linux_eptp;
	struct ept_stats linux_ept_stats;
	u64 msr_bitmap_pa;            /* Linux's MSR bitmap, shared by all CPUs */
	u64 io_bitmap_pa[2];          /* Linux's I/O bitmaps A and B (SDM 25.6.4), shared by all CPUs */
	u64 dune_msr_bitmap_pa;       /* shared by all Dune contexts */
};

#endif
