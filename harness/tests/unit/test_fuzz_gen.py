"""The fuzzer's program generator (tunlab/fuzz.py) and the QEMU record/replay plumbing
(tunlab/replay.py), without a guest."""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path

import pytest

from tunlab import fuzz, replay, repro
from tunlab.errors import UsageError
from tunlab.machine import GuestSpec
from tunlab.protocol import encode_request

BSD_FEATURES = {"autoclone", "if_clone", "kqueue", "unload"}


def _programs(api: str, seed: int, n: int = 300, features=BSD_FEATURES):
    gen = fuzz.Generator(random.Random(seed), api, set(features))
    return [gen.program() for _ in range(n)]


def test_the_same_seed_gives_the_same_programs_and_another_seed_others():
    assert _programs("bsd", 7, 20) == _programs("bsd", 7, 20)
    assert _programs("bsd", 7, 20) != _programs("bsd", 8, 20)


def test_every_request_is_a_valid_frame_and_within_the_protocols_bounds():
    for prog in _programs("bsd", 1) + _programs("linux", 1):
        for s in prog:
            encode_request(1, s.verb, {k: v for k, v in s.args})  # raises on a bad key/size
            data = s.arg("data")
            if data is not None:
                assert len(data) // 2 <= 81888
            if s.verb == "read" and s.arg("wait_ms") is not None:
                assert int(s.arg("wait_ms")) <= 20  # no long waits: a hang is a finding


def test_the_generator_covers_the_verbs_and_the_edge_values_the_issue_names():
    steps = [s for p in _programs("bsd", 2, 600) for s in p]
    verbs = {s.verb for s in steps}
    assert {"open", "close", "ioctl", "write", "read", "kq", "bpf", "ifconfig", "module",
            "race", "send", "writes"} <= verbs
    values = {s.arg("value") for s in steps if s.verb == "ioctl"}
    assert {str(fuzz.INT_MIN), str(fuzz.INT_MAX), "-1", "0"} <= values
    reqs = {s.arg("req") for s in steps if s.verb == "ioctl"}
    assert {"SIOCIFCREATE2", "SIOCIFDESTROY", "SIOCSIFNAME", "SIOCSIFFLAGS", "TUNSIFINFO",
            "TUNSIFHEAD", "FIOSETOWN"} <= reqs
    assert any(r and r.isdigit() for r in reqs), "no raw ioctl numbers"
    opens = [s for s in steps if s.verb == "open"]
    assert any(s.arg("name") is None for s in opens) and any(s.arg("name") for s in opens)
    # framings: a 4-byte header with a bad family, a short packet, an oversized one
    writes = [bytes.fromhex(s.arg("data")) for s in steps if s.verb == "write"]
    assert any(len(w) < 20 for w in writes) and any(len(w) > 9000 for w in writes)
    assert any(len(w) >= 4 and struct.unpack("!I", w[:4])[0] in (0, 1, 255, 0xFFFFFFFF) for w in writes)


def test_linux_programs_use_only_what_the_linux_backend_has_and_no_module_without_unload():
    steps = [s for p in _programs("linux", 3) for s in p]
    assert not {"kq", "bpf", "module", "race", "writes"} & {s.verb for s in steps}
    assert {s.arg("req") for s in steps if s.verb == "ioctl"} <= set(fuzz.LINUX_IOCTLS) | set(fuzz.LINUX_SOCK_IOCTLS)
    bsd_no_unload = [s for p in _programs("bsd", 3, features={"autoclone"}) for s in p]
    assert "module" not in {s.verb for s in bsd_no_unload}


def test_handles_are_placeholders_that_a_replay_remaps():
    prog = _programs("bsd", 4, 50)
    for p in prog:
        produced = repro.produced_handles(p)
        for s in p:
            h = s.arg("h")
            if h is not None and 1000 < int(h) < 100000:  # not a deliberately bad handle
                assert h in produced["h"], f"{s.line()} uses a handle no open produced"


def test_finding_titles_and_their_failures():
    assert repro.Outcome(died="killed by signal 11").title("write") == "died: killed by signal 11 in write"
    assert repro.Outcome(hang=True).title("read") == "hang in read"
    assert repro.Outcome(leaked={"mbufs": 3, "cdevs": 1}).title() == "leak: mbufs"
    assert repro.Outcome(leaked={"ifnets": 1, "cdevs": 1}).title() == "leak: ifnets"
    assert fuzz._failure_for("leak: mbufs", repro.Outcome(leaked={"mbufs": 1})) == repro.Failure("leak", "mbufs")
    assert fuzz._failure_for("asan: x", repro.Outcome(crash=("asan", "asan: x"))) == repro.Failure("crash", "asan: x")
    assert fuzz._slug("ubsan: negation of - in tunioctl") == "ubsan_negation_of_-_in_tunioctl"


# -- replay.py ------------------------------------------------------------------------------
def _spec(tmp_path: Path) -> GuestSpec:
    k, i = tmp_path / "vmlinux", tmp_path / "initrd"
    k.write_bytes(b"k")
    i.write_bytes(b"i")
    return GuestSpec(target="linux", name="g", kernel=k, initrd=i, append="console=ttyS0")


def test_record_mode_adds_icount_and_describes_the_guest(tmp_path):
    spec = replay.record_spec(_spec(tmp_path), tmp_path / "run", "tcg")
    assert spec.icount == f"shift=7,rr=record,rrfile={tmp_path / 'run' / 'replay.bin'}"
    meta = json.loads((tmp_path / "run" / "record.json").read_text())
    assert meta["accel"] == "tcg" and meta["spec"]["kernel"] == str(tmp_path / "vmlinux")
    back = replay._spec_from_json(meta["spec"])
    assert back.kernel == tmp_path / "vmlinux" and back.append == "console=ttyS0 tunlab.ack=16"
    assert back.cpu_features == ("rdrand=off", "rdseed=off")
    assert back == spec  # icount and the whole shape survive record.json


def test_record_mode_is_refused_with_kvm_and_for_a_host_process(tmp_path):
    with pytest.raises(UsageError, match="TCG"):
        replay.record_spec(_spec(tmp_path), tmp_path / "run", "kvm")
    with pytest.raises(UsageError, match="runs no VM"):
        replay.record_spec(GuestSpec(target="kpi", name="a", program=("x",)), tmp_path / "r", "none")


def test_replay_of_a_directory_without_a_recording_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no recording"):
        replay.replay(tmp_path)
