"""Installing the pieces like any system component, checked on the host
(no emulator): libdune's `make install`/`uninstall` with its pkg-config
file, a program built against it both ways, dune.ko's metadata
(modinfo) and `make -C linux-shim modules_install`, and that the guest's
dune.ko is the one dkms built. That these run in Dune mode is checked in
the main boot (test_main_boot.py)."""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSION = (ROOT / "VERSION").read_text().strip()
GUEST = ROOT / "build" / "guest"


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert r.returncode == 0, f"{cmd}: {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r.stdout + r.stderr


def kernel_version():
    return (ROOT / "build" / "guest-kernel" / "kernel-version").read_text().strip()


def files_under(d):
    return sorted(str(p.relative_to(d)) for p in Path(d).rglob("*") if not p.is_dir())


def test_libdune_installs_with_pkg_config_and_uninstalls(tmp_path):
    """make install puts self-contained headers, libdune.a, libdune.so (no
    text relocations) and libdune.pc under DESTDIR/PREFIX; a program outside
    the tree builds against them with pkg-config, dynamically and
    statically, without a DT_TEXTREL warning; make uninstall leaves no file."""
    out, dest = tmp_path / "out", tmp_path / "dest"
    lib = "/usr/lib/x86_64-linux-gnu"
    run(["make", "-s", "-C", str(ROOT / "guest-libdune"), f"OUT={out}", "install", f"DESTDIR={dest}",
         "PREFIX=/usr", f"LIBDIR={lib}"])
    so = f"usr/lib/x86_64-linux-gnu/libdune.so.{VERSION}"
    assert files_under(dest) == sorted([
        "usr/include/dune/dune.h", "usr/include/dune/fpu.h", "usr/include/dune/dune_abi.h",
        "usr/lib/x86_64-linux-gnu/libdune.a", so, "usr/lib/x86_64-linux-gnu/libdune.so.0",
        "usr/lib/x86_64-linux-gnu/libdune.so", "usr/lib/x86_64-linux-gnu/pkgconfig/libdune.pc"])
    assert "../linux-shim" not in (dest / "usr/include/dune/dune.h").read_text()  # self-contained
    assert "TEXTREL" not in run(["readelf", "-d", str(dest / so)])
    assert f"SONAME" in run(["readelf", "-d", str(dest / so)])
    env = dict(os.environ, PKG_CONFIG_SYSROOT_DIR=str(dest), PKG_CONFIG_LIBDIR=str(dest / lib.lstrip("/") / "pkgconfig"))
    assert run(["pkg-config", "--modversion", "libdune"], env=env).strip() == VERSION
    build = tmp_path / "prog"
    build.mkdir()
    log = run(["make", "-C", str(ROOT / "examples" / "first-dune"), f"OUT={build}"], env=env)
    assert "TEXTREL" not in log and "warning" not in log.lower(), log
    dyn = run(["readelf", "-d", str(build / "first-dune")])
    assert "libdune.so.0" in dyn and "TEXTREL" not in dyn
    # not position-independent (libdune.pc's -no-pie): Dune mode reaches
    # only its layout's windows, where a PIE's text is not
    assert re.search(r"Type: +EXEC", run(["readelf", "-h", str(build / "first-dune")]))
    assert "libdune.so" not in run(["readelf", "-d", str(build / "first-dune-static")])
    run(["make", "-s", "-C", str(ROOT / "guest-libdune"), f"OUT={out}", "uninstall", f"DESTDIR={dest}",
         "PREFIX=/usr", f"LIBDIR={lib}"])
    assert files_under(dest) == []


