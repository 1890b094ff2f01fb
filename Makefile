# dunehv: build, run and test. `make help` lists the targets.
SHELL := /bin/bash
BUILD := build
NEWLIB := $(BUILD)/newlib/install/x86_64-elf
GCC_INC := $(shell gcc -print-file-name=include)
LIBGCC := $(shell gcc -print-libgcc-file-name)
PYTHON := /usr/bin/python3

WARN := -Wall -Wextra -Werror -Wno-unused-parameter
# Hypervisor core: freestanding, general registers only (never touches the
# guest's FPU/SSE state), kernel code model at HV_VIRT_BASE.
HV_CFLAGS := -std=gnu11 -O2 -g $(WARN) -ffreestanding -fno-stack-protector -fno-pic -fno-pie \
	-mcmodel=kernel -mno-red-zone -mgeneral-regs-only -fno-asynchronous-unwind-tables \
	-nostdinc -isystem $(NEWLIB)/include -isystem $(GCC_INC) -Ihv
# UEFI loader: GNU-EFI application (PIC shared object turned into PE32+).
EFI_CFLAGS := -std=gnu11 -O2 -g $(WARN) -ffreestanding -fno-stack-protector -fpic -fshort-wchar \
	-mno-red-zone -mgeneral-regs-only -fno-strict-aliasing -DEFI_FUNCTION_WRAPPER \
	-nostdinc -I/usr/include/efi -I/usr/include/efi/x86_64 -isystem $(NEWLIB)/include -isystem $(GCC_INC) -Ihv

