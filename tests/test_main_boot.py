"""Linux boots under dunehv and runs the guest test init (tests/guest/init):
CPUID signature, the hvprobe test module's hypercalls and the read of the
hypervisor's memory, the idle-exit measurement, a memory read-back, Dune
contexts, dune.ko, libdune and its programs, the hardening attacks and the
fuzzers; the tests below check what the guest and the hypervisor printed on
COM1. One boot per platform (fixture main_boot, conftest.PLATFORMS): the
VMX image in Bochs 3.0, the SVM image in QEMU's TCG (EPYC) and in Bochs'
ryzen model, each with 2 CPUs; main_boot.plat says what differs between
them. The checks of the second CPU are in test_smp_bochs.py."""
import re

import dunehv_boot
from conftest import assert_upstream_programs_pass


def assert_each_found(lines, patterns):
    """Every pattern matches at least one of lines."""
    for expect in patterns:
        assert any(re.search(expect, l) for l in lines), expect


# hvprobe's context self test (ctxtest.c) where INT3 does not exit
# (conftest.PLATFORMS, QEMU): the context's INT3 reaches its own IDT, which
# it has not, so it shuts down before its exit_group.
CTX_CHECKS_AFTER_INT3 = (r"^INT3 came back as a #BP exit \(1\) OK$",
                         r"^exit_group\(42\) after 2 system calls OK$")
CTX_CHECKS_WITHOUT_INT3_EXIT = (r"^INT3 came back as a #BP exit \(0\) FAIL$",
                                r"^exit_group\(-1\) after 1 system calls FAIL$")


def hvprobe_failures(plat):
    """How many of hvprobe's self-test checks fail on plat (see above)."""
    return 0 if plat.int3_exits else len(CTX_CHECKS_WITHOUT_INT3_EXIT)


def test_boot_reaches_guest_init_and_stops_cleanly(main_boot):
    out = main_boot.output
    assert "dunehv: loader" in out
    assert re.search(r"\[dunehv\] core starting: memory \[0x[0-9a-f]+, 0x[0-9a-f]+\) \(64 MiB\)", out)
    plat = main_boot.plat
    for cpu in range(plat.cpus):
        assert f"[dunehv] {plat.backend} on, CPU {cpu}" in out
    assert f"dunehv: hypervisor active on all {plat.cpus} CPUs" in out
    assert re.search(rf"\bnr_cpus={plat.cpus}\b", out)  # every CPU under the hypervisor (hvprobe INFO)
    if plat.cpus > 1:
        assert "nr_cpus=1" not in out
    assert "Run /init as init process" in out
    assert "GUEST: dunehv present" in dunehv_boot.user_output(out)
    assert "GUEST: done" in dunehv_boot.user_output(out)
    assert main_boot.reason == "shutdown", main_boot.summary()
    assert "PANIC" not in out


def test_linux_runs_as_a_guest_with_dunehv_signature(main_boot):
    m = re.search(r"hvcheck: cpuid hypervisor-bit=(\d) signature=(\S+) max-leaf=(0x[0-9a-f]+) abi=(0x[0-9a-f]+) dunehv=1",
                  dunehv_boot.console_views(main_boot.output))
    assert m, "hvcheck cpuid line missing"
    assert m.group(1) == str(main_boot.plat.hypervisor_bit)  # the hypervisor bit stays as on the bare CPU
    assert m.group(2).startswith("DuneHV")
    assert int(m.group(3), 16) == dunehv_boot.abi_define("DUNEHV_CPUID_MAX_LEAF")
    assert int(m.group(4), 16) == dunehv_boot.abi_define("DUNEHV_ABI_VERSION")
    # VMX (and SVM, test_svm.py) is hidden from Linux
    # /proc/cpuinfo has one flags line per CPU
    hypervisor_lines = main_boot.plat.hypervisor_bit * main_boot.plat.cpus
    assert f"GUEST: cpuinfo vmx=0 hypervisor={hypervisor_lines}" in dunehv_boot.user_output(main_boot.output)


def test_hypercalls_return_version_and_exit_counters(main_boot):
    out = dunehv_boot.console_views(main_boot.output)
    version = dunehv_boot.abi_define("DUNEHV_ABI_VERSION")
    assert f"hvprobe: VERSION -> {version:#x} (module ABI {version:#x}) OK" in out
    m = re.search(r"hvprobe: EXIT_STATS -> \d+: nr_reasons=80 total=(\d+)", out)
    assert m and int(m.group(1)) > 0
    slot = main_boot.plat.cpuid_slot
    cpuid = re.search(rf"hvprobe: EXIT_STATS reason {slot} CPUID (\d+)", out)
    assert cpuid and int(cpuid.group(1)) > 0
    # the same counters through /proc/dunehv/stats
    assert re.search(rf"^{slot} CPUID \d+$", out, re.M)
    assert re.search(r"^exits_total=\d+$", out, re.M)


def test_hypervisor_memory_is_absent_from_linux(main_boot):
    out = dunehv_boot.console_views(main_boot.output)
    base = int(re.search(r"hv_phys_base=(0x[0-9a-f]+)", out).group(1), 16)
    size = int(re.search(r"hv_phys_size=(0x[0-9a-f]+)", out).group(1), 16)
    m = re.search(r"hvprobe: read of hypervisor memory at (0x[0-9a-f]+) -> (-?\d+)", out)
    assert m, "hvprobe did not try to read hypervisor memory"
    addr = int(m.group(1), 16)
    assert base <= addr < base + size
    assert m.group(2) == "-14"  # -EFAULT
    counts = re.search(r"hvprobe: hv_memory_violations before=(\d+) after=(\d+)", out)
    assert counts and int(counts.group(2)) == int(counts.group(1)) + 1
    # the hypervisor logged the violation with the address and its owner
    v = re.search(rf"\[dunehv\] {main_boot.plat.gpa_fault} #\d+: r at gpa (0x[0-9a-f]+) .*\(hypervisor memory\)", out)
    assert v and int(v.group(1), 16) == addr


def test_memory_around_and_outside_the_hole_works(main_boot):
    # counted in the console as printed (the kernel's lines), not in both views
    readable = re.findall(r"hvprobe: neighbour page (0x[0-9a-f]+) readable .* OK", main_boot.output)
    assert len(readable) == 2, "pages just below and above the hypervisor must be readable"
    assert re.search(r"hvcheck: memory 64 MiB OK", dunehv_boot.console_views(main_boot.output))


