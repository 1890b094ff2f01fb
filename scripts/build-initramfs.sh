#!/bin/sh
# Build a gzip'd newc initramfs: busybox-static + applet symlinks + dirs, then
# the tree ROOTDIR_EXTRA copied on top (/init, /bin/hvcheck, /lib/modules/...).
#
# Usage: scripts/build-initramfs.sh OUT.cpio.gz ROOTDIR_EXTRA
# Deterministic: entries sorted, mtimes fixed to 0, owner root:root, gzip -n.
# No device nodes: /init is expected to mount devtmpfs on /dev (the kernel's
# devtmpfs automount does not apply to initramfs).
set -eu

die() { echo "build-initramfs: error: $*" >&2; exit 1; }
[ $# -eq 2 ] || die "usage: $0 OUT.cpio.gz ROOTDIR_EXTRA"
out=$1
extra=$2
[ -d "$extra" ] || die "$extra is not a directory"
BUSYBOX=${BUSYBOX:-/bin/busybox}
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (apt-get install busybox-static)"
if command -v ldd >/dev/null && ldd "$BUSYBOX" >/dev/null 2>&1; then
	die "$BUSYBOX is dynamically linked; need busybox-static"
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT INT TERM

mkdir -p "$stage/bin" "$stage/sbin" "$stage/dev" "$stage/proc" "$stage/sys" \
	"$stage/tmp" "$stage/root" "$stage/etc" "$stage/lib/modules"
cp "$BUSYBOX" "$stage/bin/busybox"
chmod 0755 "$stage/bin/busybox"
for a in sh ash mount umount mkdir cat echo sleep insmod rmmod lsmod dmesg grep \
	sed ls uname head tail awk cut tr wc expr test printf true false sync \
	poweroff reboot hexdump od free ps dd cp rm ln chmod env seq mknod; do
	ln -s busybox "$stage/bin/$a"
done

# The test's own files go on top (may replace anything above).
cp -a "$extra/." "$stage/"
[ -e "$stage/init" ] || echo "build-initramfs: warning: no /init in $extra" >&2
[ ! -e "$stage/init" ] || chmod 0755 "$stage/init"

mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$"
(
	cd "$stage"
	find . -exec touch -h -d @0 {} +
	find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0 --reproducible
) | gzip -9 -n > "$tmp"
mv "$tmp" "$out"
echo "build-initramfs: $out ($(wc -c < "$out") bytes, $(cd "$stage" && find . -mindepth 1 | wc -l) entries)"