def test_dune_ko_shows_version_aliases_and_parameters():
    """The guest's dune.ko (built by dkms in `make guest`) carries the
    project's version, the aliases that load it on the first open of
    /dev/dune, and its parameters with descriptions."""
    kver = kernel_version()
    built = GUEST / "dkms" / "tree" / "dune" / VERSION / kver / "x86_64" / "module" / "dune.ko"
    assert built.is_file(), "make guest builds dune.ko with dkms"
    info = run(["/sbin/modinfo", str(GUEST / "dune" / "dune.ko")])
    assert re.search(rf"^version: +{re.escape(VERSION)}$", info, re.M)
    assert re.search(r"^alias: +char-major-10-233$", info, re.M)
    assert re.search(r"^alias: +devname:dune$", info, re.M)
    for parm in ("dev_mode", "max_contexts_per_user", "max_contexts_per_process", "ept_pages_per_context",
                 "ept_pages_per_user"):
        assert re.search(rf"^parm: +{parm}:.+\((ushort|uint)\)$", info, re.M), parm
    dkms_conf = (GUEST / "dkms" / "root" / "usr" / "src" / f"dune-{VERSION}" / "dkms.conf").read_text()
    assert f'PACKAGE_VERSION="{VERSION}"' in dkms_conf


def test_module_installs_like_any_out_of_tree_module(tmp_path):
    """make -C linux-shim modules_install INSTALL_MOD_PATH=... installs
    dune.ko under lib/modules/<kernel>/updates and indexes its aliases."""
    kver = kernel_version()
    headers = (ROOT / "build" / "guest-kernel" / "headers-dir").read_text().strip()
    run(["make", "-s", "-C", str(ROOT / "linux-shim"), "modules_install", f"KDIR={headers}",
         f"INSTALL_MOD_PATH={tmp_path}"])
    moddir = tmp_path / "lib" / "modules" / kver
    assert (moddir / "updates" / "dune.ko").is_file()
    assert "alias char-major-10-233 dune" in (moddir / "modules.alias").read_text()
    run(["make", "-s", "-C", str(ROOT / "linux-shim"), "install-udev-rule", f"DESTDIR={tmp_path}"])
    rule = (tmp_path / "etc" / "udev" / "rules.d" / "60-dune.rules").read_text()
    assert 'GROUP="dune"' in rule and 'MODE="0660"' in rule


def test_sample_config_documents_every_key():
    """examples/dunehv.cfg sets every key the parser knows (hv/core/config.c),
    each with a comment above it, and the README's table lists them all."""
    src = (ROOT / "hv" / "core" / "config.c").read_text()
    names = re.search(r"key_names\[KEY_COUNT\] = \{(.*?)\};", src, re.S).group(1)
    keys = re.findall(r'"(\w+)"', names)
    assert len(keys) >= 11
    sample = (ROOT / "examples" / "dunehv.cfg").read_text()
    readme = (ROOT / "README.md").read_text()
    for key in keys:
        m = re.search(rf"^((?:#.*\n)+){key} = \S.*$", sample, re.M)
        assert m, f"examples/dunehv.cfg: no commented line for {key}"
        assert f"| `{key}` |" in readme, f"README's config table lacks {key}"