def test_bad_hypercall_arguments_get_errors_not_crashes(main_boot):
    out = dunehv_boot.console_views(main_boot.output)
    for expect in ("LOG_READ into hypervisor memory 0x[0-9a-f]+ -> -14 OK",
                   r"LOG_READ straddling hv_phys_base \(0x[0-9a-f]+\+\d+\) -> -14 OK",
                   "LOG_READ beyond RAM 0xfffffffff000 -> -14 OK",
                   "INFO beyond RAM 0xfffffffff000 -> -14 OK",
                   "unknown function 0x[0-9a-f]+ -> -38 OK"):
        assert re.search("hvprobe: " + expect, out), expect
    assert f"hvprobe: selftest done failures={hvprobe_failures(main_boot.plat)}" in out
    assert "hvcheck: vmcall from ring 3 -> SIGILL" in out


def test_single_step_over_an_instruction_the_hypervisor_emulates(main_boot):
    """hvcheck step: a user program single-steps (EFLAGS.TF) over CPUID,
    which exits and is emulated; its trap comes right after CPUID, as on
    a bare CPU (a pending BS debug exception on VMX, an injected #DB on
    SVM), not one instruction later."""
    dunehv_boot.require(dunehv_boot.verdicts(main_boot.output), ["step.cpuid"])


def test_log_ring_is_readable_from_linux(main_boot):
    out = dunehv_boot.user_output(main_boot.output)  # cat's output
    section = out.split("GUEST: --- /proc/dunehv/log", 1)[1].split("GUEST: --- end of log", 1)[0]
    assert "[dunehv] core starting" in section
    assert f"[dunehv] {main_boot.plat.gpt} for Linux" in section
    assert f"[dunehv] {main_boot.plat.gpa_fault} #1" in section


def test_no_exits_at_idle(main_boot):
    """The only exits at idle are the measurement's own EXIT_STATS hypercall
    (its VMCALL or VMMCALL) and, under SVM, Linux's xAPIC writes
    (NPF_APIC_WRITE, README "AMD: the SVM backend"); hvcheck judges each CPU."""
    out = dunehv_boot.user_output(main_boot.output)
    m = re.search(r"hvcheck: idle exits=(\d+) seconds=(\d+)", out)
    assert m, "idle measurement missing"
    reasons = dict((int(a), int(b)) for a, b in re.findall(r"hvcheck: idle reason (\d+) count (\d+)", out))
    hypercall = main_boot.plat.hypercall[1]
    assert set(reasons) <= {hypercall, *main_boot.plat.idle_slots}, reasons
    assert reasons.get(hypercall, 0) <= 1
    dunehv_boot.require(dunehv_boot.verdicts(main_boot.output), [f"idle.cpu{c}" for c in range(main_boot.plat.cpus)])


def test_no_kernel_warnings_or_oopses(main_boot):
    assert dunehv_boot.kernel_trouble(main_boot.output) is None


def test_module_unloads(main_boot):
    assert "GUEST: rmmod hvprobe rc=0" in dunehv_boot.user_output(main_boot.output)
    assert "still present after rmmod" not in main_boot.output


def test_dune_context_runs_and_returns_to_linux(main_boot):
    """The hypervisor's Dune contexts, driven from hvprobe's ctxtest.c."""
    out = main_boot.output
    ctx = [l.split("hvprobe: ctx: ", 1)[1] for l in out.splitlines() if "hvprobe: ctx: " in l]
    assert ctx, "the context self test did not run"
    plat = main_boot.plat
    assert_each_found(ctx, CTX_CHECKS_AFTER_INT3 if plat.int3_exits else CTX_CHECKS_WITHOUT_INT3_EXIT)
    assert_each_found(ctx, (r"^CPUID 0x40000000 inside the context: ebx=0x656e7544 \(no exit to Linux\) OK$",
                            r"^system call by VMCALL: getpid -> \d+ OK$",
                            r"^lazily mapped page after 1 EPT exit\(s\): 0x123456789abcdef OK$",
                            r"^interrupts or the time slice preempted the spinning context [1-9]\d* times OK$",
                            r"^a 1 GiB EPT leaf \(gpa 0x40000000 -> hpa 0x[0-9a-f]+\): the context's store landed in our page OK$",
                            r"^MAP of a 1 GiB page from a 4 KiB-aligned page -> -22 OK$",
                            r"^MAP with both the 2 MiB and the 1 GiB flag -> -22 OK$",
                            r"^MAP of the 1 GiB page around the hypervisor's memory -> -14 OK$",
                            r"^RUN asking to raise an unknown exception kind -> -22 OK$",
                            r"^RUN with another owner's token -> -1 OK$",
                            r"^RUN with a garbage handle -> -22 OK$",
                            r"^MAP of a hypervisor page -> -14 OK$",
                            r"^EPT quota stops a context from taking more tables -> -122 OK$",
                            r"^UNMAP of everything removed \d+ translations OK$",
                            r"^200 context lifetimes OK$",
                            r"^no leak: live 0->0, pages 0->0, pool free (\d+)->\1 OK$",
                            rf"^selftest done failures={hvprobe_failures(plat)}$"))
    failed = [l for l in ctx if l.endswith("FAIL")]
    assert len(failed) == hvprobe_failures(plat), failed
    # the context's exits were counted apart from Linux's
    m = re.search(r"^dune_exits_total=(\d+)$", out, re.M)
    assert m and int(m.group(1)) > 0
    assert re.search(rf"^dune {plat.cpuid_slot} CPUID [1-9]\d*$", out, re.M)


