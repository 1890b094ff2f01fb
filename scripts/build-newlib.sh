#!/usr/bin/env bash
# Build newlib's libc.a for the freestanding x86-64 hypervisor from Debian's
# newlib-source package, and cache it under build/newlib/.
#
#   headers: build/newlib/install/x86_64-elf/include
#   library: build/newlib/install/x86_64-elf/lib/libc.a
#   log:     build/newlib/build.log
#
# Idempotent: if libc.a is installed and build/newlib/stamp holds the hash of
# this script, it exits at once. Otherwise it rebuilds from scratch.
#
# The library is compiled with -mgeneral-regs-only, so the hypervisor never
# touches x87/MMX/SSE/AVX state. Sources whose functions return double cannot
# be compiled that way and are dropped (see DROP_* below); libm is not built.
#
# It does not run apt: the setup script installs newlib-source.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELF="$ROOT/scripts/$(basename "${BASH_SOURCE[0]}")"
OUT="$ROOT/build/newlib"
PREFIX="$OUT/install"
SRC="$OUT/src"
OBJ="$OUT/obj"
LOG="$OUT/build.log"
STAMP="$OUT/stamp"
TARGET=x86_64-elf
LIBC="$PREFIX/$TARGET/lib/libc.a"
INCDIR="$PREFIX/$TARGET/include"
TARBALL_DIR=/usr/src/newlib

# Sources that fail with "SSE register return with SSE disabled" under
# -mgeneral-regs-only (they define functions returning double/float).
DROP_STDLIB="__adjust __exp10 __ten_mu atof atoff drand48 dtoa ecvtbuf efgcvt erand48 mprec strtod wcstod"
DROP_TIME="difftime"

TARGET_CFLAGS="-ffreestanding -fno-stack-protector -mno-red-zone -fPIC -O2 -g -mgeneral-regs-only"

say() { echo "build-newlib: $*"; }
die() { echo "build-newlib: error: $*" >&2; exit 1; }

command -v flock >/dev/null 2>&1 || die "'flock' not found (install util-linux)"
HASH=$(sha256sum "$SELF" | cut -d' ' -f1)

up_to_date() {
    [[ -f "$LIBC" && -f "$INCDIR/newlib.h" && -f "$STAMP" && "$(cat "$STAMP")" == "$HASH" ]]
}

# ---- fast path -------------------------------------------------------------
if up_to_date; then
    say "up to date: $LIBC"
    exit 0
fi

# ---- one build at a time ---------------------------------------------------
# A second run started meanwhile waits here, then finds the result ready.
mkdir -p "$OUT"
exec 9>"$OUT/lock"
if ! flock -n 9; then
    say "another build-newlib.sh is running; waiting for it"
    flock 9
fi
if up_to_date; then
    say "up to date: $LIBC"
    exit 0
fi

