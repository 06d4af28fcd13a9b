"""The fuzzer's guidance and bookkeeping without a guest: coverage replies, the corpus,
mutation that keeps handles meaningful, flaky findings, settled leaks, request bounds."""

from __future__ import annotations

import random
from pathlib import Path
from types import SimpleNamespace

import pytest

from tunlab import fuzz, repro
from tunlab.errors import UsageError
from tunlab.protocol import Frame, encode_request
from tunlab.repro import Step
from tunlab.runconfig import RunConfig

BSD_FEATURES = {"autoclone", "if_clone", "kqueue", "unload"}


def _gen(seed: int = 1) -> fuzz.Generator:
    return fuzz.Generator(random.Random(seed), "bsd", set(BSD_FEATURES))


def test_a_cov_reply_is_read_as_a_bitmap_of_edge_ids():
    total, edges = fuzz.parse_cov({"total": "20", "hit": "3", "map": "0501" + "00"})
    assert total == 20
    assert [i for i in range(24) if edges >> i & 1] == [0, 2, 8]


def _handle_refs(steps: list[Step]) -> list[tuple[str, str, bool]]:
    """(key, handle, produced before) for every handle argument of `steps`."""
    made: set[tuple[str, str]] = set()
    out = []
    for s in steps:
        for k, v in s.args:
            if k in repro.HANDLE_KEYS:
                out.append((k, v, (k, v) in made))
        for k, v in repro.reply_fields(s.reply).items():
            if k in repro.HANDLE_KEYS:
                made.add((k, v))
    return out


def test_mutants_are_valid_bounded_frames_whose_handles_come_from_earlier_steps():
    gen = _gen(4)
    mut = fuzz.Mutator(gen)
    corpus = [gen.program() for _ in range(30)]
    changed = 0
    for i in range(400):
        parent = corpus[i % 30]
        child = mut.mutate(parent, corpus[(i * 7) % 30] if i % 3 == 0 else None)
        changed += child != parent
        assert 0 < len(child) <= fuzz.MAX_STEPS
        for s in child:
            encode_request(1, s.verb, dict(s.args))
            # no mutant waits long: a minute-long request would be taken for a hang
            assert int(s.arg("wait_ms") or 0) <= 20 and int(s.arg("ms") or 0) <= 20, s.line()
            assert int(s.arg("count") or 0) <= 100, s.line()
        # a placeholder handle (> 1000) is only ever used after the step that produces it
        for k, v, before in _handle_refs(child):
            if fuzz._is_placeholder(v):
                assert before, (k, v, [s.line() for s in child])
        produced = [v for s in child for k, v in repro.reply_fields(s.reply).items() if k in repro.HANDLE_KEYS]
        assert len(produced) == len(set(produced)), "two steps produce the same placeholder"
    assert changed > 300


def test_a_splice_moves_the_second_programs_handles_clear_of_the_first():
    a = [Step("open", (), "ok h=1001"), Step("close", (("h", "1001"),))]
    b = [Step("open", (), "ok h=1001"), Step("kq", (("op", "open"),), "ok kq=1002"),
         Step("kq", (("op", "add"), ("kq", "1002"), ("h", "1001"), ("filter", "read")))]
    moved = fuzz._renumber(b, 5)
    assert [s.reply for s in moved] == ["ok h=1006", "ok kq=1007", ""]
    assert moved[2].args == (("op", "add"), ("kq", "1007"), ("h", "1006"), ("filter", "read"))
    assert fuzz._renumber(a, 0) == a


def test_a_corpus_file_round_trips_and_a_bad_one_is_named(tmp_path):
    prog = _gen(2).program(8)
    path = fuzz.save_program(tmp_path, prog)
    assert fuzz.load_program(path) == prog
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(UsageError, match="bad.json"):
        fuzz.load_program(bad)


def _fuzzer(tmp_path: Path) -> fuzz.Fuzzer:
    fz = fuzz.Fuzzer(RunConfig(target="kpi", driver="ours"), tmp_path, seed=1, duration=1)
    (tmp_path / "corpus").mkdir()
    return fz


def test_only_a_program_that_adds_an_edge_joins_the_corpus(tmp_path):
    fz = _fuzzer(tmp_path)
    p1, p2, p3 = ([Step("nop", ())] * n for n in (1, 2, 3))
    fz._learn(p1, 0b0110)
    fz._learn(p2, 0b0010)          # nothing new
    fz._learn(p3, 0b1001)
    assert fz.corpus == [p1, p3]
    assert len(list((tmp_path / "corpus").glob("*.json"))) == 2
    assert [edges for _, edges in fz.cov_log] == [2, 4]


class _FakeReplayer:
    verdicts: list[bool] = []

    def __init__(self, r, *a, **k):
        self.repro = r

    def reproduces(self, steps):
        return self.verdicts.pop(0)


def _found(tmp_path, monkeypatch, verdicts: list[bool]) -> fuzz.Fuzzer:
    monkeypatch.setattr(repro, "Replayer", _FakeReplayer)
    monkeypatch.setattr(repro, "plan_for", lambda cfg: None)
    monkeypatch.setattr(repro, "minimize", lambda rp, *a: rp.repro.steps[-1:])
    _FakeReplayer.verdicts = list(verdicts)
    fz = _fuzzer(tmp_path)
    out = repro.Outcome(leaked={"mbufs": 1})
    history = [[Step("open", (), "ok h=1 ifname=tun0")], [Step("write", (("h", "1"), ("data", "45")), "ok n=1")]]
    fz._finding("leak: mbufs", out, history, tmp_path)
    return fz


