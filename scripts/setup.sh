#!/bin/sh
# Idempotent setup of a fresh Debian 12 (bookworm) machine for dunehv; run as root.
# Installs the packages needed to build the hypervisor, the guest test tools and
# to run the emulators. Does nothing (fast) when everything is present.
set -eu

PACKAGES="build-essential gcc g++ make binutils nasm gnu-efi bochs bochsbios vgabios
bochs-term xz-utils dpkg-dev patch ovmf qemu-system-x86 mtools dosfstools cpio xz-utils gzip busybox-static python3
python3-pytest linux-headers-amd64 newlib-source kmod dkms pkgconf"

missing=""
for p in $PACKAGES; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = "installed" ] || missing="$missing $p"
done

# Bochs 3.0 (every VMX boot of the tests, make run and the benchmarks) is
# built from Debian trixie's source into build/bochs3; scripts/build-bochs3.sh
# does nothing when it is already there, and fails with one line if the
# source cannot be fetched.
build_bochs3() {
	"$(dirname "$0")/build-bochs3.sh" "$(dirname "$0")/../build/bochs3"
}

if [ -z "$missing" ]; then
	echo "setup: all $(echo $PACKAGES | wc -w) packages present"
	build_bochs3
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
build_bochs3
echo "setup: done"
