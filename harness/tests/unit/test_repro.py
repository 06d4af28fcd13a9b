"""Repro files (tunlab/repro.py) without a guest: the format, what "the failure" is, handle
remapping, delta debugging, crash titles; and the client's record of full exchanges."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from tunlab import repro
from tunlab.client import AgentClient
from tunlab.errors import AgentError, AgentTimeout, GuestCrash, GuestDied, UsageError
from tunlab.protocol import decode_frame
from tunlab.repro import Failure, Outcome, Remap, Repro, Step
from tunlab.runconfig import RunConfig

SAMPLE = """# tunlab repro 1
target: kpi
driver: /tmp/x
driver-id: src:0123456789ab
failure: check
reference: ours
--
> open pi=0 nonblock=0
< ok h=3 ifname=tun2
> send dst=10.77.0.2 size=72
< ok sent=1 failed=0
> read h=3 max=0
< ok n=0 data=
> ioctl h=3 req=FIONREAD
< ok ret=0 value=0
"""


def test_a_file_reads_back_as_it_was_written():
    r = repro.parse(SAMPLE)
    assert (r.target, r.driver, r.driver_id, r.reference) == ("kpi", "/tmp/x", "src:0123456789ab", "ours")
    assert r.failure == Failure("check")
    assert [s.verb for s in r.steps] == ["open", "send", "read", "ioctl"]
    assert r.steps[0].args == (("pi", "0"), ("nonblock", "0")) and r.steps[0].reply == "ok h=3 ifname=tun2"
    again = repro.parse(r.render())
    assert again.steps == r.steps and again.failure == r.failure and again.driver_id == r.driver_id


@pytest.mark.parametrize("text, says", [
    ("hello\n", "not a tunlab repro file"),
    (repro.FORMAT + "\ntarget: kpi\nfailure: check\n--\n> nop\n", "no 'driver:'"),
    (repro.FORMAT + "\ntarget: kpi\ndriver: ours\nfailure: boom\n--\n> nop\n", "kind must be one of"),
    (repro.FORMAT + "\ntarget: kpi\ndriver: ours\nfailure: crash\n--\n> nop\n", "needs its title"),
    (repro.FORMAT + "\ntarget: kpi\ndriver: ours\nfailure: check\n--\n", "no requests"),
    (repro.FORMAT + "\ntarget: kpi\ndriver: ours\nfailure: check\n--\n< ok\n", "must follow its request"),
    (repro.FORMAT + "\ntarget: kpi\ndriver: ours\nfailure: check\n--\n> open pi\n", "key=value"),
    (repro.FORMAT + "\ncolour: red\n", "want 'key: value'"),
    (repro.FORMAT + "\ntarget: kpi\ndriver: ours\nfailure: check\n--\nopen\n", "starts with '> '"),
])
def test_a_malformed_file_is_a_usage_error_naming_the_problem(text, says):
    with pytest.raises(UsageError, match=says):
        repro.parse(text)


def test_handles_and_unit_names_of_the_recording_are_remapped_to_the_replays():
    steps = repro.parse(SAMPLE).steps
    m = Remap(steps)
    m.learn(steps[0], decode_frame("TL1 1 ok h=1 ifname=tun0"))
    assert m.args(steps[2]) == [("h", "1"), ("max", "0")]
    assert m.expected("ifname", "tun2") == "tun0"
    assert m.live["h"] == ["1"] and "tun0" in m.units
    # a handle never produced by a reply is passed as it is (a test of ENOHANDLE)
    assert m.args(Step("close", (("h", "99"),))) == [("h", "99")]
    # a produced handle whose open failed in the replay becomes 0 (no such handle)
    m2 = Remap(steps)
    m2.learn(steps[0], decode_frame("TL1 1 err ENODEV errno=19"))
    assert m2.args(steps[2])[0] == ("h", "0")


def test_a_close_in_the_replay_ends_the_handle_for_the_cleanup():
    steps = [Step("open", (), "ok h=1 ifname=tun0"), Step("close", (("h", "1"),), "ok")]
    m = Remap(steps)
    m.learn(steps[0], decode_frame("TL1 1 ok h=5 ifname=tun0"))
    m.learn(steps[1], decode_frame("TL1 2 ok"), [("h", "5")])
    assert m.live["h"] == []


def test_bind_zeroes_handles_whose_producer_was_cut_away():
    steps = repro.parse(SAMPLE).steps
    produced = repro.produced_handles(steps)
    cut = repro.bind(steps[1:], produced)
    assert cut[1].args[0] == ("h", "0") and cut[2].args[0] == ("h", "0")
    assert repro.bind(steps, produced) == steps


def _frame(line: str):
    return decode_frame(line)


def test_the_failure_kinds_and_their_verdicts():
    steps = repro.parse(SAMPLE).steps
    m = Remap(steps)
    m.learn(steps[0], _frame("TL1 1 ok h=1 ifname=tun0"))
    same = Outcome(replies=[_frame("TL1 1 ok h=1 ifname=tun0"), _frame("TL1 2 ok sent=1 failed=0"),
                            _frame("TL1 3 ok n=0 data="), _frame("TL1 4 ok ret=0 value=0")], remap=m)
    fixed = Outcome(replies=same.replies[:3] + [_frame("TL1 4 ok ret=0 value=100")], remap=m)
    assert repro.verdict(Failure("check"), steps, same)
    assert not repro.verdict(Failure("check"), steps, fixed)
    # a replay that stopped early shows no check failure
    assert not repro.verdict(Failure("check"), steps, Outcome(replies=same.replies[:2], remap=m))
    err = Outcome(replies=same.replies[:3] + [_frame("TL1 4 err EINVAL errno=22")], remap=m)
    assert repro.verdict(Failure("error", "EINVAL"), steps, err)
    assert not repro.verdict(Failure("error", "ENOTTY"), steps, err)
    assert not repro.verdict(Failure("error", "EINVAL"), steps, same)
    crash = Outcome(replies=same.replies[:2], crash=("asan", "asan: heap-use-after-free Read in tunread"))
    assert repro.verdict(Failure("crash", "asan: heap-use-after-free Read in tunread"), steps, crash)
    assert not repro.verdict(Failure("crash", "asan: SEGV in tunwrite"), steps, crash)
    assert repro.verdict(Failure("hang"), steps, Outcome(replies=same.replies[:3], hang=True))
    assert not repro.verdict(Failure("hang"), steps, Outcome(replies=same.replies[:1], hang=True))
    assert repro.verdict(Failure("died"), steps, Outcome(died="killed by signal 9"))
    assert repro.verdict(Failure("leak", "mbufs"), steps, Outcome(leaked={"mbufs": 2}))
    assert not repro.verdict(Failure("leak", "mbufs"), steps, Outcome(leaked={"cdevs": 1}))
    # volatile keys do not count
    steps2 = steps[:3] + [Step("bench", (), "ok packets=5 ns=100 pps=5 errors=0")]
    b = Outcome(replies=same.replies[:3] + [_frame("TL1 4 ok packets=9 ns=7 pps=1 errors=0")], remap=m)
    assert repro.verdict(Failure("check"), steps2, b)


def test_the_failure_of_a_test_comes_from_its_exception():
    console = ["==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x6020 at pc 0x1",
               "READ of size 8 at 0x6020 thread T0",
               "    #0 0x55 in memcpy ??", "    #1 0x56 in tunread /x/if_tun.c:830:3",
               "    #2 0x57 in be_read /x/backend_bsd.c:1:1", ""]
    assert repro.failure_of(GuestCrash("m", "asan", "heap-use-after-free on address 0x6020"), console) == \
        Failure("crash", "asan: heap-use-after-free Read in tunread")
    assert repro.failure_of(GuestDied("gone"), []) == Failure("died")
    assert repro.failure_of(AgentTimeout("slow"), []) == Failure("hang")
    assert repro.failure_of(AgentError("ioctl", "ENOTTY", 25, ""), []) == Failure("error", "ENOTTY")
    assert repro.failure_of(AssertionError("x"), []) == Failure("check")


def test_crash_titles_name_the_kind_and_the_drivers_function_and_drop_addresses():
    ub = ["/w/if_tun.c:766:19: runtime error: negation of -2147483648 cannot be represented in type 'int'",
          "    #0 0x5648f9d3d718 in tunioctl /w/if_tun.c:766:19", ""]
    assert repro.crash_title("ubsan", ub[0], ub) == "ubsan: negation of - in tunioctl"
    lsan = ["==9==ERROR: LeakSanitizer: detected memory leaks", "",
            "Direct leak of 64 byte(s) in 1 object(s) allocated from:",
            "    #0 0x1 in malloc ??", "    #1 0x2 in kmalloc /k/kern_malloc.c:3",
            "    #2 0x3 in tun_clone /w/if_tun.c:300:2", ""]
    assert repro.crash_title("lsan", "detected memory leaks", lsan) == "lsan: memory leak in tun_clone"
    assert repro.crash_title("panic", "bad unit 0xdeadbeef", []) == "panic: bad unit ADDR"


def test_ddmin_finds_the_two_steps_that_matter_within_its_budget():
    calls = []

    def test(xs):
        calls.append(list(xs))
        return 3 in xs and 7 in xs

    assert repro.ddmin(list(range(12)), test, lambda: True) == [3, 7]
    n = len(calls)
    calls.clear()
    limited = repro.ddmin(list(range(12)), test, lambda: len(calls) < 2)
    assert len(calls) <= 2 < n and 3 in limited and 7 in limited


class _Replayer(repro.Replayer):
    """Replays in the head: the failure shows when the steps send a packet and read 0 bytes
    before the last FIONREAD, with no extra nonblock argument."""

    def __init__(self, r: Repro) -> None:
        super().__init__(r, None, Path("/nonexistent"), None)  # type: ignore[arg-type]

    def reproduces(self, steps):
        self.runs += 1
        verbs = [s.verb for s in steps]
        return (verbs[-1] == "ioctl" and "send" in verbs and "read" in verbs
                and verbs.index("send") < verbs.index("read"))


def test_minimize_keeps_the_failing_last_request_and_drops_the_rest_and_their_arguments():
    r = repro.parse(SAMPLE)
    r.steps[1:1] = [Step("nop", ()), Step("kstat", ()), Step("proc", ())]
    small = repro.minimize(_Replayer(r), max_runs=200)
    assert [s.verb for s in small] == ["send", "read", "ioctl"]
    # arguments go where the failure does not need them (this stand-in needs none)
    assert small[0].args == () and small[1].args == ()
    # the handle of the removed open is no longer bound: 0
    assert small[-1].args == (("req", "FIONREAD"),) or small[-1].arg("h") in ("0", None)


class _Ex:
    def __init__(self, request: str, reply: str) -> None:
        self.request, self.reply = request, reply


def test_steps_come_from_the_full_exchanges_without_ids():
    steps = repro.steps_from_exchanges([_Ex("TL1 4 write h=1 data=" + "45" * 200, "TL1 4 ok n=200"),
                                        _Ex("TL1 5 read h=1", "")])
    assert steps[0] == Step("write", (("h", "1"), ("data", "45" * 200)), "ok n=200")
    assert steps[1] == Step("read", (("h", "1"),), "")


def test_an_error_failure_ends_the_file_at_the_request_that_got_it():
    from tunlab.runconfig import RunConfig
    steps = [Step("open", (), "ok h=1 ifname=tun0"), Step("ioctl", (("h", "1"),), "err ENOTTY errno=25"),
             Step("close", (("h", "1"),), "ok")]
    r = repro.from_run(steps, Failure("error", "ENOTTY"), RunConfig(target="kpi", driver="ours"), None, "ours:x")
    assert [s.verb for s in r.steps] == ["open", "ioctl"] and r.reference == ""
    r = repro.from_run(steps, Failure("check"), RunConfig(target="kpi", driver="/tmp/x"), None, "src:x")
    assert r.reference == "ours"


def test_the_client_keeps_the_sections_exchanges_in_full(tmp_path):
    a_r, a_w = os.pipe()   # agent -> host
    h_r, h_w = os.pipe()   # host -> agent
    client = AgentClient(a_r, h_w, tmp_path / "agent.log", 2.0)
    blob = "ab" * 300
    os.write(a_w, b"TL1 1 ok n=300\n")
    client.request("write", h=1, data=bytes.fromhex(blob))
    assert client.exchanges[0].request == f"TL1 1 write h=1 data={blob}"
    assert client.exchanges[0].reply == "TL1 1 ok n=300"
    assert "...(600 chars)" in (tmp_path / "agent.log").read_text()  # the log is shortened
    client.begin_section(tmp_path / "section.log")
    assert client.exchanges == []
    for fd in (a_r, a_w, h_r, h_w):
        os.close(fd)
    client.close()


def test_a_unit_renamed_to_a_name_without_a_number_is_still_destroyed_by_the_clean_up():
    step = repro.Step("ioctl", (("ifname", "tun7"), ("req", "SIOCSIFNAME"), ("name", "tunren")), "ok ret=0")
    remap = repro.Remap([step])
    remap.learn(step, decode_frame("TL1 2 ok ret=0"))
    assert remap.units == {"tun7", "tunren"}


class _DyingGuest:
    """A stand-in guest whose agent dies at the first request."""

    def __init__(self):
        self.stopped = 0
        self.hello = {"driver": "x"}
        self.client = self.watcher = self.machine = None
        self.agent = self

    default_timeout = 1.0

    def request(self, verb, **kw):
        raise GuestDied("gone")

    def stop(self, clean=True):
        self.stopped += 1


def test_an_interrupt_while_a_dead_guest_finishes_its_report_still_stops_it(tmp_path, monkeypatch):
    from tunlab import guest as guest_mod
    g = _DyingGuest()
    monkeypatch.setattr(repro, "plan_for", lambda cfg: SimpleNamespace(spec=None, backend="process", accel="none"))
    monkeypatch.setattr(guest_mod.Guest, "boot", classmethod(lambda cls, *a, **k: g))

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(repro, "let_report_finish", interrupted)
    with pytest.raises(KeyboardInterrupt):
        repro.run_steps(RunConfig(target="kpi", driver="ours"), [Step("nop", ())], tmp_path / "run")
    assert g.stopped == 1


def test_the_vm_shape_a_failure_ran_on_is_replayed_unless_the_command_line_says_otherwise():
    """--cpu, --qemu-opts, --smp and --memory go into the file and back into the replay's
    run configuration; one given on the command line wins."""
    cfg = RunConfig(target="linux", smp=2, memory=384, cpu="Nehalem,pmu=off",
                    qemu_opts=("-rtc", "base=2020-01-01 x"))
    r = repro.from_run(repro.parse(SAMPLE).steps, Failure("check"), cfg, None, "linux-tun")
    again = repro.parse(r.render())
    assert (again.cpu, again.qemu_opts) == ("Nehalem,pmu=off", "-rtc 'base=2020-01-01 x'")
    got = repro.config_for(again, RunConfig(target="linux"))
    assert (got.smp, got.memory, got.cpu, got.qemu_opts) == (
        2, 384, "Nehalem,pmu=off", ("-rtc", "base=2020-01-01 x"))
    mine = repro.config_for(again, RunConfig(target="linux", cpu="max", qemu_opts=("-no-hpet",)))
    assert (mine.cpu, mine.qemu_opts) == ("max", ("-no-hpet",))
