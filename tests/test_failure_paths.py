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
    # /dev/dune's module refuses to load without the hypervisor, in one line
    assert "dune: not loading: this kernel does not run under the dunehv hypervisor" in out
    assert "GUEST: insmod dune rc=19 (must fail natively)" in out  # ENODEV
    assert r.reason == "shutdown", r.summary()


def test_qemu_tcg_no_vmx_with_on_fail_halt_stops(built):
    r = dunehv_boot.boot("qemu-novmx-halt", "qemu", cfg=dunehv_boot.config(on_fail="halt"), timeout_s=120,
                         stop_patterns=STOPS)
    out = r.output
    one_line(out, r"^dunehv: error: VMX unavailable: .*$")
    assert "dunehv: on_fail = halt: not starting Linux; halted" in out
    assert "Linux version" not in out


def test_qemu_bad_config_is_one_line_then_on_fail(built):
    cfg = dunehv_boot.config(on_fail="native", memory="lots")
    r = dunehv_boot.boot("qemu-badcfg", "qemu", cfg=cfg, timeout_s=300, stop_patterns=STOPS)
    line = one_line(r.output, r"^dunehv: error: bad config .*$")
    assert CFG_PATH in line
    assert 'memory = "lots": not a size' in line and "line 5" in line
    assert "dunehv: on_fail = native: starting Linux without the hypervisor" in r.output
    assert "GUEST: no dunehv (native boot)" in r.output


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
    line = one_line(r.output, r"^dunehv: error: bad config .*$")
    assert "key given twice: on_panic" in line
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
