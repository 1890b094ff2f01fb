"""Host unit tests of hv/'s pure logic (EPT building, MTRR merging, config
parsing, exit dispatch, page allocator, ...), compiled for the host with
AddressSanitizer and UndefinedBehaviorSanitizer and run here."""
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "build" / "unit" / "hv-unit"
SUITES = [line[2:-1] for line in (ROOT / "tests/unit/suites.def").read_text().split() if line.startswith("X(")]


def build():
    subprocess.run(["make", "-s", "unit-bin"], cwd=ROOT, check=True)


def run_unit(*names):
    return subprocess.run([str(BIN), *names], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_unit_binary_builds_with_sanitizers():
    build()
    assert BIN.exists()
    nm = subprocess.run(["nm", str(BIN)], capture_output=True, text=True, check=True).stdout
    assert "__asan_init" in nm and "__ubsan_handle" in nm


def test_every_suite_passes():
    build()
    r = run_unit()
    print(r.stdout)
    print(r.stderr)
    assert r.returncode == 0, r.stderr
    passed = re.findall(r"^PASS (\S+)$", r.stdout, re.M)
    assert not re.search(r"^FAIL ", r.stdout, re.M)
    for suite in SUITES:
        assert any(p.startswith(suite + ".") for p in passed), f"suite {suite} ran no test"
    assert re.search(r"^\d+ tests, 0 failed checks$", r.stdout, re.M)


def test_sandbox_policy_and_paths():
    """guest-libdune/apps/sandbox's policy parser and matching and its path
    resolution (.., links, descriptors), on the host with the sanitizers."""
    subprocess.run(["make", "-s", "sandbox-unit-bin"], cwd=ROOT, check=True)
    r = subprocess.run([str(ROOT / "build/unit/sandbox-unit")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    print(r.stdout)
    print(r.stderr)
    assert r.returncode == 0, r.stderr
    for name in ("policy.paths", "policy.net", "policy.syscalls_and_options", "policy.bad_files", "paths.resolve"):
        assert f"PASS {name}" in r.stdout
    assert "5 tests, 0 failed checks" in r.stdout


def test_runner_reports_failures():
    """The runner must be able to fail: an unknown test name selects nothing
    and exits non-zero instead of claiming success."""
    build()
    r = run_unit("no-such-test-name")
    assert r.returncode == 3
    assert "0 tests" in r.stdout
