"""Boot dunehv (or Linux natively) from the standard ESP in an emulator.

Shared by the tests (tests/), `make run` (scripts/run-demo.py) and the
benchmarks (scripts/bench-boot.py). Each boot gets its own folder under
build/runs/<name>/ with the ESP, COM1 log and the emulator's files.
"""
import itertools
import os
import re
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import emu  # noqa: E402

BUILD = ROOT / "build"
EFI = BUILD / "dunehv.efi"
EFI_SVM = BUILD / "dunehv-svm.efi"  # make efi BACKEND=svm
# The Bochs CPU model each image runs on.
BOCHS_CPU = {"vmx": "corei7_skylake_x", "svm": "ryzen"}
# QEMU's TCG has SVM with nested paging (no NRIPS, no flush-by-ASID), not VMX.
QEMU_SVM_CPU = ("-cpu", "EPYC,+svm,+npt")
# QEMU 7.2's multi-threaded TCG now and then saves the host's state as the
# guest's at a #VMEXIT when an SVM guest runs on more than one CPU (README,
# "AMD: the SVM backend"): the SVM image runs on single-threaded TCG.
QEMU_SVM_ACCEL = "tcg,thread=single"
KERNEL = BUILD / "guest-kernel" / "vmlinuz"
INITRD = BUILD / "guest" / "initrd.img"
RUNS = BUILD / "runs"
ABI_H = ROOT / "hv" / "include" / "dunehv" / "abi.h"

# Printed by startup.nsh when dunehv.efi returns to the UEFI shell; the regex
# matches the echo's output, not the shell echoing the command line.
RETURNED = "startup.nsh: dunehv.efi returned"
RETURNED_RE = r"^startup\.nsh: dunehv\.efi returned$"


def config(cmdline="console=ttyS0", memory="64M", log_level="info", on_fail="native",
           on_panic="bochs-shutdown", kernel="vmlinuz", initrd="initrd.img", extra=""):
    """dunehv.cfg text for the standard layout."""
    lines = [f"# dunehv.cfg written by scripts/dunehv_boot.py",
             f"kernel = {kernel}", f"initrd = {initrd}", f'cmdline = "{cmdline}"',
             f"memory = {memory}", f"log_level = {log_level}", f"on_fail = {on_fail}",
             f"on_panic = {on_panic}"]
    return "\n".join(lines) + "\n" + extra


class EmulatorDefect(RuntimeError):
    """Bochs stopped at its tripwire: the emulator broke an SDM invariant,
    so the boot says nothing about dunehv."""


def missing_artifacts():
    return [str(p.relative_to(ROOT)) for p in (EFI, KERNEL, INITRD) if not p.exists()]


HEARTBEAT_S = 60


def progress(text):
    """One line on the terminal as it happens, even under pytest's capture
    of sys.stdout/sys.stderr (make test runs it with --capture=sys): a long
    run is never silent for minutes."""
    os.write(2, (f"[{time.strftime('%H:%M:%S')}] {text}\n").encode(errors="replace"))


def _heartbeat(label, log, stop, t0):
    while not stop.wait(HEARTBEAT_S):
        try:
            lines = log.read_bytes().decode(errors="replace").splitlines()
        except OSError:
            lines = []
        last = next((l.strip() for l in reversed(lines) if l.strip()), "")
        progress(f"{label}: {(time.monotonic() - t0) / 60:.0f} min, COM1 {len(lines)} lines, last: {last[:100]}")


