"""The libvirt backend leaves nothing behind: after a guest is stopped, after one that failed
(crashed, hung, or could not start), after the private daemon is stopped under a running
guest, and after a harness killed outright (the next run sweeps), no domain named like ours
remains and its QEMU process is gone.

These tests boot through libvirt whatever --backend says (the linux guest, any accelerator).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Iterator

import pytest

from tunlab import libvirt_backend, libvirt_daemon, machine
from tunlab.errors import AgentTimeout, GuestCrash, GuestDied, TargetUnavailable
from tunlab.guest import Guest
from tunlab.libvirt_backend import NAME_RE
from tunlab.paths import REPO

pytestmark = [pytest.mark.target("linux"), pytest.mark.vm]


@pytest.fixture(scope="module")
def endpoint(guest_pool) -> Iterator[libvirt_daemon.Endpoint]:
    """The session's libvirt daemon (--backend libvirt), or one of this module's own."""
    cm = libvirt_daemon.running()
    try:
        ep = cm.__enter__()
    except TargetUnavailable as e:  # libvirt cannot run on this machine; other errors fail
        pytest.skip(str(e))
    yield ep
    cm.__exit__(None, None, None)


def domains() -> set[str]:
    """Names of all tunlab domains the daemon knows, running or not."""
    return {d.name() for d in libvirt_daemon.connection().listAllDomains(0) if NAME_RE.match(d.name())}


def boot(pool, run_dir: Path, **changes) -> Guest:
    spec = dataclasses.replace(pool.plan().spec, **changes)
    return Guest.boot(spec, backend="libvirt", accel=pool.accel, run_dir=run_dir)


def assert_gone(name: str, pid: int | None) -> None:
    assert name not in domains(), f"domain {name} is still defined"
    assert pid is None or not libvirt_daemon.pid_running(pid), f"QEMU {pid} of {name} still runs"


def test_stopped_guest_leaves_no_domain_and_no_qemu(endpoint, guest_pool, tmp_path):
    g = boot(guest_pool, tmp_path / "g")
    name, pid = g.machine.name, g.machine.pid
    assert pid is not None and libvirt_daemon.pid_running(pid)
    assert name in domains() and g.machine in machine._live
    assert g.stop() == "powered off"
    assert_gone(name, pid)
    assert g.machine not in machine._live
    # libvirt's QEMU log is kept with the run's logs, and named in the exit description.
    assert (tmp_path / "g" / "qemu.log").exists()
    assert "qemu.log" in g.machine.describe_exit() and "shut off" in g.machine.describe_exit()
    g.machine.kill()  # idempotent


def test_crashed_guest_leaves_nothing(endpoint, guest_pool, tmp_path):
    g = boot(guest_pool, tmp_path / "g")
    name, pid = g.machine.name, g.machine.pid
    with pytest.raises(GuestCrash):
        g.agent.request("debug", op="panic", timeout=g.timeouts.crash_report)
    # panic=-1 reboots, and on_reboot=destroy ends the domain on its own (QEMU's -no-reboot).
    assert g.machine.wait_exit(g.timeouts.poweroff)
    g.stop()
    assert_gone(name, pid)


def test_hung_guest_is_destroyed(endpoint, guest_pool, tmp_path):
    g = boot(guest_pool, tmp_path / "g")
    name, pid = g.machine.name, g.machine.pid
    with pytest.raises(AgentTimeout):
        g.agent.request("debug", op="stall", ms=5000, timeout=1.0)
    assert g.machine.alive()
    assert g.stop() == "killed"
    assert_gone(name, pid)


def test_failed_start_leaves_nothing_and_says_why(endpoint, guest_pool, tmp_path):
    before = domains()
    with pytest.raises(GuestDied) as e:
        boot(guest_pool, tmp_path / "g", kernel=tmp_path / "no-such-kernel")
    assert "libvirt could not start domain tunlab-" in str(e.value)
    assert "no-such-kernel" in str(e.value)
    assert domains() == before
    assert not any(isinstance(m, libvirt_backend.LibvirtMachine) and m.run_dir == tmp_path / "g"
                   for m in machine._live)


def test_private_daemon_stopped_under_a_running_guest_leaves_no_process(guest_pool, tmp_path, monkeypatch):
    # A second private daemon beside the session's (if any): they share nothing.
    daemon = libvirt_daemon.PrivateDaemon()
    try:
        ep = daemon.start()
    except TargetUnavailable as e:  # libvirt cannot run on this machine; other errors fail
        pytest.skip(str(e))
    try:
        monkeypatch.setattr(libvirt_daemon, "_active", ep)
        g = boot(guest_pool, tmp_path / "g")
        qemu, libvirtd, base = g.machine.pid, daemon.pid, daemon.base
        assert qemu and libvirtd and base
    finally:
        daemon.stop()
    assert not libvirt_daemon.pid_running(libvirtd)
    assert not libvirt_daemon.pid_running(qemu)
    assert not base.exists()
    assert libvirt_daemon.users_of(base) == []  # nothing (QEMU, virtlogd) still uses it
    g.stop()  # the daemon is gone: this must neither hang nor raise
    assert not g.machine.alive()


CHILD = """
import json, os, signal, sys
from pathlib import Path
from tunlab import libvirt_daemon
from tunlab.guest import Guest
from tunlab.machine import GuestSpec
cm = libvirt_daemon.running()
ep = cm.__enter__()
spec = json.loads(sys.argv[2])
spec = GuestSpec(target=spec["target"], name=spec["name"], kernel=Path(spec["kernel"]), initrd=Path(spec["initrd"]),
                 append=spec["append"])
