#!/usr/bin/python3
"""make bench-boot: what dunehv costs a booting and an idling Linux, in Bochs.

Boots of the same kernel, initramfs and command line on Bochs 3.0 with
CPUS CPUs (default 2):
  native  dunehv.efi with `hypervisor = off` starts the kernel itself (the same
          loader path), /init stops Bochs at once
  dunehv  dunehv.efi starts the hypervisor, then the same kernel; /init reads
          the hypervisor's exit counters (machine-wide and per CPU) and stops
  idle    as dunehv, then /init idles for IDLE seconds and reports the exits
and, once, the dunehv boot on 1 CPU in Bochs 3.0 and in Debian's Bochs 2.7
(wall time only: the emulator the tests moved from, and what it cost).
Bochs prints its tick count when it stops. With `clock: sync=none` ticks are
emulated time (one per emulated instruction while a CPU runs, skipped ahead
while every CPU halts), not real cycles; ratios of ticks are the precise
measure, wall times vary by about +-15%.
"""
import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dunehv_boot  # noqa: E402



def boot(name, mode, native, idle, cpus, extra="", emulator="bochs"):
    args = f"console=ttyS0 hvtest.bench={mode} hvtest.idle={idle} {extra}".strip()
    if native:
        # under the hypervisor the loader adds cpu_init_udelay=10000 to the
        # configured cmdline: the native boot gets it too
        cfg = dunehv_boot.config(cmdline=args + " cpu_init_udelay=10000", extra="hypervisor = off\n")
    else:
        cfg = dunehv_boot.config(cmdline=args)
    r = dunehv_boot.boot(name, emulator, cfg=cfg, timeout_s=1800, cpus=cpus)
    if r.reason != "shutdown" or r.ticks is None:
        sys.exit(f"bench-boot: {name} boot did not finish cleanly ({r.reason}); see {r.log_path}")
    return r


def exit_counts(output):
    return {(int(n), name): int(c) for n, name, c in re.findall(r"^(\d+) (\w+) (\d+)$", output, re.M)}


def cpu_exit_counts(output):
    """{cpu: {reason: count}} from /proc/dunehv/smp's cpustat lines."""
    per_cpu = {}
    for cpu, reason, count in re.findall(r"^cpustat cpu=(\d+) reason=(\d+) count=(\d+)$", output, re.M):
        per_cpu.setdefault(int(cpu), {})[int(reason)] = int(count)
    return per_cpu