def boot(name, emulator="bochs", cfg=None, native_cmdline=None, timeout_s=900, stop_patterns=(),
         memory_mb=1024, files=None, cpus=2, cancel=None, esp_tree=None, com1_port=None,
         heartbeat=True, backend="vmx"):
    """Boots build/dunehv.efi with cfg (dunehv.cfg text, or None to leave the
    file out), or with native_cmdline the kernel without the hypervisor, on
    `cpus` CPUs. files adds or replaces ESP files ({esp path: source path or
    bytes}). esp_tree: boot the files of that ESP folder instead (as a
    firmware boot entry would start its dunehv.efi; startup.nsh stands in
    for the entry). cancel: a threading.Event that stops the emulator once
    set. com1_port: see emu.run. heartbeat=False: no heartbeat lines (an
    interactive console). backend="svm": the SVM image (build/dunehv-svm.efi)
    on Bochs' ryzen CPU model, or on QEMU's TCG with an EPYC CPU.
    Prints a line at the start (what, how long it took last time, where its
    live COM1 log is), a heartbeat every HEARTBEAT_S seconds and a line at
    the end."""
    missing = missing_artifacts()
    if missing:
        raise FileNotFoundError("build first (make efi guest): missing " + ", ".join(missing))
    run = RUNS / name
    run.mkdir(parents=True, exist_ok=True)
    esp_files = {emu.ESP_KERNEL: str(KERNEL), emu.ESP_INITRD: str(INITRD)}
    if esp_tree is not None:
        esp_files = {str(p.relative_to(esp_tree)): str(p) for p in Path(esp_tree).rglob("*") if p.is_file()}
        startup = emu.hv_startup() + f'echo "{RETURNED}"\n'
    elif native_cmdline is None:
        esp_files[emu.ESP_HV] = str(EFI_SVM if backend == "svm" else EFI)
        if cfg is not None:
            esp_files[emu.ESP_CFG] = cfg.encode()
        startup = emu.hv_startup() + f'echo "{RETURNED}"\n'
    else:
        startup = emu.native_startup(native_cmdline)
    esp_files.update(files or {})
    emu.make_esp(run / "esp", esp_files, startup)
    label = f"{emulator} boot {name} ({cpus} CPU{'s' if cpus > 1 else ''})"
    last = run / "last-duration-s"
    took = f"took {float(last.read_text()) / 60:.1f} min last time" if last.exists() else "no earlier run here"
    progress(f"{label}: starting; {took}, limit {timeout_s / 60:.0f} min; live log: {run / 'com1.txt'}")
    t0 = time.monotonic()
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(label, run / "com1.txt", stop, t0), daemon=True)
    if heartbeat:
        beat.start()
    try:
        r = emu.run(emulator, run / "esp", timeout_s, run / "com1.txt", stop_patterns=stop_patterns,
                    memory_mb=memory_mb, cpus=cpus, cancel=cancel, com1_port=com1_port,
                    cpu_model=BOCHS_CPU[backend] if emulator == "bochs" else "corei7_skylake_x",
                    extra_args=QEMU_SVM_CPU if emulator == "qemu" and backend == "svm" else (),
                    qemu_accel=QEMU_SVM_ACCEL if backend == "svm" else "tcg")
    finally:
        stop.set()
    spent = time.monotonic() - t0
    progress(f"{label}: ended after {spent / 60:.1f} min ({r.reason})")
    if r.reason != "timeout":
        last.write_text(f"{spent:.0f}\n")
    if r.emulator_defect:
        raise EmulatorDefect(f"{name}: emulator defect, not a dunehv failure: Bochs stopped at its tripwire "
                             f"(scripts/patches/bochs3-tripwire-exit-rip.patch): {r.emulator_defect}")
    return r


# A kernel message reaches the console asynchronously, so it can land in the
# middle of a line a user program is printing: "...faults (f[   56.46] dune:
# ...\n" and the rest of the user's line after it.
KERNEL_MESSAGE_RE = re.compile(r"\[\s*\d+\.\d+\] [^\r\n]*\r?\n")


def user_output(console):
    """The console with the kernel's messages taken out: what user programs printed."""
    return KERNEL_MESSAGE_RE.sub("", console)


# A line of the hypervisor's own log on COM1 (it writes the port itself,
# at any point of a line Linux is sending).
HV_LOG_LINE_RE = re.compile(r"\[dunehv\] [^\r\n]*\r?\n")


