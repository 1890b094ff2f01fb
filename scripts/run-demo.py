#!/usr/bin/python3
"""make run: boot dunehv + Debian's Linux + the guest demo in Bochs on 2
CPUs, show the console live, then summarize what the guest showed.

The demo is tests/guest/init with hvtest.only=demo: each capability once
(every CPU under dunehv, Linux in VMX non-root mode, the hypervisor's memory
refused on every CPU, zero exits at idle, a process in Dune mode, ring 3
inside it, a context moved between CPUs, one process refused another's
memory). The stress loops and every other check are `make test`'s.
"""
import argparse
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
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                            epilog='make run: one Bochs boot (2 CPUs, about 2 minutes), each capability once.').parse_args()
    # see tests/conftest.py for watchdog_thresh
    cfg = dunehv_boot.config(cmdline="console=ttyS0 hvtest.only=demo watchdog_thresh=60")
    log = dunehv_boot.RUNS / "demo" / "com1.txt"
    log.parent.mkdir(parents=True, exist_ok=True)
    if log.exists():
        log.unlink()
    done = threading.Event()
    t = threading.Thread(target=follow, args=(log, done), daemon=True)
    print("make run: booting OVMF -> dunehv.efi -> Linux in Bochs, 2 CPUs (about 3 minutes; COM1 follows)\n",
          flush=True)
    t.start()
    try:
        r = dunehv_boot.boot("demo", "bochs", cfg=cfg, timeout_s=900, memory_mb=2048, cpus=2,
                             stop_patterns=(r"\[dunehv\] stopped \(on_panic", r"Kernel panic - not syncing"))
    finally:
        done.set()
        t.join()
    out = r.output
    verdicts = dunehv_boot.verdicts(out)

    def find(pattern, group=0):
        m = re.search(pattern, out, re.M)
        return m.group(group) if m else None

    def all_ok(*ids):
        return all(verdicts.get(i, (False,))[0] for i in ids)

    checks = [
        ("the hypervisor launched both CPUs as VMX guests", find(r"^dunehv: hypervisor active on all 2 CPUs") is not None),
        ("Linux brought up both CPUs under dunehv", "smp: Brought up 1 node, 2 CPUs" in out and
         "GUEST: dunehv present" in out),
        ("VMX hidden from Linux (no vmx flag in /proc/cpuinfo)", "GUEST: cpuinfo vmx=0 " in out),
        ("VMCALL from ring 3 refused (#UD)", "vmcall from ring 3 -> SIGILL" in out),
        ("each CPU sees the DuneHV signature and is refused the hypervisor's memory",
         all_ok("smp.cpu0.signature", "smp.cpu1.signature", "smp.cpu0.hv-memory", "smp.cpu1.hv-memory")),
        ("no VM exits at idle on either CPU", all_ok("idle.cpu0", "idle.cpu1")),
        ("a process in Dune mode through /dev/dune (dunemini)", "dunemini: done failures=0" in out),
        ("one Dune process refused another's memory, Linux's and the hypervisor's",
         "GUEST: dunemini isolation rc=0" in out),
        ("upstream's test/hello on our libdune", "hello: recovered from divide by zero" in out),
        ("ring 3 inside a Dune process; VMCALL from ring 3 refused", "ring3: done failures=0" in out),
        ("a Dune context moved between the CPUs 20 times", all_ok("migrate.thread", "migrate.moves", "migrate.state")),
    ]
    print("\n==== dunehv demo summary ====")
    for what, ok in checks:
        print(f"  [{'ok' if ok else 'FAILED'}] {what}")
    idle = find(r"hvcheck: idle exits=(\d+) seconds=(\d+)")
    if idle:
        print(f"  idle: {idle[len('hvcheck: '):]} (the measurement's own hypercalls included)")
    print(f"  emulator stopped: {r.reason}; Bochs ticks {r.ticks}; Bochs wall {r.wall_s:.0f} s; log {r.log_path}")
    return 0 if all(ok for _, ok in checks) and r.reason == "shutdown" else 1


if __name__ == "__main__":
    sys.exit(main())