def test_scripts_answer_help_without_booting():
    """Every benchmark script, make fuzz's, make run's and make shell's, says
    what it does with --help, at once (nothing boots)."""
    for script in ("bench-apps.py", "bench-boot.py", "bench-dune.py", "bench-sandbox.py", "fuzz.py", "run-demo.py",
                   "shell.py"):
        r = subprocess.run(["python3", str(ROOT / "scripts" / script), "--help"], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 0 and r.stdout.startswith("usage:"), (script, r.stdout, r.stderr)
        assert "Bochs" in r.stdout, script
    r = subprocess.run([str(ROOT / "scripts" / "install-esp.py"), "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "BootNext" in r.stdout and "uninstall" in r.stdout, r.stdout + r.stderr


def test_make_install_and_uninstall_leave_nothing(tmp_path):
    """The top-level make install: libdune, dune.ko's DKMS source tree (with
    its ABI header and dkms.conf) and the udev rule; make uninstall removes
    every file again."""
    run(["make", "-s", "-C", str(ROOT), "install", f"DESTDIR={tmp_path}", "PREFIX=/usr"])
    files = files_under(tmp_path)
    for f in ("usr/sbin/dunehv", "usr/share/man/man8/dunehv.8", "usr/include/dune/dune.h", "usr/lib/libdune.a", f"usr/lib/libdune.so.{VERSION}",
              "usr/lib/pkgconfig/libdune.pc", f"usr/src/dune-{VERSION}/dkms.conf",
              f"usr/src/dune-{VERSION}/include/dunehv/abi.h", f"usr/src/dune-{VERSION}/dune_main.c",
              "etc/udev/rules.d/60-dune.rules"):
        assert f in files, f
    run(["make", "-s", "-C", str(ROOT), "uninstall", f"DESTDIR={tmp_path}", "PREFIX=/usr"])
    assert files_under(tmp_path) == []


def test_dunehv_command_help_and_status_without_the_hypervisor():
    """The dunehv command answers --help for itself and each command, and
    on a machine that is not under dunehv (this one) says so, exit 1; its
    man page renders."""
    run(["make", "-s", "-C", str(ROOT), "build/dunehv"])
    tool = str(ROOT / "build" / "dunehv")
    for args in (["--help"], ["stat", "--help"], ["log", "--help"], ["ps", "--help"], ["status", "--help"]):
        r = subprocess.run([tool, *args], capture_output=True, text=True, timeout=10)
        assert r.returncode == 0 and r.stdout.startswith("usage: dunehv COMMAND"), (args, r.stdout, r.stderr)
    r = subprocess.run([tool, "status"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 1 and r.stdout.startswith("dunehv: not running: Linux runs without the hypervisor"), r.stdout
    r = subprocess.run([tool, "frobnicate"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and "unknown command" in r.stderr
    page = (ROOT / "linux-shim" / "tool" / "dunehv.8").read_text()
    for section in (".TH DUNEHV 8", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH FILES", ".SH EXIT STATUS"):
        assert section in page, section
    for command in ("status", "stat", "log", "ps"):
        assert f".B {command}" in page or f".B dunehv {command}" in page, command
    if shutil.which("man"):  # renders where man-db is installed
        man = subprocess.run(["man", "-l", str(ROOT / "linux-shim" / "tool" / "dunehv.8")], capture_output=True,
                             text=True, timeout=30, env=dict(os.environ, MANWIDTH="80"))
        assert man.returncode == 0 and "DUNEHV(8)" in man.stdout, man.stderr


# ---------------------------------------------------------------- install-esp
# scripts/install-esp.py against a scratch ESP folder and a scratch root
# (--root: /etc, /boot, /usr/local), with tests/tools/efibootmgr standing in
# for efibootmgr: it keeps the boot variables in a JSON file. That the
# installed ESP boots is checked in Bochs (test_try_bochs.py).

INSTALL_ESP = ROOT / "scripts" / "install-esp.py"
FIRMWARE_VARS = {"current": "0001", "next": None, "order": ["0001", "0000"],
                 "entries": {"0000": "UiApp\tFv(7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1)",
                             "0001": "debian\tHD(1,GPT,x,0x800,0x100000)/File(\\EFI\\debian\\shimx64.efi)"}}
PROC_CMDLINE = "BOOT_IMAGE=/boot/vmlinuz-6.1.0-28-amd64 root=UUID=0c5e ro console=ttyS0 initrd=\\x quiet"


def snapshot(*dirs):
    """{path: content} of every file and folder under dirs."""
    out = {}
    for d in dirs:
        for p in sorted(Path(d).rglob("*")):
            out[str(p)] = p.read_bytes() if p.is_file() else "dir"
    return out


def esp_machine(tmp_path):
    """A scratch ESP (with another OS's loader on it), a root with the
    running kernel's files in /boot, the firmware's boot variables, and the
    environment that puts the stand-in efibootmgr first."""
    esp, root = tmp_path / "esp", tmp_path / "root"
    (esp / "EFI" / "debian").mkdir(parents=True)
    (esp / "EFI" / "debian" / "shimx64.efi").write_bytes(b"another loader")
    (root / "boot").mkdir(parents=True)
    release = os.uname().release
    shutil.copyfile(ROOT / "build" / "guest-kernel" / "vmlinuz", root / "boot" / f"vmlinuz-{release}")
    shutil.copyfile(GUEST / "initrd.img", root / "boot" / f"initrd.img-{release}")
    (tmp_path / "cmdline").write_text(PROC_CMDLINE + "\n")
    efivars = tmp_path / "efivars.json"
    efivars.write_text(json.dumps(FIRMWARE_VARS))
    env = dict(os.environ, FAKE_EFIVARS=str(efivars), PATH=f"{ROOT / 'tests' / 'tools'}:{os.environ['PATH']}")
    return esp, root, efivars, env


def install_esp(tmp_path, root, *args, env, check=True):
    r = subprocess.run([str(INSTALL_ESP), "--root", str(root), *args], capture_output=True, text=True, env=env)
    if check:
        assert r.returncode == 0, f"{args}: {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


def install_args(esp, tmp_path):
    return ["install", "--esp", str(esp), "--proc-cmdline", str(tmp_path / "cmdline"), "--boot-entry", "yes",
            "--disk", "/dev/vda", "--part", "1"]


def test_install_esp_dry_run_prints_every_action_and_changes_nothing(tmp_path):
    esp, root, efivars, env = esp_machine(tmp_path)
    before = snapshot(tmp_path)
    out = install_esp(tmp_path, root, "--dry-run", *install_args(esp, tmp_path), env=env).stdout
    print(out)
    assert snapshot(tmp_path) == before
    release = os.uname().release
    target = esp / "EFI" / "dunehv"
    for action in (f"would create directory {target}",
                   f"would copy {ROOT / 'build' / 'dunehv.efi'} -> {target / 'dunehv.efi'}",
                   f"would copy {root / 'boot' / f'vmlinuz-{release}'} -> {target / 'vmlinuz'}",
                   f"would copy {root / 'boot' / f'initrd.img-{release}'} -> {target / 'initrd.img'}",
                   f"would write {target / 'dunehv.cfg'} (configuration)",
                   '    | cmdline = "root=UUID=0c5e ro console=ttyS0 quiet"',
                   f"would write {root / 'etc/kernel/postinst.d/zz-dunehv'} (hook)",
                   f"would write {root / 'etc/initramfs/post-update.d/dunehv'} (hook)",
                   "would run efibootmgr --create-only --disk /dev/vda --part 1 --label dunehv --loader "
                   "'\\EFI\\dunehv\\dunehv.efi'",
                   "would run efibootmgr --bootnext NNNN",
                   "dry run: nothing was changed"):
        assert action in out, action


def test_install_esp_installs_follows_kernels_and_uninstalls_to_as_before(tmp_path):
    """A real install: the files, a config the loader's parser takes, the
    boot entry tried once with BootOrder unchanged; the kernel hook copies
    a newer kernel and ignores an older one; esp-default puts the entry
    first; uninstall leaves ESP, root and boot variables as they were."""
    esp, root, efivars, env = esp_machine(tmp_path)
    before = snapshot(esp, root)
    install_esp(tmp_path, root, *install_args(esp, tmp_path), env=env)
    target = esp / "EFI" / "dunehv"
    assert sorted(p.name for p in target.iterdir()) == ["dunehv.cfg", "dunehv.efi", "initrd.img", "vmlinuz"]
    assert (target / "dunehv.efi").read_bytes() == (ROOT / "build" / "dunehv.efi").read_bytes()
    cfg = (target / "dunehv.cfg").read_text()
    assert 'cmdline = "root=UUID=0c5e ro console=ttyS0 quiet"' in cfg
    assert "BOOT_IMAGE" not in cfg and "initrd=" not in cfg
    # the loader's own parser takes it (dunehv check-config compiles it in)
    run(["make", "-s", "-C", str(ROOT), "build/dunehv"])
    checked = run([str(ROOT / "build" / "dunehv"), "check-config", str(target / "dunehv.cfg")])
    assert "ok: kernel=vmlinuz initrd=initrd.img memory=64M" in checked, checked
    vars_after = json.loads(efivars.read_text())
    new = [n for n in vars_after["entries"] if n not in FIRMWARE_VARS["entries"]]
    assert len(new) == 1 and "File(\\EFI\\dunehv\\dunehv.efi)" in vars_after["entries"][new[0]]
    assert vars_after["next"] == new[0] and vars_after["order"] == FIRMWARE_VARS["order"]
    for hook in ("etc/kernel/postinst.d/zz-dunehv", "etc/initramfs/post-update.d/dunehv"):
        assert os.access(root / hook, os.X_OK)
        assert "/usr/local/lib/dunehv/install-esp.py update" in (root / hook).read_text()

    # a reinstall keeps an edited config and the one boot entry
    with open(target / "dunehv.cfg", "a") as f:
        f.write("log_level = debug # edited\n")
    out = install_esp(tmp_path, root, *install_args(esp, tmp_path), env=env).stdout
    assert "keep" in out and "dunehv.cfg.new" in out and "edited" in (target / "dunehv.cfg").read_text()
    assert len(json.loads(efivars.read_text())["entries"]) == 3

    # the kernel hook (run as the hook runs it: the installed copy)
    hook_script = root / "usr/local/lib/dunehv/install-esp.py"
    (root / "boot" / "vmlinuz-999.1").write_bytes((ROOT / "build" / "guest-kernel" / "vmlinuz").read_bytes())
    (root / "boot" / "initrd.img-999.1").write_bytes(b"newer initrd")
    run([str(hook_script), "--root", str(root), "update", "999.1", "/boot/vmlinuz-999.1"])
    assert (target / "initrd.img").read_bytes() == b"newer initrd"
    (root / "boot" / "initrd.img-1.0").write_bytes(b"older initrd")
    (root / "boot" / "vmlinuz-1.0").write_bytes((ROOT / "build" / "guest-kernel" / "vmlinuz").read_bytes())
    assert "older than the ESP's kernel 999.1" in run([str(hook_script), "--root", str(root), "update", "1.0"])
    assert (target / "initrd.img").read_bytes() == b"newer initrd"
    for v in ("999.1", "1.0"):
        (root / "boot" / f"vmlinuz-{v}").unlink()
        (root / "boot" / f"initrd.img-{v}").unlink()

    install_esp(tmp_path, root, "make-default", env=env)
    assert json.loads(efivars.read_text())["order"] == [new[0]] + FIRMWARE_VARS["order"]

    out = install_esp(tmp_path, root, "uninstall", env=env).stdout
    print(out)
    backup = root / "var" / "backups"
    kept = list(backup.glob("dunehv.cfg.*"))
    assert len(kept) == 1 and "edited" in kept[0].read_text()  # the user's edit is not lost
    shutil.rmtree(root / "var")
    assert snapshot(esp, root) == before
    assert json.loads(efivars.read_text()) == FIRMWARE_VARS


def test_install_esp_refuses_bad_input_and_changes_nothing(tmp_path):
    """Every problem is reported at once, and nothing is written."""
    esp, root, efivars, env = esp_machine(tmp_path)
    (tmp_path / "cmdline").write_text('root=/dev/sda1 acpi_osi="!Windows 2012"\n')
    not_a_kernel = tmp_path / "notes.txt"
    not_a_kernel.write_text("hello")
    before = snapshot(tmp_path)
    r = install_esp(tmp_path, root, "install", "--esp", str(tmp_path / "nowhere"), "--kernel", str(not_a_kernel),
                    "--proc-cmdline", str(tmp_path / "cmdline"), "--boot-entry", "no", env=env, check=False)
    assert r.returncode == 1
    for problem in (f"{tmp_path / 'nowhere'}/EFI is not there: ESP= must be the EFI system partition's mount point",
                    "KERNEL= given without its initrd",
                    f"{not_a_kernel} is not an EFI-stub kernel (no MZ header)",
                    "the kernel command line has a double quote",
                    "nothing was changed (4 problems)"):
        assert problem in r.stderr, (problem, r.stderr)
    (esp / "EFI" / "dunehv").mkdir()
    r = install_esp(tmp_path, root, *install_args(esp, tmp_path), "--cmdline", "ro", env=env, check=False)
    assert r.returncode == 1 and "exists and was not made by install-esp" in r.stderr
    (esp / "EFI" / "dunehv").rmdir()
    assert snapshot(tmp_path) == before
