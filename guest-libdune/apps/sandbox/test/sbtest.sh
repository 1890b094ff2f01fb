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
SCRIPT
same sh-script busybox sh $work/script.sh
$SB -- busybox gzip -9 -c $work/blob > $work/blob.gz
$SB -- busybox gunzip -c $work/blob.gz > $work/blob.back
if cmp -s $work/blob $work/blob.back && [ -s $work/blob.gz ]; then
	verdict gzip ok "gzip -9 then gunzip, both sandboxed: $(wc -c < $work/blob.gz) bytes compressed, round trip identical"
else
	verdict gzip fail "gzip/gunzip round trip differs"
fi

# attacks that must be refused with an error
for a in write-from-monitor read-into-monitor writev-into-monitor path-in-monitor mprotect-monitor mmap-over-monitor; do
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
if [ $st -eq 139 ] && echo "$out" | grep -q "^dune-sandbox: .*sbescape: a general protection fault"; then
	verdict escape.exec-then-hlt ok "status $st: $(echo "$out" | head -1)"
else
	verdict escape.exec-then-hlt fail "status $st: $out"
fi
out=$($SB -- $ESC fork-then-hlt 2>&1); st=$?
if [ $st -eq 0 ] && echo "$out" | grep -q "^dune-sandbox: .*sbescape: a general protection fault"; then
	verdict escape.fork-then-hlt ok "$(echo "$out" | tr '\n' ' ')"
else
	verdict escape.fork-then-hlt fail "status $st: $out"
fi

out=$($SB --help); st=$?
if [ $st -eq 0 ] && echo "$out" | grep -q "^usage: dune-sandbox"; then verdict help ok "--help prints the usage"; else verdict help fail "--help: $st"; fi
out=$($SB -- /nonexistent 2>&1); st=$?
if [ $st -eq 127 ] && echo "$out" | grep -q "/nonexistent"; then verdict no-program ok "$out (status 127)"; else verdict no-program fail "status $st: $out"; fi

echo "sbtest: done failures=$failures"
exit $failures
