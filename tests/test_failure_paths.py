"""Every way dunehv cannot virtualize prints one clear line and follows
on_fail. QEMU TCG has no VMX at all, so it exercises the "no VMX" path; bad
and missing files are checked there too (they are decided before any VMX
instruction). One Bochs run checks a bad config on a VMX-capable CPU."""
import re

import pytest

import dunehv_boot
import emu
from conftest import STOPS

CFG_PATH = r"\EFI\dunehv\dunehv.cfg"


def one_line(out, pattern):
    found = re.findall(pattern, out, re.M)
    assert len(found) == 1, f"expected exactly one line matching {pattern!r}, got {found}"
    return found[0]


def test_qemu_tcg_no_vmx_boots_linux_natively(built):
    r = dunehv_boot.boot("qemu-novmx-native", "qemu", cfg=dunehv_boot.config(on_fail="native"), timeout_s=300,
                         stop_patterns=STOPS)
    out = r.output
    one_line(out, r"^dunehv: error: VMX unavailable: the CPU does not offer VMX \(CPUID\.1:ECX\.VMX\[bit 5\] = 0\)$")
    assert "dunehv: on_fail = native: starting Linux without the hypervisor" in out
    assert "[dunehv]" not in out  # the core never ran
    assert "GUEST: no dunehv (native boot)" in out
    assert re.search(r"hvcheck: memory \d+ MiB OK", out)
    # Linux learns why: its command line, and dune.ko's refusal quotes the
    # loader's line (the EFI variable DunehvFallback)
    assert re.search(r"Command line: .*dunehv\.fallback=vmx", out)
    assert ("dune: not loading: this kernel does not run under the dunehv hypervisor: dunehv's loader started "
            "Linux natively because: VMX unavailable: the CPU does not offer VMX") in out
    # and the dunehv command: the loader's line where efivarfs is mounted
    # (a module Debian's kernel loads under systemd; the test initramfs has
    # none), else the command line's word
    assert "dunehv: the loader started Linux natively (dunehv.fallback=vmx)" in out
    assert "GUEST: dunehv status rc=1 (must fail natively)" in out
    assert "GUEST: insmod dune rc=19 (must fail natively)" in out  # ENODEV
    assert r.reason == "shutdown", r.summary()


def test_qemu_tcg_no_vmx_with_on_fail_halt_stops(built):
    r = dunehv_boot.boot("qemu-novmx-halt", "qemu", cfg=dunehv_boot.config(on_fail="halt"), timeout_s=120,
                         stop_patterns=STOPS)
    out = r.output
    one_line(out, r"^dunehv: error: VMX unavailable: .*$")
    assert "dunehv: on_fail = halt: not starting Linux; halted" in out
    assert "Linux version" not in out


def test_qemu_bad_config_reports_every_problem_then_on_fail(built):
    """Every problem of a bad dunehv.cfg, one line each, with the line
    number, the nearest valid key for a misspelt one and what is allowed;
    a UTF-8 byte-order mark and a comment after a value are fine. Then
    on_fail = native, and Linux learns why."""
    cfg = ("\ufeff" + dunehv_boot.config(on_fail="native", memory="lots")
           + "kernal = vmlinuz\nlog-level = info\nserial = 0 # the UART\non_panic = halt\n")
    r = dunehv_boot.boot("qemu-badcfg", "qemu", cfg=cfg, timeout_s=300, stop_patterns=STOPS)
    out = r.output
    line = one_line(out, r"^dunehv: error: bad config .*$")
    assert CFG_PATH in line and line.endswith(": 5 problems"), line
    for problem in (r'line 5: bad value: memory = "lots": not a size \(use e\.g\. 64M\)',
                    r"line 9: unknown key: kernal \(did you mean kernel\?\)",
                    r"line 10: unknown key: log-level \(did you mean log_level\?\)",
                    r'line 11: bad value: serial = "0": expected an I/O port like 0x3f8, or none',
                    r"line 12: key given twice: on_panic"):
        one_line(out, rf"^dunehv:   {problem}$")
    assert "dunehv: on_fail = native: starting Linux without the hypervisor" in out
    assert "GUEST: no dunehv (native boot)" in out
    assert re.search(r"Command line: .*dunehv\.fallback=config", out)
    assert ("dunehv's loader started Linux natively because: bad config: 5 problems, the first: line 5: bad value: "
            'memory = "lots"') in out


def test_qemu_memory_beyond_the_firmware_map_is_refused_first(built):
    """memory = is checked against the firmware's memory map before
    anything else (here before the CPU, which has no VMX at all)."""
    cfg = dunehv_boot.config(on_fail="halt", memory="3G")
    r = dunehv_boot.boot("qemu-bigmem", "qemu", cfg=cfg, timeout_s=120, stop_patterns=STOPS)
    one_line(r.output, r"^dunehv: error: memory = 3072M, but the largest run of free RAM is \d+M \(of \d+M free\): "
                       r"lower it in dunehv\.cfg$")
    assert "VMX unavailable" not in r.output
    assert "dunehv: on_fail = halt: not starting Linux; halted" in r.output


def test_qemu_missing_config(built):
    r = dunehv_boot.boot("qemu-nocfg", "qemu", cfg=None, timeout_s=120, stop_patterns=STOPS)
    one_line(r.output, r"^dunehv: error: cannot read config \\EFI\\dunehv\\dunehv\.cfg: Not Found$")
    assert "there is no kernel to start: returning to the firmware" in r.output
    assert re.search(dunehv_boot.RETURNED_RE, r.output, re.M)  # back in the UEFI shell, nothing hangs


def test_qemu_missing_kernel(built):
    r = dunehv_boot.boot("qemu-nokernel", "qemu", cfg=dunehv_boot.config(kernel="vmlinuz-missing"), timeout_s=120,
                         stop_patterns=STOPS)
    one_line(r.output, r"^dunehv: error: kernel \\EFI\\dunehv\\vmlinuz-missing: Not Found$")
    assert "cannot boot Linux without its files: returning to the firmware" in r.output
    assert re.search(dunehv_boot.RETURNED_RE, r.output, re.M)
    assert "Linux version" not in r.output


def test_bochs_bad_config_on_vmx_cpu(built):
    cfg = dunehv_boot.config(on_fail="halt") + "on_panic = explode\n"
    r = dunehv_boot.boot("bochs-badcfg", "bochs", cfg=cfg, timeout_s=300, stop_patterns=STOPS)
    one_line(r.output, r"^dunehv: error: bad config .*: 1 problem$")
    one_line(r.output, r"^dunehv:   line 9: key given twice: on_panic$")
    assert "dunehv: on_fail = halt: not starting Linux; halted" in r.output
    assert "[dunehv]" not in r.output and "Linux version" not in r.output


def test_qemu_kvm_nested_vmx(built):
    ok, why = emu.kvm_available()
    if not ok:
        pytest.skip(f"QEMU/KVM with nested VMX not available here: {why}")
    cfg = dunehv_boot.config(cmdline="console=ttyS0 hvtest.idle=2")
    r = dunehv_boot.boot("qemu-kvm", "qemu-kvm", cfg=cfg, timeout_s=300, stop_patterns=STOPS)
    assert "GUEST: dunehv present" in r.output
    assert "hvprobe: selftest done failures=0" in r.output
    assert r.reason == "shutdown", r.summary()
