/* Names of the slots the hypervisor counts exits in (struct
 * dunehv_exit_stats, struct dunehv_cpu_stats), by backend: VMX's basic exit
 * reasons (SDM Vol. 3D Appendix C), and SVM's groups of exit codes (AMD64
 * APM Vol. 2 Appendix C; dunehv_svm_exit_slot). For the tools that print
 * the counters (dune.ko's debugfs files, the test module hvprobe, the
 * dunehv command) and the SVM backend's log lines. */
#ifndef DUNEHV_EXIT_NAMES_H
#define DUNEHV_EXIT_NAMES_H

#include "abi.h"

static const char *const dunehv_vmx_exit_names[DUNEHV_NR_EXIT_REASONS] = {
	[0] = "EXCEPTION_NMI", [1] = "EXTERNAL_INTERRUPT", [2] = "TRIPLE_FAULT",
	[3] = "INIT", [4] = "SIPI", [5] = "IO_SMI", [6] = "OTHER_SMI",
	[7] = "INTERRUPT_WINDOW", [8] = "NMI_WINDOW", [9] = "TASK_SWITCH",
	[10] = "CPUID", [11] = "GETSEC", [12] = "HLT", [13] = "INVD",
	[14] = "INVLPG", [15] = "RDPMC", [16] = "RDTSC", [17] = "RSM",
	[18] = "VMCALL", [19] = "VMCLEAR", [20] = "VMLAUNCH", [21] = "VMPTRLD",
	[22] = "VMPTRST", [23] = "VMREAD", [24] = "VMRESUME", [25] = "VMWRITE",
	[26] = "VMXOFF", [27] = "VMXON", [28] = "CR_ACCESS", [29] = "DR_ACCESS",
	[30] = "IO_INSTRUCTION", [31] = "RDMSR", [32] = "WRMSR",
	[33] = "ENTRY_FAIL_GUEST_STATE", [34] = "ENTRY_FAIL_MSR_LOADING",
	[36] = "MWAIT", [37] = "MONITOR_TRAP_FLAG", [39] = "MONITOR",
	[40] = "PAUSE", [41] = "ENTRY_FAIL_MACHINE_CHECK",
	[43] = "TPR_BELOW_THRESHOLD", [44] = "APIC_ACCESS",
	[45] = "VIRTUALIZED_EOI", [46] = "GDTR_IDTR", [47] = "LDTR_TR",
	[48] = "EPT_VIOLATION", [49] = "EPT_MISCONFIG", [50] = "INVEPT",
	[51] = "RDTSCP", [52] = "PREEMPTION_TIMER", [53] = "INVVPID",
	[54] = "WBINVD", [55] = "XSETBV", [56] = "APIC_WRITE", [57] = "RDRAND",
	[58] = "INVPCID", [59] = "VMFUNC", [60] = "ENCLS", [61] = "RDSEED",
	[62] = "PML_FULL", [63] = "XSAVES", [64] = "XRSTORS", [65] = "PCONFIG",
	[66] = "SPP", [67] = "UMWAIT", [68] = "TPAUSE", [69] = "LOADIWKEY",
	[70] = "ENCLV", [72] = "ENQCMD_PASID", [73] = "ENQCMDS_PASID",
	[74] = "BUS_LOCK", [75] = "NOTIFY", [76] = "SEAMCALL", [77] = "TDCALL",
};

/* SVM: CR and DR accesses and exceptions one slot each, the exit codes
 * 0x60-0x8f one slot each, nested page faults, a refused VMRUN, the rest. */
#define DUNEHV_SVM_SLOT_CR 0
#define DUNEHV_SVM_SLOT_DR 1
#define DUNEHV_SVM_SLOT_EXCEPTION 2
#define DUNEHV_SVM_SLOT_FIRST_MISC 3 /* exit codes 0x60 .. 0x8f */
#define DUNEHV_SVM_SLOT_NPF 51
#define DUNEHV_SVM_SLOT_INVALID 52
#define DUNEHV_SVM_SLOT_OTHER 53
/* Not an exit code: the nested page faults that are Linux's writes of its
 * xAPIC page, which the SVM backend maps read-only to see ICR writes
 * (EOI, timer and IPI writes among them; counted apart from other NPFs). */
#define DUNEHV_SVM_SLOT_APIC_WRITE 54

static inline unsigned int dunehv_svm_exit_slot(unsigned long long code)
{
	if (code <= 0x01f || (code >= 0x090 && code <= 0x09f))
		return DUNEHV_SVM_SLOT_CR;
	if (code <= 0x03f)
		return DUNEHV_SVM_SLOT_DR;
	if (code <= 0x05f)
		return DUNEHV_SVM_SLOT_EXCEPTION;
	if (code <= 0x08f)
		return DUNEHV_SVM_SLOT_FIRST_MISC + (unsigned int)(code - 0x060);
	if (code == 0x400)
		return DUNEHV_SVM_SLOT_NPF;
	return code == 0xffffffffffffffffull || code == 0xffffffffull ? DUNEHV_SVM_SLOT_INVALID : DUNEHV_SVM_SLOT_OTHER;
}

static const char *const dunehv_svm_exit_names[DUNEHV_NR_EXIT_REASONS] = {
	[0] = "CR_ACCESS", [1] = "DR_ACCESS", [2] = "EXCEPTION",
	[3] = "INTR", [4] = "NMI", [5] = "SMI", [6] = "INIT", [7] = "VINTR", [8] = "CR0_SEL_WRITE",
	[9] = "IDTR_READ", [10] = "GDTR_READ", [11] = "LDTR_READ", [12] = "TR_READ", [13] = "IDTR_WRITE",
	[14] = "GDTR_WRITE", [15] = "LDTR_WRITE", [16] = "TR_WRITE", [17] = "RDTSC", [18] = "RDPMC",
	[19] = "PUSHF", [20] = "POPF", [21] = "CPUID", [22] = "RSM", [23] = "IRET", [24] = "SWINT",
	[25] = "INVD", [26] = "PAUSE", [27] = "HLT", [28] = "INVLPG", [29] = "INVLPGA", [30] = "IOIO",
	[31] = "MSR", [32] = "TASK_SWITCH", [33] = "FERR_FREEZE", [34] = "SHUTDOWN", [35] = "VMRUN",
	[36] = "VMMCALL", [37] = "VMLOAD", [38] = "VMSAVE", [39] = "STGI", [40] = "CLGI", [41] = "SKINIT",
	[42] = "RDTSCP", [43] = "ICEBP", [44] = "WBINVD", [45] = "MONITOR", [46] = "MWAIT",
	[47] = "MWAIT_CONDITIONAL", [48] = "XSETBV", [49] = "RDPRU", [50] = "EFER_WRITE_TRAP",
	[51] = "NPF", [52] = "VMRUN_INVALID", [53] = "OTHER", [54] = "NPF_APIC_WRITE",
};

/* The name of slot r of a histogram from a backend (vendor 0: VMX). */
static inline const char *dunehv_exit_name(unsigned int vendor, unsigned int r)
{
	const char *const *names = vendor == DUNEHV_VENDOR_SVM ? dunehv_svm_exit_names : dunehv_vmx_exit_names;
	if (r < DUNEHV_NR_EXIT_REASONS && names[r])
		return names[r];
	return "UNKNOWN";
}

#endif
