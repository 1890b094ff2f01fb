#!/bin/sh
# make bench-apps, in the guest: stbench (create+join, switches), then
# HTTP requests (a connection each) against sthttpd with an sthread per
# connection and with a process per connection. Prints stbench's lines and
# "stbench: http-sthread TICKS" / "stbench: http-fork TICKS" (per request),
# then "stbench: done".
D=${D:-/opt/libdune}
ip link set lo up
N=${STBENCH_REQUESTS:-100}
w=/tmp/stbench
rm -rf $w && mkdir -p $w/www
i=0
while [ $i -lt 40 ]; do echo "<p>dunehv sthreads, line $i</p>"; i=$((i + 1)); done > $w/www/index.html
$D/stbench | grep -v '^stbench: done'
port=8090
for mode in sthread fork; do
	port=$((port + 1))
	flag=""
	[ $mode = fork ] && flag=--fork
	# shellcheck disable=SC2086
	timeout -s KILL 1200 $D/sthttpd $flag --count $((N + 1)) $port $w/www > $w/$mode.log 2>&1 &
	server=$!
	n=0
	while ! grep -q serving $w/$mode.log && [ $n -lt 60 ]; do sleep 1; n=$((n + 1)); done
	$D/sthttpc bench $port 1 > /dev/null # warm: the first sthread starts its worker
	$D/sthttpc bench $port $N | sed -n "s/^sthttpc: bench [0-9]* \([0-9]*\) failures 0$/stbench: http-$mode \1/p"
	wait $server
done
echo "stbench: done"