# hv/ in layers: core/ (machine-wide and per-CPU state, vendor-neutral),
# guest/ (Linux's vCPUs and Dune contexts), arch/x86/ (x86 CPU code) and one
# backend behind hv/backend.h: arch/x86/vmx/ (Intel VMX, the default) or
# arch/x86/svm/ (AMD SVM). One image per backend (BACKEND=vmx|svm): the
# backend's functions are direct calls, no indirection on the exit path.
BACKEND ?= vmx
ifeq ($(BACKEND),vmx)
OUT := $(BUILD)
EFI := $(BUILD)/dunehv.efi
else ifeq ($(BACKEND),svm)
OUT := $(BUILD)/svm
EFI := $(BUILD)/dunehv-svm.efi
else
$(error BACKEND=$(BACKEND): vmx or svm)
endif
BACKEND_DEF := -DHV_BACKEND_$(shell echo $(BACKEND) | tr a-z A-Z)
HV_CFLAGS += $(BACKEND_DEF)
EFI_CFLAGS += $(BACKEND_DEF)
HV_SRCS := $(wildcard hv/core/*.c hv/guest/*.c hv/arch/x86/*.c hv/arch/x86/$(BACKEND)/*.c)
HV_ASM := $(wildcard hv/arch/x86/*.asm hv/arch/x86/$(BACKEND)/*.asm)
HV_HDRS := $(wildcard hv/*.h hv/*/*.h hv/*/*/*.h hv/*/*/*/*.h)
HV_OBJS := $(patsubst hv/%.c,$(OUT)/hv/%.o,$(HV_SRCS)) $(patsubst hv/%.asm,$(OUT)/hv/%.o,$(HV_ASM))
# hv/ pieces the loader shares: the config parser and the backend's capability check
BOOT_SHARED := core/config arch/x86/$(BACKEND)/$(BACKEND)_caps core/libc_glue
BOOT_OBJS := $(patsubst boot/%.c,$(OUT)/boot/%.o,$(wildcard boot/*.c)) \
	$(patsubst %,$(OUT)/boot/hv/%.o,$(BOOT_SHARED)) $(OUT)/boot/trampoline.o $(OUT)/boot/core_blob.o
CORE_ELF := $(OUT)/hv/dunehv-core.elf
GUEST := $(BUILD)/guest

.PHONY: all help setup newlib hv efi efi-svm guest run shell test unit unit-bin bench-boot bench-dune bench-sandbox bench-apps fuzz install uninstall \
	install-esp esp-default uninstall-esp clean distclean
all: efi efi-svm guest

help:
	@echo "dunehv make targets:"
	@echo "  make setup       install the Debian packages the build and tests need, build Bochs 3.0 from source (root, idempotent)"
	@echo "  make run         set up, build everything, boot dunehv + Linux + a short demo on 2 CPUs in Bochs (each capability once), print results"
	@echo "  make test        set up, build, run unit tests (ASan/UBSan) and emulator integration tests (Bochs 3.0, 2 and 4 CPUs)"
	@echo "  make shell       boot dunehv + Linux in Bochs to an interactive root shell (dune.ko loaded, libdune's programs, dunehv); EXTRA=dir adds your files as /extra"
	@echo "  make unit        host unit tests (ASan/UBSan) of hv/ and of dune-sandbox's policy and path resolution"
	@echo "  make bench-boot  boot benchmark (2 CPUs): Bochs ticks and wall time with/without dunehv, exits by reason per CPU; Bochs 3.0 vs 2.7"
	@echo "  make bench-dune  Dune benchmark vs Linux: getpid, first touch, page faults, interposition, Appel-Li, CPU migration; exits per syscall, shoot-downs per unmap"
	@echo "                   (BACKEND=svm: the SVM image in Bochs' ryzen model beside the VMX one, one table)"
	@echo "  make bench-sandbox  dune-sandbox vs native, ptrace and seccomp user-notify: stat tree, small reads, fork+exec, gzip -9 of GZIP_MB (16) MiB"
	@echo "  make bench-apps  sthreads: create+join (fork, pthread, sthread recycled/fresh/first), context switches, HTTP requests (sthread vs fork per connection); Boehm GC: GCBench and gcchurn with the Dune, mprotect and soft-dirty dirty bits"
	@echo "  make fuzz        the hypercall and ioctl fuzzers at 10x make test's count (10,000,000 calls each, seed 1; FUZZ_CALLS=N for another count), in Bochs on 2 CPUs"
	@echo "  make efi         build $(EFI) (loader + embedded hypervisor core; BACKEND=svm: the AMD SVM image, build/dunehv-svm.efi)"
	@echo "  make efi-svm     build build/dunehv-svm.efi (AMD SVM: Linux and Dune processes on every CPU; see the README)"
	@echo "  make guest       fetch the Debian kernel; build dune.ko (with dkms), libdune, libgc (three dirty-bit variants), dune-sandbox, the dunehv command, the test tools and the initramfs"
	@echo "  make install     the dunehv command and its man page, libdune (headers, .a, .so, libdune.pc; PREFIX=/usr/local, DESTDIR=), dune.ko's DKMS tree in /usr/src, the udev rule; make uninstall"
	@echo "  make install-esp ESP=/boot/efi  put dunehv.efi, the running kernel and initrd (KERNEL=, INITRD= for others) and a dunehv.cfg from /proc/cmdline (CMDLINE=) on the ESP;"
	@echo "                   add a boot entry tried once (BootNext; DEFAULT=1: first in BootOrder; BOOT_ENTRY=no: none), kernel hooks; DRY_RUN=1 prints without doing"
	@echo "  make esp-default put dunehv's boot entry first in BootOrder (after a good trial boot); make uninstall-esp undoes all of install-esp"
	@echo "  make clean       remove build outputs (keeps the Bochs, newlib, libgc and kernel caches)"
	@echo "  make distclean   remove everything under $(BUILD)/"

setup:
	@scripts/setup.sh

newlib: $(NEWLIB)/lib/libc.a
$(NEWLIB)/lib/libc.a: | scripts/build-newlib.sh
	scripts/build-newlib.sh

$(OUT)/hv/%.o: hv/%.c $(HV_HDRS) $(NEWLIB)/lib/libc.a
	@mkdir -p $(@D)
	@echo "  CC  $<"; gcc $(HV_CFLAGS) -c $< -o $@

$(OUT)/hv/%.o: hv/%.asm
	@mkdir -p $(@D)
	nasm -f elf64 -i hv/arch/x86/ -o $@ $<

$(CORE_ELF): $(HV_OBJS) hv/hv.ld
	ld -nostdlib -static -z max-page-size=4096 --no-warn-execstack -T hv/hv.ld -o $@ $(HV_OBJS) \
		$(NEWLIB)/lib/libc.a $(LIBGCC)
	@# the core must not use SSE/x87 registers: they belong to the guest
	@if objdump -d $@ | grep -qE '%xmm|%ymm|%zmm|%st\b|%mm[0-7]'; then \
		echo "error: $@ uses FPU/SSE registers"; exit 1; fi
hv: $(CORE_ELF)

$(OUT)/boot/%.o: boot/%.c $(wildcard boot/*.h) $(HV_HDRS) $(NEWLIB)/lib/libc.a
	@mkdir -p $(@D)
	@echo "  CC  $< (efi)"; gcc $(EFI_CFLAGS) -c $< -o $@
$(OUT)/boot/hv/%.o: hv/%.c $(HV_HDRS) $(NEWLIB)/lib/libc.a
	@mkdir -p $(@D)
	@echo "  CC  $< (efi)"; gcc $(EFI_CFLAGS) -c $< -o $@
$(OUT)/boot/trampoline.o: boot/trampoline.asm
	@mkdir -p $(@D)
	nasm -f elf64 -o $@ $<
$(OUT)/boot/core_blob.o: boot/core_blob.asm $(CORE_ELF)
	@mkdir -p $(@D)
	nasm -f elf64 -DHV_CORE_ELF='"$(CORE_ELF)"' -o $@ $<

$(OUT)/boot/dunehv.so: $(BOOT_OBJS)
	ld -nostdlib -znocombreloc -T /usr/lib/elf_x86_64_efi.lds -shared -Bsymbolic --no-warn-execstack \
		-L/usr/lib /usr/lib/crt0-efi-x86_64.o $(BOOT_OBJS) -lefi -lgnuefi $(NEWLIB)/lib/libc.a $(LIBGCC) -o $@
	@# PE images cannot carry unresolved symbols
	@if nm -u $@ | grep -q .; then echo "error: unresolved symbols in $@:"; nm -u $@; exit 1; fi

$(EFI): $(OUT)/boot/dunehv.so
	objcopy -j .text -j .sdata -j .data -j .dynamic -j .dynsym -j .rel -j .rela -j .rel.* -j .rela.* \
		-j .reloc --target=efi-app-x86_64 --subsystem=10 $< $@
efi: $(EFI)
# the SVM image beside the default one (make test boots both)
efi-svm:
	@$(MAKE) --no-print-directory efi BACKEND=svm

KERNEL_DIR := $(BUILD)/guest-kernel
guest: $(KERNEL_DIR)/vmlinuz $(GUEST)/initrd.img
$(KERNEL_DIR)/vmlinuz:
	scripts/guest-kernel.sh $(KERNEL_DIR)
$(GUEST)/initrd.img: $(KERNEL_DIR)/vmlinuz $(shell find tests/guest linux-shim guest-libdune -type f 2>/dev/null) hv/include/dunehv/abi.h \
		scripts/build-initramfs.sh scripts/build-libgc.sh scripts/debian-source.sh $(wildcard scripts/patches/libgc/*)
	GUEST_KERNEL_DIR=$(KERNEL_DIR) tests/guest/build.sh $(GUEST)

# Host unit tests: the pure logic of hv/ with ASan + UBSan.
UNIT_HV := core/config core/mtrr arch/x86/ept core/page_pool core/dune_ctx arch/x86/vmx/vmx_caps arch/x86/svm/svm_caps arch/x86/svm/vmcb_check core/cpuid_policy \
	arch/x86/segment core/guest_mem arch/x86/event_combine arch/x86/machine_check core/exit_dispatch arch/x86/vmx/exit_reason_names core/log \
	core/acpi_sleep arch/x86/insn_ea arch/x86/guest_walk
UNIT_BIN := $(BUILD)/unit/hv-unit
UNIT_CFLAGS := -std=gnu11 -g -O1 $(WARN) -DHV_HOST_TEST -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -Ihv -Itests/unit
$(UNIT_BIN): $(patsubst %,hv/%.c,$(UNIT_HV)) $(wildcard tests/unit/*.c tests/unit/*.h tests/unit/*.def) $(HV_HDRS)
	@mkdir -p $(@D)
	gcc $(UNIT_CFLAGS) -o $@ $(patsubst %,hv/%.c,$(UNIT_HV)) $(wildcard tests/unit/*.c)
unit-bin: $(UNIT_BIN)

# dune-sandbox's policy and path resolution, on the host with the same sanitizers.
SANDBOX_UNIT_BIN := $(BUILD)/unit/sandbox-unit
SANDBOX_UNIT_SRC := guest-libdune/apps/sandbox/policy.c guest-libdune/apps/sandbox/paths.c \
	guest-libdune/apps/sandbox/test/policy_unit.c
$(SANDBOX_UNIT_BIN): $(SANDBOX_UNIT_SRC) guest-libdune/apps/sandbox/sandbox.h
	@mkdir -p $(@D)
	gcc -std=gnu11 -g -O1 $(WARN) -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
		-Iguest-libdune -Iguest-libdune/apps/sandbox -o $@ $(SANDBOX_UNIT_SRC)
sandbox-unit-bin: $(SANDBOX_UNIT_BIN)

run: setup
	@$(MAKE) --no-print-directory efi guest
	$(PYTHON) scripts/run-demo.py

shell: setup
	@$(MAKE) --no-print-directory efi guest
	$(PYTHON) scripts/shell.py $(if $(EXTRA),--extra "$(EXTRA)") $(if $(TIMEOUT),--timeout $(TIMEOUT))

unit: setup
	$(PYTHON) -m pytest -q tests/test_unit.py

test: setup
	@$(MAKE) --no-print-directory efi efi-svm guest
	$(PYTHON) -m pytest -v -rs --durations=12 --capture=sys tests/

bench-boot: setup
	@$(MAKE) --no-print-directory efi guest
	$(PYTHON) scripts/bench-boot.py

bench-dune: setup
	@$(MAKE) --no-print-directory efi efi-svm guest BACKEND=vmx
	$(PYTHON) scripts/bench-dune.py --backend $(BACKEND)

bench-sandbox: setup
	@$(MAKE) --no-print-directory efi guest
	$(PYTHON) scripts/bench-sandbox.py

bench-apps: setup
	@$(MAKE) --no-print-directory efi guest
	$(PYTHON) scripts/bench-apps.py

fuzz: setup
	@$(MAKE) --no-print-directory efi guest
	$(PYTHON) scripts/fuzz.py $(FUZZ_CALLS)

# On a machine of one's own (root, or DESTDIR= for a staging tree): libdune
# (headers, libdune.a, libdune.so, libdune.pc under PREFIX), dune.ko's DKMS
# source tree (/usr/src/dune-<version>; then `dkms install -m dune -v
# <version>`) and the udev rule for /dev/dune's group.
PREFIX ?= /usr/local
# the dunehv command; check-config compiles in the loader's parser
$(BUILD)/dunehv: linux-shim/tool/dunehv.c hv/core/config.c hv/core/config.h hv/core/types.h hv/include/dunehv/abi.h
	@mkdir -p $(@D)
	gcc -O2 -Wall -Wextra -Werror -Ihv/include -Ihv -o $@ $< hv/core/config.c
install: $(BUILD)/dunehv
	install -D -m 755 $(BUILD)/dunehv $(DESTDIR)$(PREFIX)/sbin/dunehv
	install -D -m 644 linux-shim/tool/dunehv.8 $(DESTDIR)$(PREFIX)/share/man/man8/dunehv.8
	$(MAKE) -C guest-libdune OUT=$(abspath $(BUILD))/libdune-install PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) install
	$(MAKE) -C linux-shim dkms-source DESTDIR=$(DESTDIR)
	$(MAKE) -C linux-shim install-udev-rule DESTDIR=$(DESTDIR)
	@echo "installed; now: dkms install -m dune -v $$(cat VERSION) (or make -C linux-shim modules_install), groupadd --system dune"
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/dunehv $(DESTDIR)$(PREFIX)/share/man/man8/dunehv.8
	$(MAKE) -C guest-libdune OUT=$(abspath $(BUILD))/libdune-install PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) uninstall
	rm -rf $(DESTDIR)/usr/src/dune-$$(cat VERSION)
	rm -f $(DESTDIR)/etc/udev/rules.d/60-dune.rules

# On a machine of one's own, as root: dunehv on the EFI system partition
# (scripts/install-esp.py; every action printed, DRY_RUN=1 only prints).
install-esp: $(EFI)
	@test -n "$(ESP)" || { echo "usage: make install-esp ESP=/boot/efi [KERNEL=... INITRD=...|none] [CMDLINE='...'] [BOOT_ENTRY=auto|yes|no] [DEFAULT=1] [DRY_RUN=1]"; exit 2; }
	$(PYTHON) scripts/install-esp.py $(if $(DRY_RUN),--dry-run) install --esp "$(ESP)" --efi $(EFI) \
		$(if $(KERNEL),--kernel "$(KERNEL)") $(if $(INITRD),--initrd "$(INITRD)") $(if $(CMDLINE),--cmdline "$(CMDLINE)") \
		$(if $(BOOT_ENTRY),--boot-entry $(BOOT_ENTRY)) $(if $(DEFAULT),--default)
esp-default:
	$(PYTHON) scripts/install-esp.py $(if $(DRY_RUN),--dry-run) make-default
uninstall-esp:
	$(PYTHON) scripts/install-esp.py $(if $(DRY_RUN),--dry-run) uninstall

clean:
	rm -rf $(BUILD)/hv $(BUILD)/boot $(BUILD)/dunehv.efi $(BUILD)/svm $(BUILD)/dunehv-svm.efi $(BUILD)/unit $(BUILD)/runs $(GUEST)
distclean:
	rm -rf $(BUILD)