def test_dev_dune_runs_a_process_in_dune_mode(main_boot):
    """linux-shim/dune.ko, built with dkms and loaded by its alias at the
    first open of /dev/dune, + a process entering Dune mode without libdune
    (tests/guest/dune/dunemini.c): ioctls, bad arguments, system calls from
    Dune, lazily filled memory, fork, exit status."""
    out = dunehv_boot.user_output(main_boot.output)
    # loaded through its aliases: the node from modules.devname, the module
    # by char-major-10-233 at the first open (the dkms-built dune.ko, which
    # depmod indexed in the initramfs)
    assert "GUEST: modules.devname: dune dune c10:233" in out
    assert "GUEST: open /dev/dune without dune.ko loaded rc=0" in out
    assert "GUEST: dune.ko loaded by its alias rc=0" in out
    version = (dunehv_boot.ROOT / "VERSION").read_text().strip()
    major = dunehv_boot.abi_define("DUNEHV_ABI_MAJOR")
    assert re.search(rf"dune: /dev/dune \(mode 0660\) ready on dunehv ABI {major}\.\d+, module {re.escape(version)}",
                     main_boot.output)  # kernel log
    assert re.search(r"^crw-rw---- +1 +(root|0) +(root|0) +10, +233 .* /dev/dune$", out, re.M)  # misc 10:233, mode 0660, root:root
    lines = [l for l in out.splitlines() if l.startswith("dunemini: ")]
    assert_each_found(lines, (r"GET_LAYOUT phys_limit=0x[0-9a-f]+ base_map=0x[0-9a-f]+ base_stack=0x[0-9a-f]+ OK",
                              r"GET_SYSCALL \(LSTAR, truncated like upstream\) = 0x[0-9a-f]+ OK",
                              r"GET_LAYOUT to a bad pointer -> EFAULT OK",
                              r"ENTER with a bad pointer -> EFAULT OK",
                              r"unknown ioctl -> ENOTTY OK",
                              r"ENTER with a garbage vcpu handle -> EINVAL OK",
                              r"^dunemini: hello from Dune mode$",
                              r"DUNE_ENTER returned 0 OK",
                              r"session ended: ret=1 status=7 \(want EXIT, 7\) OK",
                              r"CPUID in Dune: 0x656e7544 OK",
                              r"write from Dune -> 31 OK",
                              r"getpid from Dune -> \d+ OK",
                              r"4096 of 4096 pages read back in Dune OK",
                              r"fork from Dune: child \d+ exited in Linux mode with 69 OK",
                              r"Dune's writes visible in Linux mode OK",
                              r"done failures=0"))
    assert "GUEST: dunemini rc=0" in out
    # the module is held while a process has /dev/dune open, and unloads after
    assert re.search(r"GUEST: rmmod dune while /dev/dune is open rc=[1-9]", out)
    assert "GUEST: rmmod dune rc=0" in out


def test_upstream_hello_runs_on_our_libdune(main_boot):
    """upstream's test/hello built against guest-libdune: enter Dune, print
    from Dune mode, catch a divide error in a registered handler, recover."""
    out = dunehv_boot.program_output(main_boot.output)
    hello = dunehv_boot.lines_before(out, "GUEST: hello rc=0")
    assert hello == ["hello: not running dune yet", "hello: now printing from dune mode",
                     "hello: caught divide by zero!", "hello: recovered from divide by zero"], out[-3000:]


def test_upstream_built_libdune_programs_run_unmodified(main_boot):
    """Binary compatibility: upstream Dune's hello, test and timetest, built
    with upstream's Makefiles against upstream's unmodified libdune
    (tests/upstream-dune), run against dune.ko and the hypervisor: Dune
    entry, upstream's VMCALL system calls, its IDT (hello-div's #DE
    handler), fork, pthread and signal tests, time() through the vsyscall
    page."""
    assert_upstream_programs_pass(main_boot.output)


def test_system_calls_and_memory_from_dune_mode(main_boot):
    """guest-libdune/test/syscalls.c: glibc system calls from ring 0 of the
    Dune context go through libdune's LSTAR trampoline, VMCALL, and dune.ko's
    trampoline; syscalls upstream refused (numbers > 312, clone3) work."""
    out = dunehv_boot.user_output(main_boot.output)
    lines = [l for l in out.splitlines() if l.startswith("syscalls: ")]
    assert_each_found(lines, (r"running in ring 0 of the Dune context OK",
                              r"file write/read \(17, 17\) OK",
                              r"statx size 17 OK",
                              r"getrandom 32 bytes OK",
                              r"unknown system call number -> ENOSYS OK",
                              r"system call number -1 -> ENOSYS OK",
                              r"rseq -> Linux's own answer \(Invalid argument\) OK",
                              r"io_uring: a NOP submitted and completed through rings mapped in Dune OK",
                              r"vfork: child exited with 70 in Linux mode, parent back in Dune OK",
                              r"256 MiB touched in Dune mode and read back \(65536 pages\) OK",
                              r"munmap OK",
                              r"transparent huge page: 512 places read, then written, in Dune mode with [0-6] EPT violations OK",
                              r"hugetlbfs 2 MiB page: 512 places read, then written, in Dune mode with [0-6] EPT violations OK",
                              r"mprotect to read-only, still readable OK",
                              r"pthread_create from Dune \(thread ran in Linux mode, returned 0x666\) OK",
                              r"fork: child exited with 69 in Linux mode OK",
                              r"copy-on-write after fork: child saw 1, parent keeps 3 OK",
                              # 13 = 10 + (P | W): a write to a present page
                              r"write after mprotect\(PROT_READ\) faults into the Dune #PF handler \(value 10, child exit 13\) OK",
                              # 11 = 10 + P: a read
                              r"read after munmap faults into the Dune #PF handler, no stale data \(child exit 11\) OK",
                              r"the #PF handler maps the page again and the access completes \(child exit 20\) OK",
                              r"execve'd program runs, in_dune=0",
                              r"execve from Dune: exit code 42 OK",
                              r"done failures=0"))
    assert "GUEST: syscalls rc=0" in out


def test_upstream_test_and_timetest_run_on_our_libdune(main_boot):
    """The checks of upstream's test/test (fork, pthread, signal, each in a
    forked child that enters Dune) and test/timetest (time() through the
    vDSO, whose vvar page is a VM_PFNMAP mapping; the vsyscall page)."""
    out = dunehv_boot.user_output(main_boot.output)
    lines = out.splitlines()
    assert "Doing tests" in lines
    for name in ("fork", "pthread", "signal"):
        assert f"==== Running test {name}" in lines
        assert f"==== Test {name} - passed" in lines, name
    assert "Done all tests" in lines
    assert "GUEST: libdune test rc=0" in out
    assert re.search(r"^Success! t=\d+$", out, re.M)
    assert re.search(r"^timetest: time \d+, gettimeofday \d+, vsyscall time \d+$", out, re.M)
    assert "GUEST: libdune timetest rc=0" in out


