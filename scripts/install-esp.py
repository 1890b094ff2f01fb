#!/usr/bin/python3
"""Install dunehv on this machine's EFI system partition, keep it current,
and take it away again.

  install-esp.py install --esp /boot/efi [--kernel F --initrd F] [--cmdline S]
                 [--boot-entry auto|yes|no] [--default] [--dry-run]
  install-esp.py update KERNEL_VERSION [IMAGE]   (the kernel and initramfs hooks)
  install-esp.py make-default                    (after a good trial boot)
  install-esp.py uninstall [--dry-run]

install copies dunehv.efi, the running kernel and its initrd (or the given
ones) to ESP\\EFI\\dunehv\\ and writes dunehv.cfg there with this boot's
kernel command line (/proc/cmdline without BOOT_IMAGE= and initrd=). It adds
a UEFI boot entry "dunehv" with efibootmgr but leaves BootOrder as it is and
sets BootNext: the next boot tries dunehv once, and any later boot (a reset
after a failed trial) starts the old default again. `make-default` puts the
entry first in BootOrder once the trial boot worked. It installs hooks in
/etc/kernel/postinst.d and /etc/initramfs/post-update.d that copy a newer
kernel and a regenerated initrd to the ESP. What it did is recorded in
/etc/dunehv/esp-install.json; uninstall undoes exactly that, and the boot
entry, and leaves the machine as it was before.

Every action is printed; --dry-run prints them without doing any. --root
DIR puts /etc, /boot and /usr/local under DIR (for tests and chroots).
"""
import argparse
import datetime
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent
ESP_SUBDIR = Path("EFI") / "dunehv"
LOADER_PATH = r"\EFI\dunehv\dunehv.efi"
LABEL = "dunehv"
STATE = "etc/dunehv/esp-install.json"
LIBDIR = "usr/local/lib/dunehv"
HOOKS = ("etc/kernel/postinst.d/zz-dunehv", "etc/initramfs/post-update.d/dunehv")
CMDLINE_MAX = 1023  # hv/core/config.h CONFIG_CMDLINE_MAX
DROP_ARGS = ("BOOT_IMAGE=", "initrd=", "dunehv.fallback=")


class Refused(Exception):
    """A problem that stops the install before anything is changed."""


class Installer:
    def __init__(self, root, dry_run):
        self.root = Path(root)
        self.dry = dry_run
        self.created = []   # paths this run created (for the record)

    def say(self, text):
        print(("install-esp: would " if self.dry else "install-esp: ") + text, flush=True)

    def at(self, rel):
        return self.root / rel

    # Each action: printed, and done unless --dry-run.
    def mkdir(self, path):
        missing = []
        p = Path(path)
        while not p.exists() and str(p) not in self.created:
            missing.append(p)
            p = p.parent
        for d in reversed(missing):
            self.say(f"create directory {d}")
            if not self.dry:
                d.mkdir()
            self.created.append(str(d))

    def copy(self, src, dst, mode=0o644):
        size = Path(src).stat().st_size
        shown = f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size} bytes"
        self.say(f"copy {Path(src).resolve()} -> {dst} ({shown})")
        if not self.dry:
            tmp = Path(str(dst) + ".new")
            shutil.copyfile(src, tmp)
            os.chmod(tmp, mode)
            os.replace(tmp, dst)  # a half-written copy never has the real name

    def write(self, dst, text, what, mode=0o644, show=True):
        self.say(f"write {dst} ({what})")
        for line in text.splitlines() if show else ():
            print(f"    | {line}", flush=True)
        if not self.dry:
            tmp = Path(str(dst) + ".new")
            tmp.write_text(text)
            os.chmod(tmp, mode)
            os.replace(tmp, dst)

    def remove(self, path):
        p = Path(path)
        if p.is_dir():
            if any(p.iterdir()):
                self.say(f"keep directory {p} (not empty: files that are not dunehv's)")
                return
            self.say(f"remove directory {p}")
            if not self.dry:
                p.rmdir()
        elif p.exists() or p.is_symlink():
            self.say(f"remove {p}")
            if not self.dry:
                p.unlink()

    def efibootmgr(self, *args, change=True):
        cmd = ["efibootmgr", *args]
        if change:
            self.say("run " + shlex.join(cmd))
            if self.dry:
                return ""
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise Refused(f"{shlex.join(cmd)} failed ({r.returncode}): {(r.stderr or r.stdout).strip()}")
        return r.stdout


