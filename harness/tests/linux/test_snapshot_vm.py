"""Snapshots of the Linux guest (snapshot.py), through the run's backend (--backend qemu or
libvirt): a restored guest is the saved agent and starts clean, a snapshot made before an
input changed is not used after it, and a restore that answers with another identity is a
boot instead. Each test keeps its snapshots in its own directory."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from tunlab import snapshot
from tunlab.cpio import CpioWriter

pytestmark = [pytest.mark.target("linux"), pytest.mark.vm]

LOCAL, PEER = "10.77.5.1", "10.77.5.2"


def _snapshots(guest_pool, root: Path, said: list[str], spec=None) -> snapshot.Snapshots:
    plan = guest_pool.plan()
    return snapshot.Snapshots(spec or plan.spec, plan.backend, plan.accel, root=root, say=said.append)


def test_a_restored_guest_is_the_saved_agent_starts_clean_and_keeps_nothing_of_the_last(
        guest_pool, tmp_path):
    said: list[str] = []
    s = _snapshots(guest_pool, tmp_path / "snaps", said)
    g1 = s.guest(tmp_path / "g1")
    try:
        assert g1.restored_from == s.snap.state  # restored, not booted
        assert g1.hello == s.snap.hello and g1.hello["driver"] == "linux-tun"
        boot_console = Path(json.loads((s.snap.directory / "meta.json").read_text())["from"]) / "console.log"
        boot_lines = [ln for ln in boot_console.read_text(errors="replace").splitlines() if ln.strip()]
        assert boot_lines  # the boot that made the snapshot printed something...
        console = (tmp_path / "g1" / "console.log").read_text(errors="replace")
        assert not any(ln in console for ln in boot_lines)  # ...that is not in this guest's log
        dev = g1.open_tun(name="tunsnap0", addr=f"{LOCAL}/32", peer=PEER)
        assert g1.agent.request("ifinfo", ifname=dev.ifname).ok
    finally:
        g1.stop(clean=False)
    g2 = s.guest(tmp_path / "g2")
    try:
        assert g2.restored_from == s.snap.state
        left = g2.agent.request("ifinfo", ifname="tunsnap0", check=False)
        assert not left.ok  # the last guest's device is not there
        assert g2.agent.request("nop").ok
    finally:
        g2.stop(clean=False)
    assert not [line for line in said if "restoring" in line]


def _initrd_with_marker(initrd: Path, out: Path) -> Path:
    """The initrd with a file more (a second cpio archive after the first, which the kernel
    unpacks over the first): a changed input, as a rebuilt agent would be."""
    data = initrd.read_bytes()
    with open(out, "wb") as f:
        f.write(data)
        cpio = CpioWriter(f)
        cpio.file("tunlab-marker", b"changed\n")
        cpio.finish()
    return out


def test_a_snapshot_made_before_an_input_changed_is_not_used_after_it(guest_pool, tmp_path):
    said: list[str] = []
    root = tmp_path / "snaps"
    old = _snapshots(guest_pool, root, said)
    old_snap = old.ensure()
    with old.guest(tmp_path / "old") as g:
        assert g.restored_from == old_snap.state
        assert not g.agent.request("stat", path="/tunlab-marker", check=False).ok
    spec = guest_pool.plan().spec
    changed = dataclasses.replace(spec, initrd=_initrd_with_marker(spec.initrd, tmp_path / "initrd.cpio"))
    new = _snapshots(guest_pool, root, said, changed)
    assert new.key != old.key
    with new.guest(tmp_path / "new") as g:
        assert g.restored_from is not None and g.restored_from.parent != old_snap.directory
        assert g.agent.request("stat", path="/tunlab-marker").ok  # the new initrd's guest
    assert snapshot.load(old_snap.directory) is not None  # the old one stays for the old input
    assert not [line for line in said if "restoring" in line]


def test_a_restore_answering_with_another_identity_is_a_boot_instead(guest_pool, tmp_path):
    said: list[str] = []
    s = _snapshots(guest_pool, tmp_path / "snaps", said)
    snap = s.ensure()
    meta_path = snap.directory / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["hello"]["agent"] = "0.0.0-not-this-one"
    meta_path.write_text(json.dumps(meta))
    s.snap = None  # read it again, as the next run would
    g = s.guest(tmp_path / "g")
    try:
        assert g.restored_from is None  # booted
        assert g.agent.request("nop").ok
    finally:
        g.stop(clean=False)
    fails = [line for line in said if "restoring" in line]
    assert len(fails) == 1 and "hello differs" in fails[0] and "agent=" in fails[0]
    assert not snap.directory.exists()  # thrown away; the next guest rebuilds it
    assert (tmp_path / "g-restore-failed" / "agent.log").exists()  # where the refusal is logged