def test_ring3_inside_dune_and_precise_mappings(main_boot):
    """dune_jump_to_user: ring-3 SYSCALL reaches the handler, VMCALL from
    ring 3 is refused with #UD (never a system call), ring-3 faults reach the
    ring-0 handlers, a nested fault keeps the outer frame. dune_init(0):
    only what was mapped at init, later memory faults into the handler."""
    out = dunehv_boot.user_output(main_boot.output)
    lines = [l for l in out.splitlines() if l.startswith(("ring3: ", "precise: "))]
    assert_each_found(lines, (r"^ring3: SYSCALL from ring 3 reaches the syscall handler \(getpid \d+, 2 calls\) OK$",
                              r"^ring3: VMCALL from ring 3 is refused: #UD in the process, no system call \(vector 6, cs 0x33\) OK$",
                              r"^ring3: ring 3 reading a supervisor page gets #PF \(error 0x5\) OK$",
                              r"^ring3: HLT in ring 3 gets #GP \(vector 13\) OK$",
                              r"^ring3: a #PF inside the #UD handler leaves the outer trap frame intact \(0\) OK$",
                              r"^ring3: ring-3 getpid through the handler and back, .* OK$",
                              r"^ring3: done failures=0$",
                              r"^precise: program text mapped present, executable, supervisor OK$",
                              r"^precise: a read-only mapping is read-only in the page table OK$",
                              r"^precise: memory mmap'ed after dune_init faults not-present into the handler, which maps it \(error 0x2\) OK$",
                              r"^precise: writing the read-only mapping faults \(present, write\) .* \(exit 13\) OK$",
                              r"^precise: done failures=0$"))
    assert "GUEST: libdune ring3 rc=0" in out
    assert "GUEST: libdune precise rc=0" in out
    assert not re.search(r"^(ring3|precise): .* FAIL$", out, re.M)


def test_libdune_vm_elf_and_fpu_helpers(main_boot):
    """guest-libdune/test/apitest.c: page walk, page-table clone switched to
    with CR3, copy-on-write through the default page-fault handler, dirty
    bits read and cleared (4 KiB pages; a 2 MiB page split), the ELF
    reader, XSAVE save/restore, and 1 MiB of recursion on the main stack
    (dune.ko lets Linux grow it), all in Dune mode."""
    out = dunehv_boot.user_output(main_boot.output)
    lines = [l for l in out.splitlines() if l.startswith("apitest: ")]
    assert_each_found(lines, (r"^apitest: dune_vm_page_walk finds the 4 pages just mapped \(4\) OK$",
                              r"^apitest: dune_vm_clone: the clone shares the leaves, its own mappings stay its own OK$",
                              r"^apitest: copy-on-write: the write got a private copy, the original page kept its data OK$",
                              r"^apitest: dune_vm_collect_dirty: 2 of 4 pages written, reported once .* OK$",
                              r"^apitest: dune_vm_collect_dirty splits a 2 MiB page: 3, then 1 page written: 1, .* OK$",
                              r"^apitest: dune_elf_open\(/proc/self/exe\): \d+ PT_LOAD segments, \.text is section \d+ OK$",
                              r"^apitest: dune_elf_open_mem on junk -> -ENOEXEC \(-8\) OK$",
                              r"^apitest: dune_fpu_save_safe/dune_fpu_load keep xmm0 \(1\.25\) OK$",
                              r"^apitest: 1 MiB of recursion on the main stack \(\d+ of \d+\) OK$",
                              r"^apitest: done failures=0$"))
    assert "GUEST: libdune apitest rc=0" in out


def test_dunehv_command_shows_the_hypervisor(main_boot):
    """linux-shim/tool/dunehv on dune.ko's debugfs files, as a user runs it
    in the guest, checked against known events: hvprobe's selftest read
    hypervisor memory on purpose (the refusal is in the log and the
    counter), Linux's hypercalls were counted, and first-dune sleeping in
    Dune mode shows in ps with its system calls and EPT faults."""
    out = dunehv_boot.user_output(main_boot.output)
    section = out[out.index("GUEST: --- dunehv status"):out.index("GUEST: --- end of dunehv")]
    version = (dunehv_boot.ROOT / "VERSION").read_text().strip()
    major = dunehv_boot.abi_define("DUNEHV_ABI_MAJOR")
    plat = main_boot.plat
    assert re.search(rf"^dunehv: running, ABI {major}\.\d+, on {plat.cpus} CPUs; module dune\.ko {re.escape(version)}$",
                     section, re.M), section
    assert re.search(r"^Dune contexts: \d+ live, holding \d+ pages$", section, re.M)
    for cmd in ("status", "stat", "ps"):
        assert f"GUEST: dunehv {cmd} rc=0" in section
    assert re.search(r"^\(all\) +[1-9]\d* +\d+ +\d+ +\d+$", section, re.M)
    assert re.search(rf"^{plat.hypercall[0]} \({plat.hypercall[1]}\) +[1-9]\d* ", section, re.M)
    assert re.search(r"^accesses to hypervisor memory refused: [1-9]\d*$", section, re.M)
    # one row per CPU; Linux started CPU 1 with INIT-SIPI-SIPI, which the
    # hypervisor emulated on that CPU
    assert re.search(r"^CPU +Linux +Linux/s +Dune +Dune/s +INITs +SIPIs$", section, re.M), section
    assert re.search(r"^0 +[1-9]\d* +\d+ +\d+ +\d+ +\d+ +\d+$", section, re.M), section
    for cpu in range(1, plat.cpus):
        assert re.search(rf"^{cpu} +[1-9]\d* +\d+ +\d+ +\d+ +[1-9]\d* +[1-9]\d*$", section, re.M), section
    log = section[section.index("GUEST: --- dunehv log"):section.index("GUEST: dunehv log lines")]
    assert re.search(rf"{plat.gpa_fault} #1: r at gpa 0x[0-9a-f]+ .*\(hypervisor memory\)", log), log
    assert re.search(r"^ +\d+ +0 +first-dune +1 +[1-9]\d* +[1-9]\d* +[1-9]\d* +\d+$", section, re.M), section


def test_a_program_built_against_the_installed_libdune_runs(main_boot):
    """examples/first-dune, built outside the tree against the libdune that
    `make -C guest-libdune install` put in a staging prefix, with its
    pkg-config file: dynamically (libdune.so, which has no text
    relocations) and statically. Both enter Dune mode and judge it
    themselves: ring 0, CR3 on libdune's page table."""
    out = dunehv_boot.user_output(main_boot.output)
    hello = re.findall(r"^first-dune: hello from ring 0, pid \d+, on libdune's page table at (0x[0-9a-f]+) "
                       r"\(CR3 (0x[0-9a-f]+)\)$", out, re.M)
    assert len(hello) == 2, out[-3000:]
    assert "GUEST: first-dune dynamic rc=0" in out
    assert "GUEST: first-dune static rc=0" in out


