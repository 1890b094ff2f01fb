#!/bin/sh
# Fetch a Debian source package from the Debian archive this machine already
# uses, without changing the system's apt configuration.
#
# Usage: scripts/debian-source.sh SUITE PACKAGE VERSION DESTDIR
# Downloads PACKAGE=VERSION's source files (.dsc and tarballs) into DESTDIR.
# A private apt sources file is derived from the system's own bookworm 'deb'
# entries (suite renamed to SUITE, type deb-src), and apt-get runs with
# private lists under DESTDIR/apt, so nothing system-wide changes and no
# archive host name is written anywhere but there. Exits non-zero, with one
# line saying why, if the source cannot be fetched.
set -eu
die() { echo "debian-source: error: $*" >&2; exit 1; }
[ $# -eq 4 ] || die "usage: $0 SUITE PACKAGE VERSION DESTDIR"
suite=$1 pkg=$2 version=$3
mkdir -p "$4"
dest=$(cd "$4" && pwd)
apt_dir=$dest/apt
rm -rf "$apt_dir"
mkdir -p "$apt_dir/lists/partial"

python3 - "$apt_dir/derived.sources" "$suite" <<'EOF' || die "no bookworm 'deb' entry in /etc/apt/sources.list{,.d/*} to derive the $suite source from"
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
        f.write(f"Types: deb-src\nURIs: {uris}\nSuites: {sys.argv[2]}\nComponents: {components}\n")
        if signed_by:
            f.write(f"Signed-By: {signed_by}\n")
        f.write("\n")
EOF

apt_opts="-o Dir::Etc::SourceList=$apt_dir/derived.sources -o Dir::Etc::SourceParts=/nonexistent
 -o Dir::State::Lists=$apt_dir/lists -o Dir::Cache=$apt_dir/cache -o APT::Sandbox::User=root"
# shellcheck disable=SC2086
apt-get -q $apt_opts update >"$apt_dir/update.log" 2>&1 ||
	die "could not read the $suite source index from this system's Debian archive (see $apt_dir/update.log)"
# The .dsc has answered 404 while the tarballs were there: the caller checks
# for the tarballs it needs.
# shellcheck disable=SC2086
(cd "$dest" && apt-get -q $apt_opts source --download-only "$pkg=$version") >"$apt_dir/source.log" 2>&1 || true
ls "$dest/${pkg}_"*.orig.tar.* >/dev/null 2>&1 ||
	die "could not fetch the $pkg $version source from this system's Debian archive (see $apt_dir/source.log)"
