/* The backend's capability check under one set of names, for the loader
 * (boot/), which checks every CPU before the launch: VMX (arch/x86/vmx/)
 * or, built with HV_BACKEND_SVM, SVM (arch/x86/svm/). */
#ifndef HV_VIRT_CAPS_H
#define HV_VIRT_CAPS_H

#ifdef HV_BACKEND_SVM
#include "arch/x86/svm/svm_caps.h"
#define VIRT_NAME "SVM"
#define VIRT_FALLBACK_WORD "svm"
#define VIRT_FEATURES "NPT, ASIDs"
/* INIT/SIPI are emulated and the sender waits until INIT is taken
 * (hv/guest/init_sipi.c): Linux's back-to-back INIT and SIPI need no delay. */
#define VIRT_INIT_SIPI_DELAY 0
typedef struct svm_cpu_facts virt_cpu_facts;
typedef struct svm_controls virt_controls;
#define virt_read_facts svm_read_facts
#define virt_usable(facts, ctl, why, why_len) (svm_evaluate(facts, ctl, why, why_len) == SVM_USABLE)
#define virt_controls_compatible svm_controls_compatible
#else
#include "arch/x86/vmx/vmx_caps.h"
#define VIRT_NAME "VMX"
#define VIRT_FALLBACK_WORD "vmx"
#define VIRT_FEATURES "EPT, VPID, unrestricted guest"
/* The CPU must be in wait-for-SIPI when the SIPI arrives (SDM 26.2). */
#define VIRT_INIT_SIPI_DELAY 1
typedef struct vmx_cpu_facts virt_cpu_facts;
typedef struct vmx_controls virt_controls;
#define virt_read_facts vmx_read_facts
#define virt_usable(facts, ctl, why, why_len) (vmx_evaluate(facts, ctl, why, why_len) == VMX_USABLE)
#define virt_controls_compatible vmx_controls_compatible
#endif

#endif