def test_a_ptrace_debugger_sees_dune_breakpoints(main_boot):
    """guest-libdune/test/debugger.c: INT3 in Dune mode stops the process for
    its ptrace tracer with the Dune code's registers (libdune replays it in
    Linux mode, DUNE_TRAP_ENABLE brings the thread back into Dune with the
    registers as the tracer left them)."""
    out = dunehv_boot.user_output(main_boot.output)
    lines = [l for l in out.splitlines() if l.startswith("debugger: ")]
    if not main_boot.plat.int3_exits:
        # QEMU (conftest.PLATFORMS): the INT3 reaches the process's own
        # IDT, whose default handler reports it, so the tracer sees no stop
        assert_each_found(lines, (r"^debugger: tracee stopped before entering Dune OK$",
                                  r"^debugger: INT3 in Dune mode stops the tracee .* FAIL$",
                                  r"^debugger: done failures=2$"))
        assert re.search(r"^dune: unhandled exception 3$", out, re.M), out
        return
    assert_each_found(lines, (r"^debugger: tracee stopped before entering Dune OK$",
                              r"^debugger: INT3 in Dune mode stops the tracee with SIGTRAP, .* \(0x1234\) OK$",
                              r"^debugger: after PTRACE_CONT the code continues in Dune mode with the tracer's RBX \(exit 0\) OK$",
                              r"^debugger: done failures=0$"))
    assert "GUEST: libdune debugger rc=0" in out


def test_dune_signals_isolation_and_no_leaks(main_boot):
    out = dunehv_boot.user_output(main_boot.output)
    for expect in (r"^dunemini: SIGUSR1 reached the Dune process's handler \(0x5151\) OK$",
                   r"^dunemini: SIGKILL ended a spinning Dune process in 0\.\d+ s OK$",
                   r"^dunemini: a Dune process reads its own memory at 0x90000000 OK$",
                   r"^dunemini: another Dune process reading 0x90000000 faults, never sees the secret \(fault\) OK$",
                   r"^dunemini: reading GPA 0x1000000 \(Linux's kernel image\) faults \(fault\) OK$",
                   r"^dunemini: reading GPA 0x[0-9a-f]+ \(the hypervisor's memory\) faults \(fault\) OK$",
                   r"^dunemini: 8 threads in Dune at once \((\d+) contexts live meanwhile\) OK$",
                   r"^dunemini: 1000 of 1000 sequential Dune process lifetimes OK$",
                   r"^dunemini: TRAP_ENABLE with regs_size 100 -> EINVAL OK$",
                   r"^dunemini: TRAP_ENABLE with a kernel address -> EFAULT OK$",
                   r"^dunemini: TRAP_ENABLE with a bad pointer -> EFAULT OK$",
                   r"^dunemini: the trap fired at trigger_rip after 2 sched-ins: .* \(exit 42\) OK$",
                   r"^dunemini: a thread that exits with its trap still enabled \(exit 42\) OK$"):
        assert re.search(expect, out, re.M), expect
    for mode in ("signal", "kill", "isolation", "threads 8", "trap", "lifetimes", "exec-reuse"):
        assert f"GUEST: dunemini {mode} rc=0" in out, mode
    before = re.search(r"^GUEST: dune counters before: (.*)$", out, re.M).group(1).split()
    after = re.search(r"^GUEST: dune counters after: (.*)$", out, re.M).group(1).split()
    assert "ctx_live=0" in before and "ctx_pages=0" in before
    assert before == after, (before, after)


def test_exec_with_dev_dune_open_gets_a_fresh_context(main_boot):
    """Hardening, item 1: a thread that calls execve with /dev/dune open,
    its old address space kept alive by a CLONE_VM sibling, must not reuse
    its old context (it maps the old mm, and is freed when that mm goes)."""
    out = dunehv_boot.user_output(main_boot.output)
    for expect in (r"^dunemini: after execve with /dev/dune open \(old mm alive in a CLONE_VM sibling\), "
                   r"DUNE_ENTER gets a new context \(\d+, the old one was \d+\) OK$",
                   r"^dunemini: once the old mm is gone, entries go on in the new context .* OK$",
                   r"^dunemini: the old context was freed .* OK$",
                   r"^dunemini: exec-reuse done failures=0$"):
        assert re.search(expect, out, re.M), expect
    assert "GUEST: dunemini exec-reuse rc=0" in out


def test_dev_dune_is_open_only_to_its_group(main_boot):
    """Hardening, item 8: /dev/dune is 0660 root:root (dune.ko's dev_mode);
    nobody outside the node's group opens it; a user in the group (the udev
    rule's GROUP="dune") runs a Dune session unprivileged; a dev_mode with
    other than read/write bits is refused with a clear error."""
    out = dunehv_boot.user_output(main_boot.output)
    assert re.search(r"^GUEST: insmod dune dev_mode=04666 rc=[1-9]", out, re.M)
    assert re.search(r"dune: not loading: dev_mode=04666 has bits other than read/write", main_boot.output)
    assert_each_found(out.splitlines(), (
        r"^dunemini: devperm: /dev/dune is mode 0660, owner 0:0 \(want 0660 root:root\) OK$",
        r"^dunemini: devperm: a user outside the group cannot open /dev/dune \(status 23, want 23: EACCES\) OK$",
        r"^dunemini: devperm: a user in the group opens /dev/dune and runs a Dune session unprivileged \(status 0\) OK$",
        r"^dunemini: devperm: /dev/dune back to root:root OK$",
        r"^dunemini: devperm done failures=0$"))
    assert "GUEST: dunemini devperm rc=0" in out


def test_speculation_barriers_follow_the_cpu(main_boot):
    """Hardening, item 5 (hv/arch/x86/spec_barriers.h): the barriers at the
    switches are chosen from the boot CPU's CPUID and IA32_ARCH_CAPABILITIES,
    said in one log line, and reported in INFO. Bochs' Skylake-X model offers
    none of IBPB, MD_CLEAR, L1D_FLUSH or IA32_ARCH_CAPABILITIES, so only the
    RSB fill at every VM exit runs here, and the log says that this CPU would
    need an L1D flush it cannot do. QEMU's EPYC is AMD: neither VERW nor an
    L1D flush is needed. The choice for CPUs that have them is unit-tested
    (spec_barriers.by_cpu)."""
    plat = main_boot.plat
    assert re.search(r"speculation barriers: RSB fill at VM exit; IBPB after Dune: no IBPB on this CPU; " + plat.spec_line +
                     r" \(IA32_ARCH_CAPABILITIES absent, taken as 0\)", main_boot.output)
    assert re.search(rf"^spec_barriers={plat.spec_flags:#x}$", dunehv_boot.user_output(main_boot.output), re.M)