def test_a_finding_that_does_not_reproduce_in_a_fresh_guest_is_flaky_not_a_finding(tmp_path, monkeypatch):
    fz = _found(tmp_path, monkeypatch, [False, False])
    assert fz.findings == {} and list(fz.flaky) == ["leak: mbufs"]
    assert (tmp_path / "flaky" / "leak_mbufs" / "finding.json").is_file()
    assert not (tmp_path / "findings" / "leak_mbufs").exists()


def test_a_finding_that_needs_the_programs_before_it_is_a_finding(tmp_path, monkeypatch):
    fz = _found(tmp_path, monkeypatch, [False, True])
    f = fz.findings["leak: mbufs"]
    assert f.reproduced and not f.alone and f.original == 2 and not fz.flaky
    assert (tmp_path / "findings" / "leak_mbufs" / "repro.min.txt").is_file()


def test_a_leak_that_drains_within_the_settle_time_is_none(monkeypatch):
    reads = iter([{"mbufs": "3", "cdevs": "1"}, {"mbufs": "1", "cdevs": "1"}])
    agent = SimpleNamespace(request=lambda verb: Frame(1, "ok", next(reads)))
    assert repro.leaked_since(agent, {"mbufs": "1", "cdevs": "1"}, settle_s=5) == {}


def test_a_leak_that_stays_is_reported_after_the_settle_time(monkeypatch):
    agent = SimpleNamespace(request=lambda verb: Frame(1, "ok", {"mbufs": "4", "cdevs": "1"}))
    assert repro.leaked_since(agent, {"mbufs": "1", "cdevs": "1"}, settle_s=0.1) == {"mbufs": 3}


def test_a_requests_bound_grows_with_its_bytes_on_a_vm_only():
    big = [("h", "1"), ("data", "45" * 82000)]
    assert repro.step_timeout("write", big, 10.0, uses_vm=False) == 10.0
    assert repro.step_timeout("write", big, 10.0, uses_vm=True) >= 10.0 + 164000 / 5000
    # a read may bring back max bytes as hex
    assert repro.step_timeout("read", [("h", "1"), ("max", "65539")], 10.0, True) >= 10.0 + 131078 / 5000
    assert repro.step_timeout("nop", [], 10.0, True) < 10.01


def test_a_crashed_process_guest_is_given_time_to_finish_its_report_a_vm_is_not():
    calls = []
    machine = SimpleNamespace(wait_exit=lambda t: calls.append(("exit", t)) or True)
    watcher = SimpleNamespace(wait_eof=lambda t: calls.append(("eof", t)) or True)
    guest = SimpleNamespace(machine=machine, watcher=watcher)
    repro.let_report_finish(guest, uses_vm=True)
    assert calls == []
    repro.let_report_finish(guest, uses_vm=False, timeout=7)
    assert calls == [("exit", 7), ("eof", 2.0)]


def test_a_read_without_wait_ms_is_drawn_only_for_a_non_blocking_handle():
    gen = _gen(9)
    unbounded = 0
    for _ in range(400):
        nonblock: set[str] = set()
        for s in gen.program():
            if s.verb == "open" and s.arg("nonblock") == "1":
                nonblock.add(repro.reply_fields(s.reply)["h"])
            if s.verb == "ioctl" and s.arg("req") == "FIONBIO":
                (nonblock.add if s.arg("value") != "0" else nonblock.discard)(s.arg("h"))
            if s.verb == "read" and s.arg("wait_ms") is None:
                unbounded += 1
                assert s.arg("h") in nonblock, s.line()  # else the agent waits 5 s
    assert unbounded > 20  # the driver's empty-queue read is reached


def test_an_interrupt_while_a_dead_guest_finishes_its_report_still_stops_it(tmp_path, monkeypatch):
    from tunlab import guest as guest_mod
    stopped = []
    g = SimpleNamespace(hello={"driver": "x", "features": ",".join(BSD_FEATURES)}, run_dir=tmp_path / "g",
                        agent=SimpleNamespace(request=lambda verb, **k: Frame(1, "ok", {})),
                        stop=lambda clean=True: stopped.append(1))
    monkeypatch.setattr(repro, "plan_for", lambda cfg: SimpleNamespace(spec=None, backend="process", accel="none"))
    monkeypatch.setattr(guest_mod.Guest, "boot", classmethod(lambda cls, *a, **k: g))

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(repro, "let_report_finish", interrupted)
    fz = _fuzzer(tmp_path)
    monkeypatch.setattr(fz, "_probe_cov", lambda guest: None)
    monkeypatch.setattr(fz, "_execute", lambda guest, program, base: (repro.Outcome(died="gone"), program, None))
    with pytest.raises(KeyboardInterrupt):
        fz.run()
    assert stopped == [1]


def test_the_summary_says_whether_a_finding_was_reproduced_and_minimized():
    f = dict(fuzz.Finding("leak: mbufs", 3.0).__dict__)
    assert fuzz.finding_line(f).endswith("leak: mbufs  (not reproduced yet)")
    f.update(reproduced=True, original=9)
    assert fuzz.finding_line(f).endswith("(repro 9 requests, not minimized: the run stopped, "
                                         "needs the programs before it)")
    f.update(alone=True, minimized=2)
    assert fuzz.finding_line(f).endswith("(minimized 9 -> 2 requests)")