def program_output(console):
    """What user programs printed, each line whole: user_output with the
    hypervisor's lines taken out too (a program's line may be cut by the
    kernel's or the hypervisor's: they print at once, while what a program
    writes waits in the serial port's buffer, for long where each
    interrupt's EOI exits, as under SVM). Not for reading /proc/dunehv/log,
    whose lines also start with "[dunehv] "."""
    return HV_LOG_LINE_RE.sub("", user_output(console))


def console_views(console):
    """The console as printed, then program_output's view of it: a search
    in both finds the kernel's and the hypervisor's lines whole and a
    program's lines whole, though one may have been cut by another."""
    return console + "\n" + program_output(console)


def lines_before(output, marker):
    """What one program printed: the lines of `output` (program_output's) after
    the last "GUEST: " line that precedes the first line equal to `marker`
    (init's line after the program, e.g. "GUEST: hello rc=0"), up to it.
    None if no line is `marker`."""
    lines = output.splitlines()
    if marker not in lines:
        return None
    end = lines.index(marker)
    start = end
    while start > 0 and not lines[start - 1].startswith("GUEST: "):
        start -= 1
    return lines[start:end]


def abi_define(name):
    """Value of a #define in hv/include/dunehv/abi.h (simple expressions only)."""
    import re
    text = ABI_H.read_text()
    values = {}
    for m in re.finditer(r"^#define (\w+)\s+(.+?)\s*(?:/\*.*)?$", text, re.M):
        values[m.group(1)] = m.group(2)

    def ev(expr):
        expr = re.sub(r"\b([A-Z_]+)\b", lambda mm: f"({ev(values[mm.group(1)])})", expr)
        return str(eval(expr.replace("u", "")))  # noqa: S307 - our own header
    return int(ev(values[name]))


# One machine-readable verdict per check: "ok <id> - <detail>" or
# "not ok <id> - <detail>", printed by the guest programs themselves (after a
# "<program>: " prefix, and a kernel-log timestamp for modules).
VERDICT_RE = re.compile(r"(?:^|: )(ok|not ok) ([\w.-]+) - (.*)$", re.M)


def verdicts(console):
    """{check id: (passed, detail)} for every verdict line on the console; a
    check that printed twice keeps its worst result. Modules' verdicts are
    kernel messages; a user program's line may be cut by the kernel's or
    the hypervisor's, so program_output's view is read too."""
    found = {}
    for m in itertools.chain(VERDICT_RE.finditer(console), VERDICT_RE.finditer(program_output(console))):
        ok = m.group(1) == "ok"
        prev = found.get(m.group(2))
        found[m.group(2)] = (ok and (prev is None or prev[0]), m.group(3))
    return found


# Bochs itself (also without dunehv) makes Linux warn once: its XSAVE area
# sizes are inconsistent (shared/notes/test-platform.md). That warning and
# its trace are allowed; nothing else is.
BOCHS_XSAVE_WARNING = re.compile(
    r"^\[ *[\d.]+\] XSAVE consistency problem: .*\n\[ *[\d.]+\] WARNING: CPU: 0 PID: 0 at arch/x86/kernel/fpu/xstate.c:\d+ "
    r"fpu__init_system_xstate.*?\n\[ *[\d.]+\] ---\[ end trace [0-9a-f]+ \]---$", re.M | re.S)
KERNEL_TROUBLE = ("Oops", "BUG:", "WARNING: CPU", "general protection fault", "Call Trace", "soft lockup",
                  "Tainted: G        W")


def kernel_trouble(console):
    """The first sign of a kernel warning, oops or lockup on the console
    (beyond Bochs' one XSAVE warning), or None."""
    out, n = BOCHS_XSAVE_WARNING.subn("", console)
    if n > 1:
        return "XSAVE consistency warning more than once"
    return next((bad for bad in KERNEL_TROUBLE if bad in out), None)


def require(found, ids):
    """Asserts that each check id reported, and passed (found: verdicts())."""
    missing = [i for i in ids if i not in found]
    failed = {i: found[i][1] for i in ids if i in found and not found[i][0]}
    assert not missing, f"checks that never reported: {missing}"
    assert not failed, f"failed checks: {failed}"
