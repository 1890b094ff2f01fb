#!/usr/bin/python3
"""make bench-boot: what dunehv costs a booting and an idling Linux, in Bochs.

Three boots of the same kernel, initramfs and command line:
  native  the UEFI shell starts the kernel directly, /init stops Bochs at once
  dunehv  dunehv.efi starts the hypervisor, then the same kernel; /init reads
          the hypervisor's exit counters and stops Bochs at once
  idle    as dunehv, then /init idles for IDLE seconds and reports the exits
Bochs prints its tick count when it stops. With `clock: sync=none` ticks are
emulated instructions (deterministic for the same inputs), not real cycles or
time; ratios of ticks are the precise measure, wall times vary by about +-15%.
"""
import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dunehv_boot  # noqa: E402



def boot(name, mode, native, idle, extra=""):
    args = f"console=ttyS0 hvtest.bench={mode} hvtest.idle={idle} {extra}".strip()
    if native:
        # the loader adds the initrd and nr_cpus=1 to the configured cmdline: do the same
        r = dunehv_boot.boot(name, "bochs", native_cmdline=args + " nr_cpus=1", timeout_s=900)
    else:
        cfg = dunehv_boot.config(cmdline=args)
        r = dunehv_boot.boot(name, "bochs", cfg=cfg, timeout_s=900)
    if r.reason != "shutdown" or r.ticks is None:
        sys.exit(f"bench-boot: {name} boot did not finish cleanly ({r.reason}); see {r.log_path}")
    return r


def exit_counts(output):
    return {(int(n), name): int(c) for n, name, c in re.findall(r"^(\d+) (\w+) (\d+)$", output, re.M)}


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
    a = ap.parse_args()
    hv = boot("bench-dunehv", "boot", False, a.idle)
    # Linux under dunehv lacks the hypervisor's memory; the native boot
    # reserves the same range (memmap=) so both initialize the same RAM.
    base, size = hv_memory(hv.output)
    native = boot("bench-native", "boot", True, a.idle, f"memmap={size >> 20}M${base:#x}")
    idle = boot("bench-idle", "idle", False, a.idle)

    print("\nBoot to /init and stop (Bochs 2.7, corei7_skylake_x, 1 CPU, OVMF; same kernel, initramfs, command")
    print(f"line; the native boot reserves the hypervisor's {size >> 20} MiB at {base:#x} with memmap=)")
    print(f"{'':24}{'native':>16}{'under dunehv':>16}{'ratio':>8}")
    print(f"{'Bochs ticks (emulated)':24}{native.ticks:>16,}{hv.ticks:>16,}{hv.ticks / native.ticks:>8.4f}")
    print(f"{'wall seconds':24}{native.wall_s:>16.1f}{hv.wall_s:>16.1f}{hv.wall_s / native.wall_s:>8.3f}")
    print("goal: tick ratio <= 1.02")
    print("note: the boots also differ in who loads the kernel (the UEFI shell natively, dunehv.efi's")
    print("LoadImage under dunehv); a ratio below 1 means dunehv costs less than that difference.")

    counts = exit_counts(hv.output)
    total = sum(c for (_, _), c in counts.items())
    print("\nVM exits from VMLAUNCH to the stats read in /init, by reason")
    print(f"{'reason':>6} {'name':<16}{'count':>10}")
    for (n, name), c in sorted(counts.items()):
        print(f"{n:>6} {name:<16}{c:>10}")
    print(f"{'':>6} {'total':<16}{total:>10}")

    m = re.search(r"hvcheck: idle exits=(\d+) seconds=(\d+) per_second=([\d.]+)", idle.output)
    if not m:
        sys.exit("bench-boot: idle measurement missing; see " + str(idle.log_path))
    reasons = re.findall(r"hvcheck: idle reason (\d+) count (\d+)", idle.output)
    own = sum(int(c) for r, c in reasons if r == "18")  # the EXIT_STATS hypercall of the measurement
    other = int(m.group(1)) - own
    print(f"\nIdle: {m.group(1)} exits in {m.group(2)} s of emulated time "
          f"({own} of them the measurement's own hypercall); "
          f"other exits per second at idle: {other / int(m.group(2)):.2f} (goal 0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
