#!/bin/sh
# libsthread's HTTP example in the guest: sthttpd serving each connection
# in an sthread, checked by sthttpc (its http.* verdicts). Exit status 0
# when the client's checks and the server both succeeded.
D=${D:-/opt/libdune}
ip link set lo up
w=/tmp/sthttp
rm -rf $w && mkdir -p $w/www
i=0
while [ $i -lt 40 ]; do echo "<p>dunehv sthreads, line $i</p>"; i=$((i + 1)); done > $w/www/index.html
# three connections: sthttpc check's GET and 404, then A and B
timeout -s KILL 200 $D/sthttpd --count 3 8080 $w/www > $w/server.log 2>&1 &
server=$!
n=0
while ! grep -q serving $w/server.log && [ $n -lt 60 ]; do sleep 1; n=$((n + 1)); done
$D/sthttpc check 8080 $w/www
rc=$?
# the server ends after its third connection (a stuck one: timeout's KILL)
wait $server
src=$?
sed 's/^/sthttp: server: /' $w/server.log
echo "sthttp: client $rc server $src"
[ $rc = 0 ] && [ $src = 0 ]