g = Guest.boot(spec, backend="libvirt", accel=sys.argv[1])
print(json.dumps({"name": g.machine.name, "pid": g.machine.pid, "uri": ep.uri, "private": ep.private}), flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # no exit hook, no finally block runs
"""


def _killed_child(pool, env: dict[str, str]) -> dict:
    """Boot a libvirt guest in another harness process, and kill that process outright."""
    spec = pool.plan().spec
    spec_json = json.dumps({"target": spec.target, "name": spec.name, "kernel": str(spec.kernel),
                            "initrd": str(spec.initrd), "append": spec.append})
    res = subprocess.run([sys.executable, "-c", textwrap.dedent(CHILD), pool.accel, spec_json],
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(REPO / "harness"), **env})
    assert res.returncode == -9, res.stdout + res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_leftovers_of_a_killed_harness_are_swept_from_a_shared_daemon(endpoint, guest_pool):
    # The killed run used our daemon as "the user's" one: its domain stays there, running.
    child = _killed_child(guest_pool, {libvirt_daemon.ENV_URI: endpoint.uri})
    assert child["name"] in domains() and libvirt_daemon.pid_running(child["pid"])
    assert child["name"] in libvirt_backend.sweep_stale(libvirt_daemon.connection())
    assert_gone(child["name"], child["pid"])


def test_a_killed_harness_takes_its_private_daemon_and_qemu_along(guest_pool):
    # The killed run had a private daemon: it and its QEMU die with the harness (pid
    # namespace); the next start removes the directory it left.
    child = _killed_child(guest_pool, {libvirt_daemon.ENV_URI: ""})
    if not child["private"]:
        pytest.skip("a libvirt daemon runs on this machine, so no private one was started")
    base = Path(child["uri"].split("socket=")[1]).parents[2]
    deadline = time.monotonic() + 10
    while libvirt_daemon.pid_running(child["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not libvirt_daemon.pid_running(child["pid"]), "the killed run's QEMU outlived it"
    assert libvirt_daemon.users_of(base) == [], "a process of the killed run's daemon outlived it"
    assert base in libvirt_daemon.sweep_stale_dirs()
    assert not base.exists()
