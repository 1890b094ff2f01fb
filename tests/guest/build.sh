#!/bin/sh
# Build the guest test initramfs.
#
# Usage: tests/guest/build.sh OUTDIR [HEADERS_DIR]
#   HEADERS_DIR defaults to the content of $GUEST_KERNEL_DIR/headers-dir
#   (GUEST_KERNEL_DIR defaults to OUTDIR/../guest-kernel, as made by
#   scripts/guest-kernel.sh), else to /usr/src/linux-headers-<linux-headers-amd64's version>.
# Produces:
#   OUTDIR/hvcheck            static user-space checker
#   OUTDIR/hvprobe/hvprobe.ko test module (built in a copy of the source)
#   OUTDIR/rootfs/            the extra tree (/init, /bin/hvcheck, /lib/modules/hvprobe.ko)
#   OUTDIR/initrd.img         gzip'd newc cpio (scripts/build-initramfs.sh)
set -eu

die() { echo "guest/build: error: $*" >&2; exit 1; }
[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: $0 OUTDIR [HEADERS_DIR]"

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
CC=${CC:-gcc}

headers=${2:-}
if [ -z "$headers" ]; then
	gk=${GUEST_KERNEL_DIR:-$out/../guest-kernel}
	if [ -f "$gk/headers-dir" ]; then
		headers=$(cat "$gk/headers-dir")
	else
		ver=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null |
			tr ',' '\n' | sed -n 's/^ *linux-headers-\([0-9][^ ]*-amd64\).*/\1/p' | head -n1)
		[ -n "$ver" ] || die "no headers dir given and linux-headers-amd64 not installed"
		headers=/usr/src/linux-headers-$ver
	fi
fi
[ -f "$headers/Makefile" ] || die "kernel headers not found: $headers"

echo "guest/build: hvcheck"
$CC -static -O2 -Wall -Wextra -Werror -I"$top/hv/include" \
	-o "$out/hvcheck" "$here/hvcheck.c"

