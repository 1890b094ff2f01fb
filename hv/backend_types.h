/* The backend's data types that the core embeds: struct arch_vcpu (in
 * struct vcpu) and struct arch_hv (in struct hv). The one place that names
 * the backend the image is built for (the Makefile's BACKEND=vmx|svm); its
 * functions are in backend.h. */
#ifndef HV_BACKEND_TYPES_H
#define HV_BACKEND_TYPES_H

#ifdef HV_BACKEND_SVM
#include "arch/x86/svm/svm_vcpu.h"
#include "arch/x86/svm/svm_hv.h"
#else
#include "arch/x86/vmx/vmx_vcpu.h"
#include "arch/x86/vmx/vmx_hv.h"
#endif

#endif