def test_one_user_cannot_take_every_context_or_page(main_boot):
    """Hardening, item 6: tests/guest/dune/dunemini_limits.c. dune.ko's
    limits on contexts per process and per user refuse with EAGAIN and one
    line naming the parameter; a user whose threads want more EPT tables than
    the hypervisor's pool has gets its share (per-user pages), and another
    user still gets its pages meanwhile; the pool keeps its reserve; tables
    emptied by munmap go back to the pool; all back to baseline after."""
    out = dunehv_boot.user_output(main_boot.output)
    assert_each_found(out.splitlines(), (
        r"^dunemini: limits\.contexts: one process of user 1000, 4 threads, 3 per process: 3 in Dune, 1 refused \(EAGAIN\) OK$",
        r"^dunemini: limits\.contexts: a second process of user 1000, 2 threads, 4 per user: 1 in Dune, 1 refused \(EAGAIN\) OK$",
        r"^dunemini: limits\.contexts: user 1001 meanwhile: 1 of 1 thread in Dune OK$",
        r"^dunemini: limits\.contexts: every thread ended as it should .* OK$",
        r"^dunemini: limits\.share: user 1000's 6 table-hungry threads ran .* OK$",
        r"^dunemini: limits\.share: user 1001 meanwhile touched its 256 pages \(1 of 1 thread got there, 0 ended\) OK$",
        r"^dunemini: limits\.share: the pool kept its reserve .* OK$",
        r"^dunemini: limits\.share: both processes ended as they should \(status 0 0\) OK$",
        r"^dunemini: limits\.free: 2048 pages touched one per 2 MiB, then munmapped from Dune: .* OK$",
        r"^dunemini: limits\.baseline: .* OK$",
        r"^dunemini: limits done failures=0$"))
    assert re.search(r"dune: pid \d+: not creating a context: the process has 3, its limit "
                     r"\(module parameter max_contexts_per_process\)", main_boot.output)
    assert re.search(r"dune: pid \d+ \(uid 1000\): not creating a context: the user has 4, its limit "
                     r"\(module parameter max_contexts_per_user\)", main_boot.output)
    assert "GUEST: dunemini limits rc=0" in out


def test_failed_vm_entries_are_logged_rate_limited(main_boot):
    """Hardening, item 8: 200 open/enter/close rounds whose VM entry fails
    (a non-canonical RIP) each end with DUNE_RET_UNHANDLED_VMEXIT; the
    hypervisor's line about them is rate-limited (10 per window of 2^32 TSC
    ticks), so such a loop cannot flood the log ring or hold a CPU at the
    UART. SVM's VMRUN takes that RIP (the context's first fetch faults and,
    without an IDT, it shuts down): no entry fails, nothing is logged."""
    out = dunehv_boot.user_output(main_boot.output)
    logged = (r"^dunemini: entryfail: SVM entered all 200 \(no failed entry, 0 lines logged\) OK$"
              if main_boot.plat.backend == "SVM" else
              r"^dunemini: entryfail: 200 failed entries logged \d+ lines "
              r"\(rate limit: at most 10 in each of the \d+ windows touched\) OK$")
    assert_each_found(out.splitlines(), (
        r"^dunemini: entryfail: 200 of 200 sessions with a non-canonical RIP ended with DUNE_RET_UNHANDLED_VMEXIT OK$",
        logged,
        r"^dunemini: entryfail: a session afterwards runs to its exit \(ret 1\) OK$",
        r"^dunemini: entryfail done failures=0$"))
    assert "GUEST: dunemini entryfail 200 rc=0" in out



def test_linux_cannot_reach_the_hypervisor_through_mtrrs_trace_or_pebs(main_boot):
    """Hardening, item 3: Linux's MTRR writes (UC over the hypervisor's
    memory) land in its own copy and read back, the real MTRRs the
    hypervisor runs with are unchanged, reserved bits still #GP; writes to
    the Intel PT, DS-area and PEBS MSRs #GP (tests/guest/hvprobe/msrtest.c)."""
    dunehv_boot.require(dunehv_boot.verdicts(main_boot.output),
                        ["msr.mtrr-linux-view", "msr.mtrr-host", "msr.mtrr-reserved", "msr.trace-pebs"])


def test_linux_cannot_put_the_machine_to_sleep(main_boot):
    """Hardening, item 3 (ACPI S3): Linux ring 0 writes SLP_TYP=S3 with
    SLP_EN to PM1 control (16-bit, 8-bit to its second byte, REP OUTSW),
    found in the PIIX4's PMBA as an attacker would. The hypervisor traps
    the register, drops SLP_EN and answers with an immediate wake (WAK_STS),
    refuses the string form with #GP, and every CPU still answers it
    afterwards (tests/guest/hvprobe/acpitest.c). Without the guard, Bochs
    resets the machine at the first write."""
    dunehv_boot.require(dunehv_boot.verdicts(main_boot.output),
                        ["acpi.s3-word", "acpi.s3-byte", "acpi.s3-string", "acpi.hv-alive"])
    assert re.search(r"ACPI sleep: 2 register bytes from (the PIIX4 power-management function \(no FADT\)|the FADT) "
                     r"trapped", main_boot.output)


def test_two_dune_processes_never_see_each_others_fpu_registers(main_boot):
    """Hardening: guest-libdune/test/fpuiso.c, two Dune processes pinned to
    CPU 0 that take turns 2000 times each (a futex handoff from Dune mode):
    each reads back its own YMM0-15, MXCSR and ST0 after every turn."""
    dunehv_boot.require(dunehv_boot.verdicts(main_boot.output), ["fpuiso.registers", "fpuiso.switches"])
    assert "GUEST: libdune fpuiso rc=0" in dunehv_boot.user_output(main_boot.output)


def test_nmis_reach_linux_once_each_and_never_nest(main_boot):
    """hvprobe's /proc/dunehv/entrywindow (a request and an NMI sent while
    the target waits, on purpose, between its last mailbox check and VM
    entry are served within a bound) and /proc/dunehv/nmipair (a second NMI
    sent while Linux's handler of the first runs reaches the handler after
    it returns; under SVM, which keeps no NMI blocking for a guest, the
    hypervisor held it until the handler's IRET had run)."""
    ids = ["window.request", "window.nmi", "nmipair.second"]
    if main_boot.plat.backend == "SVM":
        ids.append("nmipair.held")
    dunehv_boot.require(dunehv_boot.verdicts(main_boot.output), ids)
    out = dunehv_boot.user_output(main_boot.output)
    assert "GUEST: entrywindow test rc=0" in out and "GUEST: nmipair test rc=0" in out


