; The hypervisor core (build/hv/dunehv-core.elf) embedded in dunehv.efi.
section .rodata
global hv_core_elf_start, hv_core_elf_end
align 16
hv_core_elf_start:
	incbin HV_CORE_ELF
hv_core_elf_end:

section .note.GNU-stack noalloc noexec nowrite progbits
