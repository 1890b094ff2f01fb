"""Every CPU under dunehv (the SMP issue), on Bochs 3.0.

The main boot (fixture bochs_main, 2 CPUs) runs hvprobe's per-CPU and
INIT/SIPI checks and guest-libdune/test/smp.c; the 4-CPU boot (fixture
bochs_smp4, conftest.py) the per-CPU checks. The guest programs judge each check and print one
verdict line ("ok <id> - ..." / "not ok <id> - ..."): these tests count
verdicts, they do not re-read the programs' sentences."""
import re

import dunehv_boot


def test_every_cpu_is_launched_under_vmx(bochs_main):
    out = bochs_main.output
    assert re.search(r"^dunehv: the firmware has no ACPI tables: installed an RSDP/XSDT/MADT listing 2 CPUs$", out, re.M)
    for cpu in (0, 1):
        assert re.search(rf"^\[dunehv\] VMX on, CPU {cpu} \(APIC ID {cpu}\)", out, re.M)
    assert "smp: Brought up 1 node, 2 CPUs" in out
    assert re.search(r"^GUEST: nproc 2 possible 0-1$", out, re.M)


def test_each_cpu_sees_dunehv_and_cannot_read_its_memory(bochs_main):
    v = dunehv_boot.verdicts(bochs_main.output)
    dunehv_boot.require(v, ["smp.nr-cpus", "smp.cpu0.signature", "smp.cpu1.signature", "smp.cpu0.hv-memory",
                "smp.cpu1.hv-memory", "smp.hvcpu0.stats", "smp.hvcpu1.stats", "smp.stats-bad-cpu",
                "idle.cpu0", "idle.cpu1"])


def test_init_and_sipi_to_an_offline_cpu_stay_under_vmx(bochs_main):
    v = dunehv_boot.verdicts(bochs_main.output)
    dunehv_boot.require(v, ["sipi.offline", "sipi.hvcpu", "sipi.init", "sipi.started", "sipi.signature", "sipi.hv-memory",
                "sipi.violation-counted", "sipi.online-again"])
    assert "GUEST: sipi test rc=0" in dunehv_boot.user_output(bochs_main.output)


def test_dune_threads_on_many_cpus(bochs_main):
    v = dunehv_boot.verdicts(bochs_main.output)
    dunehv_boot.require(v, ["threads.all-in-dune", "threads.results", "threads.cpus", "migrate.thread", "migrate.moves",
                "migrate.state", "munmap.rounds", "munmap.no-stale-data", "munmap.faults", "lifetimes.count", "lifetimes.cpus", "hotplug.cycles", "hotplug.dune-threads",
                "hotplug.online"])
    for t in ("threads 16", "migrate 1000", "munmap 200", "lifetimes 1000", "hotplug 20"):
        assert f"GUEST: smp {t} rc=0" in dunehv_boot.user_output(bochs_main.output)


def test_smp_dune_work_leaves_counters_at_baseline(bochs_main):
    out = bochs_main.output
    before = re.search(r"^GUEST: smp counters before: (.*)$", out, re.M).group(1).split()
    after = re.search(r"^GUEST: smp counters after: (.*)$", out, re.M).group(1).split()
    assert before == after


def test_contexts_migrated_between_cpus(bochs_main):
    """The migration test moved context VMCSes between CPUs (VMCLEAR requests
    by NMI IPI), and the hotplug cycles restarted CPU 1 by INIT/SIPI: the
    hypervisor's own counters say so."""
    section = bochs_main.output.split("GUEST: --- /proc/dunehv/smp (after)", 1)[1].split("GUEST: --- end", 1)[0]
    stats = [dict(kv.split("=") for kv in l.split()[1:]) for l in section.splitlines() if l.startswith("cpustat cpu=")]
    assert len(stats) == 2
    hvstat = dict(kv.split("=") for kv in re.search(r"^hvstat (.*)$", section, re.M).group(1).split())
    assert int(hvstat["migrations"]) >= 1000  # one arrival on a new CPU per forced move
    assert sum(int(s["ipis"]) for s in stats) > 0
    assert sum(int(s["inits"]) for s in stats) >= 20  # the hotplug cycles restart CPU 1 by INIT/SIPI


def test_four_cpus_boot_under_vmx(bochs_smp4):
    out = bochs_smp4.output
    assert re.search(r"^dunehv: hypervisor active on all 4 CPUs", out, re.M)
    assert "smp: Brought up 1 node, 4 CPUs" in out
    assert re.search(r"^GUEST: nproc 4 possible 0-3$", out, re.M)
    v = dunehv_boot.verdicts(out)
    dunehv_boot.require(v, ["smp.nr-cpus", "smp.stats-bad-cpu"] +
            [f"smp.cpu{c}.{k}" for c in range(4) for k in ("signature", "hv-memory")] +
            [f"smp.hvcpu{c}.stats" for c in range(4)] +
            ["sipi.offline", "sipi.hvcpu", "sipi.init", "sipi.started", "sipi.signature", "sipi.hv-memory",
             "sipi.violation-counted", "sipi.online-again", "threads.all-in-dune", "threads.results",
             "threads.cpus"])
    assert "GUEST: smp threads 16 rc=0" in dunehv_boot.user_output(out)


def test_four_cpus_take_no_exits_at_idle(bochs_smp4):
    """hvcheck judges each CPU's exits over its idle period (the measurement's
    own hypercalls aside)."""
    dunehv_boot.require(dunehv_boot.verdicts(bochs_smp4.output), [f"idle.cpu{c}" for c in range(4)])


def test_faults_resume_where_they_were_taken(bochs_main, bochs_smp4):
    """The Bochs SMP regression program (scripts/patches/bochs3-smp-commit-rip.patch):
    thousands of ring-0 and ring-3 faults resumed by the process's own
    handler, RSP and CPL checked after each, on 2 and on 4 CPUs."""
    for boot in (bochs_main, bochs_smp4):
        dunehv_boot.require(dunehv_boot.verdicts(boot.output), ["faultloop.ring0", "faultloop.ring3"])
        assert "GUEST: faultloop rc=0" in dunehv_boot.user_output(boot.output)


def test_a_request_or_nmi_in_the_entry_window_is_not_left_behind(bochs_smp4):
    """hvprobe's /proc/dunehv/entrywindow: a request and an NMI sent while
    the target CPU waits (on purpose) between its last mailbox check and VM
    entry are served within the delay's bound, though Linux then idles; and
    /proc/dunehv/nmipair: an NMI sent while Linux's handler of another runs
    reaches it after that one returns (the 2-CPU main boot's are
    test_main_boot.py's)."""
    dunehv_boot.require(dunehv_boot.verdicts(bochs_smp4.output), ["window.request", "window.nmi", "nmipair.second"])
    out = dunehv_boot.user_output(bochs_smp4.output)
    assert "GUEST: entrywindow test rc=0" in out and "GUEST: nmipair test rc=0" in out
