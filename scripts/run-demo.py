#!/usr/bin/python3
"""make run: boot dunehv + Debian's Linux + the guest demo in Bochs, show the
console live, then summarize what the guest proved.

The guest demo is tests/guest/init: it checks that Linux runs in VMX non-root
mode under dunehv (CPUID signature, hypercalls, exit counters), that the
hypervisor's memory is out of Linux's reach, measures exits at idle, then
loads /dev/dune and runs Dune processes (dunemini, upstream's hello on our
libdune, system-call/memory, ring-3, precise-mode, API and debugger tests).
"""
import re
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dunehv_boot  # noqa: E402
import emu  # noqa: E402


def follow(path: Path, done: threading.Event):
    """Prints the COM1 log as it grows (cleaned of terminal escapes)."""
    pos = 0
    pending = b""
    while True:
        finished = done.is_set()
        if path.exists():
            with open(path, "rb") as f:
                f.seek(pos)
                data = f.read()
            pos += len(data)
            pending += data
            *full, pending = pending.split(b"\n")
            for line in full:
                print(emu.clean_text(line), flush=True)
        if finished:
            if pending:
                print(emu.clean_text(pending), flush=True)
            return
        time.sleep(0.3)


def main():
    cfg = dunehv_boot.config(cmdline="console=ttyS0 hvtest.idle=5 watchdog_thresh=60")  # see tests/conftest.py
    log = dunehv_boot.RUNS / "demo" / "com1.txt"
    log.parent.mkdir(parents=True, exist_ok=True)
    if log.exists():
        log.unlink()
    done = threading.Event()
    t = threading.Thread(target=follow, args=(log, done), daemon=True)
    print("make run: booting OVMF -> dunehv.efi -> Linux in Bochs (about 3 minutes; COM1 follows)\n", flush=True)
    t.start()
    try:
        r = dunehv_boot.boot("demo", "bochs", cfg=cfg, timeout_s=1800, memory_mb=3072, cpus=2,
                             stop_patterns=(r"\[dunehv\] stopped \(on_panic", r"Kernel panic - not syncing"))
    finally:
        done.set()
        t.join()
    out = r.output

    def find(pattern, group=0):
        m = re.search(pattern, out, re.M)
        return m.group(group) if m else None

    checks = [
        ("hypervisor launched every CPU as a VMX guest", find(r"^dunehv: hypervisor active on all 2 CPUs") is not None),
        ("Linux brought up both CPUs", "smp: Brought up 1 node, 2 CPUs" in out),
        ("Linux booted to /init under dunehv", "GUEST: dunehv present" in out),
        ("CPUID signature seen by Linux", find(r"signature=(DuneHV)\S*", 1) == "DuneHV"),
        ("hypercall VERSION / EXIT_STATS from ring 0", "hvprobe: EXIT_STATS result" in out),
        ("read of hypervisor memory refused (-EFAULT)", find(r"read of hypervisor memory at \S+ -> (-14)", 1) == "-14"),
        ("guest memory reads back what it wrote", find(r"hvcheck: memory \d+ MiB OK") is not None),
        ("VMCALL from ring 3 refused", "vmcall from ring 3 -> SIGILL" in out),
        ("Dune context run by the hypervisor (hvprobe ctxtest)", "hvprobe: ctx: selftest done failures=0" in out),
        ("a process in Dune mode through /dev/dune (dunemini)", "dunemini: done failures=0" in out),
        ("upstream's test/hello on our libdune", "hello: recovered from divide by zero" in out),
        ("system calls, 256 MiB, huge pages, faults in the process (syscalls)", "syscalls: done failures=0" in out),
        ("upstream's test/test checks: fork, pthread, signal", "GUEST: libdune test rc=0" in out),
        ("upstream's test/timetest checks: time() through the vDSO", find(r"^Success! t=\d+") is not None),
        ("ring 3 inside Dune; VMCALL from ring 3 refused", "ring3: done failures=0" in out),
        ("libdune precise mode, dune_init(0)", "precise: done failures=0" in out),
        ("DUNE_TRAP_ENABLE debugger hook", "dunemini: trap done failures=0" in out),
        ("a ptrace debugger stops at a breakpoint in Dune mode", "debugger: done failures=0" in out),
        ("libdune page walk, clone, copy-on-write, ELF, FPU (apitest)", "apitest: done failures=0" in out),
    ]
    verdicts = dunehv_boot.verdicts(out)
    for prefix, what in (("smp.", "every CPU: DuneHV signature, hypervisor memory refused, counters"),
                         ("sipi.", "INIT-SIPI-SIPI to an offlined CPU stays under VMX"),
                         (("threads.", "migrate.", "munmap.", "lifetimes.", "hotplug."),
                          "Dune threads on 2 CPUs: 16 at once, migration, munmap vs the other CPU, lifetimes, hotplug")):
        mine = [ok for vid, (ok, _) in verdicts.items() if vid.startswith(prefix)]
        checks.append((f"{what} ({sum(mine)} of {len(mine)} checks)", bool(mine) and all(mine)))
    print("\n==== dunehv demo summary ====")
    for what, ok in checks:
        print(f"  [{'ok' if ok else 'FAILED'}] {what}")
    idle = find(r"hvcheck: idle exits=(\d+) seconds=(\d+)")
    if idle:
        print(f"  idle: {idle[len('hvcheck: '):]} (the measurement's own hypercall included)")
    print(f"  emulator stopped: {r.reason}; Bochs ticks {r.ticks}; wall {r.wall_s:.0f} s; log {r.log_path}")
    return 0 if all(ok for _, ok in checks) and r.reason == "shutdown" else 1


if __name__ == "__main__":
    sys.exit(main())
