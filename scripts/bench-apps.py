#!/usr/bin/python3
"""make bench-apps: one Bochs boot runs guest-libdune/apps/sthread/bench/
stbench.c, which measures, in one process, the create+join latency of a
process (fork), a pthread and a libsthread sthread (recycled; on a fresh
slot, its page tables and stack built anew; the very first, which also
starts its worker, a thread in Dune mode), and a context switch (ping-pong
over two pipes) between two processes, two pthreads and two sthreads; then HTTP requests (a
connection each, over loopback) against sthttpd with an sthread per
connection and with a process per connection; then the garbage collector
(Debian's libgc 8.2.2, guest-libdune/apps/gc/bench/gcbench.sh): GCBench and
gcchurn with the Dune dirty-bit backend, the stock mprotect and soft-dirty
backends (incremental mode), and stop-the-world for reference. In Bochs the
TSC counts emulated instructions, not cycles: the ratios within the run are
what compare."""
import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dunehv_boot  # noqa: E402


GC_MODES = (("dune", "Dune: page-table dirty bits"), ("mprotect", "mprotect + SIGSEGV (stock)"),
            ("soft", "soft-dirty, /proc/self/pagemap (stock)"), ("stw", "stop-the-world (no dirty bits)"))


def gc_runs(output):
    """{(program, mode): {key: value}} from gcbench.sh's lines."""
    runs = {}
    for prog, mode, rest in re.findall(r"^gcbench: (gcbench|gcchurn) (\w+) (variant=.*)$", output, re.M):
        runs[(prog, mode)] = dict(kv.split("=", 1) for kv in rest.split() if "=" in kv)
    return runs


def gc_table(output):
    runs = gc_runs(output)
    if "gcbench: done" not in output:
        print("\ngarbage collector: gcbench.sh did not finish")
        return
    print("\nBoehm GC 8.2.2 (Debian's libgc), incremental mode, by dirty-bit backend (one run each; "
          "ticks = emulated instructions)")
    print(f"{'program / backend':<44}{'ticks':>12}{'mprot/this':>11}{'longest alloc':>14}{'GCs':>6}"
          f"{'dirty pages':>12}{'lost':>6}")
    for prog, title in (("gcbench", "GCBench"), ("gcchurn", "gcchurn (old objects mutated)")):
        base = runs.get((prog, "mprotect"))
        print(title)
        for mode, label in GC_MODES:
            run = runs.get((prog, mode))
            if not run or "ticks" not in run:
                print(f"  {label:<42}{'failed':>12}")
                continue
            t = int(run["ticks"])
            ratio = f"{int(base['ticks']) / t:.2f}x" if base and "ticks" in base else "-"
            inc = "" if run.get("incremental") == "1" or mode == "stw" else " (not incremental!)"
            print(f"  {label + inc:<42}{t:>12}{ratio:>11}{int(run['max_pause']):>14}{run['collections']:>6}"
                  f"{run.get('dirty_pages', '-'):>12}{run.get('lost', '?'):>6}")


def main():
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                            epilog='One Bochs boot (2 CPUs, a few minutes to about 15); prints the tables.').parse_args()
    cfg = dunehv_boot.config(cmdline="console=ttyS0 hvtest.bench=apps")
    r = dunehv_boot.boot("bench-apps", "bochs", cfg=cfg, timeout_s=2400, memory_mb=2048, cpus=2)
    vals = dict(re.findall(r"^stbench: (\S+) (\d+)\s*$", r.output, re.M))
    if "stbench: done" not in r.output or r.reason != "shutdown":
        sys.exit(f"bench-apps: the guest benchmark did not finish ({r.reason}); see {r.log_path}")
    if vals.get("failures", "1") != "0":
        sys.exit(f"bench-apps: stbench reported failures; see {r.log_path}")
    fork = int(vals["fork"])
    print("\nsthreads (libsthread) vs processes and pthreads: Bochs 3.0, 2 CPUs, one run")
    print("(TSC = emulated instructions, not cycles; ticks per operation; ratio = fork's / this)")
    print(f"{'create + join':<58}{'ticks':>12}{'fork / this':>13}")
    for key, label in (("fork", "fork + exit + waitpid"), ("pthread", "pthread_create + join"),
                       ("sthread-recycled", "sthread_create + join, recycled"),
                       ("sthread-fresh", "sthread_create + join, fresh page tables and stack"),
                       ("sthread-first", "the first sthread (also starts its Dune worker)")):
        v = int(vals[key])
        print(f"{label:<58}{v:>12}{fork / v:>12.1f}x")
    print(f"\n{'context switch (ping-pong over pipes, per switch)':<58}{'ticks':>12}")
    for key, label in (("switch-process", "two processes"), ("switch-pthread", "two pthreads"),
                       ("switch-sthread", "two sthreads")):
        print(f"{label:<58}{int(vals[key]):>12}")
    if "http-sthread" in vals and "http-fork" in vals:
        hs, hf = int(vals["http-sthread"]), int(vals["http-fork"])
        print(f"\n{'HTTP (sthttpd), a connection per request, per request':<58}{'ticks':>12}{'fork / this':>13}")
        print(f"{'a process per connection (--fork)':<58}{hf:>12}{1.0:>12.1f}x")
        print(f"{'an sthread per connection':<58}{hs:>12}{hf / hs:>12.1f}x")
    gc_table(r.output)
    print(f"\nPCID-tagged sthread page tables: {'yes' if vals.get('pcid') == '1' else 'no'}")
    rec = fork / int(vals["sthread-recycled"])
    print(f"sthread create+join (recycled) is {rec:.1f}x cheaper than fork (goal >= 10)")
    print("The paper (Dune, OSDI 2012, 6.3): sthread creation much faster than Wedge's fork-based one "
          "(its figures are not checked here).")
    gc = gc_runs(r.output)
    if ("gcbench", "dune") in gc and ("gcbench", "mprotect") in gc:
        ratio = int(gc[("gcbench", "mprotect")]["ticks"]) / int(gc[("gcbench", "dune")]["ticks"])
        print(f"GCBench, incremental: the Dune backend is {ratio:.2f}x faster than mprotect (goal >= 1.3)")
    print("The paper (6.3): its Boehm GC reading dirty bits from the page table beats the mprotect one "
          "(its figures are not checked here).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