def test_hypercall_fuzzer_leaves_the_hypervisor_intact(main_boot):
    """Hardening: 1,000,000 random hypercalls from Linux ring 0 on two CPUs
    (tests/guest/hvprobe/fuzz.c, seed 1; valid numbers with random, edge and
    overlapping arguments, contexts created, run, mapped and destroyed at
    random and raced, random numbers): every call answered, none that names
    memory that is not Linux's succeeded, contexts and pool pages back at
    their baseline, the log ring intact (and no kernel warning:
    test_no_kernel_warnings_or_oopses)."""
    v = dunehv_boot.verdicts(main_boot.output)
    dunehv_boot.require(v, ["fuzz.calls", "fuzz.refused", "fuzz.baseline", "fuzz.log"])
    assert re.search(rf"ok fuzz\.calls - 1000000 of 1000000 hypercalls answered \(seed 1, {main_boot.plat.cpus} threads",
                     main_boot.output)
    assert "GUEST: fuzz 1000000 rc=0" in dunehv_boot.user_output(main_boot.output)


def test_ioctl_fuzzer_leaves_kernel_and_hypervisor_intact(main_boot):
    """Hardening: 1,000,000 random /dev/dune ioctls (tests/guest/dune/
    dunefuzz.c, seed 1) from four unprivileged processes of three threads,
    with bad pointers, random structs and sessions, racing close/reopen/dup:
    every ioctl made, every worker ended normally, no oops or warning in the
    kernel log, the hypervisor's counters at baseline, its log intact."""
    v = dunehv_boot.verdicts(main_boot.output)
    dunehv_boot.require(v, ["ioctlfuzz.calls", "ioctlfuzz.kernel", "ioctlfuzz.baseline", "ioctlfuzz.log"])
    out = dunehv_boot.user_output(main_boot.output)
    assert re.search(r"ok ioctlfuzz\.calls - 1000000 of 1000000 ioctls \(seed 1\)", out)
    assert "GUEST: dunefuzz 1000000 rc=0" in out


PRIVINSN = ("xsaves", "xrstors", "rdpmc", "vmxon", "vmread", "invept", "vmfunc", "xsetbv-bad", "mov-cr8", "mov-dr7",
            "out", "in", "monitor", "mwait", "invd", "wbinvd", "getsec", "wrmsr-lstar", "wrmsr-efer",
            "wrmsr-star", "after")


def test_privileged_instructions_in_dune_end_the_session_or_fault(main_boot):
    """Hardening: guest-libdune/test/privinsn.c runs each instruction in ring
    0 of a fresh Dune process; none may simply run (XSAVES/XRSTORS would
    reach Linux's supervisor state, RDPMC Linux's counters)."""
    v = dunehv_boot.verdicts(main_boot.output)
    ids = [f"privinsn.{n}" for n in PRIVINSN]
    missing = [i for i in ids if i not in v]
    failed = {i: v[i][1] for i in ids if i in v and not v[i][0]}
    assert not missing and not failed, (missing, failed)
    assert "GUEST: libdune privinsn rc=0" in dunehv_boot.user_output(main_boot.output)


def test_dune_sandbox_runs_unmodified_programs_confined(main_boot):
    """guest-libdune/apps/sandbox (dune-sandbox), run by its test script
    apps/sandbox/test/sbtest.sh: Debian's static busybox (echo, cat, ls -l,
    sort, wc, sha256sum, sh's exit status, a missing file, uname, a gzip -9
    and gunzip round trip) and dynamically linked programs of Debian's
    coreutils (sha256sum, sort, ls -l: ld.so loaded from PT_INTERP) give
    the same output and exit status sandboxed as natively; threads: a
    pthread program (sbthreads: mutex, atomics, TLS, condition variable,
    100 threads one after another, a thread's thread, mmap/malloc in 4
    threads at once, fork in a thread, posix_spawn) judges itself, and
    Debian's xz -T2 compresses as natively and decompresses; sbevents
    (epoll with an eventfd and a pipe, a timerfd through ppoll, select and
    pselect6, not the monitor's descriptor, signalfd) judges itself;
    sbregs: XMM/YMM registers kept across system calls the monitor handles;
    sbsignals: the program's own handlers (raise, a timer during a loop
    without system calls, EINTR and SA_RESTART, a blocked signal, SIGSEGV
    handlers that return or siglongjmp, SIGCHLD, SA_ONSTACK on a
    sigaltstack); sbescape's
    attacks on the monitor (its memory passed to write, read, writev and
    openat, mprotect and MAP_FIXED over it) get errors, and its reads and
    writes of the monitor, VMCALL, HLT and a CR3 write end it with the
    signal Linux would send, also in a forked child and after an execve;
    a shell script with pipes, redirections, subshells and programs it
    starts (fork and execve: each execve starts a new monitor); /proc/self/mem
    refused; a policy (paths by real path, through .. and a symlink too,
    read-only and read-write prefixes, a denied system call, loopback TCP
    allowed to one port and denied to another, the policy kept across
    execve, --kill-on-deny, the --log lines, a bad policy file's file:line);
    --help and a missing program."""
    ids = ["sandbox." + i for i in (
        "echo", "cat", "ls", "sort", "wc", "sha256sum", "exit-status", "missing-file", "uname",
        "dyn-sha256sum", "dyn-sort", "dyn-ls", "sh-script", "shebang", "mremap", "gzip",
        "threads.counter", "threads.tls-and-tids", "threads.condvar", "threads.churn", "threads.nested",
        "threads.memory", "threads.fork-in-thread", "threads.posix-spawn", "xz-threads",
        "events.epoll", "events.timerfd-ppoll", "events.select", "events.signalfd", "regs.vector-across-syscall",
        "signals.raise", "signals.async", "signals.eintr", "signals.restart", "signals.mask", "signals.segv-return",
        "signals.segv-longjmp", "signals.sigchld", "signals.altstack",
        "escape.write-from-monitor", "escape.read-into-monitor", "escape.writev-into-monitor",
        "escape.path-in-monitor", "escape.mprotect-monitor", "escape.mmap-over-monitor",
        "escape.read-monitor", "escape.write-monitor", "escape.vmcall", "escape.hlt", "escape.cr-write",
        "escape.exec-then-hlt", "escape.fork-then-hlt", "escape.proc-self-mem",
        "policy.read-allowed", "policy.read-denied", "policy.dotdot", "policy.symlink", "policy.write-ro",
        "policy.write-ro-nothing", "policy.write-rw", "policy.syscall-deny", "policy.exec", "policy.kill-on-deny",
        "policy.net-allowed", "policy.net-denied", "policy.logged", "policy.limit", "policy.bad-file",
        "help", "no-program")]
    dunehv_boot.require(dunehv_boot.verdicts(main_boot.output), ids)
    assert "GUEST: sbtest rc=0" in dunehv_boot.user_output(main_boot.output)


