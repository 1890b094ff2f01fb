/* Shared between the parts of the hvprobe test module. */
#ifndef HVPROBE_H
#define HVPROBE_H

#include <linux/types.h>
#include <asm/alternative.h>
#include <asm/cpufeatures.h>

/* VMCALL (VMMCALL on AMD, patched in at load time): RAX = function, args in RDI, RSI, RDX, R10; RAX = result. a4 goes
 * in R8, which the ABI reserves (callers pass 0). */
static inline long dh_call5(u64 fn, u64 a0, u64 a1, u64 a2, u64 a3, u64 a4)
{
	register u64 r10 asm("r10") = a3;
	register u64 r8 asm("r8") = a4;
	u64 rax = fn;

	asm volatile(ALTERNATIVE("vmcall", "vmmcall", X86_FEATURE_VMMCALL)
		     : "+a"(rax), "+D"(a0), "+S"(a1), "+d"(a2), "+r"(r10), "+r"(r8)
		     :
		     : "memory");
	return (long)rax;
}

/* Prints one check's line ending in OK or FAIL and counts failures in the
 * including file's `failures`. */
#define CHECK(cond, fmt, ...)                                                  \
	do {                                                                   \
		bool ok__ = (cond);                                            \
		pr_info(fmt " %s\n", ##__VA_ARGS__, ok__ ? "OK" : "FAIL");     \
		if (!ok__)                                                     \
			failures++;                                            \
	} while (0)

struct dunehv_info;
/* probe.c: DUNEHV_HC_INFO into *info (anywhere, a stack too: through a
 * bounce buffer in the direct map); the hypercall's result. */
long hvprobe_get_info(struct dunehv_info *info);

struct proc_dir_entry;
/* probe.c: /proc/dunehv/NAME, write-only; each write runs check on CPU 0
 * (its verdicts go to the kernel log). 0 or -ENOMEM. */
int hvprobe_proc_check_on_cpu0(struct proc_dir_entry *dir, const char *name, long (*check)(void *));
/* probe.c: /proc/dunehv/NAME, write-only; a write of a CPU number T runs
 * check((void *)(long)T) on another online CPU; -EINVAL for a T that is
 * not online or where no other CPU is. 0 or -ENOMEM. */
int hvprobe_proc_check_of_cpu(struct proc_dir_entry *dir, const char *name, long (*check)(void *));
/* smptest.c: /proc/dunehv/smp and /proc/dunehv/sipi. */
int hvprobe_smp_proc_init(struct proc_dir_entry *dir);
struct dunehv_cpu_stats;
/* smptest.c: CPU_STATS of dunehv CPU index into *st (zeroed first); the
 * hypercall's result (bytes written, or -EINVAL for a CPU not up). */
long hvprobe_cpu_stats(u32 index, struct dunehv_cpu_stats *st);
/* smptest.c: the dunehv CPU index of an APIC ID (CPU_STATS into *st), or -1. */
int hvprobe_hvcpu_of_apic(u32 apic_id, struct dunehv_cpu_stats *st);
/* nmitest.c: /proc/dunehv/nmipair and its NMI handler. */
int hvprobe_nmi_proc_init(struct proc_dir_entry *dir);
void hvprobe_nmi_exit(void);
/* windowtest.c: /proc/dunehv/entrywindow and its NMI handler. */
int hvprobe_window_proc_init(struct proc_dir_entry *dir);
void hvprobe_window_exit(void);

/* fuzz.c: /proc/dunehv/fuzz, the hypercall fuzzer. */
int hvprobe_fuzz_proc_init(struct proc_dir_entry *dir);
/* msrtest.c: /proc/dunehv/msr, the MTRR, trace and PEBS MSR checks. */
int hvprobe_msr_proc_init(struct proc_dir_entry *dir);
/* svmtest.c: /proc/dunehv/svm, Linux trying to take SVM (AMD only) */
int hvprobe_svm_proc_init(struct proc_dir_entry *dir);
/* acpitest.c: /proc/dunehv/acpi_sleep, the ACPI sleep checks. */
int hvprobe_acpi_proc_init(struct proc_dir_entry *dir);

/* Runs the Dune-context checks; returns the number of failed checks. */
int hvprobe_ctx_selftest(void);

#endif
