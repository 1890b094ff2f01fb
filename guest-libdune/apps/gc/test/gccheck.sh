#!/bin/sh
# The collector's checks in the guest (apps/gc/), one verdict each:
# - gc.gctest-dune: the package's own test (gctest) passes with the Dune
#   dirty-bit backend, which it reports using;
# - gc.churn-dune / -mprotect / -soft: gcchurn's live set, changing under
#   incremental collection, loses nothing (its own verdicts);
# - gc.churn-notices-lost-writes: with the Dune backend made to report no
#   page written (GC_DUNE_LOSE_WRITES=1), gcchurn does not pass, so its
#   check can fail.
# Exit status 0 when every check passed.
D=${D:-/opt/libdune}
failed=0
say() { echo "gccheck: $*"; }
verdict() { # ok id detail
	if [ "$1" = 0 ]; then say "ok $2 - $3"; else say "not ok $2 - $3"; failed=$((failed + 1)); fi
}

out=/tmp/gctest-dune.out
GC_DUNE_STATS=1 timeout -s KILL 900 $D/gctest-dune > $out 2>&1
rc=$?
sed 's/^/gccheck: gctest-dune: /' $out
works=$(grep -c "Collector appears to work" $out)
dune=$(grep -c "Reading dirty bits from the page table (Dune)" $out)
bad=1
[ $rc = 0 ] && [ "$works" = 1 ] && [ "$dune" = 1 ] && bad=0
verdict $bad gc.gctest-dune "the package's gctest with the Dune backend: exit $rc, $works success line, $dune Dune backend line"

for v in dune mprotect soft; do
	GC_DUNE_STATS=1 timeout -s KILL 900 $D/gcchurn-$v || failed=$((failed + 1))
done

out=/tmp/gcchurn-lost.out
GC_DUNE_LOSE_WRITES=1 timeout -s KILL 900 $D/gcchurn-dune --id gc.churn-lost-writes > $out 2>&1
rc=$?
sed 's/^/gccheck: lost writes: /' $out
# it must not pass: a "not ok" verdict, or a crash (a freed node reused)
bad=0
if [ $rc = 0 ] || grep -q "gcchurn: ok gc.churn-lost-writes" $out; then bad=1; fi
if [ $rc -ge 128 ]; then
	how="killed by signal $((rc - 128))"
elif grep -q "[0-9]* mismatches" $out; then
	how=$(grep -o "[0-9]* mismatches[^;]*" $out | head -n1)
else
	how="it crashed: $(grep -m1 -o "unhandled .*" $out)"
fi
verdict $bad gc.churn-notices-lost-writes "gcchurn with a Dune backend that reports no write did not pass: exit $rc ($how)"
say "$failed failed"
[ $failed = 0 ]
