#!/bin/sh
# dune-sandbox in the test boot: unmodified busybox applets with the same
# output and exit status as natively (one verdict each), then
# sbescape's attacks on the monitor. Prints "ok|not ok sandbox.<id> - ..."
# and "sbtest: done failures=N"; exit status N.
SB=${SB:-/opt/libdune/dune-sandbox}
ESC=${ESC:-/opt/libdune/sbescape}
failures=0
work=/tmp/sbtest
rm -rf $work && mkdir -p $work
printf 'pear\napple\nfig\nbanana\n' > $work/fruit
head -c 262144 /bin/busybox > $work/blob

verdict() { # id ok|fail text
	if [ "$2" = ok ]; then echo "ok sandbox.$1 - $3"; else echo "not ok sandbox.$1 - $3"; failures=$((failures + 1)); fi
}

expect() { # id want-status grep-pattern text command...
	id=$1 want=$2 pat=$3 text=$4; shift 4
	out=$("$@" 2>&1); st=$?
	if [ $st -eq $want ] && echo "$out" | grep -q -- "$pat"; then
		verdict "$id" ok "$text: status $st, $(echo "$out" | head -1)"
	else
		verdict "$id" fail "$text: status $st (want $want), output: $out"
	fi
}

# same stdout+stderr and status natively and sandboxed
same() {
	id=$1; shift
	native=$("$@" 2>&1; echo "status $?")
	sandboxed=$($SB -- "$@" 2>&1; echo "status $?")
	if [ "$native" = "$sandboxed" ]; then
		verdict "$id" ok "$* ($(printf '%s\n' "$native" | wc -l) lines and the status as natively)"
	else
		verdict "$id" fail "$*"
		printf 'native:\n%s\nsandboxed:\n%s\n' "$native" "$sandboxed" | head -40
	fi
}

same echo busybox echo hello sandbox
same cat busybox cat $work/fruit
same ls busybox ls -l /opt/libdune
same sort busybox sort $work/fruit
same wc busybox wc $work/fruit $work/blob
same sha256sum busybox sha256sum $work/blob
same exit-status busybox sh -c 'exit 3'
same missing-file busybox cat /nonexistent
same uname busybox uname -a
# dynamically linked glibc programs from Debian's coreutils (PT_INTERP)
same dyn-sha256sum /usr/bin/sha256sum $work/blob
same dyn-sort /usr/bin/sort -r $work/fruit
same dyn-ls /usr/bin/ls -l /opt/libdune
# a shell script: fork, execve (each program in a fresh sandbox), pipes,
# redirections, a subshell's exit status, command substitution
cat > $work/script.sh <<'SCRIPT'
w=/tmp/sbtest
busybox cat $w/fruit | busybox sort | busybox head -n 2
busybox sort -r < $w/fruit > $w/sorted.out && busybox cat $w/sorted.out
(exit 7); echo "subshell status $?"
n=$(busybox wc -l < $w/fruit); echo "lines $n"
busybox gzip -c $w/blob | busybox gunzip | busybox sha256sum
/usr/bin/sha256sum $w/fruit
busybox ls -l $w/fruit $w/nothing-here 2>&1
for f in pear fig; do busybox grep -c $f $w/fruit; done
busybox false || echo "false failed as it should"
$w/hello.sh from-the-script
SCRIPT
printf '#!/bin/busybox sh\necho "hello from a #! script: $*"\n' > $work/hello.sh
chmod +x $work/hello.sh
same sh-script busybox sh $work/script.sh
same shebang $work/hello.sh one two
expect mremap 0 '^mremap: 1 MiB grown to 4 MiB .*, 0 pages differ$' "mremap with MREMAP_MAYMOVE" $SB -- $ESC mremap
$SB -- busybox gzip -9 -c $work/blob > $work/blob.gz
$SB -- busybox gunzip -c $work/blob.gz > $work/blob.back
if cmp -s $work/blob $work/blob.back && [ -s $work/blob.gz ]; then
	verdict gzip ok "gzip -9 then gunzip, both sandboxed: $(wc -c < $work/blob.gz) bytes compressed, round trip identical"
else
	verdict gzip fail "gzip/gunzip round trip differs"
