#!/usr/bin/env bash
# Check the newlib built by scripts/build-newlib.sh for freestanding use:
#  1. libc.a contains no x87/MMX/SSE/AVX register use;
#  2. a freestanding object calling snprintf/memcpy/memset/strtoul leaves only
#     the expected symbols undefined (ld -r + nm -u);
#  3. it links as a static non-PIE executable with a _start and an sbrk stub,
#     and (on x86-64 Linux) runs and prints the expected string;
#  4. the same code built with -mcmodel=kernel links at 0xFFFFFFFF80000000.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX="$ROOT/build/newlib/install/x86_64-elf"
LIBC="$PREFIX/lib/libc.a"
WORK="$ROOT/build/newlib/check"
# Symbols a freestanding user must provide for this test (snprintf links malloc).
EXPECTED_UNDEF="sbrk"

say() { echo "check-newlib: $*"; }
die() { echo "check-newlib: FAIL: $*" >&2; exit 1; }

[[ -f "$LIBC" ]] || die "$LIBC missing; run scripts/build-newlib.sh"
rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"

# ---- 1 ----------------------------------------------------------------------
nfp=$(objdump -d "$LIBC" | grep -cE '%xmm|%ymm|%mm[0-7]|%st' || true)
say "FP/vector register uses in libc.a: $nfp"
(( nfp == 0 )) || die "libc.a uses FP/vector registers"

# ---- test sources -------------------------------------------------------------
cat >test.c <<'EOF'
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int check_main(char *out, size_t len)
{
    char name[16];
    memset(name, 'x', sizeof name);
    memcpy(name, "hv", 3);
    unsigned long a = strtoul("0xdeadbeef", NULL, 0);
    unsigned long b = strtoul("  42", NULL, 10);
    return snprintf(out, len, "%llx %zu %s %08x",
                    ((unsigned long long)a << 16) | 0xcafe, (size_t)b, name, 0xabcu);
}
EOF
cat >stub.c <<'EOF'
#include <stddef.h>
#include <string.h>

int check_main(char *out, size_t len);

/* No heap: newlib's malloc gets ENOMEM. */
void *sbrk(ptrdiff_t incr) { (void)incr; return (void *)-1; }

static long sys3(long n, long a, long b, long c)
{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}

static const char want[] = "deadbeefcafe 42 hv 00000abc";

void start_c(void)
{
    char buf[64];
    int n = check_main(buf, sizeof buf);
    int ok = n == (int)strlen(want) && strcmp(buf, want) == 0;
    sys3(1, 1, (long)buf, n > 0 ? n : 0);
    sys3(1, 1, (long)"\n", 1);
    sys3(60, ok ? 0 : 1, 0, 0);
    for (;;) { }
}

__asm__(".globl _start\n_start:\n\txor %ebp, %ebp\n\tand $-16, %rsp\n\tcall start_c\n\thlt\n");
EOF

CFLAGS=(-nostdinc -isystem "$PREFIX/include" -isystem "$(gcc -print-file-name=include)"
        -ffreestanding -mgeneral-regs-only -mno-red-zone -fno-stack-protector -O2 -Wall -Werror)
LDFLAGS=(-static -nostdlib -e _start -z noexecstack --no-warn-execstack)

# ---- 2 ----------------------------------------------------------------------
gcc "${CFLAGS[@]}" -fno-pic -c test.c -o test.o
gcc "${CFLAGS[@]}" -fno-pic -c stub.c -o stub.o
ld -r --no-warn-execstack -o partial.o test.o "$LIBC"
undef=$(nm -u partial.o | awk '{print $2}' | grep -vx '_GLOBAL_OFFSET_TABLE_' | sort -u | tr '\n' ' ' | sed 's/ $//')
say "undefined after ld -r test.o libc.a: ${undef:-<none>}"
[[ "$undef" == "$EXPECTED_UNDEF" ]] || die "expected undefined: $EXPECTED_UNDEF"

# ---- 3 ----------------------------------------------------------------------
ld "${LDFLAGS[@]}" -o test.elf stub.o test.o "$LIBC"
undef=$(nm -u test.elf | awk '{print $2}' | tr '\n' ' ')
[[ -z "$undef" ]] || die "test.elf has undefined symbols: $undef"
say "static non-PIE link OK ($(stat -c %s test.elf) bytes)"
if [[ "$(uname -sm)" == "Linux x86_64" ]]; then
    out=$(./test.elf) || die "test.elf exited with $? (printed '$out')"
    say "test.elf printed: $out"
fi

# ---- 4 ----------------------------------------------------------------------
gcc "${CFLAGS[@]}" -fno-pic -mcmodel=kernel -c test.c -o test-k.o
gcc "${CFLAGS[@]}" -fno-pic -mcmodel=kernel -c stub.c -o stub-k.o
ld "${LDFLAGS[@]}" -Ttext-segment=0xffffffff80000000 -o test-k.elf stub-k.o test-k.o "$LIBC"
say "kernel-model link at $(nm test-k.elf | awk '$3=="snprintf"{print $1}') (snprintf) OK"

say "all checks passed"
