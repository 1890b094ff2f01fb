#!/bin/sh
# Idempotent setup of a fresh Debian 12 (bookworm) machine for dunehv; run as root.
# Installs the packages needed to build the hypervisor, the guest test tools and
# to run the emulators. Does nothing (fast) when everything is present.
set -eu

PACKAGES="build-essential gcc make binutils nasm gnu-efi bochs bochsbios vgabios
bochs-term ovmf qemu-system-x86 mtools dosfstools cpio xz-utils gzip busybox-static python3
python3-pytest linux-headers-amd64 newlib-source kmod"

missing=""
for p in $PACKAGES; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = "installed" ] || missing="$missing $p"
done

if [ -z "$missing" ]; then
	echo "setup: all $(echo $PACKAGES | wc -w) packages present"
	exit 0
fi

echo "setup: missing packages:$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "setup: run as root to install them" >&2
	exit 1
fi
echo "setup: apt-get update"
apt-get update
echo "setup: apt-get install$missing"
# Only the missing ones: installing present packages again would upgrade them.
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y $missing
echo "setup: done"