fi
# threads: a pthread program that judges itself (its lines are its
# verdicts), an event-loop one (epoll, eventfd, timerfd, select, signalfd),
# one with signal handlers and one on the vector registers a system call
# keeps, the same way, and
# Debian's xz with two threads, compressing (64 KiB blocks,
# one per worker) and decompressing, its output the same as natively's
THR=${THR:-/opt/libdune/sbthreads}
$SB -- $THR 2>&1; st=$?
[ $st -eq 0 ] || { echo "sbthreads sandboxed: status $st"; failures=$((failures + 1)); }
$SB -- ${REGS:-/opt/libdune/sbregs} 2>&1; st=$?
[ $st -eq 0 ] || { echo "sbregs sandboxed: status $st"; failures=$((failures + 1)); }
$SB -- ${SIGS:-/opt/libdune/sbsignals} 2>&1; st=$?
[ $st -eq 0 ] || { echo "sbsignals sandboxed: status $st"; failures=$((failures + 1)); }
$SB -- ${EVT:-/opt/libdune/sbevents} 2>&1; st=$?
[ $st -eq 0 ] || { echo "sbevents sandboxed: status $st"; failures=$((failures + 1)); }
/usr/bin/xz -T2 -1 --block-size=64KiB -c $work/blob > $work/native.xz
$SB -- /usr/bin/xz -vv -T2 -1 --block-size=64KiB -c $work/blob > $work/sandboxed.xz 2> $work/xz.err; st=$?
$SB -- /usr/bin/xz -T2 -d -c $work/sandboxed.xz > $work/blob.xzback; st2=$?
if [ $st -eq 0 ] && [ $st2 -eq 0 ] && grep -q "Using up to 2 threads" $work/xz.err && cmp -s $work/native.xz $work/sandboxed.xz &&
	cmp -s $work/blob $work/blob.xzback; then
	verdict xz-threads ok "xz -T2 sandboxed: $(wc -c < $work/sandboxed.xz) bytes, the same as native xz -T2's; xz -T2 -d gives the input back"
else
	verdict xz-threads fail "xz -T2: status $st and $st2; $(cat $work/xz.err)"
fi

# attacks that must be refused with an error
for a in write-from-monitor read-into-monitor writev-into-monitor path-in-monitor mprotect-monitor mmap-over-monitor \
	proc-self-mem; do
	out=$($SB -- $ESC $a 2>&1); st=$?
	if [ $st -eq 0 ] && echo "$out" | grep -q "refused"; then verdict "escape.$a" ok "$out"; else verdict "escape.$a" fail "status $st: $out"; fi
