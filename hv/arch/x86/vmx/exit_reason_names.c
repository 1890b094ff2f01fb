/* Names of basic exit reasons (SDM Vol. 3D Appendix C), for logs and stats. */
#include "arch/x86/vmx/vmx_defs.h"

static const char *const names[] = {
	[EXIT_REASON_EXCEPTION_NMI] = "exception-or-nmi", [EXIT_REASON_EXTERNAL_INTERRUPT] = "external-interrupt",
	[EXIT_REASON_TRIPLE_FAULT] = "triple-fault", [EXIT_REASON_INIT] = "init-signal", [EXIT_REASON_SIPI] = "sipi",
	[EXIT_REASON_IO_SMI] = "io-smi", [EXIT_REASON_OTHER_SMI] = "other-smi",
	[EXIT_REASON_INTERRUPT_WINDOW] = "interrupt-window", [EXIT_REASON_NMI_WINDOW] = "nmi-window",
	[EXIT_REASON_TASK_SWITCH] = "task-switch", [EXIT_REASON_CPUID] = "cpuid", [EXIT_REASON_GETSEC] = "getsec",
	[EXIT_REASON_HLT] = "hlt", [EXIT_REASON_INVD] = "invd", [EXIT_REASON_INVLPG] = "invlpg",
	[EXIT_REASON_RDPMC] = "rdpmc", [EXIT_REASON_RDTSC] = "rdtsc", [EXIT_REASON_RSM] = "rsm",
	[EXIT_REASON_VMCALL] = "vmcall", [EXIT_REASON_VMCLEAR] = "vmclear", [EXIT_REASON_VMLAUNCH] = "vmlaunch",
	[EXIT_REASON_VMPTRLD] = "vmptrld", [EXIT_REASON_VMPTRST] = "vmptrst", [EXIT_REASON_VMREAD] = "vmread",
	[EXIT_REASON_VMRESUME] = "vmresume", [EXIT_REASON_VMWRITE] = "vmwrite", [EXIT_REASON_VMXOFF] = "vmxoff",
	[EXIT_REASON_VMXON] = "vmxon", [EXIT_REASON_CR_ACCESS] = "cr-access", [EXIT_REASON_DR_ACCESS] = "dr-access",
	[EXIT_REASON_IO_INSTRUCTION] = "io-instruction", [EXIT_REASON_RDMSR] = "rdmsr", [EXIT_REASON_WRMSR] = "wrmsr",
	[EXIT_REASON_ENTRY_FAIL_GUEST_STATE] = "entry-fail-guest-state",
	[EXIT_REASON_ENTRY_FAIL_MSR_LOADING] = "entry-fail-msr-loading", [EXIT_REASON_MWAIT] = "mwait",
	[EXIT_REASON_MONITOR_TRAP_FLAG] = "monitor-trap-flag", [EXIT_REASON_MONITOR] = "monitor",
	[EXIT_REASON_PAUSE] = "pause", [EXIT_REASON_ENTRY_FAIL_MACHINE_CHECK] = "entry-fail-machine-check",
	[EXIT_REASON_TPR_BELOW_THRESHOLD] = "tpr-below-threshold", [EXIT_REASON_APIC_ACCESS] = "apic-access",
	[EXIT_REASON_VIRTUALIZED_EOI] = "virtualized-eoi", [EXIT_REASON_GDTR_IDTR_ACCESS] = "gdtr-idtr-access",
	[EXIT_REASON_LDTR_TR_ACCESS] = "ldtr-tr-access", [EXIT_REASON_EPT_VIOLATION] = "ept-violation",
	[EXIT_REASON_EPT_MISCONFIG] = "ept-misconfig", [EXIT_REASON_INVEPT] = "invept", [EXIT_REASON_RDTSCP] = "rdtscp",
	[EXIT_REASON_PREEMPTION_TIMER] = "preemption-timer", [EXIT_REASON_INVVPID] = "invvpid",
	[EXIT_REASON_WBINVD] = "wbinvd", [EXIT_REASON_XSETBV] = "xsetbv", [EXIT_REASON_APIC_WRITE] = "apic-write",
	[EXIT_REASON_RDRAND] = "rdrand", [EXIT_REASON_INVPCID] = "invpcid", [EXIT_REASON_VMFUNC] = "vmfunc",
	[EXIT_REASON_ENCLS] = "encls", [EXIT_REASON_RDSEED] = "rdseed", [EXIT_REASON_PML_FULL] = "pml-full",
	[EXIT_REASON_XSAVES] = "xsaves", [EXIT_REASON_XRSTORS] = "xrstors", [EXIT_REASON_SPP] = "spp",
	[EXIT_REASON_UMWAIT] = "umwait", [EXIT_REASON_TPAUSE] = "tpause", [EXIT_REASON_LOADIWKEY] = "loadiwkey",
	[EXIT_REASON_ENCLV] = "enclv", [EXIT_REASON_ENQCMD_PASID] = "enqcmd-pasid",
	[EXIT_REASON_ENQCMDS_PASID] = "enqcmds-pasid", [EXIT_REASON_BUS_LOCK] = "bus-lock",
	[EXIT_REASON_NOTIFY] = "notify", [EXIT_REASON_SEAMCALL] = "seamcall", [EXIT_REASON_TDCALL] = "tdcall",
};

const char *vmx_exit_reason_name(u32 reason)
{
	return reason < ARRAY_SIZE(names) && names[reason] ? names[reason] : "?";
}
