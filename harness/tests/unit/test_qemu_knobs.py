"""The QEMU knobs (--smp, --memory, --qemu-opts, --gdb) from the command line through the
run configuration and targets.plan into the GuestSpec, the QEMU command line (with its QMP
socket) and libvirt's domain XML; no VM is started."""

import argparse
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from tunlab import targets
from tunlab.targets.base import unregister
from tunlab.crash_patterns import LINUX_CONSOLE
from tunlab.errors import SetupError, UsageError
from tunlab.libvirt_backend import domain_xml
from tunlab.machine import GuestSpec
from tunlab.paths import REPO
from tunlab.qemu import gdb_command, qemu_command
from tunlab.runconfig import GDB_PORT, RunConfig, add_arguments, parse_qemu_opts

QEMU_NS = "{http://libvirt.org/schemas/domain/qemu/1.0}"
SPEC = GuestSpec(target="linux", name="k", kernel=Path("/img/vmlinux"), initrd=Path("/img/i"),
                 cpu_model="Nehalem", cpu_features=("pmu=off",))


def _parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_arguments(p)
    return p.parse_args(list(argv))


def test_qemu_opts_are_split_as_a_shell_would():
    assert parse_qemu_opts("-icount shift=auto -smbios 'type=1,serial=a b'") == (
        "-icount", "shift=auto", "-smbios", "type=1,serial=a b")
    assert parse_qemu_opts("") == ()


@pytest.mark.parametrize("text,why", [
    ("-smbios 'type=1", "No closing quotation"),
    ("icount", "start with '-'"),
    ("-serial stdio", "COM1 and COM2"),
    ("-S", "boot on its own"),
    ("--gdb tcp::1", "--gdb [PORT]"),
    ("-m 512", "--memory"),
    ("-monitor stdio", "monitor"),
])
def test_bad_qemu_opts_are_one_line_usage_errors(text, why):
    with pytest.raises(argparse.ArgumentTypeError) as e:
        parse_qemu_opts(text)
    assert why in str(e.value) and "\n" not in str(e.value)


def test_options_parse_into_the_run_configuration(monkeypatch):
    monkeypatch.delenv("TUNLAB_QEMU_OPTS", raising=False)
    args = _parse("--qemu-opts=-icount shift=auto", "--gdb", "--smp", "2", "--memory", "384")
    cfg = RunConfig.from_args(args)
    assert cfg.qemu_opts == ("-icount", "shift=auto") and cfg.gdb == GDB_PORT
    assert (cfg.smp, cfg.memory) == (2, 384)
    assert _parse("--gdb", "4321").gdb == 4321
    plain = RunConfig.from_args(_parse())
    assert plain.qemu_opts == () and plain.gdb is None


def test_the_environment_gives_qemu_opts_a_default(monkeypatch):
    monkeypatch.setenv("TUNLAB_QEMU_OPTS", "-rtc base=2020-01-01")
    assert RunConfig.from_args(_parse()).qemu_opts == ("-rtc", "base=2020-01-01")
    monkeypatch.setenv("TUNLAB_QEMU_OPTS", "-serial null")
    with pytest.raises(SystemExit):  # argparse: a one-line usage error, status 2
        _parse()


def test_a_string_in_a_run_configuration_is_parsed_or_refused():
    assert RunConfig(target="kpi", qemu_opts="-no-hpet").validate().qemu_opts == ("-no-hpet",)
    with pytest.raises(UsageError, match="--qemu-opts"):
        RunConfig(target="kpi", qemu_opts="-S").validate()


@pytest.mark.parametrize("argv", [["--gdb", "0"], ["--gdb", "70000"], ["--gdb", "x"]])
def test_a_bad_gdb_port_is_a_usage_error(argv):
    with pytest.raises(SystemExit):
        _parse(*argv)


