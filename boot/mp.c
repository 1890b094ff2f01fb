/* The other CPUs, through the firmware's MP services (UEFI PI spec Vol. 2,
 * 13.4 EFI_MP_SERVICES_PROTOCOL): which CPUs exist, a VMX capability check
 * on each, and bringing each AP under the hypervisor before Linux starts (as
 * SimpleVisor and MiniVisor do). GNU-EFI has no definitions for the protocol,
 * so the few it needs are here. */
#include "loader.h"

#include "../hv/arch/x86/virt_caps.h"

#define MP_SERVICES_GUID {0x3fdda605, 0xa76e, 0x4f46, {0xad, 0x29, 0x12, 0xf4, 0x53, 0x1b, 0x3d, 0x08}}
#define PROCESSOR_AS_BSP_BIT 0x1
#define PROCESSOR_ENABLED_BIT 0x2
/* How long one AP may take to run the check or the launch (firmware time). */
#define AP_TIMEOUT_US 10000000

struct efi_processor_information {
	UINT64 ProcessorId; /* the APIC ID */
	UINT32 StatusFlag;
	struct {
		UINT32 Package, Core, Thread;
	} Location;
};

typedef VOID(__attribute__((ms_abi)) * ap_procedure_fn)(VOID *arg);
struct efi_mp_services {
	EFI_STATUS(__attribute__((ms_abi)) * GetNumberOfProcessors)(struct efi_mp_services *, UINTN *all, UINTN *enabled);
	EFI_STATUS(__attribute__((ms_abi)) * GetProcessorInfo)(struct efi_mp_services *, UINTN n,
								 struct efi_processor_information *);
	EFI_STATUS(__attribute__((ms_abi)) * StartupAllAPs)(struct efi_mp_services *, ap_procedure_fn, BOOLEAN single,
							     EFI_EVENT, UINTN timeout_us, VOID *arg, UINTN **failed);
	EFI_STATUS(__attribute__((ms_abi)) * StartupThisAP)(struct efi_mp_services *, ap_procedure_fn, UINTN n, EFI_EVENT,
							     UINTN timeout_us, VOID *arg, BOOLEAN *finished);
	VOID *SwitchBSP, *EnableDisableAP;
	EFI_STATUS(__attribute__((ms_abi)) * WhoAmI)(struct efi_mp_services *, UINTN *n);
};

static struct efi_mp_services *mp;

EFI_STATUS loader_mp_discover(struct loader_cpus *cpus, const char **what)
{
	static EFI_GUID guid = MP_SERVICES_GUID;
	UINTN all = 0, enabled = 0, me = 0;
	cpus->count = 0;
	if (EFI_ERROR(LibLocateProtocol(&guid, (void **)&mp)) || !mp) {
		*what = "the firmware has no MP services protocol: the other CPUs cannot be put under the hypervisor";
		return EFI_UNSUPPORTED;
	}
	if (EFI_ERROR(mp->GetNumberOfProcessors(mp, &all, &enabled)) || EFI_ERROR(mp->WhoAmI(mp, &me)) || !all) {
		*what = "MP services cannot count the CPUs";
		return EFI_DEVICE_ERROR;
	}
	if (enabled != all) {
		*what = "the firmware has disabled CPUs: dunehv cannot bring them under its control";
		return EFI_UNSUPPORTED;
	}
	if (all > HV_MAX_CPUS) {
		*what = "more CPUs than dunehv supports (HV_MAX_CPUS)";
		return EFI_UNSUPPORTED;
	}
	/* Hypervisor CPU 0 is the boot CPU; the others follow in MP services order. */
	for (UINTN pass = 0; pass < 2; pass++) {
		for (UINTN n = 0; n < all; n++) {
			struct efi_processor_information info;
			if ((pass == 0) != (n == me))
				continue;
			if (EFI_ERROR(mp->GetProcessorInfo(mp, n, &info))) {
				*what = "MP services cannot describe a CPU";
				return EFI_DEVICE_ERROR;
			}
			cpus->mp_number[cpus->count] = n;
			cpus->apic_id[cpus->count] = (UINT32)info.ProcessorId;
			cpus->count++;
		}
	}
	return EFI_SUCCESS;
}

/* ---- The backend's capability check on every CPU (hybrid CPUs differ per core) ---- */

static virt_cpu_facts ap_facts[HV_MAX_CPUS];

static VOID __attribute__((ms_abi)) read_facts_on_ap(VOID *arg) { virt_read_facts(arg); }

int loader_mp_check_virt(const struct loader_cpus *cpus, const virt_controls *boot_ctl, char *why, UINTN why_len)
{
	for (UINT32 i = 1; i < cpus->count; i++) {
		virt_controls ctl;
		char reason[CONFIG_ERROR_MAX];
		BOOLEAN finished = FALSE;
		if (EFI_ERROR(mp->StartupThisAP(mp, read_facts_on_ap, cpus->mp_number[i], NULL, AP_TIMEOUT_US,
						&ap_facts[i], &finished))) {
			snprintf(why, why_len, "CPU %u (APIC ID %u) did not run the " VIRT_NAME " check", i, cpus->apic_id[i]);
			return -1;
		}
		if (!virt_usable(&ap_facts[i], &ctl, reason, sizeof(reason))) {
			snprintf(why, why_len, "CPU %u (APIC ID %u): %s", i, cpus->apic_id[i], reason);
			return -1;
		}
		if (!virt_controls_compatible(&ctl, boot_ctl)) {
			snprintf(why, why_len, "CPU %u (APIC ID %u) offers other " VIRT_NAME " features than the boot CPU", i,
				 cpus->apic_id[i]);
			return -1;
		}
	}
	return 0;
}

/* ---- Launch on each AP ---- */

/* The boot CPU calls this as a guest already: the boot record lies in the
 * hypervisor's memory, which it can no longer touch. Only the AP, still
 * outside VMX until its launch, reads the record; the result comes back
 * through this struct, in the loader's own memory. */
struct ap_launch {
	struct hv_boot_info *bi;
	UINT64 entry;
	struct hv_boot_cpu *cpu;
	volatile long status;
};

static VOID __attribute__((ms_abi)) launch_on_ap(VOID *arg)
{
	struct ap_launch *a = arg;
	a->status = dunehv_launch(a->bi, a->entry, a->cpu);
}

long loader_mp_launch_aps(const struct loader_cpus *cpus, struct hv_boot_info *bi, UINT64 entry, UINT32 *failed_cpu)
{
	for (UINT32 i = 1; i < cpus->count; i++) {
		struct ap_launch a = {bi, entry, &bi->cpus[i], 1 /* not run */};
		BOOLEAN finished = FALSE;
		EFI_STATUS st = mp->StartupThisAP(mp, launch_on_ap, cpus->mp_number[i], NULL, AP_TIMEOUT_US, &a, &finished);
		if (EFI_ERROR(st) || a.status) {
			*failed_cpu = i;
			return a.status < 0 ? a.status : -1;
		}
	}
	return 0;
}
