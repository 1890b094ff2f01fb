"""Shared fixtures. Emulator boots are expensive, so each configuration
boots once per session and many tests check its output.

The three long Bochs boots (the 2-CPU main boot and the 4-CPU boot of the
VMX image, the SVM image's main boot on ryzen) start two at a time in background
threads as soon as the session knows it needs them, each Bochs one host
thread; the shorter boots run meanwhile, and a test of a long boot waits
for its result. This keeps `make test` within its time budget on two
cores."""
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import dunehv_boot  # noqa: E402

# A hypervisor panic ends with this line; Linux's with "Kernel panic".
STOPS = (r"\[dunehv\] stopped \(on_panic", r"Kernel panic - not syncing", r"on_fail = halt: not starting Linux",
         dunehv_boot.RETURNED_RE)

# The entry-window test's hypercalls (hvprobe's /proc/dunehv/entrywindow).
TEST_HOOKS = "test_hooks = on\n"

# What upstream Dune's own programs print when they pass, built with
# upstream's Makefiles against upstream's libdune (tests/upstream-dune,
# init's upstream_tests). hello as the Makefile builds it with GCC 12 has no
# DIV (GCC folds "1 / ret" into a compare), so it never reaches its handler
# and says so; hello-div is the same source built so that it divides.
UPSTREAM_PROGRAMS = {
    "hello": ["hello: not running dune yet", "hello: now printing from dune mode",
              "hello: we won't reach this call"],
    "hello-div": ["hello: not running dune yet", "hello: now printing from dune mode",
                  "hello: caught divide by zero!", "hello: recovered from divide by zero"],
    "test": ["Doing tests",
             "==== Running test fork", "==== Test fork - passed",
             "==== Running test pthread", "==== Test pthread - passed",
             "==== Running test signal", "==== Test signal - passed",
             "Done all tests"],
    "timetest": ["Success!"],
}


def assert_upstream_programs_pass(output):
    """Each of upstream's programs printed exactly its passing output and
    exited with 0 (output: the console, kernel messages included)."""
    out = dunehv_boot.program_output(output)
    for name, expected in UPSTREAM_PROGRAMS.items():
        printed = dunehv_boot.lines_before(out, f"GUEST: upstream {name} rc=0")
        assert printed == expected, (name, printed, out[-3000:])


_cancel = threading.Event()  # set at the end of the session: no boot outlives it
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="long-boot")
_started = {}


def _boot_main(backend="vmx"):
    """Linux under dunehv in Bochs with the full guest test init; backend
    "svm": the SVM image on Bochs' ryzen model."""
    # Bochs runs Linux about 50 times slower than hardware: a boot-time
    # kworker (ftrace's record check) then runs ~25 s of emulated time
    # without rescheduling, natively too, which sometimes trips the 20 s
    # soft-lockup report. The longest threshold (2 x 60 s) keeps the
    # detector for real lockups without flagging that.
    cfg = dunehv_boot.config(cmdline="console=ttyS0 hvtest.idle=5 watchdog_thresh=60",
                             memory="64M", log_level="info", extra=TEST_HOOKS)
    # 3 GiB of RAM: one whole GiB of it, [1 GiB, 2 GiB), is Linux RAM, for
    # hvprobe's 1 GiB EPT leaf (below 1 GiB the legacy hole splits it; the
    # hypervisor and the firmware sit in the top GiB).
    name = "bochs-main" if backend == "vmx" else f"bochs-{backend}-main"
    return dunehv_boot.boot(name, "bochs", cfg=cfg, timeout_s=2400, stop_patterns=STOPS, memory_mb=3072,
                            cpus=2, cancel=_cancel, backend=backend)


def _boot_smp4():
    """4 CPUs running only the per-CPU checks (init's hvtest.only=smp):
    firmware start-up of 3 APs, Linux's INIT-SIPI-SIPI to each, and every
    check of the 2-CPU boot that is per CPU. (The SVM image's 4-CPU boot is
    QEMU's, test_svm.py: Bochs' ryzen model with 4 CPUs crawls.)"""
    cfg = dunehv_boot.config(cmdline="console=ttyS0 hvtest.idle=2 hvtest.only=smp watchdog_thresh=60",
                             memory="64M", log_level="info", extra=TEST_HOOKS)
    return dunehv_boot.boot("bochs-smp4", "bochs", cfg=cfg, timeout_s=2100, stop_patterns=STOPS, memory_mb=2048,
                            cpus=4, cancel=_cancel)


# In the order they start, two at a time (two host cores): the VMX main
# boot (the longest) and the 4-CPU boot, then the SVM image's main boot.
LONG_BOOTS = {"bochs_main": _boot_main, "bochs_smp4": _boot_smp4, "bochs_svm_main": lambda: _boot_main("svm")}


@dataclass(frozen=True)
class Platform:
    """What the checks of the main boot's output (test_main_boot.py) expect
    of the platform it ran on: the backend, its names and counter slots."""
    name: str          # the test id: emulator and backend
    backend: str       # the hypervisor's word for it in the log: VMX, SVM
    cpus: int
    gpt: str           # the second-level page tables: EPT, NPT
    gpa_fault: str     # the log's word for an access they refuse
    hypercall: tuple   # the hypercall's counter slot: (name, number)
    cpuid_slot: int    # CPUID's counter slot
    hypervisor_bit: int  # CPUID.1:ECX[31] of the emulated CPU, which dunehv leaves as it is
    int3_exits: bool   # INT3 in a Dune context reaches the hypervisor (#BP intercepted)
    spec_line: str     # the speculation-barrier choice the hypervisor logs for this CPU
    spec_flags: int    # and reports in INFO (DUNEHV_SPEC_*)
    idle_slots: tuple = ()  # counter slots besides the hypercall's that may count at idle (SVM: xAPIC writes)


