"""Shared fixtures: emulator boots are expensive (a Bochs boot of Linux takes
about two minutes), so each configuration boots once per session and many
tests check its output."""
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import dunehv_boot  # noqa: E402

# A hypervisor panic ends with this line; Linux's with "Kernel panic".
STOPS = (r"\[dunehv\] stopped \(on_panic", r"Kernel panic - not syncing", r"on_fail = halt: not starting Linux",
         dunehv_boot.RETURNED_RE)


@pytest.fixture(scope="session")
def built():
    missing = dunehv_boot.missing_artifacts()
    if missing:
        pytest.fail("missing build outputs (run `make test`, which builds them first): " + ", ".join(missing))


@pytest.fixture(scope="session")
def bochs_main(built):
    """Linux under dunehv in Bochs with the full guest test init."""
    # Bochs runs Linux about 50 times slower than hardware: a boot-time
    # kworker (ftrace's record check) then runs ~25 s of emulated time
    # without rescheduling, natively too, which sometimes trips the 20 s
    # soft-lockup report. The longest threshold (2 x 60 s) keeps the
    # detector for real lockups without flagging that.
    cfg = dunehv_boot.config(cmdline="console=ttyS0 hvtest.idle=5 watchdog_thresh=60",
                             memory="64M", log_level="info")
    # 3 GiB of RAM: one whole GiB of it, [1 GiB, 2 GiB), is Linux RAM, for
    # hvprobe's 1 GiB EPT leaf (below 1 GiB the legacy hole splits it; the
    # hypervisor and the firmware sit in the top GiB).
    r = dunehv_boot.boot("bochs-main", "bochs", cfg=cfg, timeout_s=2100, stop_patterns=STOPS, memory_mb=3072,
                         cpus=2)
    print(r.output)
    return r
