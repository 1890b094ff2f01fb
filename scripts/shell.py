#!/usr/bin/python3
"""make shell: boot dunehv + Debian's Linux in Bochs (2 CPUs) to an
interactive root shell on the guest's console, with dune.ko loaded, libdune's
programs and the dunehv command on PATH, and EXTRA=dir's files under /extra.

Type `exit` (or Ctrl-D) in the guest's shell to stop the emulator; Ctrl-]
stops it at once from the host. The console is also written to
build/runs/shell/com1.txt.

Programs of one's own: build them against an install of libdune (`make -C
guest-libdune install DESTDIR=... PREFIX=/usr`, then `cc ... $(pkg-config
--cflags --libs --static libdune)`), statically or for Debian 12's glibc,
which the guest has; put them in a folder and pass EXTRA=that-folder.

With stdin not a terminal (a test, a pipe), its lines are sent once the
shell is ready, and the emulator runs until the guest stops it.
"""
import argparse
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import termios
import threading
import time
import tty
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dunehv_boot  # noqa: E402
import emu  # noqa: E402

READY = b"GUEST: shell ready"
CTRL_RIGHT_BRACKET = b"\x1d"


def initrd_with_extra(extra: Path, out: Path) -> Path:
    """The guest initramfs with a second newc archive appended that holds
    extra/ as /extra (Linux unpacks concatenated archives in order)."""
    if not extra.is_dir():
        raise SystemExit(f"shell: error: EXTRA={extra} is not a directory")
    with tempfile.TemporaryDirectory() as stage:
        shutil.copytree(extra, Path(stage) / "extra", symlinks=True)
        names = subprocess.run(["find", "extra"], cwd=stage, capture_output=True, check=True).stdout
        archive = subprocess.run(["cpio", "--quiet", "-o", "-H", "newc", "-R", "0:0"], cwd=stage, input=names,
                                 capture_output=True, check=True).stdout
    out.write_bytes(dunehv_boot.INITRD.read_bytes() + subprocess.run(
        ["gzip", "-n"], input=archive, capture_output=True, check=True).stdout)
    return out


def relay(conn: socket.socket, log, interactive: bool, cancel: threading.Event, t0: float, booted_file: Path):
    """Copies the console to stdout and the log, and stdin to the console,
    until the emulator closes its end (or Ctrl-] on a terminal)."""
    fd_in = sys.stdin.fileno()
    stdin_open = True
    pending_input = b""
    seen = b""
    ready = False
    while True:
        watch = [conn] + ([fd_in] if stdin_open and (ready or interactive) else [])
        readable, _, _ = select.select(watch, [], [], 0.5)
        if conn in readable:
            data = conn.recv(65536)
            if not data:
                return
            os.write(1, data)
            log.write(data)
            log.flush()
            if not ready:
                seen = (seen + data)[-4096:]
                if READY in seen:
                    ready = True
                    took = time.monotonic() - t0
                    booted_file.write_text(f"{took:.0f}\n")
                    msg = (f"\n[shell: booted to the guest's shell in {took:.0f} s; `exit` leaves, Ctrl-] stops the "
                           f"emulator at once]")
                    os.write(1, (msg + ("\r\n" if interactive else "\n")).encode())
        if fd_in in readable:
            data = os.read(fd_in, 4096)
            if not data:
                stdin_open = False  # a pipe ran out: the guest decides when to stop
            elif interactive and CTRL_RIGHT_BRACKET in data:
                cancel.set()
                return
            else:
                pending_input += data
        if pending_input:
            conn.sendall(pending_input)
            pending_input = b""
        if cancel.is_set():
            return


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--extra", help="a folder whose files the guest shows under /extra")
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--memory", type=int, default=2048, help="guest RAM in MiB (default 2048)")
    ap.add_argument("--timeout", type=float, default=12 * 3600, help="stop the emulator after this many seconds")
    a = ap.parse_args()
    run_dir = dunehv_boot.RUNS / "shell"
    run_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    if a.extra:
        files[emu.ESP_INITRD] = str(initrd_with_extra(Path(a.extra), run_dir / "initrd-extra.img"))
    booted_file = run_dir / "boot-to-shell-s"
    before = f"about {float(booted_file.read_text()):.0f} s last time" if booted_file.exists() else "a few minutes"
    interactive = os.isatty(0)
    print(f"shell: booting OVMF -> dunehv.efi -> Linux in Bochs, {a.cpus} CPUs, to a shell ({before}); "
          f"Ctrl-] stops the emulator", flush=True)

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    cancel = threading.Event()
    result = {}

    def boot():
        try:
            cfg = dunehv_boot.config(cmdline="console=ttyS0 hvtest.only=shell watchdog_thresh=60")
            result["r"] = dunehv_boot.boot("shell", "bochs", cfg=cfg, timeout_s=a.timeout, memory_mb=a.memory,
                                           cpus=a.cpus, files=files, cancel=cancel, com1_port=port, heartbeat=False)
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            result["error"] = e
        finally:
            listener.close()  # an emulator that never connected must not leave accept() waiting

    t0 = time.monotonic()
    thread = threading.Thread(target=boot, daemon=True)
    thread.start()
    try:
        conn, _ = listener.accept()
    except OSError:
        thread.join()
        raise SystemExit(f"shell: error: the emulator did not start: {result.get('error') or result.get('r')}")
    saved = termios.tcgetattr(0) if interactive else None
    try:
        if interactive:
            tty.setraw(0)
        with conn, open(run_dir / "com1.txt", "ab") as log:
            relay(conn, log, interactive, cancel, t0, booted_file)
    except KeyboardInterrupt:
        pass
    finally:
        if saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, saved)
        cancel.set()
        thread.join()
    r = result.get("r")
    print(f"\nshell: emulator stopped ({r.reason if r else result.get('error')}); console log: "
          f"{run_dir / 'com1.txt'}", flush=True)
    return 0 if r and r.reason in ("shutdown", "cancelled") else 1


if __name__ == "__main__":
    sys.exit(main())
