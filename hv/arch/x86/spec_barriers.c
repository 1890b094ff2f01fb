/* Speculation barriers (see spec_barriers.h): the choice at boot and the
 * IBPB after a Dune context; the VM entry/exit ones are in vmx/entry.asm. */
#include "arch/x86/spec_barriers.h"

#include "arch/x86/arch.h"
#include "core/hv.h"

#define MSR_IA32_PRED_CMD 0x49
#define PRED_CMD_IBPB BIT(0)
#define MSR_IA32_ARCH_CAPABILITIES 0x10a

u32 spec_barrier_flags;
const u16 spec_verw_selector = HOST_DS_SEL; /* VERW's operand: a writable data segment (as Linux's) */

void spec_barriers_init(struct hv *hv)
{
	struct cpuid_regs r;
	cpuid_count(0, 0, &r);
	struct spec_caps caps = {0};
	/* "AuthenticAMD" / "HygonGenuine" */
	caps.amd = (r.ebx == 0x68747541u && r.edx == 0x69746e65u && r.ecx == 0x444d4163u) ||
		   (r.ebx == 0x6f677948u && r.edx == 0x6e65476eu && r.ecx == 0x656e6975u);
	if (r.eax >= 7) {
		cpuid_count(7, 0, &r);
		caps.ibpb = r.edx & BIT(26);
		caps.md_clear = r.edx & BIT(10);
		caps.l1d_flush = r.edx & BIT(28);
		caps.has_arch_capabilities = r.edx & BIT(29);
	}
	if (caps.has_arch_capabilities)
		caps.arch_capabilities = rdmsr(MSR_IA32_ARCH_CAPABILITIES);
	cpuid_count(0x80000000, 0, &r);
	if (caps.amd && r.eax >= 0x80000008) {
		cpuid_count(0x80000008, 0, &r);
		caps.ibpb = caps.ibpb || (r.ebx & BIT(12)); /* AMD's IBPB bit (APM Vol. 3 E.4.7) */
	}
	u32 b = spec_barriers_choose(&caps, hv->cfg.mitigations);
	spec_barrier_flags = b;
	if (!hv->cfg.mitigations) {
		log_printf(&hv->log, LOG_WARN, "speculation barriers: off (mitigations = off)");
		return;
	}
	const char *ibpb = (b & DUNEHV_SPEC_IBPB) ? "on" : "no IBPB on this CPU";
	const char *verw = (b & DUNEHV_SPEC_VERW) ? "on"
			   : caps.amd ? "not needed (AMD)"
			   : caps.md_clear || (caps.arch_capabilities & ARCH_CAP_MDS_NO) ? "not needed"
			   : "no MD_CLEAR on this CPU";
	const char *l1d = (b & DUNEHV_SPEC_L1D_FLUSH) ? "on"
			  : caps.amd ? "not needed (AMD)"
			  : (b & DUNEHV_SPEC_L1TF_OPEN) ? "NEEDED BUT NO IA32_FLUSH_CMD"
			  : "not needed";
	log_printf(&hv->log, LOG_INFO,
		   "speculation barriers: RSB fill at VM exit; IBPB after Dune: %s; VERW before entry: %s; L1D flush before "
		   "entry: %s (IA32_ARCH_CAPABILITIES %s%#llx)",
		   ibpb, verw, l1d, caps.has_arch_capabilities ? "" : "absent, taken as ",
		   (unsigned long long)caps.arch_capabilities);
}

void spec_barrier_dune_to_linux(void)
{
	if (spec_barrier_flags & DUNEHV_SPEC_IBPB)
		wrmsr(MSR_IA32_PRED_CMD, PRED_CMD_IBPB);
}
