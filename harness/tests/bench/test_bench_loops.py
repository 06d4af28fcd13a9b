"""The agent's `bench` (bpf=1, loop=ref: the reference loops of bench_ref.c), `benchenv`, and
the bare loop program (tunlab-bench-bare) against this machine's tun, each in a private
network namespace. Skipped, saying why, where root, tun or unshare are missing. Also the kpi
agent's (its own emulated tun, no namespace needed)."""

import os
import shutil
import subprocess

import pytest

from tunlab import bench, driver_source
from tunlab.image_linux import build_agent
from tunlab.paths import BUILD
import bare_program

AGENT = BUILD / "agent" / "tunlab-agent"
BARE = BUILD / "agent" / "tunlab-bench-bare"
# As in the guest's /init: no IPv6 on new interfaces, so the stack sends nothing of its own
# (router solicitations, MLD) through the device while a loop runs.
NETNS_SCRIPT = ("mount -t sysfs sysfs /sys 2>/dev/null; "
                "echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6 2>/dev/null; "
                'exec "$0" "$@"')
NETNS = ["unshare", "--net", "--mount", "sh", "-c", NETNS_SCRIPT]
# The same, where the kernel answers no ICMP echo request: a kind=rtt loop gets no reply.
NETNS_NO_ECHO = NETNS[:-1] + ["echo 1 >/proc/sys/net/ipv4/icmp_echo_ignore_all && " + NETNS_SCRIPT]
LOCAL, PEER = "10.77.9.1", "10.77.9.2"


