#!/bin/sh
# Build the Boehm-Demers-Weiser garbage collector from Debian's libgc
# source package (bookworm, the version Debian 12 ships) in three variants
# that differ only in how the collector learns which pages were written
# (its "virtual dirty bits", used by incremental and generational mode):
#   dune      DUNE_VDB: the D bits of the page table of a program running
#             in Dune mode (scripts/patches/libgc/: our patch; libdune's
#             dune_vm_collect_dirty reads and clears them);
#   mprotect  the collector's stock write protection: mprotect and a
#             SIGSEGV per first write to a page;
#   soft      the collector's stock soft-dirty reader (/proc/self/pagemap
#             and /proc/self/clear_refs).
# All three: static, no threads (DUNE_VDB flushes only this CPU's TLB),
# data start from the linker (USE_PROG_DATA_START: no probing fault at
# start-up).
#
# Usage: scripts/build-libgc.sh OUTDIR
# Produces OUTDIR/include/ (the public headers) and, per variant,
# OUTDIR/VARIANT/libgc.a and OUTDIR/VARIANT/gctest.o (the package's own
# test, tests/test.c, compiled for that variant; guest-libdune links it).
# Idempotent: the cache key is the package version, this script and the
# patches.
set -eu

PKG_VERSION=1:8.2.2-3
VARIANTS="dune mprotect soft"
COMMON_CFLAGS="-O2 -g -DUSE_PROG_DATA_START"
# gctest's sizes: one round instead of six (NTHREADS counts its rounds in
# a build without threads) and its small configuration (trees of height
# 13, not 16): about 1/30 of its work, so that it runs in minutes in Bochs.
GCTEST_CFLAGS="-DNTHREADS=0 -DVERY_SMALL_CONFIG"
variant_cflags() {
	case $1 in
	dune) echo "-DDUNE_VDB" ;;
	mprotect) echo "-DNO_SOFT_VDB" ;;
	soft) echo "-DNO_MPROTECT_VDB" ;;
	esac
}

here=$(cd "$(dirname "$0")" && pwd)
patch_dir=$here/patches/libgc
patches=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$patch_dir/series")
build_sum=$( (cat "$0" "$patch_dir/series"; for p in $patches; do cat "$patch_dir/$p"; done) | sha256sum | cut -c1-16)
BUILD_ID="$PKG_VERSION build:$build_sum"
die() { echo "libgc: error: $*" >&2; exit 1; }
say() { echo "libgc: $*"; }

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
mkdir -p "$1"
out=$(cd "$1" && pwd)
if [ "$(cat "$out/VERSION" 2>/dev/null)" = "$BUILD_ID" ]; then
	exit 0
fi
rm -rf "$out/src" "$out/include" "$out/VERSION"
for v in $VARIANTS; do rm -rf "${out:?}/$v"; done
mkdir -p "$out/src"

say "[1/3] fetching the libgc $PKG_VERSION source (bookworm, from this system's Debian archive)"
"$here/debian-source.sh" bookworm libgc "$PKG_VERSION" "$out/src" || exit 1
orig=$(ls "$out"/src/libgc_*.orig.tar.* | head -n1)
tar -xf "$orig" -C "$out/src"
srcdir=$(ls -d "$out"/src/gc-*/ | head -n1)
srcdir=${srcdir%/}
for p in $patches; do
	[ -f "$patch_dir/$p" ] || die "scripts/patches/libgc/series names $p, which is missing"
	patch -d "$srcdir" -p1 --batch --quiet <"$patch_dir/$p" >>"$out/patch.log" 2>&1 ||
		die "patch $p does not apply (see $out/patch.log)"
done
mkdir -p "$out/include/gc"
cp "$srcdir"/include/gc.h "$srcdir"/include/gc_*.h "$srcdir"/include/javaxfc.h "$out/include/"
cp "$srcdir"/include/gc*.h "$out/include/gc/"

jobs=$(nproc 2>/dev/null || echo 2)
n=0
for v in $VARIANTS; do
	n=$((n + 1))
	say "[2/3] variant $v ($n of 3): configure and compile ($(variant_cflags "$v"))"
	mkdir -p "$out/$v/build"
	cflags="$COMMON_CFLAGS $(variant_cflags "$v")"
	(cd "$out/$v/build" && "$srcdir/configure" --disable-threads --disable-shared --enable-static \
		--disable-docs CFLAGS="$cflags") >"$out/$v/configure.log" 2>&1 ||
		die "configure of variant $v failed (see $out/$v/configure.log)"
	make -C "$out/$v/build" -j"$jobs" libgc.la >"$out/$v/make.log" 2>&1 ||
		die "compile of variant $v failed (see $out/$v/make.log)"
	cp "$out/$v/build/.libs/libgc.a" "$out/$v/libgc.a"
	# shellcheck disable=SC2086
	${CC:-gcc} $cflags $GCTEST_CFLAGS -I"$srcdir/include" -c -o "$out/$v/gctest.o" "$srcdir/tests/test.c" \
		>>"$out/$v/make.log" 2>&1 || die "compile of gctest for variant $v failed (see $out/$v/make.log)"
	rm -rf "$out/$v/build"
done
say "[3/3] done: $out/{$(echo $VARIANTS | tr ' ' ,)}/libgc.a"
rm -rf "$srcdir"
echo "$BUILD_ID" >"$out/VERSION"
