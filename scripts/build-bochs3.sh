#!/bin/sh
# Build Bochs 3.0 from Debian trixie's source package; the emulator of every
# VMX boot of the tests, `make run` and the benchmarks.
#
# Usage: scripts/build-bochs3.sh OUTDIR
# Produces OUTDIR/bin/bochs (and OUTDIR/VERSION). Idempotent: does nothing when
# the binary is already there.
#
# Bookworm packages only Bochs 2.7, which mishandles INIT/SIPI under VMX, so SMP
# cannot be tested on it. The trixie source is fetched from the Debian archive
# this machine already uses (scripts/debian-source.sh: nothing system-wide
# changes). If the source cannot be fetched, this says so in one line and
# fails: there is no fallback to Bochs 2.7.
#
# The patches named in scripts/patches/series are applied to the source in
# that order (each explains the Bochs bug it fixes, or the check it adds);
# the checksum of the series and the patches is part of the cache key, so a
# changed patch set rebuilds Bochs.
set -eu

PKG_VERSION=3.0+dfsg-1
patch_dir=$(cd "$(dirname "$0")" && pwd)/patches
patches=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$patch_dir/series")
patch_sum=$( (cat "$patch_dir/series"; for p in $patches; do cat "$patch_dir/$p"; done) | sha256sum | cut -c1-16)
BUILD_ID="$PKG_VERSION patches:$patch_sum"
die() { echo "bochs3: error: $*" >&2; exit 1; }
say() { echo "bochs3: $*"; }

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
mkdir -p "$1"
out=$(cd "$1" && pwd)
if [ -x "$out/bin/bochs" ] && [ "$(cat "$out/VERSION" 2>/dev/null)" = "$BUILD_ID" ]; then
	exit 0
fi

rm -rf "$out/src" "$out/bin"
mkdir -p "$out/src" "$out/bin"

say "[1/3] fetching the bochs $PKG_VERSION source (trixie, from this system's Debian archive)"
"$(dirname "$0")/debian-source.sh" trixie bochs "$PKG_VERSION" "$out/src" || exit 1
orig=$(ls "$out"/src/bochs_*.orig.tar.* | head -n1)

say "[2/3] configuring ($(basename "$orig"))"
tar -xf "$orig" -C "$out/src"
srcdir=$(ls -d "$out"/src/bochs-*/ | head -n1)
for p in $patches; do
	[ -f "$patch_dir/$p" ] || die "scripts/patches/series names $p, which is missing"
	patch -d "$srcdir" -p1 --batch --quiet <"$patch_dir/$p" >>"$out/patch.log" 2>&1 ||
		die "patch $p does not apply (see $out/patch.log)"
done
# The CPU options of the package's debian/rules (VMX with EPT, SVM, SMP,
# x86-64, AVX-512, CET, AMX), no GUI, no plugins, no debugger: the harness
# stops Bochs through the shutdown port and a triple fault ends the run
# (cpu: reset_on_triple_fault=0), so it needs no debugger prompt.
(cd "$srcdir" && ./configure --prefix="$out" --with-nogui --disable-plugins --disable-docbook \
	--enable-cpu-level=6 --enable-x86-64 --enable-smp --enable-vmx=2 --enable-svm \
	--enable-avx --enable-evex --enable-cet --enable-amx --enable-uintr --enable-protection-keys \
	--enable-fpu --enable-a20-pin --enable-memtype --enable-x86-debugger --enable-disasm \
	--enable-pci --enable-all-optimizations --enable-repeat-speedups) \
	>"$out/configure.log" 2>&1 || die "configure failed (see $out/configure.log)"

jobs=$(nproc 2>/dev/null || echo 2)
say "[3/3] compiling with make -j$jobs (about 5 minutes on 2 cores)"
make -C "$srcdir" -j"$jobs" >"$out/make.log" 2>&1 || die "compile failed (see $out/make.log)"
cp "$srcdir/bochs" "$out/bin/bochs"
"$out/bin/bochs" --help cpu 2>&1 | grep -q corei7_skylake_x ||
	die "the built bochs does not offer the corei7_skylake_x CPU model"
rm -rf "$srcdir"
echo "$BUILD_ID" >"$out/VERSION"
say "built $out/bin/bochs"