@pytest.fixture(scope="module")
def netns():
    build_agent()  # AGENT and BARE; a build failure is an error, not a skip
    if not os.path.exists("/dev/net/tun") or os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root, /dev/net/tun and unshare(1) for a private network namespace")
    probe = subprocess.run(NETNS + ["true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a network namespace: {probe.stderr.decode()[-200:]}")
    return NETNS


def agent_session(netns, *requests, program=AGENT):
    """Runs the agent over --stdio with these request lines; returns the reply lines by id."""
    lines = "".join(f"TL1 {i} {r}\n" for i, r in enumerate(requests, 1))
    res = subprocess.run(netns + [str(program), "--stdio"], input=lines.encode(), capture_output=True,
                         timeout=60)
    replies = {}
    for line in res.stdout.decode().splitlines():
        parts = line.split(" ")
        if len(parts) >= 3 and parts[0] == "TL1" and parts[1] != "0":
            replies[int(parts[1])] = (parts[2], dict(t.split("=", 1) for t in parts[3:] if "=" in t), line)
    return replies


SETUP = ["open", f"ifconfig ifname=tun0 addr={LOCAL}/32 peer={PEER} up=1"]


@pytest.mark.parametrize("kind", ["write", "read", "rtt"])
def test_bench_bpf_listener_sees_the_traffic(netns, kind):
    r = agent_session(netns, *SETUP, f"bench h=1 kind={kind} size=200 ms=200 local={LOCAL} peer={PEER} bpf=1")
    word, kv, line = r[3]
    assert word == "ok", line
    packets, seen = int(kv["packets"]), int(kv["bpf_read"])
    assert packets > 0 and int(kv["bpf_drops"]) >= 0
    # the listener sees both directions: rtt's request and reply, read's datagram, write's packet
    expected = 2 * packets if kind == "rtt" else packets
    assert expected * 0.9 <= seen + int(kv["bpf_drops"]) <= expected * 1.1 + 20, line


def test_bench_without_bpf_reports_no_listener_keys(netns):
    r = agent_session(netns, *SETUP, f"bench h=1 kind=write size=100 ms=50 local={LOCAL} peer={PEER}")
    assert r[3][0] == "ok" and "bpf_read" not in r[3][1]


def test_bench_bpf_takes_only_0_or_1(netns):
    r = agent_session(netns, *SETUP, f"bench h=1 kind=write size=100 ms=50 local={LOCAL} peer={PEER} bpf=2")
    assert r[3][0] == "err" and "EARG" in r[3][2]


@pytest.mark.parametrize("loop", ["ref", "tunlab"])
@pytest.mark.parametrize("kind", ["write", "read", "rtt"])
def test_both_loops_move_the_expected_packets_until_the_deadline(netns, kind, loop):
    r = agent_session(netns, *SETUP, f"bench h=1 kind={kind} size=300 ms=150 local={LOCAL} peer={PEER} "
                                     f"loop={loop}")
    word, kv, line = r[3]
    assert word == "ok", line
    packets = int(kv["packets"])
    assert packets > 0 and int(kv["bytes"]) == packets * 300, line
    assert kv["errors"] == "0" and kv["unexpected"] == "0", line
    # the clock is read once per batch, but the loop still ends only after its deadline
    assert int(kv["ns"]) >= 150_000_000, line


def test_reference_loop_has_no_latency_figures_and_no_listener(netns):
    r = agent_session(netns, *SETUP,
                      f"bench h=1 kind=rtt size=64 ms=50 local={LOCAL} peer={PEER} loop=ref",
                      f"bench h=1 kind=rtt size=64 ms=50 local={LOCAL} peer={PEER} loop=ref bpf=1",
                      f"bench h=1 kind=rtt size=64 ms=50 local={LOCAL} peer={PEER} loop=fast")
    assert r[3][0] == "ok" and "rtt_avg_ns" not in r[3][1], r[3][2]
    assert r[4][0] == "err" and "EARG" in r[4][2] and "bpf" in r[4][2]
    assert r[5][0] == "err" and "EARG" in r[5][2] and "loop" in r[5][2]


@pytest.mark.parametrize("loop", ["ref", "tunlab"])
def test_a_loop_nothing_answers_ends_one_wait_past_its_deadline(netns, loop):
    # Each turn waits up to 1 s (REPLY_WAIT_MS, REF_WAIT_MS) for its reply; the deadline is
    # looked at only every 64 (256) turns, but at once after a wait that found nothing, or
    # the loop would overrun ms by 64 (256) s and the host's bound would call it a hang.
    r = agent_session(NETNS_NO_ECHO, *SETUP,
                      f"bench h=1 kind=rtt size=64 ms=300 local={LOCAL} peer={PEER} loop={loop}")
    word, kv, line = r[3]
    assert word == "ok", line
    assert kv["packets"] == "0" and int(kv["errors"]) >= 1 and kv["first_error"] == "ETIMEDOUT", line
    # the loop's own duration: its deadline, plus one 1 s wait, plus room for a loaded machine
    assert 300_000_000 <= int(kv["ns"]) <= 300_000_000 + 3_000_000_000, line


def test_rtt_times_one_round_trip_in_64(netns):
    r = agent_session(netns, *SETUP, f"bench h=1 kind=rtt size=64 ms=200 local={LOCAL} peer={PEER}")
    word, kv, line = r[3]
    assert word == "ok" and kv["errors"] == "0", line
    packets = int(kv["packets"])
    # sequence numbers 1, 65, 129, ... are timed (BENCH_RTT_EVERY in bench.h)
    assert int(kv["rtt_samples"]) == (packets + 63) // 64, line
    assert 0 < int(kv["rtt_min_ns"]) <= int(kv["rtt_avg_ns"]) <= int(kv["rtt_max_ns"]), line


@pytest.mark.parametrize("loop", ["ref", "tunlab"])
def test_bench_leaves_the_device_blocking_mode_as_it_was(netns, loop):
    # the loops make the device non-blocking for their run: afterwards, with nothing to
    # read, a blocking device still waits (ETIMEDOUT) and a non-blocking one says EAGAIN
    bench = f"bench h=1 kind=rtt size=64 ms=20 local={LOCAL} peer={PEER} loop={loop}"
    blocking = agent_session(netns, *SETUP, bench, "read h=1")
    nonblocking = agent_session(netns, "open nonblock=1", *SETUP[1:], bench, "read h=1")
    assert blocking[3][0] == "ok" and nonblocking[3][0] == "ok", (blocking[3][2], nonblocking[3][2])
    assert blocking[4][0] == "err" and "ETIMEDOUT" in blocking[4][2], blocking[4][2]
    assert nonblocking[4][0] == "err" and "EAGAIN" in nonblocking[4][2], nonblocking[4][2]


def test_clock_source_is_reported_with_every_figure_and_by_benchenv(netns):
    current = "/sys/devices/system/clocksource/clocksource0/current_clocksource"
    if not os.path.exists(current):
        pytest.skip(f"this machine has no {current}")
    expected = open(current).read().strip()
    r = agent_session(netns, *SETUP, f"bench h=1 kind=write size=64 ms=20 local={LOCAL} peer={PEER}",
                      "benchenv")
    assert r[3][0] == "ok" and r[3][1]["clocksource"] == expected, r[3][2]
    assert r[4][0] == "ok" and r[4][1]["clocksource"] == expected, r[4][2]
    assert expected in r[4][1]["clocksources"].split(","), r[4][2]


def test_kpi_agent_reports_no_clock_of_its_own():
    # The kpi agent is a host process: the host's clock source and kernel log would pass
    # for a guest's. Its bench reply and benchenv leave the clock keys out.
    agent = driver_source.build_agent(driver_source.resolve(driver_source.OURS))
    r = agent_session([], "open", "ifconfig ifname=tun0 addr=10.77.9.1/32 peer=10.77.9.2 up=1",
                      f"bench h=1 kind=write size=64 ms=20 local={LOCAL} peer={PEER}", "benchenv",
                      program=agent)
    assert r[3][0] == "ok" and int(r[3][1]["packets"]) > 0, r[3][2]
    assert r[4][0] == "ok", r[4][2]
    for key in ("clocksource", "clocksources", "clock_log"):
        assert key not in r[3][1] and key not in r[4][1], (r[3][2], r[4][2])


def test_bare_program_prints_parsable_lines(netns):
    res = subprocess.run(netns + [str(BARE), "rtt,84,150,reps=2,warmup=50,pi,bpf"], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    samples, err = bare_program.parse_bare_lines(res.stdout)
    assert err == "" and len(samples) == 2
    for s in samples:
        assert s["kind"] == "rtt" and s["size"] == 84 and s["mode"] == "header" and s["bpf"] == 1
        assert s["packets"] > 0 and s["bytes"] == s["packets"] * 84 and s["pps"] > 0


def test_bare_program_jumbo_cell_sets_the_mtu(netns):
    res = subprocess.run(netns + [str(BARE), bare_program.bare_arg(bench.Cell("read", 9000, "plain", False), 100, 1, 0)],
                         capture_output=True, text=True, timeout=60)
    samples, err = bare_program.parse_bare_lines(res.stdout)
    # an MTU left at 1500 would fragment the datagrams: none would match, each costing a 1 s wait
    assert err == "" and samples[0]["packets"] > 100 and samples[0]["errors"] <= 2, res.stdout


def test_bare_program_counted_loop_ends_at_its_first_error_when_nothing_answers(netns):
    # count=<n> (the callgrind gate's fixed work) has no deadline: without this end, a driver
    # that stopped answering would be waited for, 1 s a turn, for ever
    res = subprocess.run(NETNS_NO_ECHO + [str(BARE), "rtt,64,600000,count=100000,warmup=0"],
                         capture_output=True, text=True, timeout=30)
    samples, err = bare_program.parse_bare_lines(res.stdout)
    assert samples and samples[0]["packets"] == 0 and samples[0]["errors"] == 1, res.stdout


@pytest.mark.parametrize("arg", ["", "sideways,64,100", "rtt,20,100", "rtt,64", "rtt,64,100,reps=0",
                                 "rtt,64,100,frobnicate"])
def test_bare_program_refuses_bad_arguments(arg):
    build_agent()
    res = subprocess.run([str(BARE)] + ([arg] if arg else []), capture_output=True, text=True, timeout=10)
    assert res.returncode == 2 and "usage:" in res.stderr