echo "guest/build: hvprobe.ko against $headers"
rm -rf "$out/hvprobe"
# build_module NAME SRCDIR: copies SRCDIR's sources to OUTDIR/NAME and builds NAME.ko there
build_module() {
	rm -rf "${out:?}/$1"
	mkdir -p "$out/$1"
	cp "$2"/*.c "$2"/*.h "$2/Kbuild" "$out/$1/"
	cp "$2"/*.S "$out/$1/" 2>/dev/null || true
	make -s -C "$headers" M="$out/$1" DUNEHV_INCLUDE="$top/hv/include" \
		KCFLAGS="-ffile-prefix-map=$out/$1/=$1/ -ffile-prefix-map=$top/=dunehv/" modules \
		> "$out/$1/build.log" 2>&1 || { cat "$out/$1/build.log" >&2; die "$1 module build failed"; }
	grep -v 'Skipping BTF generation' "$out/$1/build.log" >&2 || true
	[ -f "$out/$1/$3" ] || die "no $3"
	strip --strip-debug "$out/$1/$3"
}
build_module hvprobe "$here/hvprobe" hvprobe.ko

# dune.ko as a user builds it: a DKMS source tree (make -C linux-shim
# dkms-source), then dkms add and build, with private trees under OUTDIR
# and no signing key (nothing of the system's DKMS state changes).
echo "guest/build: dune.ko (linux-shim) with dkms against $headers"
kver=$(basename "$headers" | sed 's/^linux-headers-//')
dver=$(cat "$top/VERSION")
rm -rf "$out/dune" "$out/dkms"
mkdir -p "$out/dune" "$out/dkms/tree"
make -s -C "$top/linux-shim" dkms-source DESTDIR="$out/dkms/root"
command -v dkms >/dev/null || die "dkms missing (apt-get install dkms; scripts/setup.sh installs it)"
for step in add build; do
	sign_file=/nonexistent dkms $step -m dune -v "$dver" -k "$kver" --kernelsourcedir "$headers" \
		--sourcetree "$out/dkms/root/usr/src" --dkmstree "$out/dkms/tree" >> "$out/dkms/dkms.log" 2>&1 ||
		{ cat "$out/dkms/dkms.log" >&2; die "dkms $step of dune $dver failed"; }
done
cp "$out/dkms/tree/dune/$dver/$kver/x86_64/module/dune.ko" "$out/dune/dune.ko"
strip --strip-debug "$out/dune/dune.ko"

echo "guest/build: the dunehv command (linux-shim/tool)"
$CC -static -O2 -Wall -Wextra -Werror -I"$top/hv/include" -I"$top/hv" -o "$out/dunehv" "$top/linux-shim/tool/dunehv.c" \
	"$top/hv/core/config.c"

echo "guest/build: dunemini, dunefuzz"
$CC -static -O2 -Wall -Wextra -Werror -I"$top/linux-shim" \
	-o "$out/dunemini" "$here/dune/dunemini.c" "$here/dune/dunemini_limits.c" "$here/dune/dunemini_guest.S"
$CC -static -O2 -Wall -Wextra -Werror -I"$top/linux-shim" -pthread -o "$out/dunefuzz" "$here/dune/dunefuzz.c"

echo "guest/build: libgc (Debian's source, three dirty-bit variants; cached in build/libgc)"
libgc=${LIBGC_DIR:-$top/build/libgc}
"$top/scripts/build-libgc.sh" "$libgc"

echo "guest/build: libdune and its tests"
mkdir -p "$out/libdune"
make -s -C "$top/guest-libdune" OUT="$out/libdune" CC="$CC" LIBGC="$libgc"

echo "guest/build: upstream's libdune and test programs with upstream's Makefiles (tests/upstream-dune)"
rm -rf "$out/upstream-dune"
cp -r "$here/../upstream-dune" "$out/upstream-dune"
# hello-div: hello again with -fnon-call-exceptions added to its CFLAGS. GCC
# 12 folds hello's "1 / ret" into a compare (dividing by zero is undefined;
# match.pd's 1 / X rule, at -O0 too), so the Makefile's hello has no DIV and
# never reaches its #DE handler; with non-call exceptions GCC keeps the DIV.
make -s -C "$out/upstream-dune/libdune" CC="$CC" > "$out/upstream-dune/build.log" 2>&1 &&
	make -s -C "$out/upstream-dune/test" CC="$CC" CFLAGS="-Wall -g -MD -O2 -I ../ -fnon-call-exceptions" hello \
		>> "$out/upstream-dune/build.log" 2>&1 &&
	mv "$out/upstream-dune/test/hello" "$out/upstream-dune/test/hello-div" &&
	rm "$out/upstream-dune/test/hello.o" &&
	make -s -C "$out/upstream-dune/test" CC="$CC" hello test timetest >> "$out/upstream-dune/build.log" 2>&1 ||
	{ cat "$out/upstream-dune/build.log" >&2; die "upstream's libdune or its tests failed to build"; }

echo "guest/build: libdune installed (make install) and a program built against it with pkg-config"
stage=$out/stage
rm -rf "$stage"
make -s -C "$top/guest-libdune" OUT="$out/libdune" CC="$CC" install DESTDIR="$stage" PREFIX=/usr \
	LIBDIR=/usr/lib/x86_64-linux-gnu
rm -rf "$out/first-dune" && mkdir -p "$out/first-dune" # always rebuilt: pkg-config decides its flags
PKG_CONFIG_SYSROOT_DIR="$stage" PKG_CONFIG_LIBDIR="$stage/usr/lib/x86_64-linux-gnu/pkgconfig" \
	make -s -C "$top/examples/first-dune" OUT="$out/first-dune" CC="$CC"

echo "guest/build: rootfs"
rm -rf "$out/rootfs"
mkdir -p "$out/rootfs/bin" "$out/rootfs/lib/modules"
cp "$here/init" "$out/rootfs/init"
chmod 0755 "$out/rootfs/init"
cp "$out/hvcheck" "$out/rootfs/bin/hvcheck"
cp "$out/hvprobe/hvprobe.ko" "$out/rootfs/lib/modules/hvprobe.ko"
cp "$out/dune/dune.ko" "$out/rootfs/lib/modules/dune.ko"
# and where modprobe finds it (its alias loads it when /dev/dune is opened)
mkdir -p "$out/rootfs/lib/modules/$kver/updates/dkms"
cp "$out/dune/dune.ko" "$out/rootfs/lib/modules/$kver/updates/dkms/dune.ko"
kimage=${GUEST_KERNEL_DIR:-$out/../guest-kernel}/image/lib/modules/$kver
for f in modules.order modules.builtin modules.builtin.modinfo; do # the kernel's, for depmod
	cp "$kimage/$f" "$out/rootfs/lib/modules/$kver/" 2>/dev/null || : > "$out/rootfs/lib/modules/$kver/$f"
done
depmod -b "$out/rootfs" "$kver" || die "depmod failed"
mkdir -p "$out/rootfs/sbin"
ln -sf ../bin/busybox "$out/rootfs/sbin/modprobe" # the kernel's modprobe_path
cp "$out/dunemini" "$out/dunefuzz" "$out/dunehv" "$out/rootfs/bin/"
cp "$out/libdune/hello" "$out/libdune/syscalls" "$out/libdune/bench" "$out/rootfs/bin/"
# upstream's names ("test" would shadow busybox's test applet in /bin)
mkdir -p "$out/rootfs/opt/libdune"
cp "$out/libdune/test" "$out/libdune/timetest" "$out/libdune/ring3" "$out/libdune/precise" "$out/libdune/apitest" "$out/libdune/debugger" "$out/libdune/smp" "$out/libdune/faultloop" "$out/libdune/privinsn" "$out/libdune/memrights" "$out/libdune/fpuiso" "$out/libdune/ring3gate" \
	"$out/libdune/dune-sandbox" "$out/libdune/sbescape" "$out/libdune/sbthreads" "$out/libdune/sbevents" "$out/libdune/sbregs" "$out/libdune/sbsignals" "$top/guest-libdune/apps/sandbox/test/sbtest.sh" \
	"$out/libdune/sttest" "$out/libdune/stbench" "$out/libdune/sthttpd" "$out/libdune/sthttpc" \
	"$top/guest-libdune/apps/sthread/test/sthttp.sh" "$top/guest-libdune/apps/sthread/bench/stbench.sh" \
	"$out/libdune/gctest-dune" "$out/libdune/gctest-mprotect" "$out/libdune/gctest-soft" \
	"$out/libdune/gcbench-dune" "$out/libdune/gcbench-mprotect" "$out/libdune/gcbench-soft" \
	"$out/libdune/gcchurn-dune" "$out/libdune/gcchurn-mprotect" "$out/libdune/gcchurn-soft" \
	"$top/guest-libdune/apps/gc/test/gccheck.sh" "$top/guest-libdune/apps/gc/bench/gcbench.sh" \
	"$out/libdune/ptrace-box" "$out/libdune/seccomp-box" "$out/libdune/sbtime" "$top/guest-libdune/apps/sandbox/bench/sbbench.sh" \
	"$out/rootfs/opt/libdune/"

# upstream's own builds (their names clash with libdune's programs)
mkdir -p "$out/rootfs/opt/upstream-dune"
cp "$out/upstream-dune/test/hello" "$out/upstream-dune/test/hello-div" "$out/upstream-dune/test/test" "$out/upstream-dune/test/timetest" \
	"$out/rootfs/opt/upstream-dune/"

# Without their debug information (a smaller initramfs unpacks faster in
# Bochs; the symbols stay).
for f in "$out/rootfs/opt/libdune/"* "$out/rootfs/opt/upstream-dune/"*; do
	if [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ]; then strip --strip-debug "$f"; fi
done

# The first Dune program: static, and dynamic with the installed libdune.so
# (and the C library it needs).
cp "$out/first-dune/first-dune" "$out/first-dune/first-dune-static" "$out/rootfs/opt/libdune/"
mkdir -p "$out/rootfs/usr/lib/x86_64-linux-gnu"
cp -a "$stage"/usr/lib/x86_64-linux-gnu/libdune.so* "$out/rootfs/usr/lib/x86_64-linux-gnu/"
for lib in $(LD_LIBRARY_PATH="$stage/usr/lib/x86_64-linux-gnu" ldd "$out/first-dune/first-dune" |
	awk '/=> \// && !/libdune/ { print $3 } /^\t\/lib/ { print $1 }'); do
	mkdir -p "$out/rootfs$(dirname "$lib")"
	cp -L "$lib" "$out/rootfs$lib"
done

# Dynamically linked programs from Debian's packages (coreutils, xz-utils),
# with the libraries ldd names, for dune-sandbox's tests.
echo "guest/build: Debian's dynamic programs for dune-sandbox"
mkdir -p "$out/rootfs/usr/bin"
for prog in /usr/bin/sha256sum /usr/bin/sort /usr/bin/ls /usr/bin/xz; do
	[ -x "$prog" ] || die "$prog missing (coreutils, xz-utils)"
	cp "$prog" "$out/rootfs/usr/bin/"
	for lib in $(ldd "$prog" | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }'); do
		mkdir -p "$out/rootfs$(dirname "$lib")"
		cp -L "$lib" "$out/rootfs$lib"
	done
done

# glibc opens libgcc_s with dlopen for pthread_exit and pthread_cancel
# (unwinding), so ldd does not name it
gcc_s=$(ldconfig -p | awk '/libgcc_s.so.1 .*x86-64/ { print $NF; exit }')
[ -n "$gcc_s" ] || die "libgcc_s.so.1 missing (libgcc-s1)"
mkdir -p "$out/rootfs$(dirname "$gcc_s")"
cp -L "$gcc_s" "$out/rootfs$gcc_s"

"$top/scripts/build-initramfs.sh" "$out/initrd.img" "$out/rootfs"
