// SPDX-License-Identifier: GPL-2.0
/*
 * hvprobe's SVM checks, /proc/dunehv/svm (write anything): as Linux ring 0
 * on an AMD CPU, trying to take SVM from the hypervisor below it (AMD64
 * APM Vol. 2 15.4, 15.30; dunehv's svm/vcpu.c and vmcb_linux.c), on CPU 0:
 *  svm.efer          EFER reads without SVME; setting SVME #GPs, and EFER
 *                    still reads without it
 *  svm.vm-cr         VM_CR reads "SVM disabled, locked"; a write #GPs
 *  svm.hsave         VM_HSAVE_PA can be neither read nor written (a write
 *                    pointing at the hypervisor's memory)
 *  svm.instructions  VMRUN, VMLOAD and VMSAVE (RAX at the hypervisor's
 *                    memory), CLGI, STGI and SKINIT each raise #UD
 * On another vendor's CPU it says so and checks nothing.
 */
#define pr_fmt(fmt) "hvprobe: " fmt

#include <linux/kernel.h>
#include <linux/proc_fs.h>
#include <asm/asm.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/svm.h>

#include "dunehv/abi.h"
#include "hvprobe.h"

#define VERDICT(cond, id, fmt, ...) \
	pr_info("%s %s - " fmt "\n", (cond) ? "ok" : "not ok", id, ##__VA_ARGS__)

/* EFER_SVME, MSR_VM_CR and MSR_VM_HSAVE_PA come from asm/msr-index.h,
 * VM_CR's bits from asm/svm.h. */
#define VM_CR_LOCK SVM_VM_CR_SVM_LOCK_MASK
#define VM_CR_SVMDIS SVM_VM_CR_SVM_DIS_MASK

/* 1 when the instruction (its bytes in insn) raised an exception whose
 * fixup skipped it, 0 when it ran. */
#define INSN_FAULTS(insn, rax)                                        \
	({                                                            \
		int __faulted = 1;                                    \
		asm volatile("1: .byte " insn "\n"                    \
			     "   movl $0, %0\n"                       \
			     "2:\n" _ASM_EXTABLE(1b, 2b)              \
			     : "+r"(__faulted)                        \
			     : "a"(rax)                               \
			     : "memory");                             \
		__faulted;                                            \
	})

static long svm_test(void *unused)
{
	struct dunehv_info info;
	u64 efer, efer_after, vm_cr = 0, hsave = 0;
	u64 hv;
	int set_svme, cr_write, hsave_read, hsave_write;
	int vmrun, vmload, vmsave, clgi, stgi, skinit;

	if (boot_cpu_data.x86_vendor != X86_VENDOR_AMD) {
		pr_info("svm: not an AMD CPU, nothing to check\n");
		return 0;
	}
	if (hvprobe_get_info(&info) != sizeof(info)) {
		VERDICT(false, "svm.efer", "no dunehv info");
		return 0;
	}
	hv = info.hv_phys_base;

	rdmsrl(MSR_EFER, efer);
	set_svme = wrmsrl_safe(MSR_EFER, efer | EFER_SVME);
	rdmsrl(MSR_EFER, efer_after);
	VERDICT(!(efer & EFER_SVME) && set_svme && !(efer_after & EFER_SVME), "svm.efer",
		"EFER 0x%llx without SVME; setting SVME -> %d (#GP), EFER then 0x%llx", efer, set_svme, efer_after);

	rdmsrl_safe(MSR_VM_CR, &vm_cr);
	cr_write = wrmsrl_safe(MSR_VM_CR, vm_cr & ~VM_CR_SVMDIS);
	VERDICT((vm_cr & (VM_CR_SVMDIS | VM_CR_LOCK)) == (VM_CR_SVMDIS | VM_CR_LOCK) && cr_write, "svm.vm-cr",
		"VM_CR 0x%llx (SVM disabled, locked); clearing SVMDIS -> %d (#GP)", vm_cr, cr_write);

	hsave_read = rdmsrl_safe(MSR_VM_HSAVE_PA, &hsave);
	hsave_write = wrmsrl_safe(MSR_VM_HSAVE_PA, hv);
	VERDICT(hsave_read && hsave_write, "svm.hsave",
		"VM_HSAVE_PA read -> %d, write of 0x%llx (the hypervisor's memory) -> %d (#GP both)", hsave_read, hv,
		hsave_write);

	vmrun = INSN_FAULTS("0x0f, 0x01, 0xd8", hv);
	vmload = INSN_FAULTS("0x0f, 0x01, 0xda", hv);
	vmsave = INSN_FAULTS("0x0f, 0x01, 0xdb", hv);
	clgi = INSN_FAULTS("0x0f, 0x01, 0xdd", 0ul);
	stgi = INSN_FAULTS("0x0f, 0x01, 0xdc", 0ul);
	skinit = INSN_FAULTS("0x0f, 0x01, 0xde", hv);
	VERDICT(vmrun && vmload && vmsave && clgi && stgi && skinit, "svm.instructions",
		"VMRUN %d, VMLOAD %d, VMSAVE %d (RAX 0x%llx), CLGI %d, STGI %d, SKINIT %d: 1 = #UD", vmrun, vmload,
		vmsave, hv, clgi, stgi, skinit);
	return 0;
}

int hvprobe_svm_proc_init(struct proc_dir_entry *dir)
{
	return hvprobe_proc_check_on_cpu0(dir, "svm", svm_test);
}
