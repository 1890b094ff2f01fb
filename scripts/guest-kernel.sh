#!/bin/sh
# Fetch the guest kernel (Debian's linux-image matching the installed
# linux-headers-amd64) without installing it.
#
# Usage: scripts/guest-kernel.sh OUTDIR
# Produces:
#   OUTDIR/debs/linux-image-<ver>_*.deb   (download cache)
#   OUTDIR/image/                          (dpkg -x of the .deb)
#   OUTDIR/vmlinuz                         (boot/vmlinuz-<ver>, EFI-stub bzImage)
#   OUTDIR/kernel-version                  (<ver>, e.g. 6.1.0-56-amd64)
#   OUTDIR/headers-dir                     (/usr/src/linux-headers-<ver>)
# Idempotent: skips the download and unpack when already present.
set -eu

die() { echo "guest-kernel: error: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
out=$1
mkdir -p "$out/debs"
out=$(cd "$out" && pwd)

# Kernel ABI version from the metapackage linux-headers-amd64's dependency.
ver=""
if dpkg-query -W -f='${db:Status-Status}' linux-headers-amd64 2>/dev/null | grep -qx installed; then
	ver=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 |
		tr ',' '\n' | sed -n 's/^ *linux-headers-\([0-9][^ ]*-amd64\).*/\1/p' | head -n1)
fi
# Fallback: the installed headers directory (newest one).
if [ -z "$ver" ]; then
	d=$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n1 || true)
	[ -n "$d" ] || die "no linux-headers-amd64 and no /usr/src/linux-headers-*-amd64 (run scripts/setup.sh)"
	ver=${d#/usr/src/linux-headers-}
fi
headers=/usr/src/linux-headers-$ver
[ -f "$headers/Makefile" ] || die "headers for $ver missing: $headers (apt-get install linux-headers-$ver)"

# Full package version of the headers, which the image must match.
hdr_pkgver=$(dpkg-query -W -f='${Version}' "linux-headers-$ver" 2>/dev/null || true)
[ -n "$hdr_pkgver" ] || die "package linux-headers-$ver is not installed"
pkg=linux-image-$ver
echo "guest-kernel: kernel $ver (headers package version $hdr_pkgver)"

deb=$(ls "$out/debs/${pkg}_"*.deb 2>/dev/null | head -n1 || true)
if [ -z "$deb" ]; then
	echo "guest-kernel: apt-get download $pkg=$hdr_pkgver"
	(cd "$out/debs" && apt-get download "$pkg=$hdr_pkgver") ||
		die "cannot download $pkg=$hdr_pkgver (apt-get update? image and headers versions differ in the archive?)"
	deb=$(ls "$out/debs/${pkg}_"*.deb | head -n1)
else
	echo "guest-kernel: cached $deb"
fi

img_pkgver=$(dpkg-deb -f "$deb" Version)
[ "$img_pkgver" = "$hdr_pkgver" ] ||
	die "version mismatch: $deb is $img_pkgver, linux-headers-$ver is $hdr_pkgver (delete $out/debs and retry)"

if [ ! -f "$out/image/boot/vmlinuz-$ver" ]; then
	echo "guest-kernel: dpkg -x $(basename "$deb")"
	rm -rf "$out/image"
	dpkg -x "$deb" "$out/image"
fi
[ -f "$out/image/boot/vmlinuz-$ver" ] || die "$deb has no boot/vmlinuz-$ver"

cp "$out/image/boot/vmlinuz-$ver" "$out/vmlinuz.tmp" && mv "$out/vmlinuz.tmp" "$out/vmlinuz"
echo "$ver" > "$out/kernel-version"
echo "$headers" > "$out/headers-dir"
echo "guest-kernel: $out/vmlinuz ($(wc -c < "$out/vmlinuz") bytes), headers $headers"