def test_sthreads_are_confined_and_recycled(main_boot):
    """guest-libdune/apps/sthread (libsthread), checked by its program
    apps/sthread/test/sttest.c: sthreads return their results; they see the
    globals and heap as at sthread_init, and their writes stay theirs; a
    recycled sthread's stack starts zeroed; a read-write tag is shared with
    the parent, a read-only one stops the sthread that writes it and stays
    intact; a tag not granted, the parent's later memory, a descriptor not
    granted (or without the right), a pointer to the parent's memory given
    to write(), a system call not granted and HLT each stop the sthread,
    with the reason at join, while the parent and the next sthreads go on;
    so does INT3 (which the hypervisor gives to Linux for debuggers);
    a granted call works; an sthread that overwrites its copy of a global
    ring 0 uses cannot change ring 0 (libdune's entry switches page tables
    first); open of a file; a callgate reads a tag and writes a descriptor
    its caller is not granted, its grants do not outlast the call, a
    violation inside it stops its caller with the gate's reason, a gate not
    granted stops the caller, 100 calls reuse one slot at a constant page
    count, and outside an sthread cgate returns -ENOSYS; bad arguments to
    the sc_*, tag, create and join calls get -EINVAL; 8 sthreads at once;
    1000 create+join cycles reuse the same slots and workers and leave
    libsthread's pages at their baseline."""
    ids = ["sthread." + i for i in (
        "basic", "globals", "snapshot", "stack", "tag-rw", "tag-ro", "tag-ro-intact", "tag-not-granted",
        "outside", "fd", "fd-right", "fd-denied", "pointer", "syscall-denied", "syscall-granted", "privileged",
        "breakpoint", "ring0-globals", "open", "callgate", "callgate-confined", "callgate-ran", "callgate-fd",
        "callgate-violation", "callgate-violation-why", "callgate-denied", "callgate-recycle", "callgate-outside",
        "bad-arguments", "parallel", "recycle")]
    dunehv_boot.require(dunehv_boot.verdicts(main_boot.output), ids)
    assert "GUEST: sttest rc=0" in dunehv_boot.user_output(main_boot.output)


def test_sthread_http_server_keeps_connections_apart(main_boot):
    """guest-libdune/apps/sthread/httpd: sthttpd serves each connection in
    an sthread (the connection's descriptor, its own buffer tag, the
    documents read-only); sthttpc, its client (apps/sthread/test/sthttp.sh),
    gets a document as on disk and a 404 over loopback, then uses the
    handler's deliberate memory-disclosure bug from connection B to read
    connection A's buffer: B's sthread is stopped (500), A's secret does not
    leak, and A is still served."""
    ids = ["http.get", "http.404", "http.isolation", "http.after-attack"]
    dunehv_boot.require(dunehv_boot.verdicts(main_boot.output), ids)
    assert "GUEST: sthttp rc=0" in dunehv_boot.user_output(main_boot.output)


def test_gc_reads_dirty_bits_from_the_page_table(main_boot):
    """guest-libdune/apps/gc: Debian's libgc built with our DUNE_VDB
    (scripts/patches/libgc/), which reads and clears the D bits of the
    program's own page table in Dune mode. The package's gctest passes with
    it and says it uses it (gccheck.sh judges its exit status and lines);
    gcchurn, whose live set keeps changing under incremental collection
    with new objects reached only through writes into old ones, loses
    nothing (checksums against a record the collector cannot touch, before
    and after a full collection) with the Dune, mprotect and soft-dirty
    backends; and with the Dune backend made to report no write it does not
    pass, so the check can fail."""
    ids = ["gc.gctest-dune", "gc.churn-dune", "gc.churn-mprotect", "gc.churn-soft", "gc.churn-notices-lost-writes"]
    dunehv_boot.require(dunehv_boot.verdicts(main_boot.output), ids)
    assert "GUEST: gccheck rc=0" in dunehv_boot.user_output(main_boot.output)


def test_ring3_cannot_take_ring0_through_libdune_entry(main_boot):
    """Hardening: guest-libdune/test/ring3gate.c attacks libdune's ways from
    ring 3 into ring 0: a forged GS base (a copy of the per-thread block
    saying "ring 0", or pointing the syscall or trap stack at ring-0 data), a
    GS selector load, POPF of IOPL 3, a non-canonical ring-3 RIP; and checks
    that IA32_KERNEL_GS_BASE, which libdune now uses for SWAPGS, is each
    Dune context's own."""
    ids = ["ring3gate.forged-kernel-mode", "ring3gate.forged-syscall-stack", "ring3gate.forged-trap-stack",
           "ring3gate.gs-selector", "ring3gate.iopl", "ring3gate.bad-rip", "ring3gate.kernel-gs-base"]
    dunehv_boot.require(dunehv_boot.verdicts(main_boot.output), ids)
    assert "GUEST: libdune ring3gate rc=0" in dunehv_boot.user_output(main_boot.output)


def test_dune_executes_only_what_linux_maps_executable(main_boot):
    """Hardening: guest-libdune/test/memrights.c calls a function written
    into a read-write page from ring 0 of its Dune context, whose own page
    tables map it executable: the EPT grants execute only where the VMA has
    VM_EXEC, so the call faults; after mprotect(PROT_EXEC) it runs, and after
    mprotect back it faults again. Upstream libdune's ring-0 SYSCALL
    trampoline, in read-write pool pages at LSTAR, still runs."""
    ids = ["memrights.noexec", "memrights.exec", "memrights.revoke", "memrights.upstream-trampoline"]
    dunehv_boot.require(dunehv_boot.verdicts(main_boot.output), ids)
    assert "GUEST: libdune memrights rc=0" in dunehv_boot.user_output(main_boot.output)
