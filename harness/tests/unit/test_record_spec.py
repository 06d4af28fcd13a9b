"""What --record does to a guest's description (replay.record_spec), and the guests and
options it refuses, without a guest."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import pytest

from tunlab import replay, repro
from tunlab.errors import UsageError
from tunlab.machine import Drive, GuestSpec
from tunlab.runconfig import RunConfig


def _linux(tmp_path: Path) -> GuestSpec:
    return GuestSpec(target="linux", name="g", kernel=tmp_path / "vmlinuz", initrd=tmp_path / "initrd",
                     append="console=ttyS0")


@pytest.mark.parametrize("change, accel, backend, says", [
    ({"kernel": None, "initrd": None, "program": ("agent",)}, "tcg", "qemu", "runs no VM"),
    ({}, "tcg", "libvirt", "direct QEMU backend"),
    ({}, "kvm", "qemu", "needs TCG"),
    ({"drives": (Drive(Path("/x.qcow2"), fmt="qcow2"),)}, "tcg", "qemu", "drives"),
])
def test_a_guest_that_cannot_be_recorded_is_refused_saying_why(tmp_path, change, accel, backend, says):
    spec = dataclasses.replace(_linux(tmp_path), **change)
    with pytest.raises(UsageError, match=says):
        replay.record_spec(spec, tmp_path / "run", accel, backend)
    assert not (tmp_path / "run").exists()


def test_a_recorded_guest_counts_instructions_paces_input_and_has_no_host_randomness(tmp_path):
    run = tmp_path / "run"
    spec = replay.record_spec(_linux(tmp_path), run, "tcg", "qemu")
    assert spec.icount == f"shift={replay.ICOUNT_SHIFT},rr=record,rrfile={run / replay.RECORD_FILE}"
    assert spec.append == f"console=ttyS0 tunlab.ack={replay.ACK_WINDOW}"
    assert set(replay.HOST_RANDOM_OFF) <= set(spec.cpu_features)
    meta = json.loads((run / replay.META_FILE).read_text())
    assert meta["accel"] == "tcg" and replay._spec_from_json(meta["spec"]) == spec


def _repro_args(tmp_path: Path, *extra: str) -> argparse.Namespace:
    f = tmp_path / "repro.txt"
    f.write_text(repro.FORMAT + "\ntarget: linux\ndriver: ours\nfailure: check\n--\n> nop\n< ok\n")
    p = argparse.ArgumentParser()
    repro.add_arguments(p)
    return p.parse_args([str(f), *extra])


def test_repro_refuses_record_with_minimize_before_booting_anything(tmp_path):
    args = _repro_args(tmp_path, "--record", "--minimize", "--logs", str(tmp_path / "logs"))
    with pytest.raises(UsageError, match="minimize first"):
        repro.main(args, RunConfig(), False, False)
    assert not (tmp_path / "logs").exists()


def test_a_replay_compares_the_agents_bytes_too(tmp_path):
    """replay.replay's verdict covers the control channel (qemu.CONTROL_COPY of the
    recording and of the replay), not just the console."""
    rec, rep = tmp_path / "rec.raw", tmp_path / "rep.raw"
    assert replay._compare_control(rec, rep) == {}  # a recording made without the copy
    rec.write_bytes(b"TL1 1 ok n=4\n")
    rep.write_bytes(b"TL1 1 ok n=4\n")
    assert replay._compare_control(rec, rep)["control_identical"]
    rep.write_bytes(b"TL1 1 ok n=5\n")
    got = replay._compare_control(rec, rep)
    assert not got["control_identical"] and got["control_first_difference_at"] == 11
    rep.unlink()
    got = replay._compare_control(rec, rep)
    assert not got["control_identical"] and got["control_replayed_bytes"] == 0
