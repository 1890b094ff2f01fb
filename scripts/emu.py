#!/usr/bin/python3
"""Boot an EFI system partition folder in an emulator and collect COM1.

Used by the pytest suites and benchmark scripts; no dependencies outside the
standard library.

API
---
run(emulator, esp_dir, timeout_s, log_path, stop_patterns=(), memory_mb=1024,
    bochs_log_level='error', extra_args=(), cpus=2) -> Result

    emulator      'bochs'    Bochs 3.0 built by scripts/build-bochs3.sh (BOCHS3_BIN),
                             corei7_skylake_x (VMX), `cpus` CPUs, OVMF.fd, i440fx,
                             ESP as a vvfat disk, clock sync=none (repeatable).
                             No debugger, no GUI (nogui), no sound.
                  'bochs27'  Debian's Bochs 2.7 (debugger build, term display),
                             kept only to compare the two emulators' speed.
                  'qemu'     qemu-system-x86_64 q35 + OVMF, TCG (no VMX).
                  'qemu-kvm' the same with -enable-kvm -cpu host (needs nested VMX,
                             see kvm_available()).
    esp_dir       folder exposed as the boot disk (see make_esp()).
    timeout_s     wall-clock limit.
    log_path      COM1 is written here (raw bytes). The run's other files go
                  into the folder '<log_path>.run/': bochsrc, bochs.log (Bochs'
                  own log), stdout.txt (emulator stdout+stderr), vvfat journal.
    stop_patterns regexes (re.MULTILINE) searched in the cleaned COM1 text;
                  the first match stops the emulator (reason 'pattern').
    memory_mb     guest RAM.
    bochs_log_level  lowest Bochs log level written to bochs.log: 'error'
                  (default; VM-entry failures and panics are logged there) or
                  'info' (about 5 MB/s: short runs only).
    extra_args    extra emulator command-line arguments (QEMU only).
    qemu_accel    QEMU's -accel for 'qemu' (default tcg: multi-threaded TCG;
                  tcg,thread=single runs all CPUs on one host thread).
    cpus          number of CPUs (Bochs 3.0 and QEMU; Bochs 2.7 runs 1).
    cancel        a threading.Event: once set, the emulator is stopped (reason
                  'cancelled'); for boots run in a background thread.
    cpu_model     Bochs 3.0's CPU model: corei7_skylake_x (VMX, the default) or
                  ryzen (AMD SVM with NPT and NRIPS), for the SVM image.
    com1_port     Bochs 3.0: COM1 is a TCP connection that Bochs opens at start
                  to localhost:com1_port (the caller listens there before the
                  call, e.g. in a thread, and appends what it reads to
                  log_path); for an interactive console (scripts/shell.py).

Result fields:
    output      COM1 text, ANSI escape sequences, '\\r' and NULs removed.
    reason      'shutdown': the guest stopped the emulator on purpose (Bochs:
                  "Shutdown" written to port 0x8900; QEMU: 0x31 written to the
                  isa-debug-exit port 0xf4, QEMU exit status 99);
                'pattern': a stop pattern matched (match in Result.match);
                'timeout': timeout_s elapsed;
                'cancelled': the cancel event was set;
                'exited': the emulator exited for another reason (Bochs panic,
                  triple fault reaching the debugger prompt, QEMU -no-reboot ...);
                'emulator-defect': Bochs stopped at its tripwire, an SDM
                  invariant of its own that broke (line in emulator_defect).
    wall_s      seconds from start to stop.
    ticks       Bochs 3.0: the tick count of the "shutdown requested" line in
                bochs.log (logprefix %t puts the tick on every line); Bochs 2.7:
                the debugger line "(0).[N] ..." printed when it stops. None if
                absent, always None for QEMU. Deterministic for reason
                'shutdown'.
    returncode  emulator exit status (negative: killed by that signal).
    match       re.Match of the stop pattern, or None.
    time_of(regex) -> wall seconds at which that COM1 text had arrived (0.2 s
                resolution), or None; arrivals: [(wall_s, len(output))].
    run_dir, log_path, cmd
    emulator_output()  -> stdout/stderr of the emulator; bochs_log() -> Bochs' log.

Stopping never leaves an emulator behind: the process runs in its own session
and is killed (its whole process group, SIGKILL, after a SIGINT grace period
for Bochs) on pattern, timeout, exception or KeyboardInterrupt.

make_esp(esp_dir, files, startup_nsh, clean=True)
    Create the ESP folder: files maps ESP paths ('EFI/dunehv/vmlinuz' or
    '\\EFI\\dunehv\\vmlinuz') to a source path or bytes; startup.nsh is written
    with CRLF line ends. clean=True empties an existing folder first (vvfat
    exposes every file in it). The UEFI shell runs FS0:\\startup.nsh after a
    5 s countdown.
hv_startup(load=False) / native_startup(cmdline) -> startup.nsh text for the
    standard layout (ESP_HV, ESP_CFG, ESP_KERNEL, ESP_INITRD).
kvm_available() -> (bool, reason)

CLI
---
  emu.py bochs|qemu|qemu-kvm ESP_DIR --timeout N --log FILE [--stop REGEX]...
         [--memory MB] [--quiet]
      prints COM1 output, then 'emu: reason=... wall_s=... ticks=... returncode=...'
      exit status 0 for reason 'shutdown' or 'pattern', 1 otherwise.
  emu.py make-esp ESP_DIR --kernel VMLINUZ --initrd INITRD [--hv EFI [--cfg CFG]]
         [--append 'KERNEL ARGS'] [--load]
      builds the standard layout: with --hv, startup.nsh starts the hypervisor
      (--load: with the shell's 'load' command, for a runtime-driver image);
      without, it boots the kernel natively with console=ttyS0 + --append.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence, Union

OVMF = "/usr/share/ovmf/OVMF.fd"
VGABIOS = "/usr/share/vgabios/vgabios.bin"
# Bochs 3.0, built from Debian trixie's source by scripts/build-bochs3.sh.
BOCHS3_BIN = str(Path(__file__).resolve().parent.parent / "build" / "bochs3" / "bin" / "bochs")
BOCHS27_BIN = "bochs-bin"  # Debian's 2.7; the /usr/bin/bochs wrapper just execs this
QEMU_BIN = "qemu-system-x86_64"

# ESP layout used by the project.
ESP_DIR = "EFI/dunehv"
ESP_HV = ESP_DIR + "/dunehv.efi"
ESP_CFG = ESP_DIR + "/dunehv.cfg"
ESP_KERNEL = ESP_DIR + "/vmlinuz"
ESP_INITRD = ESP_DIR + "/initrd.img"
NATIVE_CMDLINE = "console=ttyS0"

QEMU_SHUTDOWN_RC = 99  # isa-debug-exit: (0x31 << 1) | 1
POLL_S = 0.2

_ANSI = re.compile(rb"\x1b(?:\[[0-9;?=]*[ -/]*[@-~]|[()][0-9A-Za-z]|[=>78cDEHM])")
_TICKS = re.compile(r"\((\d+)\)\.\[(\d+)\]")
# scripts/patches/bochs3-tripwire-exit-rip.patch: Bochs stops with this line
# when one of its own SDM invariants breaks (an emulator defect).
TRIPWIRE_RE = re.compile(r"DUNEHV-BOCHS-TRIPWIRE: [^\r\n]*")
_TICKS3 = re.compile(r"^\s*(\d+)\S*.*shutdown requested", re.M)


def clean_text(raw: bytes) -> str:
    """COM1 bytes -> text without ANSI escapes, CR and NUL."""
    raw = _ANSI.sub(b"", raw).replace(b"\r", b"").replace(b"\x00", b"")
    return raw.decode("utf-8", errors="replace")


@dataclass
class Result:
    output: str
    reason: str
    wall_s: float
    ticks: Optional[int]
    returncode: Optional[int]
    match: Optional[re.Match] = None
    run_dir: Optional[Path] = None
    log_path: Optional[Path] = None
    cmd: list = field(default_factory=list)
    arrivals: list = field(default_factory=list)  # (wall_s, len(output) then)
    emulator_defect: Optional[str] = None  # the Bochs tripwire's line, if it fired

    def time_of(self, pattern) -> Optional[float]:
        """Wall seconds (poll resolution 0.2 s) at which the first match of
        pattern had arrived on COM1, or None."""
        m = re.search(pattern, self.output, re.M) if isinstance(pattern, str) \
            else pattern.search(self.output)
        if not m:
            return None
        for t, n in self.arrivals:
            if n >= m.end():
                return t
        return self.wall_s

    def emulator_output(self) -> str:
        return _read_text(self.run_dir / "stdout.txt") if self.run_dir else ""

    def bochs_log(self) -> str:
        return _read_text(self.run_dir / "bochs.log") if self.run_dir else ""

    def summary(self) -> str:
        return (f"emu: reason={self.reason} wall_s={self.wall_s:.1f} "
                f"ticks={self.ticks} returncode={self.returncode}")


def _read_text(p: Path) -> str:
    try:
        return p.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return ""


# ---------------------------------------------------------------- ESP helpers

def _esp_rel(name: str) -> str:
    rel = name.replace("\\", "/").lstrip("/")
    if not rel or any(part in ("", ".", "..") for part in rel.split("/")):
        raise ValueError(f"bad ESP path {name!r}")
    return rel


def make_esp(esp_dir, files: dict, startup_nsh: Optional[str] = None,
             clean: bool = True) -> Path:
    """Create an ESP folder; see the module docstring."""
    esp = Path(esp_dir)
    if clean and esp.exists():
        if (esp / ".git").exists() or esp.resolve() in (Path("/"), Path.home()):
            raise ValueError(f"refusing to clean {esp}")
        shutil.rmtree(esp)
    esp.mkdir(parents=True, exist_ok=True)
    for name, src in files.items():
        dst = esp / _esp_rel(name)
        dst.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(src, (bytes, bytearray)):
            dst.write_bytes(bytes(src))
        else:
            shutil.copyfile(src, dst)
    if startup_nsh is not None:
        text = startup_nsh.replace("\r\n", "\n").strip("\n") + "\n"
        (esp / "startup.nsh").write_bytes(text.replace("\n", "\r\n").encode("ascii"))
    return esp


def _efi_path(rel: str) -> str:
    return "\\" + rel.replace("/", "\\")


def hv_startup(load: bool = False) -> str:
    """startup.nsh that starts the hypervisor (which then boots the kernel)."""
    cmd = ("load " if load else "") + _efi_path(ESP_HV)
    return f"fs0:\n{cmd}\n"


def native_startup(cmdline: str = NATIVE_CMDLINE) -> str:
    """startup.nsh that boots the kernel directly (EFI stub), no hypervisor."""
    return f"fs0:\n{_efi_path(ESP_KERNEL)} initrd={_efi_path(ESP_INITRD)} {cmdline}\n"


# ---------------------------------------------------------------- emulators

def kvm_available():
    """(True, reason) if qemu-kvm can run VMX guests (nested VMX on Intel)."""
    if not os.path.exists("/dev/kvm"):
        return False, "no /dev/kvm"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False, "/dev/kvm not accessible"
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        flags = ""
    if not re.search(r"^flags\s*:.*\bvmx\b", flags, re.M):
        return False, "host CPU has no VMX (AMD or VMX hidden)"
    nested = Path("/sys/module/kvm_intel/parameters/nested")
    try:
        if nested.read_text().strip() not in ("Y", "1"):
            return False, "kvm_intel nested=0"
    except OSError:
        return False, "kvm_intel not loaded"
    return True, "kvm_intel with nested VMX"


BOCHS_PLUGINS = "/usr/lib/x86_64-linux-gnu/bochs/plugins"


def _bochs_display() -> str:
    """'term' (package bochs-term) if installed, else rfb without waiting for a client."""
    if not os.path.isdir(BOCHS_PLUGINS) or any(
            f.startswith("libbx_term_gui") for f in os.listdir(BOCHS_PLUGINS)):
        return "term"
    return 'rfb, options="timeout=0"'


def _bochsrc(esp: Path, run_dir: Path, log_path: Path, memory_mb: int, level: str,
             version: int = 3, cpus: int = 2, com1_port: Optional[int] = None,
             cpu_model: str = "corei7_skylake_x") -> str:
    info = "report" if level in ("info", "debug") else "ignore"
    # a socket: Bochs connects at start (iodev/serial.cc) to the caller's listener
    com1 = (f'com1: enabled=1, mode=socket-client, dev="localhost:{com1_port}"' if com1_port
            else f'com1: enabled=1, mode=file, dev="{log_path}"')
    lines = [
        # Bochs allocates at most 2048 MiB up front; more guest RAM is backed on demand
        f"memory: guest={memory_mb}, host={min(memory_mb, 2048)}",
        f"romimage: file={OVMF}, address=0xffe00000",
        f"vgaromimage: file={VGABIOS}",
        "pci: enabled=1, chipset=i440fx",
        f'ata0-master: type=disk, path="{esp}", mode=vvfat, journal="{run_dir}/vvfat.redolog"',
        "boot: disk",
        com1,
        "clock: sync=none, time0=946684800",  # fixed 2000-01-01: repeatable runs
        "mouse: enabled=0",
        "private_colormap: enabled=0",
        f'log: "{run_dir}/bochs.log"',
        "logprefix: %t%e%d",
        "panic: action=fatal",
        "error: action=report",
        f"info: action={info}",
        "debug: action=ignore",
    ]
    if version == 3:
        # No debugger in this build: a triple fault is a panic (fatal, exits)
        # instead of a reset into the firmware; no sound device compiled in.
        # ryzen has no TSC-frequency leaf, so Linux calibrates the TSC against
        # the PIT at Bochs' default 4 MHz and its clock runs a hundred times
        # ahead of the corei7 model's (to /init: 703 s against 8 s, measured
        # natively); at 400 MHz of emulated instructions it keeps the same pace
        ips = ", ips=400000000" if cpu_model == "ryzen" else ""
        lines += [f"cpu: model={cpu_model}, count={cpus}, reset_on_triple_fault=0{ips}",
                  "display_library: nogui"]
    else:
        lines += ["cpu: model=corei7_skylake_x, count=1, reset_on_triple_fault=1",
                  f"display_library: {_bochs_display()}",
                  "sound: driver=dummy",  # the ALSA driver aborts (buffer overflow) without a sound card
                  "debugger_log: -"]
    return "\n".join(lines) + "\n"


def bochs3_available():
    """(True, path) if scripts/build-bochs3.sh has built Bochs 3.0, else (False, why)."""
    if os.access(BOCHS3_BIN, os.X_OK):
        return True, BOCHS3_BIN
    return False, f"{BOCHS3_BIN} missing: run scripts/build-bochs3.sh build/bochs3 (make setup does)"


def _command(emulator: str, esp: Path, run_dir: Path, log_path: Path,
             memory_mb: int, level: str, extra_args: Sequence[str], cpus: int, qemu_accel: str,
             com1_port: Optional[int] = None, cpu_model: str = "corei7_skylake_x") -> list:
    if com1_port and emulator != "bochs":
        raise ValueError("com1_port: Bochs 3.0 only")
    if emulator == "bochs":
        ok, why = bochs3_available()
        if not ok:
            raise RuntimeError(why)
        rc = run_dir / "bochsrc"
        rc.write_text(_bochsrc(esp, run_dir, log_path, memory_mb, level, 3, cpus, com1_port, cpu_model))
        return [BOCHS3_BIN, "-q", "-f", str(rc)]
    if emulator == "bochs27":
        rc = run_dir / "bochsrc"
        rc.write_text(_bochsrc(esp, run_dir, log_path, memory_mb, level, 2, 1))
        cont = run_dir / "debugger.rc"
        cont.write_text("c\n")
        return [BOCHS27_BIN, "-q", "-f", str(rc), "-rc", str(cont)]
    if emulator in ("qemu", "qemu-kvm"):
        cmd = [QEMU_BIN, "-machine", "q35", "-m", str(memory_mb), "-smp", str(cpus),
               "-bios", OVMF,
               "-drive", f"file=fat:{esp},format=raw,if=ide,snapshot=on",
               "-serial", f"file:{log_path}", "-display", "none", "-vga", "none",
               "-monitor", "none", "-nic", "none", "-no-reboot",
               "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
        if emulator == "qemu-kvm":
            ok, why = kvm_available()
            if not ok:
                raise RuntimeError(f"qemu-kvm unavailable: {why}")
            cmd += ["-enable-kvm", "-cpu", "host"]
        else:
            cmd += ["-accel", qemu_accel]
        return cmd + list(extra_args)
    raise ValueError(f"unknown emulator {emulator!r}")


def _kill(proc: subprocess.Popen, graceful: bool) -> None:
    """Stop proc and everything in its process group; never returns with it alive."""
    if proc.poll() is None and graceful:
        # Bochs (debugger build): SIGINT drops to the debugger prompt, which
        # prints the tick line, reads EOF from /dev/null and exits.
        try:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            proc.kill()
        except ProcessLookupError:
            pass
    proc.wait()
    try:  # anything left in the group (there should be nothing)
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run(emulator: str, esp_dir, timeout_s: float, log_path,
        stop_patterns: Sequence[Union[str, re.Pattern]] = (), memory_mb: int = 1024,
        bochs_log_level: str = "error", extra_args: Sequence[str] = (), cpus: int = 2,
        cancel=None, com1_port: Optional[int] = None, cpu_model: str = "corei7_skylake_x",
        qemu_accel: str = "tcg") -> Result:
    """Boot esp_dir in the emulator; see the module docstring."""
    esp = Path(esp_dir).resolve()
    if not esp.is_dir():
        raise FileNotFoundError(f"ESP folder {esp} missing")
    log_path = Path(log_path).resolve()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    run_dir = Path(str(log_path) + ".run")
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    log_path.write_bytes(b"")
    pats = [p if isinstance(p, re.Pattern) else re.compile(p, re.M) for p in stop_patterns]
    cmd = _command(emulator, esp, run_dir, log_path, memory_mb, bochs_log_level, extra_args, cpus, qemu_accel,
                   com1_port, cpu_model)
    env = dict(os.environ, TERM=os.environ.get("TERM", "xterm") or "xterm")

    raw = b""
    arrivals = []
    match = None
    reason = "timeout"
    t0 = time.monotonic()
    with open(run_dir / "stdout.txt", "wb") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, cwd=run_dir, env=env,
                                start_new_session=True)
        try:
            with open(log_path, "rb") as com1:
                while True:
                    exited = proc.poll() is not None
                    chunk = com1.read()
                    if chunk:
                        raw += chunk
                        text = clean_text(raw)
                        arrivals.append((time.monotonic() - t0, len(text)))
                        if pats:
                            for p in pats:
                                match = p.search(text)
                                if match:
                                    break
                            if match:
                                reason = "pattern"
                                break
                    if exited:
                        reason = "exited"
                        break
                    if time.monotonic() - t0 >= timeout_s:
                        reason = "timeout"
                        break
                    if cancel is not None and cancel.is_set():
                        reason = "cancelled"
                        break
                    time.sleep(POLL_S)
                if reason != "exited":
                    _kill(proc, graceful=(emulator == "bochs27"))
                else:
                    proc.wait()
                wall = time.monotonic() - t0
                raw += com1.read()
                arrivals.append((wall, len(clean_text(raw))))
        finally:
            _kill(proc, graceful=False)

    emu_out = _read_text(run_dir / "stdout.txt")
    ticks = None
    if emulator == "bochs27":
        found = _TICKS.findall(emu_out)
        if found:
            ticks = int(found[-1][1])
    elif emulator == "bochs":
        found = _TICKS3.findall(_read_text(run_dir / "bochs.log"))
        if found:
            ticks = int(found[-1])
    defect = None
    if emulator == "bochs":
        m = TRIPWIRE_RE.search(emu_out) or TRIPWIRE_RE.search(_read_text(run_dir / "bochs.log"))
        if m:
            defect, reason = m.group(0), "emulator-defect"
    if reason == "exited":
        if emulator in ("bochs", "bochs27"):
            blog = _read_text(run_dir / "bochs.log")
            if "shutdown requested" in blog or "shutdown requested" in emu_out:
                reason = "shutdown"
        elif proc.returncode == QEMU_SHUTDOWN_RC:
            reason = "shutdown"
    return Result(output=clean_text(raw), reason=reason, wall_s=wall, ticks=ticks,
                  returncode=proc.returncode, match=match, run_dir=run_dir,
                  log_path=log_path, cmd=cmd, arrivals=arrivals, emulator_defect=defect)


# ---------------------------------------------------------------- CLI

def _main(argv=None) -> int:
    # SIGTERM -> SystemExit so that run()'s cleanup kills the emulator.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for emu in ("bochs", "bochs27", "qemu", "qemu-kvm"):
        p = sub.add_parser(emu, help=f"boot ESP_DIR in {emu}")
        p.add_argument("esp_dir")
        p.add_argument("--timeout", type=float, required=True)
        p.add_argument("--log", required=True, help="COM1 output file")
        p.add_argument("--stop", action="append", default=[], help="stop regex (repeatable)")
        p.add_argument("--memory", type=int, default=1024, help="guest RAM in MiB")
        p.add_argument("--cpus", type=int, default=2, help="CPUs (Bochs 2.7: always 1)")
        p.add_argument("--bochs-log-level", default="error", choices=("error", "info"))
        p.add_argument("--quiet", action="store_true", help="print only the summary")
    p = sub.add_parser("make-esp", help="build the standard ESP layout")
    p.add_argument("esp_dir")
    p.add_argument("--kernel", required=True)
    p.add_argument("--initrd", required=True)
    p.add_argument("--hv", help="dunehv.efi; without it the kernel boots natively")
    p.add_argument("--cfg", help="dunehv.cfg")
    p.add_argument("--load", action="store_true", help="start the hv with 'load'")
    p.add_argument("--append", default="", help="extra kernel args (native boot)")
    a = ap.parse_args(argv)

    if a.cmd == "make-esp":
        files = {ESP_KERNEL: a.kernel, ESP_INITRD: a.initrd}
        if a.hv:
            files[ESP_HV] = a.hv
            if a.cfg:
                files[ESP_CFG] = a.cfg
            nsh = hv_startup(a.load)
        else:
            nsh = native_startup((NATIVE_CMDLINE + " " + a.append).strip())
        make_esp(a.esp_dir, files, nsh)
        print(f"emu: ESP {a.esp_dir}:\n" + (Path(a.esp_dir) / "startup.nsh").read_text())
        return 0

    r = run(a.cmd, a.esp_dir, a.timeout, a.log, a.stop, a.memory, a.bochs_log_level, cpus=a.cpus)
    if not a.quiet:
        sys.stdout.write(r.output)
        if r.output and not r.output.endswith("\n"):
            sys.stdout.write("\n")
    if r.reason == "exited":
        tail = r.emulator_output().splitlines()[-15:]
        print("emu: emulator output (tail):\n  " + "\n  ".join(tail))
    print(r.summary())
    return 0 if r.reason in ("shutdown", "pattern") else 1


if __name__ == "__main__":
    sys.exit(_main())