# ------------------------------------------------------------------ facts

def running_kernel_files(root):
    release = os.uname().release
    return root / "boot" / f"vmlinuz-{release}", root / "boot" / f"initrd.img-{release}", release


def check_efi_stub(path):
    """The loader starts the kernel as a UEFI image: it must be PE32+ (an
    EFI-stub kernel, as Debian's are)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except PermissionError:
        raise Refused(f"cannot read {path}: permission denied (Debian's kernels are readable by root only: run as root)")
    except OSError as e:
        raise Refused(f"cannot read {path}: {e.strerror}")
    if len(head) < 0x40 or head[:2] != b"MZ":
        raise Refused(f"{path} is not an EFI-stub kernel (no MZ header)")
    pe = int.from_bytes(head[0x3c:0x40], "little")
    if head[pe:pe + 4] != b"PE\0\0":
        raise Refused(f"{path} is not an EFI-stub kernel (no PE header): build the kernel with CONFIG_EFI_STUB=y")


def config_cmdline(proc_cmdline):
    """dunehv.cfg's cmdline from this boot's: without the boot loader's
    BOOT_IMAGE=, the initrd= that dunehv adds itself, and an old fallback
    marker. A double quote cannot be written in dunehv.cfg's quoted value."""
    words = [w for w in proc_cmdline.split() if not w.startswith(DROP_ARGS)]
    line = " ".join(words)
    if '"' in line:
        raise Refused(f"the kernel command line has a double quote, which dunehv.cfg cannot hold: {line!r}; "
                      "pass one without it (CMDLINE=...)")
    if len(line) > CMDLINE_MAX:
        raise Refused(f"the kernel command line is {len(line)} bytes; dunehv.cfg holds at most {CMDLINE_MAX}")
    return line


def config_text(cmdline, memory, now):
    return (f"# dunehv.cfg written by install-esp.py on {now} (examples/dunehv.cfg\n"
            f"# documents every key). Edit freely: a reinstall keeps an edited file.\n"
            f"kernel = vmlinuz\ninitrd = initrd.img\ncmdline = \"{cmdline}\"\n"
            f"memory = {memory}\nlog_level = info\non_fail = native\non_panic = halt\n")


def esp_partition(esp):
    """(disk, partition number) of the vfat file system mounted at esp, or
    a reason why there is none."""
    target = str(Path(esp).resolve())
    try:
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None, "cannot read /proc/self/mountinfo"
    for line in mounts:
        fields = line.split()
        sep = fields.index("-")
        if fields[4] == target:
            fstype, source = fields[sep + 1], fields[sep + 2]
            if fstype != "vfat":
                return None, f"{esp} is a {fstype} file system, not the EFI system partition (vfat)"
            name = Path(source).name
            part = Path("/sys/class/block") / name / "partition"
            if not part.exists():
                return None, f"{source} is not a partition"
            disk = Path("/sys/class/block", name).resolve().parent.name
            return (f"/dev/{disk}", int(part.read_text())), None
    return None, f"{esp} is not a mount point"


def parse_boot_list(text):
    """{'current','next','order': [...], 'entries': {num: line}} from efibootmgr -v."""
    out = {"current": None, "next": None, "order": [], "entries": {}}
    for line in text.splitlines():
        if m := re.match(r"BootCurrent: ([0-9A-Fa-f]{4})", line):
            out["current"] = m.group(1).upper()
        elif m := re.match(r"BootNext: ([0-9A-Fa-f]{4})", line):
            out["next"] = m.group(1).upper()
        elif m := re.match(r"BootOrder: ([0-9A-Fa-f,]*)", line):
            out["order"] = [n.upper() for n in m.group(1).split(",") if n]
        elif m := re.match(r"Boot([0-9A-Fa-f]{4})\*? (.*)", line):
            out["entries"][m.group(1).upper()] = m.group(2)
    return out


def is_dunehv_entry(line):
    return line.split("\t")[0].strip() == LABEL and LOADER_PATH.lower() in line.lower()


