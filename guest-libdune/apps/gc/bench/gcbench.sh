#!/bin/sh
# make bench-apps, in the guest: the collector's rows. GCBench and gcchurn,
# each with the Dune, mprotect and soft-dirty backends in incremental mode,
# and stop-the-world (the mprotect build with GC_DISABLE_INCREMENTAL=1) for
# reference. One line per run:
#   "gcbench: PROGRAM MODE variant=... ticks=... max_pause=... ... lost=N"
# (lost: gcchurn's mismatches, GCBench's failed checks), then
# "gcbench: done". Sizes: GCBENCH_ARGS (GCBench's STRETCH LONG_LIVED
# MAX_DEPTH ARRAY) and GCCHURN_ARGS (gcchurn's STEPS SLOTS VERIFY).
D=${D:-/opt/libdune}
GCBENCH_ARGS=${GCBENCH_ARGS:-"14 12 12 50000"}
GCCHURN_ARGS=${GCCHURN_ARGS:-"100000 2000 100000"}
for prog in gcbench gcchurn; do
	args=$GCBENCH_ARGS
	[ $prog = gcchurn ] && args=$GCCHURN_ARGS
	for mode in dune mprotect soft stw; do
		bin=$D/$prog-$mode
		stw=""
		[ $mode = stw ] && { bin=$D/$prog-mprotect; stw=1; }
		# shellcheck disable=SC2086
		out=$(if [ -n "$stw" ]; then export GC_DISABLE_INCREMENTAL=1; fi
			GC_DUNE_STATS=1 timeout -s KILL 1200 $bin $args 2>&1)
		line=$(echo "$out" | sed -n "s/^$prog: \(variant=.*\)/\1/p")
		stats=$(echo "$out" | sed -n 's/^gc-dune: \([0-9]*\) dirty-bit reads (ranges), \([0-9]*\) dirty pages$/dirty_reads=\1 dirty_pages=\2/p')
		if [ $prog = gcbench ]; then
			lost=$(echo "$line" | grep -c "check=ok")
			lost=$((1 - lost))
		else
			lost=$(echo "$out" | sed -n 's/.* \([0-9][0-9]*\) mismatches.*/\1/p' | head -n1)
		fi
		[ -n "$line" ] || { echo "$out" | sed "s/^/gcbench: $prog $mode output: /"; line="failed=1"; }
		echo "gcbench: $prog $mode $line $stats lost=${lost:-unknown}"
	done
done
echo "gcbench: done"
