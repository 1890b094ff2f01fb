#!/usr/bin/python3
"""make bench-dune: one Bochs boot runs guest-libdune/test/bench.c, which
measures, in one process, Linux operations and their Dune counterparts with
RDTSC. In Bochs the TSC counts emulated instructions, not CPU cycles: the
ratios between rows of the same run are what compare; the paper's cycle
counts (Dune, OSDI 2012, Nehalem; recalled, see shared notes) stand beside
them for reference only."""
import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dunehv_boot  # noqa: E402

ROWS = [  # key suffix, label, paper Linux, paper Dune
    ("getpid", "getpid system call", "138", "895"),
    ("first_touch", "first touch of a page (kernel / EPT fill)", "2,687", "5,093"),
    ("user_fault", "page fault handled by the process (SIGSEGV / Dune #PF)", "2,821", "587"),
    ("ptrace", "syscall interposition (ptrace / ring-3 SYSCALL to a handler)", "27,317", "1,091"),
    ("appel1", "Appel-Li PROT1-TRAP-UNPROT, 100 pages", "701,413", "94,496"),
    ("appel2", "Appel-Li PROTN-TRAP-UNPROT, 100 pages", "684,909", "94,854"),
    ("migrate", "move to the other CPU (sched_setaffinity + getpid)", "-", "-"),
]


def main():
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                            epilog='One Bochs boot (2 CPUs); prints the table.').parse_args()
    cfg = dunehv_boot.config(cmdline="console=ttyS0 hvtest.bench=dune")
    r = dunehv_boot.boot("bench-dune", "bochs", cfg=cfg, timeout_s=1500, cpus=2)
    vals = dict(re.findall(r"^bench: (\w+) ([\d.]+)$", r.output, re.M))
    if "done" not in r.output or r.reason != "shutdown":
        sys.exit(f"bench-dune: the guest benchmark did not finish ({r.reason}); see {r.log_path}")
    print("\nDune operations vs Linux, one process, Bochs 3.0 with 2 CPUs (TSC = emulated instructions, not cycles)")
    print(f"{'operation':<64}{'Linux':>10}{'Dune':>10}{'ratio':>8}   paper (cycles): Linux / Dune")
    for key, label, pl, pd in ROWS:
        if "linux_" + key not in vals or "dune_" + key not in vals:
            continue
        lx, du = int(vals["linux_" + key]), int(vals["dune_" + key])
        print(f"{label:<64}{lx:>10}{du:>10}{du / lx:>8.2f}   {pl} / {pd}")
    print(f"{'VM exits per Dune system call':<64}{'':>10}{vals['dune_exits_per_syscall']:>10}")
    if "linux_ioctl" in vals:
        print(f"{'an ioctl round trip (what each Dune system call adds in Linux)':<64}{vals['linux_ioctl']:>10}")
    for key, label in (("dune_migrations_per_move", "context migrations (VMCLEAR on the old CPU) per move"),
                       ("dune_shootdowns_per_unmap", "INVEPT shoot-downs per munmap from the other CPU"),
                       ("dune_requests_per_unmap", "cross-CPU requests (NMI IPIs) per munmap from the other CPU")):
        if key in vals:
            print(f"{label:<64}{'':>10}{vals[key]:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