# ---- prerequisites ---------------------------------------------------------
shopt -s nullglob
tarballs=("$TARBALL_DIR"/*.tar.*)
shopt -u nullglob
if (( ${#tarballs[@]} == 0 )); then
    die "no newlib source tarball in $TARBALL_DIR (expected $TARBALL_DIR/newlib-3.3.0.tar.xz);" \
        "install the Debian package 'newlib-source' (apt-get install newlib-source)"
fi
TARBALL=$(printf '%s\n' "${tarballs[@]}" | sort -V | tail -n 1)

for tool in gcc ar ranlib as ld nm objdump make tar xz; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "'$tool' not found (install build-essential, binutils, xz-utils)"
done

# Run a command with its output appended to the log; on failure show the
# first errors and the tail of the log, then stop.
run() {
    echo "+ $*" >>"$LOG"
    local rc=0
    "$@" >>"$LOG" 2>&1 || rc=$?
    if (( rc != 0 )); then
        echo "build-newlib: error: '$*' failed (exit $rc)" >&2
        if grep -q -E 'error:|Error [0-9]' "$LOG"; then
            echo "---- first errors in $LOG ----" >&2
            grep -E 'error:|Error [0-9]' "$LOG" | head -n 20 >&2
        fi
        echo "---- last 40 lines of $LOG ----" >&2
        tail -n 40 "$LOG" >&2
        exit "$rc"
    fi
}

JOBS=$(nproc)
start=$SECONDS

say "building newlib libc.a from $TARBALL (log: $LOG)"
rm -rf "$SRC" "$OBJ" "$PREFIX" "$STAMP"
mkdir -p "$OUT" "$SRC" "$OBJ"
: >"$LOG"

# ---- unpack ----------------------------------------------------------------
say "unpacking $(basename "$TARBALL")"
run tar -xf "$TARBALL" -C "$SRC"
# Debian's tarball unpacks to newlib-salsa/; do not depend on the name.
srcdirs=()
for d in "$SRC"/*/; do
    if [[ -x "$d/configure" && -d "$d/newlib" ]]; then srcdirs+=("${d%/}"); fi
done
(( ${#srcdirs[@]} == 1 )) || die "expected one newlib source tree in $SRC, found ${#srcdirs[@]}"
NEWLIB_SRC=${srcdirs[0]}

# ---- configure -------------------------------------------------------------
say "configuring for $TARGET (host gcc/binutils as target tools)"
cd "$OBJ"
run "$NEWLIB_SRC/configure" \
    --prefix="$PREFIX" \
    --target=$TARGET \
    --disable-multilib \
    --disable-newlib-supplied-syscalls \
    --disable-newlib-io-float \
    --enable-newlib-io-long-long \
    --enable-newlib-io-c99-formats \
    --disable-newlib-multithread \
    --enable-newlib-global-atexit \
    CC_FOR_TARGET=gcc AR_FOR_TARGET=ar RANLIB_FOR_TARGET=ranlib AS_FOR_TARGET=as \
    LD_FOR_TARGET=ld NM_FOR_TARGET=nm \
    CFLAGS_FOR_TARGET="$TARGET_CFLAGS"
run make configure-target-newlib

LIBC_OBJ="$OBJ/$TARGET/newlib/libc"
[[ -d "$LIBC_OBJ" ]] || die "configure did not create $LIBC_OBJ"

# ---- drop the sources that need SSE ----------------------------------------
drop() {  # drop SUBDIR NAME...
    local mk="$LIBC_OBJ/$1/Makefile" name
    shift
    [[ -f "$mk" ]] || die "missing $mk"
    for name in "$@"; do
        grep -qF "lib_a-$name.\$(OBJEXT)" "$mk" ||
            die "lib_a-$name.\$(OBJEXT) not found in $mk (newlib version changed?)"
        sed -i "s/lib_a-$name\\.\\\$(OBJEXT)//g" "$mk"
        ! grep -qF "lib_a-$name.\$(OBJEXT)" "$mk" || die "could not drop $name from $mk"
    done
}
# shellcheck disable=SC2086
drop stdlib $DROP_STDLIB
# shellcheck disable=SC2086
drop time $DROP_TIME
say "dropped (need SSE): stdlib/{${DROP_STDLIB// /,}} time/$DROP_TIME"

# ---- build -----------------------------------------------------------------
say "generating target headers"
run make -C "$OBJ/$TARGET/newlib" newlib.h _newlib_version.h stmp-targ-include
say "compiling libc with make -j$JOBS (takes a few minutes)"
# AR_FLAGS is normally handed down by newlib/Makefile, which we bypass to
# skip libm; without it libc/Makefile's final "ar" has no operation.
run make -C "$LIBC_OBJ" -j"$JOBS" AR_FLAGS=rc
[[ -f "$LIBC_OBJ/libc.a" ]] || die "$LIBC_OBJ/libc.a was not produced"

# ---- install ---------------------------------------------------------------
say "installing into $PREFIX"
mkdir -p "$(dirname "$LIBC")"
run install -m 644 "$LIBC_OBJ/libc.a" "$LIBC"
run ranlib "$LIBC"
# newlib's own header install rule; toollib_LIBRARIES= stops it from wanting
# the combined libc.a+libm.a that we do not build (it links libg.a to libc.a).
run make -C "$OBJ/$TARGET/newlib" install-data-local toollib_LIBRARIES=
[[ -f "$INCDIR/newlib.h" && -f "$INCDIR/stdio.h" ]] || die "headers not installed in $INCDIR"

# ---- verify ----------------------------------------------------------------
say "checking libc.a for x87/MMX/SSE/AVX register use"
nfp=$(objdump -d "$LIBC" | grep -cE '%xmm|%ymm|%mm[0-7]|%st' || true)
say "  instructions using FP/vector registers: $nfp"
if (( nfp != 0 )); then
    objdump -d "$LIBC" | grep -E '%xmm|%ymm|%mm[0-7]|%st' | head -n 20 >&2
    die "libc.a uses FP/vector registers"
fi
members=$(ar t "$LIBC")
for name in $DROP_STDLIB $DROP_TIME; do
    ! grep -qxF "lib_a-$name.o" <<<"$members" || die "dropped object lib_a-$name.o is in libc.a"
done

echo "$HASH" >"$STAMP.tmp"
mv "$STAMP.tmp" "$STAMP"
say "done in $((SECONDS - start)) s: $LIBC ($(stat -c %s "$LIBC") bytes, $(wc -l <<<"$members") objects)"
say "headers: $INCDIR"
