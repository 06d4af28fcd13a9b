"""Snapshots without a VM (snapshot.py): the key and what invalidates it, --fresh, the saved
directory (DragonFly's disk overlay included), the restore command line and XML, and the
fall back to booting when a restore fails."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import time
from pathlib import Path
from types import MethodType, SimpleNamespace
from xml.etree import ElementTree as ET

import pytest

from tunlab import snapshot
from tunlab.errors import AgentTimeout, GuestDied, UsageError
from tunlab.libvirt_backend import NAMESPACE, domain_xml, restore_xml
from tunlab.machine import Drive, GuestSpec
from tunlab.qemu import QemuMachine, StateLoadError


def _files(tmp: Path, **contents: bytes) -> dict[str, Path]:
    out = {}
    for name, data in contents.items():
        out[name] = tmp / name
        out[name].write_bytes(data)
    return out


@pytest.fixture
def linux_spec(tmp_path: Path) -> GuestSpec:
    f = _files(tmp_path, vmlinux=b"kernel-1", initrd=b"initrd-with-agent-1")
    return GuestSpec(target="linux", name="tunlab-linux-a", kernel=f["vmlinux"], initrd=f["initrd"],
                     append="console=ttyS0", driver="linux-tun")


def _key(spec: GuestSpec, backend: str = "qemu", accel: str = "tcg") -> str:
    return snapshot.key_of(snapshot.key_inputs(spec, backend, accel))


# -- the key -----------------------------------------------------------------------------------
def test_the_key_follows_file_contents_not_their_paths(linux_spec, tmp_path):
    other = tmp_path / "elsewhere"
    other.mkdir()
    moved = dataclasses.replace(linux_spec, kernel=other / "vmlinux", initrd=other / "initrd")
    moved.kernel.write_bytes(linux_spec.kernel.read_bytes())
    moved.initrd.write_bytes(linux_spec.initrd.read_bytes())
    assert _key(moved) == _key(linux_spec)


@pytest.mark.parametrize("which", ["kernel", "initrd"])
def test_a_changed_kernel_or_initrd_agent_changes_the_key(linux_spec, which):
    before = _key(linux_spec)
    path = getattr(linux_spec, which)
    path.write_bytes(path.read_bytes() + b"-rebuilt")
    os.utime(path, ns=(1, 1))  # a new mtime is not what matters: new content is
    assert _key(linux_spec) != before


@pytest.mark.parametrize("change", [
    {"driver": "ours:0123456789ab"}, {"memory_mb": 512}, {"cpus": 2}, {"machine": "q35"},
    {"append": "console=ttyS0 quiet"}, {"qemu_opts": ("-icount", "shift=auto")},
    {"boot_timeout": 30.0},
])
def test_the_driver_and_the_vm_shape_are_in_the_key(linux_spec, change):
    assert _key(dataclasses.replace(linux_spec, **change)) != _key(linux_spec)


def test_every_guestspec_field_but_the_per_run_ones_is_in_the_key(linux_spec):
    """GuestSpec grows (H6's VM description): a new field is covered without a change here."""
    inputs = snapshot.key_inputs(linux_spec, "qemu", "tcg")["spec"]
    names = {f.name for f in dataclasses.fields(GuestSpec)}
    assert set(inputs) == names - set(snapshot.PER_RUN)


def test_the_name_and_gdb_port_do_not_change_the_key(linux_spec):
    assert _key(dataclasses.replace(linux_spec, name="tunlab-linux-b", gdb_port=1234)) == _key(linux_spec)


def test_backend_accelerator_and_qemu_version_are_in_the_key(linux_spec, monkeypatch):
    keys = {_key(linux_spec), _key(linux_spec, backend="libvirt"), _key(linux_spec, accel="kvm")}
    monkeypatch.setattr(snapshot, "qemu_version", lambda: "QEMU emulator version 99.0")
    keys.add(_key(linux_spec))
    assert len(keys) == 4


def test_a_dragonfly_session_is_keyed_by_its_session_cds_contents_not_its_bytes(tmp_path, monkeypatch):
    """genisoimage writes the build time into the ISO, so two CDs of the same sources differ
    byte for byte: the key must still be the same (and differ when a source changes)."""
    from tunlab import image_dragonfly
    agent = tmp_path / "agent"
    agent.mkdir()
    (agent / "agent.c").write_text("int main(void) { return 0; }\n")
    monkeypatch.setattr(image_dragonfly, "AGENT_DIR", agent)
    src = tmp_path / "src"
    src.mkdir()
    (src / "if_tun.c").write_text("/* v1 */\n")

    def session(run: str) -> GuestSpec:
        d = tmp_path / run
        d.mkdir()
        (d / "disk.qcow2").write_bytes(b"QFI overlay")
        iso = image_dragonfly.build_session_iso(d, src, "ours:0123456789ab")
        return GuestSpec(target="dragonfly", name="tunlab-dfly-6.4", memory_mb=1024,
                         drives=(Drive(d / "disk.qcow2", fmt="qcow2"),
                                 Drive(iso, media="cdrom", readonly=True)), driver="ours:")
    a = session("run1")
    time.sleep(1.1)  # another second in the ISO's timestamps
    same = session("run2")
    assert a.drives[1].path.read_bytes() != same.drives[1].path.read_bytes()
    assert _key(a) == _key(same)
    (src / "if_tun.c").write_text("/* v2 */\n")
    assert _key(session("run3")) != _key(a)
    same.drives[1].path.write_bytes(b"another CD")  # the record no longer describes the file
    assert _key(same) != _key(a)


# -- --fresh -----------------------------------------------------------------------------------
@pytest.mark.parametrize("mode,uses_vm,snaps,record,want", [
    ("auto", True, True, False, "restore"),
    ("auto", True, False, False, "reuse"),
    ("auto", True, True, True, "boot"),
    ("auto", False, False, False, "boot"),
    ("reuse", False, False, False, "boot"),
    ("boot", True, True, False, "boot"),
    ("reuse", True, True, False, "reuse"),
    ("restore", True, True, False, "restore"),
])
def test_fresh_modes(mode, uses_vm, snaps, record, want):
    assert snapshot.resolve_mode(mode, uses_vm, snaps, record) == want


@pytest.mark.parametrize("mode,uses_vm,snaps,record", [
    ("restore", False, False, False), ("restore", True, False, False),
    ("restore", True, True, True), ("sometimes", True, True, False),
])
def test_fresh_modes_that_cannot_be_done_are_usage_errors(mode, uses_vm, snaps, record):
    with pytest.raises(UsageError):
        snapshot.resolve_mode(mode, uses_vm, snaps, record)


# -- the saved directory -----------------------------------------------------------------------
HELLO = {"proto": "1", "agent": "1.0.0", "driver": "ours:0123456789ab"}


class FakeMachine:
    def __init__(self, state: bytes = b"STATE" * 100) -> None:
        self.state = state

    def save_state(self, path: Path, timeout: float) -> None:
        path.write_bytes(self.state)


def _fake_guest(tmp: Path, spec: GuestSpec, machine: object) -> SimpleNamespace:
    g = SimpleNamespace(machine=machine, spec=spec, hello=dict(HELLO), run_dir=tmp / "boot-logs",
                        timeouts=SimpleNamespace(scale=1.0), broken="", stopped=False)
    g.stop = lambda clean=True: setattr(g, "stopped", True)
    g.settle_clock = lambda: ""  # its agent has no benchenv verb (HELLO's caps)
    return g


def _dfly_spec(tmp: Path) -> GuestSpec:
    f = _files(tmp, **{"disk.qcow2": b"overlay at agent-ready", "session.iso": b"CD"})
    return GuestSpec(target="dragonfly", name="d", drives=(
        Drive(f["disk.qcow2"], fmt="qcow2"), Drive(f["session.iso"], media="cdrom", readonly=True)))


def test_save_keeps_the_state_the_hello_and_a_copy_of_each_writable_drive(tmp_path):
    spec = _dfly_spec(tmp_path)
    g = _fake_guest(tmp_path, spec, FakeMachine())
    snap = snapshot.save(g, "k1", {"in": "puts"}, root=tmp_path / "snaps")
    assert g.stopped and g.broken  # a saved guest is never powered off: it is killed
    assert snap.directory == tmp_path / "snaps" / "k1"
    assert snap.state.read_bytes() == b"STATE" * 100
    assert snap.hello == HELLO
    assert snap.drives == {0: "drive0.qcow2"}  # the overlay, not the read-only CD
    assert (snap.directory / "drive0.qcow2").read_bytes() == b"overlay at agent-ready"
    assert not [p for p in (tmp_path / "snaps").iterdir() if p.name.startswith(".tmp-")]


def test_each_restore_writes_to_its_own_copy_of_the_saved_overlay(tmp_path):
    spec = _dfly_spec(tmp_path)
    snap = snapshot.save(_fake_guest(tmp_path, spec, FakeMachine()), "k1", {}, root=tmp_path / "s")
    r1 = snap.spec_for(spec, tmp_path / "t1")
    r2 = snap.spec_for(spec, tmp_path / "t2")
    assert r1.drives[0].path.parent == tmp_path / "t1" and r2.drives[0].path.parent == tmp_path / "t2"
    r1.drives[0].path.write_bytes(b"written by test 1")
    assert r2.drives[0].path.read_bytes() == b"overlay at agent-ready"
    assert r1.drives[1] == spec.drives[1]  # the read-only CD is shared


def test_a_restored_dragonfly_overlay_opens_its_base_from_the_tests_directory(tmp_path):
    """The session overlay names its base relative to its own directory (qemu_img_create):
    the saved copy and each restore's copy, elsewhere, must still open the whole chain."""
    from tunlab.image_dragonfly import qemu_img_create
    image = tmp_path / "cache" / "images" / "layer"
    image.mkdir(parents=True)
    qemu_img_create(image / "disk.qcow2", None, "16M")
    session = tmp_path / "session"
    session.mkdir()
    qemu_img_create(session / "disk.qcow2", image / "disk.qcow2")
    spec = GuestSpec(target="dragonfly", name="d", drives=(Drive(session / "disk.qcow2", fmt="qcow2"),))
    snap = snapshot.save(_fake_guest(tmp_path, spec, FakeMachine()), "k", {}, root=tmp_path / "snaps")
    copy = snap.spec_for(spec, tmp_path / "test1" / "guest").drives[0].path
    for f in (snap.directory / "drive0.qcow2", copy):
        res = subprocess.run(["qemu-img", "info", "--backing-chain", "--output=json", str(f)],
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        chain = json.loads(res.stdout)
        assert [Path(c["filename"]).resolve() for c in chain] == [f.resolve(), (image / "disk.qcow2").resolve()]


def test_an_incomplete_snapshot_is_not_loaded(tmp_path):
    spec = _dfly_spec(tmp_path)
    snap = snapshot.save(_fake_guest(tmp_path, spec, FakeMachine()), "k1", {}, root=tmp_path / "s")
    assert snapshot.load(snap.directory) is not None
    with open(snap.state, "ab") as f:
        f.write(b"x")  # not the size the meta records (a half-written copy)
    assert snapshot.load(snap.directory) is None
    snap.state.write_bytes(b"STATE" * 100)
    (snap.directory / "drive0.qcow2").unlink()
    assert snapshot.load(snap.directory) is None
    (snap.directory / "meta.json").write_text("{")
    assert snapshot.load(snap.directory) is None


def test_a_snapshot_of_another_format_is_not_loaded(tmp_path):
    snap = snapshot.save(_fake_guest(tmp_path, _dfly_spec(tmp_path), FakeMachine()), "k", {},
                         root=tmp_path / "s")
    meta = json.loads((snap.directory / "meta.json").read_text())
    (snap.directory / "meta.json").write_text(json.dumps({**meta, "format": "0"}))
    assert snapshot.load(snap.directory) is None


def test_prune_keeps_the_most_recently_used(tmp_path, monkeypatch):
    root = tmp_path / "s"
    spec = _dfly_spec(tmp_path)
    for i, key in enumerate(["a", "b", "c"]):
        snapshot.save(_fake_guest(tmp_path, spec, FakeMachine()), key, {}, root=root)
        os.utime(root / key / "meta.json", (1000 + i, 1000 + i))
    monkeypatch.setenv(snapshot.ENV_KEEP, "2")
    os.utime(root / "a" / "meta.json", (5000, 5000))  # used last
    assert snapshot.prune(root, snapshot.keep_count()) == [root / "b"]
    assert sorted(p.name for p in root.iterdir()) == ["a", "c"]


@pytest.mark.parametrize("text", ["0", "-1", "many"])
def test_a_bad_keep_setting_is_one_line(text, monkeypatch):
    monkeypatch.setenv(snapshot.ENV_KEEP, text)
    with pytest.raises(snapshot.SettingError, match=snapshot.ENV_KEEP):
        snapshot.keep_count()


def test_a_backend_that_cannot_save_says_so(tmp_path):
    g = _fake_guest(tmp_path, _dfly_spec(tmp_path), object())
    with pytest.raises(snapshot.SnapshotError, match="cannot save"):
        snapshot.save(g, "k", {}, root=tmp_path / "s")


def test_a_restored_agent_with_another_identity_is_refused():
    snap = snapshot.Snapshot(Path("/s"), "k", dict(HELLO), {})
    snapshot.verify(SimpleNamespace(hello=dict(HELLO)), snap)
    with pytest.raises(snapshot.SnapshotError, match="driver=ours:fedcba987654"):
        snapshot.verify(SimpleNamespace(hello={**HELLO, "driver": "ours:fedcba987654"}), snap)


# -- falling back to a boot --------------------------------------------------------------------
class Booted(SimpleNamespace):
    def settle_clock(self) -> str:
        return ""  # its agent has no benchenv verb


def test_a_failed_restore_boots_says_so_and_rebuilds_then_gives_up(linux_spec, tmp_path, monkeypatch):
    said: list[str] = []
    saves: list[str] = []
    booted: list[Path | None] = []

    def fake_save(guest, key, inputs, root):
        saves.append(key)
        d = root / key
        d.mkdir(parents=True, exist_ok=True)
        (d / "meta.json").write_text("{}")
        (d / "state.bin").write_bytes(b"S")
        return snapshot.Snapshot(d, key, dict(HELLO), {})

    def fake_boot(spec, backend, accel, run_dir=None, echo=None):
        booted.append(run_dir)
        return Booted(run_dir=run_dir, stop=lambda clean=True: None, hello={},
                      timeouts=SimpleNamespace(scale=1.0))

    def failing_restore(*a, **kw):
        raise StateLoadError("QEMU could not load the saved state")

    monkeypatch.setattr(snapshot, "save", fake_save)
    monkeypatch.setattr(snapshot, "load", lambda d: None)
    monkeypatch.setattr(snapshot.Guest, "boot", staticmethod(fake_boot))
    monkeypatch.setattr(snapshot.Guest, "restore", staticmethod(failing_restore))
    monkeypatch.setattr(snapshot, "new_run_dir", lambda kind: tmp_path / kind)
    s = snapshot.Snapshots(linux_spec, "qemu", "tcg", root=tmp_path / "snaps", say=said.append)
    run1 = tmp_path / "test1"
    run1.mkdir()
    g = s.guest(run1)
    assert isinstance(g, Booted) and g.run_dir == run1
    fails = [line for line in said if "restoring" in line]
    assert len(fails) == 1 and "failed (QEMU could not load the saved state)" in fails[0] \
        and "booting this guest instead" in fails[0] and "\n" not in fails[0]
    assert (tmp_path / "test1-restore-failed").is_dir()  # the failed restore's logs stay
    assert not (tmp_path / "snaps" / s.key).exists()     # the snapshot is thrown away
    s.guest(tmp_path / "test2")
    assert len(saves) == 2  # rebuilt for the second guest
    assert "again" in said[-1] and "rest of this run" in said[-1] and s.off
    n = len(said)
    s.guest(tmp_path / "test3")
    assert len(saves) == 2 and len(said) == n  # restoring is off: boots, quietly
    tests = [d for d in booted if d is not None and d.name.startswith("test")]
    assert tests == [run1, tmp_path / "test2", tmp_path / "test3"]  # every test got a guest
    assert len(booted) == len(tests) + len(saves)                    # the rest made snapshots


# -- how each backend restores -----------------------------------------------------------------
def test_qemu_restores_from_the_state_file_on_an_inherited_descriptor(tmp_path):
    state = tmp_path / "state.bin"
    state.write_bytes(b"QEVM")
    m = QemuMachine(GuestSpec(target="linux", name="x"), tmp_path, "tcg")
    assert m._incoming_args() == []
    m.restore_from(state)
    args = m._incoming_args()
    try:
        assert args[0] == "-incoming" and args[1].startswith("fd:")
        fd = int(args[1][3:])
        assert m._incoming_fds == (fd,)
        assert os.readlink(f"/proc/self/fd/{fd}") == str(state)
    finally:
        m._close_incoming()
    assert m._incoming_fds == ()


def test_libvirt_restore_xml_takes_this_runs_sockets_drives_and_metadata(tmp_path):
    spec = GuestSpec(target="dragonfly", name="d", drives=(
        Drive(Path("/old/disk.qcow2"), fmt="qcow2"), Drive(Path("/old/s.iso"), media="cdrom", readonly=True)))
    saved = domain_xml(spec, "tcg", "tunlab-d-1-1-abcdef", Path("/old/console.sock"),
                       Path("/old/control.sock"), metadata={"pid": "1", "run_dir": "/old"})
    saved = saved.replace("<name>", "<uuid>0f0e0d0c-0b0a-0908-0706-050403020100</uuid>\n  <name>")
    new = dataclasses.replace(spec, drives=(dataclasses.replace(spec.drives[0], path=Path("/new/disk.qcow2")),
                                            spec.drives[1]))
    xml = ET.fromstring(restore_xml(saved, (Path("/new/console.sock"), Path("/new/control.sock")),
                                    new, {"pid": "2", "run_dir": "/new"}))
    assert xml.findtext("name") == "tunlab-d-1-1-abcdef"   # libvirt refuses another name
    assert xml.findtext("uuid") == "0f0e0d0c-0b0a-0908-0706-050403020100"
    assert [s.get("path") for s in xml.findall("./devices/serial/source")] == \
        ["/new/console.sock", "/new/control.sock"]
    assert [d.find("source").get("file") for d in xml.findall("./devices/disk")] == \
        ["/new/disk.qcow2", "/old/s.iso"]
    run = xml.find(f"./metadata/{{{NAMESPACE}}}run")
    assert (run.get("pid"), run.get("run_dir")) == ("2", "/new")


@pytest.mark.parametrize("error", [GuestDied("QEMU did not load the saved state within 90 s"),
                                   AgentTimeout("no reply to hello within 30 s")])
def test_a_restore_that_times_out_boots_but_keeps_the_shared_snapshot(linux_spec, tmp_path,
                                                                     monkeypatch, error):
    said: list[str] = []
    d = tmp_path / "snaps" / "k"
    d.mkdir(parents=True)
    snap = snapshot.Snapshot(d, "k", dict(HELLO), {})

    def timing_out(*a, **kw):
        raise error

    monkeypatch.setattr(snapshot, "load", lambda directory: snap)
    monkeypatch.setattr(snapshot.Guest, "boot", staticmethod(
        lambda spec, backend, accel, run_dir=None, echo=None: Booted(run_dir=run_dir)))
    monkeypatch.setattr(snapshot.Guest, "restore", staticmethod(timing_out))
    (d / "meta.json").write_text("{}")
    s = snapshot.Snapshots(linux_spec, "qemu", "tcg", root=tmp_path / "snaps", say=said.append)
    g = s.guest(tmp_path / "test1")
    assert isinstance(g, Booted) and d.is_dir() and s.snap is snap
    assert len(said) == 1 and "booting this guest instead; the snapshot is kept" in said[0]


def test_a_failed_boot_of_the_snapshot_guest_is_the_runs_error_not_a_restore_failure(
        linux_spec, tmp_path, monkeypatch):
    said: list[str] = []

    def failing_boot(*a, **kw):
        raise GuestDied("the guest agent did not start within 60 s of launch")

    monkeypatch.setattr(snapshot, "load", lambda d: None)
    monkeypatch.setattr(snapshot.Guest, "boot", staticmethod(failing_boot))
    monkeypatch.setattr(snapshot, "new_run_dir", lambda kind: tmp_path / kind)
    s = snapshot.Snapshots(linux_spec, "qemu", "tcg", root=tmp_path / "snaps", say=said.append)
    with pytest.raises(GuestDied, match="did not start"):
        s.guest(tmp_path / "test1")
    assert said == [] and s.failures == 0


def test_a_failed_save_boots_the_guest_instead(linux_spec, tmp_path, monkeypatch):
    said: list[str] = []
    booted: list[Path | None] = []

    def fake_boot(spec, backend, accel, run_dir=None, echo=None):
        booted.append(run_dir)
        return _fake_guest(tmp_path, spec, SimpleNamespace())  # its machine cannot save

    monkeypatch.setattr(snapshot, "load", lambda d: None)
    monkeypatch.setattr(snapshot.Guest, "boot", staticmethod(fake_boot))
    monkeypatch.setattr(snapshot, "new_run_dir", lambda kind: tmp_path / kind)
    s = snapshot.Snapshots(linux_spec, "qemu", "tcg", root=tmp_path / "snaps", say=said.append)
    g = s.guest(tmp_path / "test1")
    assert booted == [tmp_path / "snapshot-linux", tmp_path / "test1"] and g.spec == linux_spec
    assert len(said) == 1 and "cannot save" in said[0] and "booting this guest instead" in said[0]


def test_a_snapshot_another_run_saved_first_is_kept_and_used(tmp_path):
    """Two runs save the same key at once: each writes its own temporary directory, the
    first rename wins, and the second run uses the winner's snapshot (nothing half-written)."""
    spec = _dfly_spec(tmp_path)
    first = snapshot.save(_fake_guest(tmp_path, spec, FakeMachine(b"FIRST" * 10)), "k", {},
                          root=tmp_path / "s")
    second = snapshot.save(_fake_guest(tmp_path, spec, FakeMachine(b"SECOND" * 10)), "k", {},
                           root=tmp_path / "s")
    assert second.directory == first.directory
    assert second.state.read_bytes() == b"FIRST" * 10
    assert [p.name for p in (tmp_path / "s").iterdir()] == ["k"]


def test_a_restored_guest_that_stays_paused_is_a_bounded_wait(tmp_path, monkeypatch):
    """_wait_loaded sends `cont` once; a guest that stays paused ends at the deadline."""
    from tunlab import qmp
    sent: list[str] = []

    class Paused:
        def __init__(self, path, timeout):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

        def execute(self, cmd, args=None, timeout=None):
            sent.append(cmd)
            return {"status": "paused"} if cmd == "query-status" else {}

    monkeypatch.setattr(qmp, "QMPClient", Paused)
    m = QemuMachine(GuestSpec(target="linux", name="x"), tmp_path, "tcg")
    m.qmp_path = tmp_path / "qmp.sock"
    monkeypatch.setattr(m, "alive", lambda: True)
    t0 = time.monotonic()
    with pytest.raises(GuestDied, match="did not load the saved state"):
        m._wait_loaded(0.3)
    assert time.monotonic() - t0 < 5 and sent.count("cont") == 1


def test_a_libvirt_save_that_hangs_is_stopped_at_its_deadline():
    """libvirt_backend._within: the watchdog's on_deadline ends the hung call (here it
    releases it, as abortJob/destroy would), and the caller gets a one-line GuestDied."""
    import threading
    from tunlab.libvirt_backend import _within
    released = threading.Event()
    t0 = time.monotonic()
    with pytest.raises(GuestDied, match=r"did not save domain d within 0 s: stopped it"):
        _within(0.2, "libvirt did not save domain d", lambda: released.wait(30), released.set)
    assert time.monotonic() - t0 < 5
    assert _within(5, "x", lambda: "saved", lambda: None) == "saved"


def test_timing_suite_runs_pytest_with_every_run_option_and_absolute_paths(tmp_path, monkeypatch):
    """timing --suite's child pytest runs in the repository: it gets the whole RunConfig
    (runconfig.to_argv, read back by the same OPTIONS) with the paths made absolute."""
    import argparse
    from tunlab import runconfig, timing
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "if_tun.c").write_text("")
    (tmp_path / "img").mkdir()
    (tmp_path / "t_here.py").write_text("")
    cfg = runconfig.RunConfig(target="linux", driver="src", backend="libvirt", accel="tcg",
                              image=Path("img"), smp=2, memory=384,
                              qemu_opts=("-icount", "shift=auto"), cpu="Nehalem,pmu=off", fresh="boot")
    seen: list[list[str]] = []
    monkeypatch.setattr(timing.subprocess, "run", lambda cmd, **kw: seen.append(cmd))
    paths = timing._suite_paths(argparse.Namespace(suite_tests=["t_here.py::t"]), None)
    timing.run_suite(cfg, paths, "restore", tmp_path / "out.txt", tmp_path / "logs")
    cmd = seen[0]
    assert cmd[-1] == f"{tmp_path / 't_here.py'}::t"
    parser = argparse.ArgumentParser()
    runconfig.add_arguments(parser)
    parser.add_argument("--tunlab-logs")
    args, rest = parser.parse_known_args(cmd[cmd.index("-m") + 2:-1])
    again = runconfig.RunConfig.from_args(args)
    assert again == dataclasses.replace(cfg, driver=str(tmp_path / "src"), image=tmp_path / "img",
                                        fresh="restore")
    assert rest == ["-q", "-p", "no:cacheprovider"]


def test_the_pool_powers_off_one_restored_guest_per_run_and_kills_the_rest():
    """Restored guests are killed, except the run's first healthy one: the agent's poweroff
    path still runs once in a run that restores every guest."""
    from tunlab.pytest_plugin import GuestPool
    pool = SimpleNamespace(powered_off_restored=False)
    ends: list[tuple[str, bool]] = []

    def guest(name: str, restored: bool, broken: str = "") -> SimpleNamespace:
        return SimpleNamespace(restored_from=Path("/s/state.bin") if restored else None, broken=broken,
                               stop=lambda clean=True: ends.append((name, clean)))
    for g in (guest("booted", False), guest("broken", True, "hung"), guest("r1", True),
              guest("r2", True), guest("booted2", False)):
        GuestPool.stop(pool, g)
    assert ends == [("booted", True), ("broken", False), ("r1", True), ("r2", False), ("booted2", True)]


def _clock_guest(sources: list[str], caps: str = "hello,benchenv") -> SimpleNamespace:
    asked: list[str] = []

    def request(verb: str) -> SimpleNamespace:
        asked.append(verb)
        clock = sources.pop(0) if len(sources) > 1 else sources[0]
        return SimpleNamespace(text=lambda k: clock if k == "clocksource" else "")
    g = SimpleNamespace(hello={"caps": caps}, agent=SimpleNamespace(request=request), asked=asked)
    g.has_verb = MethodType(snapshot.Guest.has_verb, g)
    return g


def test_the_save_waits_until_the_guests_clock_source_is_final():
    """Linux starts on tsc-early and switches to tsc ~2 s after boot, maybe after
    agent-ready: the guest is saved once it has switched, so that no restored guest switches
    during a test."""
    g = _clock_guest(["tsc-early", "tsc-early", "tsc"])
    assert snapshot.Guest.settle_clock(g, 10, poll=0.01) == "tsc" and len(g.asked) == 3
    assert snapshot.Guest.settle_clock(_clock_guest(["hpet"]), 10) == "hpet"
    stuck = _clock_guest(["tsc-early"])
    t0 = time.monotonic()
    assert snapshot.Guest.settle_clock(stuck, 0.2, poll=0.01) == "tsc-early"  # bounded: saved as it is
    assert time.monotonic() - t0 < 5
    none = _clock_guest(["tsc-early"], caps="hello")
    assert snapshot.Guest.settle_clock(none, 10) == "" and none.asked == []  # an agent without benchenv
