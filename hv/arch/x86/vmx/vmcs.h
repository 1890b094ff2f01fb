/* Typed VMCS accessors (SDM 24.11.2, 31.3 VMREAD/VMWRITE).
 * Each width has its own enum type, so -Wenum-conversion catches a field read
 * with the wrong accessor. Host unit tests (HV_HOST_TEST) replace the two
 * primitives with a fake VMCS. */
#ifndef HV_VMCS_H
#define HV_VMCS_H

#include "arch/x86/vmx/vmx_defs.h"

#ifdef HV_HOST_TEST
u64 test_vmcs_read(u32 field);
void test_vmcs_write(u32 field, u64 value);
static inline u64 vmcs_read_raw(u32 field) { return test_vmcs_read(field); }
static inline bool vmcs_write_raw(u32 field, u64 value)
{
	test_vmcs_write(field, value);
	return true;
}
#else
static inline u64 vmcs_read_raw(u32 field)
{
	u64 value;
	__asm__ volatile("vmread %1, %0" : "=rm"(value) : "r"((u64)field) : "cc");
	return value;
}

/* Returns false on VMfailInvalid/VMfailValid (CF or ZF set, SDM 31.2). */
static inline bool vmcs_write_raw(u32 field, u64 value)
{
	u8 failed;
	__asm__ volatile("vmwrite %2, %1; setbe %0" : "=qm"(failed) : "r"((u64)field), "rm"(value) : "cc");
	return !failed;
}
/* In functions returning the failing field: VMWRITE or return its encoding. */
#define W16(f, v) do { if (!vmcs_write16((f), (v))) return (f); } while (0)
#define W32(f, v) do { if (!vmcs_write32((f), (v))) return (f); } while (0)
#define W64(f, v) do { if (!vmcs_write64((f), (v))) return (f); } while (0)
#define WNAT(f, v) do { if (!vmcs_writenat((f), (v))) return (f); } while (0)

#endif

static inline u16 vmcs_read16(enum vmcs_field16 f) { return (u16)vmcs_read_raw(f); }
static inline u32 vmcs_read32(enum vmcs_field32 f) { return (u32)vmcs_read_raw(f); }
static inline u64 vmcs_read64(enum vmcs_field64 f) { return vmcs_read_raw(f); }
static inline u64 vmcs_readnat(enum vmcs_field_nat f) { return vmcs_read_raw(f); }

/* VMWRITE of one field; false when the processor rejected it. Callers in the
 * setup path report the failing field, callers on the exit path panic. */
static inline bool vmcs_write16(enum vmcs_field16 f, u16 v) { return vmcs_write_raw(f, v); }
static inline bool vmcs_write32(enum vmcs_field32 f, u32 v) { return vmcs_write_raw(f, v); }
static inline bool vmcs_write64(enum vmcs_field64 f, u64 v) { return vmcs_write_raw(f, v); }
static inline bool vmcs_writenat(enum vmcs_field_nat f, u64 v) { return vmcs_write_raw(f, v); }

/* In functions returning the failing field: VMWRITE or return its encoding. */
#define W16(f, v) do { if (!vmcs_write16((f), (v))) return (f); } while (0)
#define W32(f, v) do { if (!vmcs_write32((f), (v))) return (f); } while (0)
#define W64(f, v) do { if (!vmcs_write64((f), (v))) return (f); } while (0)
#define WNAT(f, v) do { if (!vmcs_writenat((f), (v))) return (f); } while (0)

#endif