done
# attacks that must end the program with a signal, status 128 + signal,
# and the monitor's line saying why
for a in read-monitor:139 write-monitor:139 vmcall:132 hlt:139 cr-write:139; do
	name=${a%%:*}; want=${a##*:}
	out=$($SB -- $ESC $name 2>&1); st=$?
	if [ $st -eq $want ] && echo "$out" | grep -q "^dune-sandbox: .*sbescape: " && ! echo "$out" | grep -q WORKED; then
		verdict "escape.$name" ok "status $st: $(echo "$out" | head -1)"
	else
		verdict "escape.$name" fail "status $st (want $want): $out"
	fi
done

# a fork child and an execve'd image are sandboxed too: their HLT is the
# monitor's #GP (natively, too, a SIGSEGV, but without the monitor's line)
out=$($SB -- $ESC exec-then-hlt 2>&1); st=$?
if [ $st -eq 139 ] && echo "$out" | grep -q "^dune-sandbox: .*sbescape: a #GP fault"; then
	verdict escape.exec-then-hlt ok "status $st: $(echo "$out" | head -1)"
else
	verdict escape.exec-then-hlt fail "status $st: $out"
fi
out=$($SB -- $ESC fork-then-hlt 2>&1); st=$?
if [ $st -eq 0 ] && echo "$out" | grep -q "^dune-sandbox: .*sbescape: a #GP fault"; then
	verdict escape.fork-then-hlt ok "$(echo "$out" | tr '\n' ' ')"
else
	verdict escape.fork-then-hlt fail "status $st: $out"
fi

# policies: paths by their real path, the network, system calls, the log
mkdir -p $work/data $work/secret $work/rw
echo public > $work/data/file
echo secret > $work/secret/key
ln -s ../secret/key $work/data/link
cat > $work/web.policy <<'POLICY'
# dune-sandbox test policy
path ro /
path deny /tmp/sbtest/secret
path rw /tmp/sbtest/rw
path rw /dev/null
net connect allow 127.0.0.1 7000
net connect deny any
syscall deny mkdir
POLICY
P="$SB --policy $work/web.policy --log $work/deny.log --"
expect policy.read-allowed 0 '^public$' "a file under 'path ro /'" $P busybox cat $work/data/file
expect policy.read-denied 1 'Permission denied' "a file under 'path deny'" $P busybox cat $work/secret/key
expect policy.dotdot 1 'Permission denied' "the same through .." $P busybox cat $work/data/../secret/key
expect policy.symlink 1 'Permission denied' "the same through a symlink in an allowed directory" $P busybox cat $work/data/link
expect policy.write-ro 1 'Permission denied' "a new file under 'path ro'" $P busybox cp $work/data/file $work/data/new
[ -e $work/data/new ] && verdict policy.write-ro-nothing fail "the file was created" || verdict policy.write-ro-nothing ok "no file was created"
expect policy.write-rw 0 '^public$' "a new file under 'path rw', read back" \
	$P busybox sh -c "busybox cp $work/data/file $work/rw/new && busybox cat $work/rw/new"
expect policy.syscall-deny 1 'Operation not permitted' "'syscall deny mkdir' (in a read-write directory)" $P busybox mkdir $work/rw/dir
expect policy.exec 1 'Permission denied' "a program the sandboxee starts keeps the policy" $P busybox sh -c "busybox cat $work/secret/key"
expect policy.kill-on-deny 159 '' "--kill-on-deny: SIGSYS" $SB --policy $work/web.policy --kill-on-deny -- busybox cat $work/secret/key
ip link set lo up
timeout 60 busybox nc -l -p 7000 > $work/nc.out &
timeout 60 busybox nc -l -p 7001 > /dev/null &
sleep 1
echo "hello over lo" | timeout 30 $P busybox nc 127.0.0.1 7000 > /dev/null 2>&1; st=$?
sleep 1
if [ $st -eq 0 ] && grep -q "hello over lo" $work/nc.out; then
	verdict policy.net-allowed ok "connect to 127.0.0.1:7000 ('net connect allow'): the listener got the line"
else
	verdict policy.net-allowed fail "status $st, listener got: $(cat $work/nc.out)"
fi
expect policy.net-denied 1 'Permission denied' "connect to 127.0.0.1:7001 (a listener there; 'net connect deny any')" \
	timeout 30 $P busybox nc 127.0.0.1 7001
kill %1 %2 2>/dev/null
n=0
for pat in 'deny openat: read "/tmp/sbtest/secret/key" (/tmp/sbtest/secret/key), path rule at line 3' \
	'deny openat: read "/tmp/sbtest/data/../secret/key" (/tmp/sbtest/secret/key), path rule at line 3' \
	'deny mkdir: system call rule' 'deny connect: connect 127.0.0.1 port 7001, net rule at line 7' 'deny openat: write'; do
	grep -q -F "$pat" $work/deny.log && n=$((n + 1))
done
if [ $n -eq 5 ]; then verdict policy.logged ok "--log has each refusal ($(wc -l < $work/deny.log) lines)"; else verdict policy.logged fail "$n of 5 found: $(cat $work/deny.log)"; fi
printf 'limit fsize 1024\n' > $work/limit.policy
expect policy.limit 153 '' "'limit fsize 1024': writing 4096 bytes ends with SIGXFSZ" \
	$SB --policy $work/limit.policy -- busybox sh -c "busybox head -c 4096 /bin/busybox > $work/rw/big"
printf 'path ro /\npth rw /tmp\n' > $work/bad.policy
expect policy.bad-file 126 "bad.policy:2: unknown keyword 'pth'" "a bad policy file" $SB --policy $work/bad.policy -- busybox true

out=$($SB --help); st=$?
if [ $st -eq 0 ] && echo "$out" | grep -q "^usage: dune-sandbox"; then verdict help ok "--help prints the usage"; else verdict help fail "--help: $st"; fi
out=$($SB -- /nonexistent 2>&1); st=$?
if [ $st -eq 127 ] && echo "$out" | grep -q "/nonexistent"; then verdict no-program ok "$out (status 127)"; else verdict no-program fail "status $st: $out"; fi

echo "sbtest: done failures=$failures"
exit $failures