PLATFORMS = {
    # QEMU's TCG, EPYC with SVM and NPT: the same guest init on the SVM
    # image, 2 CPUs (INIT/SIPI emulated). QEMU checks INT3 against the INTn intercept, never against #BP's
    # exception intercept (target/i386/tcg/seg_helper.c, raise_interrupt2
    # with is_int = 1), unlike AMD's CPUs and Bochs: the Dune process's own
    # IDT gets it (README, "Platforms").
    "qemu-svm": Platform("qemu-svm", "SVM", 2, "NPT", "nested page fault", ("VMMCALL", 36), 21, 1, False,
                         "VERW before entry: not needed \\(AMD\\); L1D flush before entry: not needed \\(AMD\\)", 0x1,
                         idle_slots=(54,)),
    # Bochs 3.0, Skylake-X model: the 2-CPU main boot (a long boot)
    "bochs-vmx": Platform("bochs-vmx", "VMX", 2, "EPT", "EPT violation", ("VMCALL", 18), 10, 0, True,
                          "VERW before entry: no MD_CLEAR on this CPU; L1D flush before entry: NEEDED BUT NO "
                          "IA32_FLUSH_CMD", 0x101),
    # Bochs 3.0, ryzen model: the SVM image's 2-CPU main boot (a long boot);
    # INT3 in a Dune context exits as #BP, as on AMD's CPUs
    "bochs-svm": Platform("bochs-svm", "SVM", 2, "NPT", "nested page fault", ("VMMCALL", 36), 21, 0, True,
                          "VERW before entry: not needed \\(AMD\\); L1D flush before entry: not needed \\(AMD\\)", 0x1,
                          idle_slots=(54,)),
}


def _boot_qemu_svm_main():
    """The main boot's guest init on the SVM image in QEMU, 2 CPUs (about 3 minutes)."""
    cfg = dunehv_boot.config(cmdline="console=ttyS0 hvtest.idle=5 watchdog_thresh=60", memory="64M",
                             log_level="info", extra=TEST_HOOKS, on_panic="halt")
    return dunehv_boot.boot("qemu-svm-main", "qemu", cfg=cfg, timeout_s=1200, stop_patterns=STOPS, memory_mb=3072,
                            cpus=2, cancel=_cancel, backend="svm")


def _long_boot(name):
    if name not in _started:
        _started[name] = _pool.submit(LONG_BOOTS[name])
    return _started[name]


# The quick files first (host unit tests, the install checks, the QEMU
# boots), so that their failures show within minutes; the long Bochs boots
# run in the background from the start anyway.
ORDER = ("test_unit.py", "test_install.py", "test_failure_paths.py", "test_try_bochs.py", "test_svm.py", "test_main_boot.py",
         "test_smp_bochs.py")


def pytest_collection_modifyitems(session, config, items):
    def rank(item):
        name = Path(str(item.fspath)).name
        return ORDER.index(name) if name in ORDER else len(ORDER)
    items.sort(key=rank)  # stable: each file keeps its own order


def pytest_collection_finish(session):
    """Start the long boots the selected tests use (only with the build
    outputs there: without them the `built` fixture fails those tests)."""
    if dunehv_boot.missing_artifacts():
        return
    needed = {f for item in session.items for f in getattr(item, "fixturenames", ())}
    params = [getattr(getattr(item, "callspec", None), "params", {}) for item in session.items]
    if any(p.get("main_boot") == "bochs-vmx" for p in params):
        needed.add("bochs_main")  # main_boot's Bochs platforms are long boots
    if any(p.get("main_boot") == "bochs-svm" for p in params):
        needed.add("bochs_svm_main")
    for name in LONG_BOOTS:
        if name in needed:
            _long_boot(name)


def pytest_sessionfinish(session, exitstatus):
    _cancel.set()
    _pool.shutdown(wait=True)


@pytest.fixture(scope="session")
def built():
    missing = dunehv_boot.missing_artifacts()
    if missing:
        pytest.fail("missing build outputs (run `make test`, which builds them first): " + ", ".join(missing))


def _long_boot_result(name):
    r = _long_boot(name).result()
    print(r.output)
    return r


@pytest.fixture(scope="session")
def bochs_main(built):
    return _long_boot_result("bochs_main")


@pytest.fixture(scope="session", params=list(PLATFORMS))
def main_boot(request, built):
    """The main boot on each platform; .plat says what to expect of it. The
    SVM image's QEMU boot first: it is done while the long Bochs boots run."""
    if request.param == "bochs-vmx":
        r = _long_boot_result("bochs_main")
    elif request.param == "bochs-svm":
        r = _long_boot_result("bochs_svm_main")
    else:
        if not dunehv_boot.EFI_SVM.exists():
            pytest.fail(f"{dunehv_boot.EFI_SVM} missing: make efi BACKEND=svm (make test builds it)")
        r = _boot_qemu_svm_main()
        print(r.output)
    r.plat = PLATFORMS[request.param]
    return r


@pytest.fixture(scope="session")
def bochs_smp4(built):
    return _long_boot_result("bochs_smp4")
