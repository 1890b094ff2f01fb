/* Human-readable VMCS dump for unexpected exits (Jailhouse style). */
#include <stdio.h>

#include "arch/x86/vmx/guest_state.h"

struct dump_field {
	const char *name;
	u32 encoding;
};

static const struct dump_field dump_fields[] = {
	{"exit_reason", VMCS_EXIT_REASON}, {"exit_qual", VMCS_EXIT_QUALIFICATION},
	{"vm_instr_error", VMCS_VM_INSTRUCTION_ERROR}, {"exit_intr_info", VMCS_EXIT_INTR_INFO},
	{"idt_vectoring", VMCS_IDT_VECTORING_INFO}, {"instr_len", VMCS_EXIT_INSTRUCTION_LENGTH},
	{"guest_phys", VMCS_GUEST_PHYSICAL_ADDRESS}, {"guest_linear", VMCS_GUEST_LINEAR_ADDRESS},
	{"rip", VMCS_GUEST_RIP}, {"rsp", VMCS_GUEST_RSP}, {"rflags", VMCS_GUEST_RFLAGS},
	{"cr0", VMCS_GUEST_CR0}, {"cr0_shadow", VMCS_CR0_READ_SHADOW}, {"cr3", VMCS_GUEST_CR3},
	{"cr4", VMCS_GUEST_CR4}, {"cr4_shadow", VMCS_CR4_READ_SHADOW}, {"efer", VMCS_GUEST_IA32_EFER},
	{"cs_sel", VMCS_GUEST_CS_SEL}, {"cs_ar", VMCS_GUEST_CS_AR}, {"cs_base", VMCS_GUEST_CS_BASE},
	{"ss_sel", VMCS_GUEST_SS_SEL}, {"ss_ar", VMCS_GUEST_SS_AR}, {"ds_sel", VMCS_GUEST_DS_SEL},
	{"tr_sel", VMCS_GUEST_TR_SEL}, {"tr_ar", VMCS_GUEST_TR_AR}, {"tr_base", VMCS_GUEST_TR_BASE},
	{"ldtr_ar", VMCS_GUEST_LDTR_AR}, {"gdtr_base", VMCS_GUEST_GDTR_BASE}, {"idtr_base", VMCS_GUEST_IDTR_BASE},
	{"interruptibility", VMCS_GUEST_INTERRUPTIBILITY}, {"activity", VMCS_GUEST_ACTIVITY_STATE},
	{"entry_intr_info", VMCS_ENTRY_INTR_INFO}, {"pin_ctls", VMCS_PIN_BASED_CONTROLS},
	{"proc_ctls", VMCS_PROC_BASED_CONTROLS}, {"proc_ctls2", VMCS_PROC_BASED_CONTROLS2},
	{"exit_ctls", VMCS_EXIT_CONTROLS}, {"entry_ctls", VMCS_ENTRY_CONTROLS}, {"eptp", VMCS_EPT_POINTER},
	{"vpid", VMCS_VPID}, {"host_rip", VMCS_HOST_RIP}, {"host_rsp", VMCS_HOST_RSP},
	{"host_cr3", VMCS_HOST_CR3}, {"host_cr4", VMCS_HOST_CR4},
};

void vmcs_dump(struct hv_cpu *cpu)
{
	struct log_ring *log = &cpu->hv->log;
	log_printf(log, LOG_ERROR, "VMCS dump, CPU %u:", cpu->index);
	for (unsigned i = 0; i < ARRAY_SIZE(dump_fields); i += 3) {
		char line[200];
		int n = 0;
		for (unsigned j = i; j < i + 3 && j < ARRAY_SIZE(dump_fields); j++)
			n += snprintf(line + n, sizeof(line) - (size_t)n, "  %-16s %016llx", dump_fields[j].name,
				      (unsigned long long)vmcs_read_raw(dump_fields[j].encoding));
		log_printf(log, LOG_ERROR, "%s", line);
	}
}
