#!/bin/sh
# make bench-sandbox, in the guest: each workload natively, under
# dune-sandbox with the null policy and with a file policy, under
# ptrace-box and under seccomp-box (both enforcing the same file policy).
# Prints "bench-sandbox: WORKLOAD MODE MEDIAN MIN STATUS" (sbtime: TSC
# ticks, in Bochs emulated instructions) and "bench-sandbox: calls WORKLOAD
# N" (system calls per run, counted by ptrace-box), "bench-sandbox: exits
# WORKLOAD N TICKS" (VM exits of Dune contexts in one sandboxed run, with
# hvprobe loaded) and "bench-sandbox: exit-reasons WORKLOAD R=N..." (the
# same by the backend's exit reason), then "bench-sandbox: done".
# SBBENCH_GZIP_MB sizes the compute-bound workload (default 16);
# SBBENCH_ONLY=a,b runs only those workloads.
D=${D:-/opt/libdune}
REPS=${SBBENCH_REPS:-3}
MB=${SBBENCH_GZIP_MB:-16}
w=/tmp/sbbench
rm -rf $w && mkdir -p $w/tree $w/secret
echo key > $w/secret/key
# a tree of 20 directories with 10 files each (stat and getdents)
for d in 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19; do
	mkdir $w/tree/d$d
	for f in 0 1 2 3 4 5 6 7 8 9; do echo "file $d $f" > $w/tree/d$d/f$f; done
done
head -c 65536 /bin/busybox > $w/small
# the compressible input: copies of the initramfs's programs and libraries
: > $w/big
while [ $(($(wc -c < $w/big) / 1048576)) -lt $MB ]; do
	cat /bin/busybox /usr/bin/sha256sum /lib/x86_64-linux-gnu/libc.so.6 >> $w/big
done
head -c $((MB * 1048576)) $w/big > $w/big.in && mv $w/big.in $w/big
cat > $w/policy <<POLICY
# the benchmark's file policy: all of / read-only, the work directory
# and /dev (null, tty) read-write, one directory denied
path ro /
path rw /dev
path rw $w
path deny $w/secret
POLICY
cat > $w/forkexec.sh <<'SCRIPT'
i=0
while [ $i -lt 20 ]; do busybox true; i=$((i + 1)); done
SCRIPT

# VM exits of Dune contexts so far, all CPUs (hvprobe's /proc/dunehv/cpustat)
dune_exits() {
	awk '/^cpustat cpu=[0-9]+ apic=/ { for (i = 1; i <= NF; i++) if ($i ~ /^dune_exits=/) { sub("dune_exits=", "", $i); n += $i } }
	     END { print n + 0 }' /proc/dunehv/cpustat 2>/dev/null
}

# The Dune contexts' VM exits by reason so far, summed over CPUs: "REASON COUNT" lines.
dune_reasons() {
	awk '/^cpustat cpu=[0-9]+ dune_reason=/ { split($3, r, "="); split($4, c, "="); n[r[2]] += c[2] }
	     END { for (k in n) print k, n[k] }' /proc/dunehv/cpustat 2>/dev/null | sort -n
}

run() { # workload command...
	name=$1; shift
	case ",${SBBENCH_ONLY:-$name}," in *",$name,"*) ;; *) return ;; esac
	for mode in native sandbox-null sandbox-file ptrace-file seccomp-file; do
		case $mode in
		native) pre="" ;;
		sandbox-null) pre="$D/dune-sandbox --" ;;
		sandbox-file) pre="$D/dune-sandbox --policy $w/policy --" ;;
		ptrace-file) pre="$D/ptrace-box --policy $w/policy --" ;;
		seccomp-file) pre="$D/seccomp-box --policy $w/policy --" ;;
		esac
		# shellcheck disable=SC2086
		echo "bench-sandbox: $name $mode $($D/sbtime $REPS -- $pre "$@")"
	done
	calls=$($D/ptrace-box --count -- "$@" 2>&1 >/dev/null | sed -n 's/^ptrace-box: \([0-9]*\) system calls$/\1/p')
	echo "bench-sandbox: calls $name $calls"
	# one more sandboxed run, counting the Dune contexts' VM exits
	before=$(dune_exits)
	dune_reasons > $w/reasons.before
	ticks=$($D/sbtime 1 -- $D/dune-sandbox -- "$@" | cut -d' ' -f1)
	echo "bench-sandbox: exits $name $(($(dune_exits) - before)) $ticks"
	dune_reasons | awk -v name="$name" -v before=$w/reasons.before '
		BEGIN { while ((getline l < before) > 0) { split(l, f, " "); b[f[1]] = f[2] } }
		{ if ($2 - b[$1] > 0) s = s " " $1 "=" ($2 - b[$1]) }
		END { print "bench-sandbox: exit-reasons " name s }'
}

run start busybox true
run stat-tree busybox ls -lR $w/tree
run small-reads busybox dd if=$w/small of=/dev/null bs=16
run fork-exec busybox sh $w/forkexec.sh
run gzip-9 busybox gzip -9 -c $w/big
echo "bench-sandbox: gzip-mb $MB"
# the policy holds under each (a read of the denied file fails)
for pre in "$D/dune-sandbox --policy $w/policy --" "$D/ptrace-box --policy $w/policy --" "$D/seccomp-box --policy $w/policy --"; do
	# shellcheck disable=SC2086
	if $pre busybox cat $w/secret/key >/dev/null 2>&1; then
		echo "bench-sandbox: policy-broken ${pre%% *}"
	fi
done
echo "bench-sandbox: done"
