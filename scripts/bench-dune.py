#!/usr/bin/python3
"""make bench-dune [BACKEND=svm]: a Bochs boot runs guest-libdune/test/bench.c,
which measures, in one process, Linux operations and their Dune counterparts
with RDTSC; with BACKEND=svm the SVM image's boot runs beside the VMX one and
the table shows both. In Bochs the TSC counts emulated instructions, not CPU cycles: the
ratios between rows of the same run are what compare; the paper's cycle
counts (Dune, OSDI 2012, Nehalem; recalled, see shared notes) stand beside
them for reference only."""
import argparse
import re
import sys
from concurrent.futures import ThreadPoolExecutor
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


# The platforms a run measures: the VMX image in Bochs' Skylake-X model (2
# CPUs, for the migration rows) and, with --backend svm, beside it the SVM
# image in Bochs' ryzen model (2 CPUs too). Both in Bochs, so both TSCs
# count emulated instructions and the columns compare.
PLATFORMS = {"vmx": ("Bochs 3.0 VMX, 2 CPUs", 2), "svm": ("Bochs 3.0 ryzen SVM, 2 CPUs", 2)}


def measure(backend):
    """One Bochs boot of backend's image running the guest benchmark; its
    values by key (bench: KEY VALUE lines)."""
    cfg = dunehv_boot.config(cmdline="console=ttyS0 hvtest.bench=dune")
    r = dunehv_boot.boot(f"bench-dune-{backend}", "bochs", cfg=cfg, timeout_s=1500, cpus=PLATFORMS[backend][1],
                         backend=backend)
    if "done" not in r.output or r.reason != "shutdown":
        sys.exit(f"bench-dune: the guest benchmark did not finish on {backend} ({r.reason}); see {r.log_path}")
    return dict(re.findall(r"^bench: (\w+) ([\d.]+)$", r.output, re.M))


def print_table(runs):
    """runs: [(backend, values)], one column group (Linux, Dune, ratio) each."""
    names = ", ".join(PLATFORMS[b][0] for b, _ in runs)
    print(f"\nDune operations vs Linux, one process; {names} (TSC = emulated instructions, not cycles)")
    head = f"{'operation':<64}" + "".join(f"{b.upper() + ' Linux':>12}{b.upper() + ' Dune':>11}{'ratio':>7}"
                                           for b, _ in runs)
    print(head + "   paper (cycles): Linux / Dune")
    for key, label, pl, pd in ROWS:
        cells = ""
        for _, vals in runs:
            if "linux_" + key in vals and "dune_" + key in vals:
                lx, du = int(vals["linux_" + key]), int(vals["dune_" + key])
                cells += f"{lx:>12}{du:>11}{du / lx:>7.2f}"
            else:
                cells += f"{'-':>12}{'-':>11}{'':>7}"
        print(f"{label:<64}{cells}   {pl} / {pd}")
    extra = [("dune_exits_per_syscall", "VM exits per Dune system call"),
             ("linux_ioctl", "an ioctl round trip (what each Dune system call adds in Linux)"),
             ("dune_migrations_per_move", "context migrations (the old CPU lets go) per move"),
             ("dune_shootdowns_per_unmap", "TLB shoot-downs per munmap from the other CPU"),
             ("dune_requests_per_unmap", "cross-CPU requests (NMI IPIs) per munmap from the other CPU")]
    for key, label in extra:
        if any(key in vals for _, vals in runs):
            print(f"{label:<64}" + "".join(f"{'':>12}{vals.get(key, '-'):>11}{'':>7}" for _, vals in runs))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Prints the table. --backend svm: the SVM image beside the VMX one.")
    ap.add_argument("--backend", choices=("vmx", "svm"), default="vmx")
    args = ap.parse_args()
    backends = ["vmx"] if args.backend == "vmx" else ["vmx", "svm"]
    # side by side: each Bochs is one host thread
    with ThreadPoolExecutor(max_workers=len(backends)) as pool:
        results = list(pool.map(measure, backends))
    print_table(list(zip(backends, results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