def version_key(v):
    return [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", v)]


# ------------------------------------------------------------------ install

def install(a):
    inst = Installer(a.root, a.dry_run)
    root = Path(a.root)
    state_path = inst.at(STATE)
    esp = Path(a.esp)
    target = esp / ESP_SUBDIR
    problems = []

    def refuse(text):
        problems.append(text)

    if not (esp / "EFI").is_dir():
        refuse(f"{esp}/EFI is not there: ESP= must be the EFI system partition's mount point (usually /boot/efi)")
    old = json.loads(state_path.read_text()) if state_path.exists() else None
    if old and Path(old["esp"]).resolve() != esp.resolve():
        refuse(f"dunehv is installed on {old['esp']} already: make uninstall-esp first")
    if target.exists() and not old:
        refuse(f"{target} exists and was not made by install-esp: move it away first (nothing is overwritten)")
    efi = Path(a.efi)
    if not efi.is_file():
        refuse(f"{efi} is missing: make efi")
    if a.kernel:
        kernel, release = Path(a.kernel), None
        initrd = None if a.initrd == "none" else Path(a.initrd) if a.initrd else None
        if a.initrd is None:
            refuse("KERNEL= given without its initrd: pass INITRD= too (INITRD=none for a kernel without one)")
    else:
        kernel, initrd, release = running_kernel_files(root)
        if a.initrd:
            initrd = None if a.initrd == "none" else Path(a.initrd)
    if not kernel.is_file():
        refuse(f"the kernel {kernel} is missing: pass KERNEL= (and INITRD=)")
    else:
        try:
            check_efi_stub(kernel)
        except Refused as e:
            refuse(str(e))
    if initrd is not None and not initrd.is_file():
        refuse(f"the initrd {initrd} is missing: pass INITRD= (or INITRD=none)")
    try:
        proc = a.cmdline if a.cmdline is not None else Path(a.proc_cmdline).read_text()
        cmdline = config_cmdline(proc)
    except (Refused, OSError) as e:
        refuse(str(e))
        cmdline = ""
    if not problems:
        need = sum(p.stat().st_size for p in (efi, kernel, initrd) if p)
        have = sum((target / n).stat().st_size for n in ("dunehv.efi", "vmlinuz", "initrd.img") if (target / n).exists())
        free = shutil.disk_usage(esp).free
        if need - have > free:
            refuse(f"{esp} has {free / 2**20:.1f} MiB free; the files need {(need - have) / 2**20:.1f} MiB more")
    entry = None
    if a.boot_entry != "no":
        if a.disk:
            entry = (a.disk, a.part)
        else:
            entry, why = esp_partition(esp)
            if entry and not Path("/sys/firmware/efi").exists():
                entry, why = None, "this system was not started by UEFI (no /sys/firmware/efi)"
            if entry is None and a.boot_entry == "yes":
                refuse(f"cannot add a boot entry: {why}")
            elif entry is None:
                print(f"install-esp: no boot entry: {why}; the firmware or another boot loader must start "
                      f"{LOADER_PATH} (BOOT_ENTRY=no says this on purpose)", flush=True)
        if entry and shutil.which("efibootmgr") is None:
            refuse("efibootmgr is not installed: apt-get install efibootmgr (or BOOT_ENTRY=no)")
    if problems:
        for p in problems:
            print(f"install-esp: error: {p}", file=sys.stderr)
        print(f"install-esp: nothing was changed ({len(problems)} problem{'s' if len(problems) > 1 else ''})",
              file=sys.stderr)
        return 1

    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    state = old or {"esp": str(esp), "created": [], "boot_entry": None, "boot_order_before": None,
                    "config_sha256": None}
    state["follow_kernel"] = release is not None
    state["kernel_version"] = release
    inst.mkdir(target)
    inst.copy(efi, target / "dunehv.efi")
    inst.copy(kernel, target / "vmlinuz")
    if initrd is not None:
        inst.copy(initrd, target / "initrd.img")
    text = config_text(cmdline, a.memory, now)
    if initrd is None:
        text = text.replace("initrd = initrd.img\n", "")
    cfg = target / "dunehv.cfg"
    if cfg.exists() and state["config_sha256"] and hashlib.sha256(cfg.read_bytes()).hexdigest() != state["config_sha256"]:
        inst.say(f"keep {cfg}: edited since it was written; the new one goes to dunehv.cfg.new")
        inst.write(target / "dunehv.cfg.new", text, "configuration, for comparison")
    else:
        inst.write(cfg, text, "configuration")
        state["config_sha256"] = hashlib.sha256(text.encode()).hexdigest()

    # The hooks run a copy of this script: the tree may be gone by the next kernel.
    lib = inst.at(LIBDIR)
    inst.mkdir(lib)
    inst.copy(Path(__file__).resolve(), lib / "install-esp.py", mode=0o755)
    hook = (f"#!/bin/sh\n# dunehv: keep the EFI system partition's copy of the kernel and initrd\n"
            f"# current (written by install-esp.py; make uninstall-esp removes it).\n"
            f"exec /usr/bin/python3 /{LIBDIR}/install-esp.py update \"$@\"\n")
    for h in HOOKS:
        inst.mkdir(inst.at(h).parent)
        inst.write(inst.at(h), hook, "hook", mode=0o755)

    if entry:
        before = parse_boot_list(inst.efibootmgr("-v", change=False))
        num = next((n for n, line in before["entries"].items() if is_dunehv_entry(line)), None)
        if num:
            inst.say(f"keep the boot entry Boot{num} (dunehv's, from an earlier install)")
        else:
            state["boot_order_before"] = before["order"]
            out = inst.efibootmgr("--create-only", "--disk", entry[0], "--part", str(entry[1]), "--label", LABEL,
                                  "--loader", LOADER_PATH)
            if not inst.dry:
                after = parse_boot_list(out if "Boot" in out else inst.efibootmgr("-v", change=False))
                added = [n for n, line in after["entries"].items() if n not in before["entries"] and is_dunehv_entry(line)]
                if len(added) != 1:
                    raise Refused(f"efibootmgr made no dunehv entry that can be found (new: {added})")
                num = added[0]
            else:
                num = "NNNN"
        state["boot_entry"] = num
        if a.default:
            order = [num] + [n for n in before["order"] if n != num]
            inst.efibootmgr("--bootorder", ",".join(order))
        else:
            inst.efibootmgr("--bootnext", num)
            print(f"install-esp: the next boot (only the next) starts dunehv; BootOrder is unchanged, so a reset "
                  f"after a failed trial starts the old default. After a good boot: make esp-default", flush=True)

    inst.mkdir(state_path.parent)
    state["created"] = sorted(set(state["created"]) | set(inst.created))
    state["installed"] = [str(target / n) for n in ("dunehv.efi", "vmlinuz", "initrd.img", "dunehv.cfg")
                          if n != "initrd.img" or initrd is not None] + \
                         [str(lib / "install-esp.py")] + [str(inst.at(h)) for h in HOOKS]
    inst.write(state_path, json.dumps(state, indent=1) + "\n", "what was installed, for uninstall", show=False)
    print("install-esp: " + ("dry run: nothing was changed" if inst.dry else "done"), flush=True)
    return 0


# ------------------------------------------------------------------ hooks

def update(a):
    """/etc/kernel/postinst.d (VERSION IMAGE) and /etc/initramfs/post-update.d
    (VERSION INITRD): copy that kernel's files if it is the one followed."""
    inst = Installer(a.root, a.dry_run)
    state_path = inst.at(STATE)
    if not state_path.exists():
        print("install-esp: dunehv is not installed on an ESP: nothing to update")
        return 0
    state = json.loads(state_path.read_text())
    if not state.get("follow_kernel"):
        print("install-esp: the ESP has a kernel given at install time (KERNEL=): not following kernel updates")
        return 0
    version = a.version
    current = state.get("kernel_version") or ""
    if version_key(version) < version_key(current):
        print(f"install-esp: {version} is older than the ESP's kernel {current}: left as it is")
        return 0
    target = Path(state["esp"]) / ESP_SUBDIR
    kernel = inst.at("boot") / f"vmlinuz-{version}"
    initrd = inst.at("boot") / f"initrd.img-{version}"
    if not kernel.is_file():
        print(f"install-esp: error: {kernel} is missing", file=sys.stderr)
        return 1
    check_efi_stub(kernel)
    inst.copy(kernel, target / "vmlinuz")
    if initrd.is_file():
        inst.copy(initrd, target / "initrd.img")
    else:
        print(f"install-esp: {initrd} is not there yet (the initramfs hook copies it when it is made)")
    state["kernel_version"] = version
    inst.write(state_path, json.dumps(state, indent=1) + "\n", "what was installed, for uninstall", show=False)
    return 0


def make_default(a):
    inst = Installer(a.root, a.dry_run)
    state = json.loads(inst.at(STATE).read_text()) if inst.at(STATE).exists() else None
    if not state or not state.get("boot_entry"):
        print("install-esp: error: no dunehv boot entry was installed", file=sys.stderr)
        return 1
    num = state["boot_entry"]
    order = parse_boot_list(inst.efibootmgr("-v", change=False))["order"]
    inst.efibootmgr("--bootorder", ",".join([num] + [n for n in order if n != num]))
    return 0


def uninstall(a):
    inst = Installer(a.root, a.dry_run)
    state_path = inst.at(STATE)
    if not state_path.exists():
        print(f"install-esp: dunehv is not installed ({state_path} is not there): nothing to do")
        return 0
    state = json.loads(state_path.read_text())
    cfg = Path(state["esp"]) / ESP_SUBDIR / "dunehv.cfg"
    if cfg.exists() and hashlib.sha256(cfg.read_bytes()).hexdigest() != state.get("config_sha256"):
        keep = inst.at("var/backups") / f"dunehv.cfg.{datetime.date.today():%Y%m%d}"
        inst.mkdir(keep.parent)
        inst.copy(cfg, keep)
    num = state.get("boot_entry")
    if num:
        if shutil.which("efibootmgr") is None:
            print(f"install-esp: error: efibootmgr is not installed; it is needed to delete Boot{num}", file=sys.stderr)
            return 1
        listing = parse_boot_list(inst.efibootmgr("-v", change=False))
        if num in listing["entries"] and is_dunehv_entry(listing["entries"][num]):
            if listing["next"] == num:  # a trial boot not taken yet: first, while the entry exists
                inst.efibootmgr("--delete-bootnext")
            inst.efibootmgr("--bootnum", num, "--delete-bootnum")
            order = [n for n in listing["order"] if n != num]
            if not inst.dry and parse_boot_list(inst.efibootmgr("-v", change=False))["order"] != order:
                inst.efibootmgr("--bootorder", ",".join(order))
        else:
            inst.say(f"skip Boot{num}: no longer dunehv's entry")
    for p in state["installed"]:
        inst.remove(p)
    for p in (Path(state["esp"]) / ESP_SUBDIR / "dunehv.cfg.new",):
        inst.remove(p)
    inst.remove(state_path)
    for d in sorted(state["created"], key=len, reverse=True):
        inst.remove(d)
    print("install-esp: " + ("dry run: nothing was changed" if inst.dry else "removed"), flush=True)
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default="/", help="where /etc, /boot and /usr/local are (default /)")
    ap.add_argument("--dry-run", action="store_true", help="print every action without doing it")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("install", help="install on the ESP")
    p.add_argument("--esp", required=True, help="the EFI system partition's mount point")
    p.add_argument("--efi", default=str(SRC / "build" / "dunehv.efi"), help="dunehv.efi (default build/dunehv.efi)")
    p.add_argument("--kernel", help="the kernel (default: the running one, /boot/vmlinuz-$(uname -r))")
    p.add_argument("--initrd", help="its initrd (default /boot/initrd.img-$(uname -r)); 'none' for none")
    p.add_argument("--cmdline", help="the kernel command line (default: /proc/cmdline's)")
    p.add_argument("--proc-cmdline", default="/proc/cmdline", help=argparse.SUPPRESS)
    p.add_argument("--memory", default="64M", help="the hypervisor's memory (dunehv.cfg memory =)")
    p.add_argument("--boot-entry", choices=("auto", "yes", "no"), default="auto",
                   help="add a UEFI boot entry with efibootmgr (auto: where the ESP is a mounted partition "
                        "of a UEFI-booted system)")
    p.add_argument("--disk", help="the ESP's disk for the boot entry (default: found from the mount)")
    p.add_argument("--part", type=int, default=1, help="the ESP's partition number (with --disk)")
    p.add_argument("--default", action="store_true",
                   help="put the entry first in BootOrder now instead of a one-shot trial (BootNext)")
    p = sub.add_parser("update", help="the kernel/initramfs hooks: copy VERSION's kernel and initrd")
    p.add_argument("version")
    p.add_argument("image", nargs="?")
    sub.add_parser("make-default", help="put dunehv's boot entry first in BootOrder")
    sub.add_parser("uninstall", help="remove all that install did")
    a = ap.parse_args(argv)
    try:
        return {"install": install, "update": update, "make-default": make_default, "uninstall": uninstall}[a.cmd](a)
    except Refused as e:
        print(f"install-esp: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
