"""Trying dunehv as a user would, in Bochs: an EFI system partition that
`scripts/install-esp.py` (make install-esp) wrote boots, and `make shell`
gives a shell that runs the user's own files and Dune programs. Each is
one short boot of its own (about 2 minutes each)."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import dunehv_boot  # noqa: E402
from conftest import STOPS  # noqa: E402

CMDLINE = "root=/dev/sda1 ro console=ttyS0 hvtest.only=installed watchdog_thresh=60"


def test_an_esp_written_by_install_esp_boots(built, tmp_path):
    """install-esp.py as make install-esp runs it (the guest's kernel and
    initrd given, the command line read from a /proc/cmdline with a boot
    loader's BOOT_IMAGE= and initrd=), then that ESP folder booted as the
    firmware's boot entry would: the config it wrote starts the hypervisor
    with that command line, and a Dune program runs."""
    esp, root = tmp_path / "esp", tmp_path / "root"
    (esp / "EFI").mkdir(parents=True)
    proc = tmp_path / "cmdline"
    proc.write_text(f"BOOT_IMAGE=/boot/vmlinuz-6.1.0-28-amd64 {CMDLINE} initrd=/boot/initrd.img-6.1.0-28-amd64\n")
    r = subprocess.run([str(ROOT / "scripts" / "install-esp.py"), "--root", str(root), "install", "--esp", str(esp),
                        "--kernel", str(dunehv_boot.KERNEL), "--initrd", str(dunehv_boot.INITRD),
                        "--proc-cmdline", str(proc), "--boot-entry", "no"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    r = dunehv_boot.boot("installed-esp", "bochs", esp_tree=esp, timeout_s=900, memory_mb=2048, cpus=2,
                         stop_patterns=STOPS)
    print(r.output)
    out = dunehv_boot.user_output(r.output)
    assert r.reason == "shutdown", r.summary()
    assert re.search(r"^dunehv: config \\EFI\\dunehv\\dunehv\.cfg: kernel=vmlinuz initrd=initrd\.img memory=64M "
                     r"log_level=info on_fail=native on_panic=halt$", out, re.M), out
    assert "dunehv: hypervisor active on all 2 CPUs" in out
    m = re.search(r"^GUEST: cmdline (.*)$", out, re.M)
    assert m and m.group(1).startswith(CMDLINE + " initrd=\\EFI\\dunehv\\initrd.img"), m and m.group(1)
    assert "GUEST: dunehv present" in out
    # before dune.ko: what CPUID tells; after: all of it
    assert re.search(r"^dunehv: running, ABI \d+\.\d+ \(CPUID\); dune\.ko is not loaded", out, re.M), out
    assert "GUEST: dunehv status without dune.ko rc=0" in out
    assert "GUEST: dune.ko loaded by its alias rc=0" in out
    assert re.search(r"^dunehv: running, ABI \d+\.\d+, on 2 CPUs; module dune\.ko ", out, re.M)
    assert "GUEST: dunehv status rc=0" in out
    assert re.search(r"^first-dune: hello from ring 0, pid \d+", out, re.M)
    assert "GUEST: first-dune rc=0" in out


def test_make_shell_runs_the_users_files_and_dune_programs(built, tmp_path):
    """make shell EXTRA=dir with commands on stdin (a pipe: they are sent
    once the shell is ready): the user's script in /extra runs, the dunehv
    command and a Dune program work, and `exit` stops the emulator."""
    extra = tmp_path / "mine"
    extra.mkdir()
    script = extra / "hello-mine.sh"
    script.write_text('#!/bin/sh\necho "mine: running on $(uname -r) with $(nproc) CPUs"\n')
    script.chmod(0o755)
    commands = "hello-mine.sh\ndunehv status\nfirst-dune\necho \"first-dune rc=$?\"\nexit\n"
    r = subprocess.run(["make", "--no-print-directory", "shell", f"EXTRA={extra}", "TIMEOUT=900"], cwd=ROOT,
                       input=commands, capture_output=True, text=True, timeout=1000)
    out = r.stdout.replace("\r", "")
    print(out, r.stderr)
    assert r.returncode == 0, r.stderr
    assert re.search(r"^\[shell: booted to the guest's shell in \d+ s; `exit` leaves", out, re.M)
    assert re.search(r"^mine: running on \S+ with 2 CPUs$", out, re.M)
    assert re.search(r"^dunehv: running, ABI \d+\.\d+, on 2 CPUs", out, re.M)
    assert re.search(r"^first-dune: hello from ring 0, pid \d+", out, re.M)
    assert re.search(r"^first-dune rc=0$", out, re.M)
    assert "GUEST: shell left rc=0" in out
    assert "shell: emulator stopped (shutdown)" in out
