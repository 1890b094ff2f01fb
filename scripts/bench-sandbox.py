#!/usr/bin/python3
"""make bench-sandbox: one Bochs boot runs guest-libdune/apps/sandbox/bench/
sbbench.sh, which times four workloads natively, under dune-sandbox (null
policy and a file policy) and under two reference interposers enforcing the
same file policy: ptrace-box (PTRACE_SYSCALL, as strace-style sandboxes) and
seccomp-box (seccomp-bpf, SECCOMP_RET_USER_NOTIF for the path calls). Each
cell is the median of 3 runs in time stamp counter ticks; in Bochs the TSC
counts emulated instructions, not cycles, so the ratios to native in the
same run are what compare. GZIP_MB=N sizes the compute-bound input (16);
ONLY=a,b runs only those workloads (start, stat-tree, small-reads, fork-exec,
gzip-9)."""
import os
import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dunehv_boot  # noqa: E402

MODES = ["native", "sandbox-null", "sandbox-file", "ptrace-file", "seccomp-file"]
WORKLOADS = [
    ("start", "busybox true (a program's start and exit)"),
    ("stat-tree", "busybox ls -lR of 20 dirs x 10 files (syscall-heavy)"),
    ("small-reads", "busybox dd bs=16 of 64 KiB (syscall-heavy)"),
    ("fork-exec", "busybox sh: 20 x fork+exec busybox true"),
    ("gzip-9", "busybox gzip -9 of {mb} MiB (compute-bound)"),
]

# VMX basic exit reasons (SDM Vol. 3D Appendix C) a Dune context shows
VMX_REASONS = {0: "exception", 1: "external interrupt", 10: "CPUID", 18: "VMCALL (system call)",
               48: "EPT violation", 52: "preemption timer"}


def main():
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                            epilog='Environment: GZIP_MB (gzip input size, default 16), ONLY=a,b (workloads). One Bochs boot.').parse_args()
    mb = int(os.environ.get("GZIP_MB", "16"))
    only = os.environ.get("ONLY", "")
    cmdline = f"console=ttyS0 hvtest.bench=sandbox hvtest.sbbench_mb={mb}" + (f" hvtest.sbbench_only={only}" if only else "")
    cfg = dunehv_boot.config(cmdline=cmdline)
    r = dunehv_boot.boot("bench-sandbox", "bochs", cfg=cfg, timeout_s=5400, memory_mb=2048, cpus=2)
    if "bench-sandbox: done" not in r.output or r.reason != "shutdown":
        sys.exit(f"bench-sandbox: the guest benchmark did not finish ({r.reason}); see {r.log_path}")
    cells, calls, failed = {}, {}, []
    for w, m, med, _mn, st in re.findall(r"^bench-sandbox: (\S+) (\S+) (\d+) (\d+) (\d+)\s*$", r.output, re.M):
        cells[(w, m)] = int(med)
        if st not in ("0",):
            failed.append(f"{w} {m}: exit status {st}")
    for w, n in re.findall(r"^bench-sandbox: calls (\S+) (\d+)\s*$", r.output, re.M):
        calls[w] = int(n)
    exits = {w: (int(n), int(t)) for w, n, t in
             re.findall(r"^bench-sandbox: exits (\S+) (\d+) (\d+)\s*$", r.output, re.M)}
    reasons = {w: dict((int(r), int(n)) for r, n in re.findall(r"(\d+)=(\d+)", rest)) for w, rest in
               re.findall(r"^bench-sandbox: exit-reasons (\S+)(.*)$", r.output, re.M)}
    broken = re.findall(r"^bench-sandbox: policy-broken (\S+)", r.output, re.M)
    print("\ndune-sandbox vs native, ptrace and seccomp: Bochs 3.0, 2 CPUs, median of 3 runs")
    print("(TSC = emulated instructions, not cycles; ratios to native in this run; file policy: / ro,")
    print(" the work directory rw, one directory denied; the same rules in all three interposers)")
    head = f"{'workload':<54}{'native':>12}{'calls':>7}" + "".join(f"{m:>14}" for m in MODES[1:])
    print(head)
    for w, label in WORKLOADS:
        nat = cells.get((w, "native"))
        if not nat:
            continue
        row = f"{label.format(mb=mb):<54}{nat:>12}{calls.get(w, 0):>7}"
        for m in MODES[1:]:
            v = cells.get((w, m))
            row += f"{(v / nat if v else float('nan')):>13.2f}x"
        print(row)
    print("\nnative: ticks per run; calls: system calls per run (ptrace-box's count); the rest: time / native.")
    for w in ("stat-tree", "small-reads"):
        p, s = cells.get((w, "ptrace-file")), cells.get((w, "sandbox-file"))
        n = cells.get((w, "native"))
        if p and s and n:
            print(f"{w}: ptrace's overhead / dune-sandbox's overhead (file policy) = {(p - n) / max(s - n, 1):.1f}"
                  f" (goal >= 5 on syscall-heavy work); ptrace / dune-sandbox time = {p / s:.1f}x")
    g, gn = cells.get(("gzip-9", "sandbox-null")), cells.get(("gzip-9", "native"))
    if g and gn:
        print(f"gzip-9 under dune-sandbox: {g / gn:.3f}x native (goal <= 1.05)")
    if exits:
        print("\nVM exits of the Dune contexts in one sandboxed run (null policy), all CPUs:")
        for w, _label in WORKLOADS:
            if w in exits:
                n, t = exits[w]
                per_call = f", {n / calls[w]:.2f} per system call" if calls.get(w) else ""
                print(f"  {w:<12}{n:>10} exits{per_call}, {n / max(t, 1) * 1e6:.1f} per million ticks")
                if reasons.get(w):
                    print(" " * 14 + ", ".join(f"{c} {VMX_REASONS.get(k, f'reason {k}')}"
                                               for k, c in sorted(reasons[w].items())))
    print("The paper (Dune, OSDI 2012, Section 6): sandboxed SPEC2000 and lighttpd within a few percent of native.")
    if failed or broken:
        print("\nproblems: " + "; ".join(failed + [f"the policy did not hold under {b}" for b in broken]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
