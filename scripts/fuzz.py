#!/usr/bin/python3
"""make fuzz: the two fuzzers of `make test` at ten times the count.

Boots dunehv + Linux in Bochs on 2 CPUs with hvtest.only=fuzz: hvprobe's
/proc/dunehv/fuzz makes N random hypercalls (seed 1) from two CPUs
(tests/guest/hvprobe/fuzz.c), then dunefuzz makes N random /dev/dune ioctls
from unprivileged processes (tests/guest/dune/dunefuzz.c); each judges
itself. This prints their tables and verdicts and exits 0 only if every
verdict passed and the kernel logged no warning.

    scripts/fuzz.py [N]    N calls of each (default 10000000)
"""
import re
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dunehv_boot  # noqa: E402

FUZZ_IDS = ("fuzz.calls", "fuzz.refused", "fuzz.baseline", "fuzz.log",
            "ioctlfuzz.calls", "ioctlfuzz.kernel", "ioctlfuzz.baseline", "ioctlfuzz.log")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="One Bochs boot (2 CPUs); 10,000,000 calls take about an hour.")
    ap.add_argument("calls", nargs="?", type=int, default=10_000_000, help="calls per fuzzer (default 10,000,000)")
    n = ap.parse_args().calls
    if n <= 0:
        sys.exit("fuzz: the count must be positive")
    # see tests/conftest.py for watchdog_thresh
    cfg = dunehv_boot.config(cmdline=f"console=ttyS0 hvtest.only=fuzz hvtest.fuzz={n} watchdog_thresh=60")
    print(f"make fuzz: {n} hypercalls, seed 1, 2 CPUs in Bochs (console: {dunehv_boot.RUNS / 'fuzz'})", flush=True)
    r = dunehv_boot.boot("fuzz", "bochs", cfg=cfg, timeout_s=6 * 3600, memory_mb=2048, cpus=2)
    for line in r.output.splitlines():
        if "hvprobe: fuzz: " in line or "dunefuzz: " in line or re.search(r"(ok|not ok) (ioctl)?fuzz\.", line):
            print(line)
    found = dunehv_boot.verdicts(r.output)
    bad = [i for i in FUZZ_IDS if i not in found or not found[i][0]]
    trouble = dunehv_boot.kernel_trouble(r.output)
    if bad or trouble or "[dunehv] PANIC" in r.output:
        print(f"make fuzz: FAILED ({', '.join(bad) or trouble or 'hypervisor panic'})")
        sys.exit(1)
    print("make fuzz: passed")


if __name__ == "__main__":
    main()
