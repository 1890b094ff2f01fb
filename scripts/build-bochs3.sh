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
# this machine already uses: a private apt sources file is derived from the
# system's own bookworm entries (suite renamed to trixie, type deb-src), and
# apt-get runs with private lists, so nothing system-wide changes. If the
# source cannot be fetched, this says so in one line and fails: there is no
# fallback to Bochs 2.7.
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

apt_dir=$out/apt
rm -rf "$apt_dir" "$out/src" "$out/bin"
mkdir -p "$apt_dir/lists/partial" "$out/src" "$out/bin"

say "[1/4] deriving a trixie deb-src entry from this system's apt sources"
python3 - "$apt_dir/trixie.sources" <<'EOF' || die "no bookworm 'deb' entry in /etc/apt/sources.list{,.d/*} to derive the trixie source from"
import glob, re, sys
entries = []  # (uris, components, signed_by)
for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
    try:
        lines = open(path).read().splitlines()
    except OSError:
        continue
    for line in lines:
        words = line.split("#", 1)[0].split()
        if len(words) < 4 or words[0] != "deb":
            continue
        opts = ""
        if words[1].startswith("["):
            end = next(i for i, w in enumerate(words) if w.endswith("]"))
            opts, words = " ".join(words[1:end + 1]), [words[0]] + words[end + 1:]
        if words[2] == "bookworm":
            m = re.search(r"signed-by=([^\s\]]+)", opts)
            entries.append((words[1], " ".join(words[3:]), m.group(1) if m else None))
for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    for stanza in re.split(r"\n\s*\n", open(path).read()):
        fields = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.strip()
        if ("deb" in fields.get("types", "").split()
                and "bookworm" in fields.get("suites", "").split()
                and fields.get("enabled", "yes") != "no"):
            entries.append((fields["uris"], fields.get("components", "main"),
                            fields.get("signed-by")))
if not entries:
    sys.exit(1)
with open(sys.argv[1], "w") as f:
    for uris, components, signed_by in entries:
        f.write(f"Types: deb-src\nURIs: {uris}\nSuites: trixie\nComponents: {components}\n")
        if signed_by:
            f.write(f"Signed-By: {signed_by}\n")
        f.write("\n")
EOF

apt_opts="-o Dir::Etc::SourceList=$apt_dir/trixie.sources -o Dir::Etc::SourceParts=/nonexistent
 -o Dir::State::Lists=$apt_dir/lists -o Dir::Cache=$apt_dir/cache -o APT::Sandbox::User=root"
say "[2/4] fetching the bochs $PKG_VERSION source (apt-get source --download-only)"
# shellcheck disable=SC2086
apt-get -q $apt_opts update >"$apt_dir/update.log" 2>&1 ||
	die "could not read the trixie source index from this system's Debian archive (see $apt_dir/update.log)"
# The .dsc has answered 404 while the tarballs were there: the tarballs decide.
# shellcheck disable=SC2086
(cd "$out/src" && apt-get -q $apt_opts source --download-only "bochs=$PKG_VERSION") \
	>"$apt_dir/source.log" 2>&1 || true
orig=$(ls "$out"/src/bochs_*.orig.tar.* 2>/dev/null | head -n1 || true)
[ -n "$orig" ] || die "could not fetch the bochs $PKG_VERSION source from this system's Debian archive (see $apt_dir/source.log)"

say "[3/4] configuring ($(basename "$orig"))"
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
say "[4/4] compiling with make -j$jobs (about 5 minutes on 2 cores)"
make -C "$srcdir" -j"$jobs" >"$out/make.log" 2>&1 || die "compile failed (see $out/make.log)"
cp "$srcdir/bochs" "$out/bin/bochs"
"$out/bin/bochs" --help cpu 2>&1 | grep -q corei7_skylake_x ||
	die "the built bochs does not offer the corei7_skylake_x CPU model"
rm -rf "$srcdir"
echo "$BUILD_ID" >"$out/VERSION"
say "built $out/bin/bochs"