def test_cli_refuses_bad_knobs_with_status_2_and_no_traceback():
    r = subprocess.run([sys.executable, "-m", "tunlab", "console", "--target", "kpi",
                        "--qemu-opts=-serial stdio"], cwd=REPO, capture_output=True, text=True,
                       env={"PYTHONPATH": str(REPO / "harness"), "PATH": "/usr/bin:/bin"}, timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "COM1 and COM2" in r.stderr


# -- into the GuestSpec -----------------------------------------------------------------------
class _VmStandIn(targets.Target):
    name = "vmstandin"
    summary = "a VM target for tests"
    console = LINUX_CONSOLE
    tun_api = "linux"

    def guest_spec(self, cfg, accel):
        return SPEC

    def expected_driver(self, cfg):
        return ""


@pytest.fixture
def vm_target():
    targets.register(_VmStandIn())
    yield
    unregister("vmstandin")


def test_plan_carries_every_knob_into_the_guest_spec(vm_target):
    cfg = RunConfig(target="vmstandin", accel="tcg", smp=3, memory=512,
                    qemu_opts=("-icount", "shift=auto"), gdb=4444)
    spec = targets.plan(cfg).spec
    assert (spec.cpus, spec.memory_mb, spec.qemu_opts, spec.gdb_port) == (
        3, 512, ("-icount", "shift=auto"), 4444)
    assert (spec.cpu_model, spec.cpu_features) == (SPEC.cpu_model, SPEC.cpu_features)  # the image's own CPU
    plain = targets.plan(RunConfig(target="vmstandin", accel="tcg")).spec
    assert (plain.qemu_opts, plain.gdb_port, plain.cpus) == ((), None, SPEC.cpus)


def test_cpu_replaces_the_targets_cpu_in_the_guest_spec(vm_target):
    """(GuestSpec's CPU fields into QEMU's -cpu and libvirt's <cpu>: test_vm_description.py.)"""
    cfg = RunConfig.from_args(_parse("--target", "vmstandin", "--accel", "tcg",
                                     "--cpu", "Skylake-Client,pmu=off,x2apic=on"))
    spec = targets.plan(cfg).spec
    assert (spec.cpu_model, spec.cpu_features) == ("Skylake-Client", ("pmu=off", "x2apic=on"))
    cmd = qemu_command(spec, "tcg", Path("/s/c"), Path("/s/d"))
    assert [cmd[i + 1] for i, a in enumerate(cmd) if a == "-cpu"] == ["Skylake-Client,pmu=off,x2apic=on"]


@pytest.mark.parametrize("text, why", [
    ("", "want MODEL"), ("Nehalem,pmu", "not a feature switch"), ("Nehalem,+pmu", "not a feature"),
    ("max,pmu=yes", "not a feature"), ("-cpu", "want MODEL"), ("max,SSE4.2=on", "lower case")])
def test_a_bad_cpu_is_a_usage_error_saying_the_form(text, why):
    with pytest.raises(SystemExit):
        _parse(f"--cpu={text}")
    with pytest.raises(UsageError, match=why):
        RunConfig(target="kpi", cpu=text).validate()


def test_qemu_opts_may_not_give_a_cpu():
    with pytest.raises(argparse.ArgumentTypeError, match="--cpu"):
        parse_qemu_opts("-cpu host")


def test_knobs_do_not_apply_to_a_host_process_target():
    from tunlab.targets.kpi import KpiTarget
    assert not KpiTarget.uses_vm  # plan leaves a host process's spec alone (as --smp)


# -- the QEMU command line and libvirt's domain -----------------------------------------------
def test_qemu_command_has_qmp_gdb_and_the_user_options_last():
    spec = GuestSpec(target="linux", name="k", kernel=Path("/img/vmlinux"), icount="shift=7",
                     qemu_opts=("-smbios", "type=1"), gdb_port=4444, cpus=2, memory_mb=300)
    cmd = qemu_command(spec, "tcg", Path("/s/c"), Path("/s/d"), Path("/s/qmp.sock"))
    assert cmd[cmd.index("-qmp") + 1] == "unix:/s/qmp.sock,server=on,wait=off"
    assert cmd[cmd.index("-gdb") + 1] == "tcp:127.0.0.1:4444"
    assert cmd[-2:] == ["-smbios", "type=1"]
    assert cmd.index("-icount") < cmd.index("-smbios") and cmd[cmd.index("-icount") + 1] == "shift=7"
    assert cmd[cmd.index("-smp") + 1] == "2" and cmd[cmd.index("-m") + 1] == "300"
    assert "-S" not in cmd  # the guest boots at once; gdb attaches to it running
    bare = qemu_command(SPEC, "tcg", Path("/s/c"), Path("/s/d"))
    assert "-gdb" not in bare and "-qmp" not in bare


def test_gdb_command_names_the_port_and_the_vmlinux():
    spec = GuestSpec(target="linux", name="k", kernel=Path("/img/vmlinux"), gdb_port=4444)
    assert gdb_command(spec) == "gdb /img/vmlinux -ex 'target remote 127.0.0.1:4444'"
    assert gdb_command(GuestSpec(target="dragonfly", name="d", gdb_port=1)) == \
        "gdb -ex 'target remote 127.0.0.1:1'"
    assert gdb_command(SPEC) == ""


def test_libvirt_domain_gets_gdb_and_qemu_opts_after_icount():
    spec = GuestSpec(target="linux", name="k", kernel=Path("/img/vmlinux"), icount="shift=7",
                     qemu_opts=("-smbios", "type=1,serial=a&b"), gdb_port=4444, cpus=2, memory_mb=300)
    d = ET.fromstring(domain_xml(spec, "tcg", "tunlab-k-1-1-abcdef", Path("/r/c"), Path("/r/d")))
    args = [a.get("value") for a in d.findall(f"{QEMU_NS}commandline/{QEMU_NS}arg")]
    assert args == ["-icount", "shift=7", "-gdb", "tcp:127.0.0.1:4444", "-smbios", "type=1,serial=a&b"]
    assert d.findtext("vcpu") == "2" and d.findtext("memory") == "300"


def test_a_guest_without_a_monitor_has_no_hang_report(tmp_path):
    """The kpi target's guest is a host process: a timeout says so without a report."""
    from tunlab.errors import AgentTimeout
    from tunlab.guest import Guest
    p = targets.plan(RunConfig(target="kpi"))
    with Guest.boot(p.spec, backend=p.backend, accel=p.accel, run_dir=tmp_path) as g:
        with pytest.raises(AgentTimeout) as e:
            g.agent.request("debug", op="stall", ms=3000, timeout=0.5)
        assert "hang report" not in str(e.value)
        assert not (tmp_path / "hang-report.txt").exists()


def test_the_conformance_suite_gets_the_run_options_in_its_own_pytest(monkeypatch, tmp_path):
    """tunlab conformance and tunlab run start the suite in a pytest of their own: every run
    option reaches it (only --target and --driver were passed before)."""
    from tunlab import conformance
    seen: list[list[str]] = []
    real_run = subprocess.run

    def run(cmd, **kw):  # the suite's pytest is only noted; the driver's era check runs
        if "pytest" not in cmd:
            return real_run(cmd, **kw)
        seen.append(cmd)
        return subprocess.CompletedProcess(cmd, 1)
    monkeypatch.setattr(conformance.subprocess, "run", run)
    cfg = RunConfig(target="kpi", cpu="Nehalem,pmu=off", smp=2, memory=384, accel="tcg")
    with pytest.raises(SetupError, match="wrote no row summary"):  # nothing ran: no JSON
        conformance.run_suite(cfg, "ours", tmp_path, say=lambda line: None)
    cmd = seen[0]
    assert cmd[cmd.index("--target") + 1] == "kpi" and cmd[cmd.index("--driver") + 1] == "ours"
    for opt in ("--cpu=Nehalem,pmu=off", "--smp=2", "--memory=384", "--accel=tcg"):
        assert opt in cmd, cmd