def hv_memory(output):
    """[base, size) of the hypervisor's memory from its log."""
    m = re.search(r"\[dunehv\] core starting: memory \[(0x[0-9a-f]+), (0x[0-9a-f]+)\)", output)
    if not m:
        sys.exit("bench-boot: the hypervisor did not log its memory range")
    base, end = int(m.group(1), 16), int(m.group(2), 16)
    return base, end - base


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--idle", type=int, default=10, help="idle seconds measured (default 10)")
    ap.add_argument("--cpus", type=int, default=2, help="CPUs of the Bochs 3.0 boots (default 2)")
    ap.add_argument("--no-bochs27", action="store_true", help="skip the Bochs 3.0 vs 2.7 wall-time boots")
    a = ap.parse_args()
    hv = boot("bench-dunehv", "boot", False, a.idle, a.cpus)
    # Linux under dunehv lacks the hypervisor's memory; the native boot
    # reserves the same range (memmap=) so both initialize the same RAM.
    base, size = hv_memory(hv.output)
    native = boot("bench-native", "boot", True, a.idle, a.cpus, f"memmap={size >> 20}M${base:#x}")
    idle = boot("bench-idle", "idle", False, a.idle, a.cpus)
    if not a.no_bochs27:
        one3 = boot("bench-bochs3-1cpu", "boot", False, a.idle, 1)
        one27 = boot("bench-bochs27-1cpu", "boot", False, a.idle, 1, emulator="bochs27")

    print(f"\nBoot to /init and stop (Bochs 3.0, corei7_skylake_x, {a.cpus} CPUs, OVMF; same kernel, initramfs, command")
    print(f"line; the native boot reserves the hypervisor's {size >> 20} MiB at {base:#x} with memmap=)")
    print(f"{'':24}{'native':>16}{'under dunehv':>16}{'ratio':>8}")
    print(f"{'Bochs ticks (emulated)':24}{native.ticks:>16,}{hv.ticks:>16,}{hv.ticks / native.ticks:>8.4f}")
    print(f"{'wall seconds':24}{native.wall_s:>16.1f}{hv.wall_s:>16.1f}{hv.wall_s / native.wall_s:>8.3f}")
    print("goal: tick ratio <= 1.02")
    print("both boots load the kernel through dunehv.efi; the native one with `hypervisor = off`")

    counts = exit_counts(hv.output)
    total = sum(c for (_, _), c in counts.items())
    print("\nVM exits from VMLAUNCH to the stats read in /init, by reason")
    print(f"{'reason':>6} {'name':<16}{'count':>10}")
    for (n, name), c in sorted(counts.items()):
        print(f"{n:>6} {name:<16}{c:>10}")
    print(f"{'':>6} {'total':<16}{total:>10}")
    per_cpu = cpu_exit_counts(hv.output)
    if per_cpu:
        cpus = sorted(per_cpu)
        reasons = sorted({r for c in cpus for r in per_cpu[c]})
        names = {n: name for (n, name) in counts}
        print("\nthe same exits per CPU (the hypervisor's per-CPU counters)")
        print(f"{'reason':>6} {'name':<16}" + "".join(f"{'cpu ' + str(c):>10}" for c in cpus))
        for r in reasons:
            print(f"{r:>6} {names.get(r, '?'):<16}" + "".join(f"{per_cpu[c].get(r, 0):>10}" for c in cpus))
        print(f"{'':>6} {'total':<16}" + "".join(f"{sum(per_cpu[c].values()):>10}" for c in cpus))

    m = re.search(r"hvcheck: idle exits=(\d+) seconds=(\d+) per_second=([\d.]+)", idle.output)
    if not m:
        sys.exit("bench-boot: idle measurement missing; see " + str(idle.log_path))
    reasons = re.findall(r"hvcheck: idle reason (\d+) count (\d+)", idle.output)
    own = sum(int(c) for r, c in reasons if r == "18")  # the EXIT_STATS hypercall of the measurement
    other = int(m.group(1)) - own
    print(f"\nIdle: {m.group(1)} exits in {m.group(2)} s of emulated time "
          f"({own} of them the measurement's own hypercall); "
          f"other exits per second at idle: {other / int(m.group(2)):.2f} (goal 0)")
    before, after = cpu_exit_counts(idle.output.split("GUEST: bench idle", 1)[1].split("hvcheck: idle exits", 1)[0]), \
        cpu_exit_counts(idle.output.split("hvcheck: idle exits", 1)[1])
    if before and after:
        # the window runs from one read of the counters to the next: it holds
        # the start-up of hvcheck and of the second cat (CPUID exits) too
        def delta(c):
            d = {r: n - before.get(c, {}).get(r, 0) for r, n in after[c].items()}
            return ", ".join(f"{n} reason {r}" for r, n in sorted(d.items()) if n) or "none"
        print("exits per CPU between the two counter reads around it (hvcheck's and cat's start-up included):")
        for c in sorted(after):
            print(f"  cpu {c}: {delta(c)}")

    if not a.no_bochs27:
        print("\nThe same dunehv boot on 1 CPU, measured once (wall seconds on this machine)")
        print(f"{'Bochs 2.7 (Debian)':24}{one27.wall_s:>10.1f} s   {one27.ticks:>16,} ticks")
        print(f"{'Bochs 3.0 (built)':24}{one3.wall_s:>10.1f} s   {one3.ticks:>16,} ticks")
        print(f"{'2.7 / 3.0 wall':24}{one27.wall_s / one3.wall_s:>10.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
