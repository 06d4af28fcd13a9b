"""The harness against a faulty VM: a stand-in qemu-system-x86_64 (fake_qemu.py) wraps the real
agent and, by mode, exits, hangs, garbles, floods or sends terminal escapes. Each fault is a
named error within its bound, the logs are kept and capped, nothing is left running, and no
guest byte reaches a message unescaped. No real VM boots: it runs on any target."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tunlab.boundedlog import TAIL_KEEP, agent_log_max, console_log_max
from tunlab.errors import AgentError, AgentTimeout, GuestCrash, GuestDied, ProtocolError
from tunlab.guest import Guest
from tunlab.machine import GuestSpec, pid_running
from tunlab.paths import BUILD

import fake_qemu

REQUEST_S = 3.0   # the request's own bound in these tests
SLACK_S = 20.0    # what the bound may be exceeded by on a loaded machine (clean-up, floods)

# mode -> (error, what its message says, the request's timeout)
CASES = {
    "exit": (GuestDied, "VM ended unexpectedly", REQUEST_S),
    "die": (GuestDied, "VM ended unexpectedly", REQUEST_S),
    "hang": (AgentTimeout, "did not answer 'nop'", REQUEST_S),
    "hang-mid": (AgentTimeout, "did not answer 'nop'", REQUEST_S),
    "wrong-id": (ProtocolError, "does not match request id", REQUEST_S),
    "garbage": (ProtocolError, "malformed", REQUEST_S),
    "huge": (ProtocolError, "over 163840 bytes", REQUEST_S),
    "endless": (ProtocolError, "over 163840 bytes", REQUEST_S),
    "noise": (ProtocolError, "lines that are not frames", REQUEST_S),
    "escapes": (AgentError, "nop failed: EINVAL", REQUEST_S),
    "bad-err-name": (ProtocolError, "not an error name", REQUEST_S),
    "flood": (GuestCrash, "after the flood", 60.0),
    "flood-nonl": (GuestCrash, "after the flood", 60.0),
}


@pytest.fixture
def fake(tmp_path, monkeypatch):
    agent = BUILD / "agent" / "tunlab-agent"
    if not agent.exists():
        pytest.skip(f"{agent} not built: run `make agent`")
    fake_qemu.install(tmp_path / "bin")
    copy = tmp_path / "bin" / "tunlab-agent"  # a copy: a rebuild of build/agent does not race us
    shutil.copy2(agent, copy)
    monkeypatch.setenv("TUNLAB_FAKE_AGENT", str(copy))
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{__import__('os').environ['PATH']}")

    def boot(mode: str) -> Guest:
        monkeypatch.setenv("TUNLAB_FAKE_QEMU_MODE", mode)
        spec = GuestSpec(target="linux", name=f"fake-{mode}")
        return Guest.boot(spec, backend="qemu", accel="tcg", run_dir=tmp_path / "guest")
    return boot


def _descendants(pid: int) -> list[int]:
    kids: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def _safe(text: str) -> bool:
    return not any(ord(c) < 0x20 and c not in "\n\t" or 0x7f <= ord(c) <= 0x9f for c in text)


@pytest.mark.parametrize("mode", list(CASES))
def test_fault_is_a_named_error_within_its_bound(fake, mode):
    error, says, timeout = CASES[mode]
    g = fake(mode)
    procs = _descendants(g.machine.pid)
    assert len(procs) >= 2  # the stand-in and the agent it wraps
    t0 = time.monotonic()
    try:
        with pytest.raises(error) as e:
            g.agent.request("nop", timeout=timeout)
        took = time.monotonic() - t0
    finally:
        how = g.stop()
    message = str(e.value)
    assert says in message
    assert took < timeout + SLACK_S
    assert _safe(message), f"control characters in the message: {message[:300]!r}"
    assert len(message) < 12000
    assert not [p for p in procs if pid_running(p)], "processes left running"
    console, agent = g.run_dir / "console.log", g.run_dir / "agent.log"
    assert console.exists() and agent.exists()
    assert console.stat().st_size <= console_log_max() + TAIL_KEEP + 1000
    assert agent.stat().st_size <= agent_log_max() + TAIL_KEEP + 1000
    assert _safe(agent.read_text(errors="replace").replace("\ufffd", ""))
    print(f"\nFAULT {mode}: {type(e.value).__name__} after {took:.2f} s: "
          f"{message.splitlines()[0][:120]} | console.log {console.stat().st_size} B, "
          f"agent.log {agent.stat().st_size} B, stop: {how}, left: 0")


def test_escapes_never_reach_a_message(fake):
    g = fake("escapes")
    try:
        with pytest.raises(AgentError) as e:
            g.agent.request("nop", timeout=REQUEST_S)
        assert "\\x1b]0;pwned\\x07" in str(e.value) and "PASS" in str(e.value)
        g.watcher.wait_for("click", timeout=10)
        tail = g.watcher.tail()
        assert "click" in tail and _safe(tail) and "pwned" not in tail
    finally:
        g.stop()


def test_flood_log_is_capped_with_a_marker_and_keeps_the_end(fake, monkeypatch):
    monkeypatch.setenv("TUNLAB_CONSOLE_LOG_MB", "1")
    g = fake("flood-nonl")
    try:
        with pytest.raises(GuestCrash):
            g.agent.request("nop", timeout=60)
    finally:
        g.stop()
    log = (g.run_dir / "console.log").read_bytes()
    assert len(log) <= (1 << 20) + TAIL_KEEP + 1000
    assert b"[tunlab: log capped at 1048576 bytes (TUNLAB_CONSOLE_LOG_MB)" in log
    assert b"Kernel panic - not syncing: after the flood" in log[-TAIL_KEEP - 500:]


def test_qemu_that_exits_at_start_is_reported(fake):
    t0 = time.monotonic()
    with pytest.raises(GuestDied, match="exited at start-up"):
        fake("exit-at-start")
    assert time.monotonic() - t0 < 10 + SLACK_S


def test_stop_tolerates_a_dead_guest_and_channel(fake):
    """The VM dies under a healthy-looking guest: stop() neither raises nor hangs."""
    g = fake("ok")
    procs = _descendants(g.machine.pid)
    import os
    import signal
    for p in procs:
        os.kill(p, signal.SIGKILL)
    g.machine.wait_exit(10)
    g.client._channel_failed  # noqa: B018 (exists)
    assert g.stop().startswith("killed")
    assert g.stop().startswith("killed")  # idempotent
    assert not [p for p in procs if pid_running(p)]


def test_stop_tolerates_a_closed_channel_on_a_live_vm(fake):
    g = fake("ok")
    procs = _descendants(g.machine.pid)
    g.machine.control.close()  # the channel dies, the VM lives on
    how = g.stop()
    assert how.startswith("killed")
    assert not [p for p in procs if pid_running(p)]


def test_qemu_runs_in_its_own_process_group(fake):
    import os
    g = fake("ok")
    try:
        assert os.getpgid(g.machine.pid) == g.machine.pid != os.getpgid(0)
        assert os.getsid(g.machine.pid) != os.getsid(0)
    finally:
        g.stop()


def test_stop_while_ctrl_c_unwinds_kills_without_a_poweroff(fake):
    """Guest.boot's clean-up after Ctrl-C: no poweroff request (it could wait a whole request
    timeout on an agent not yet up), the VM killed, nothing left."""
    g = fake("hang")  # reply 2, the poweroff's, would never come
    procs = _descendants(g.machine.pid)
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        how = g.stop()
    assert how == "killed (interrupted)"
    assert " poweroff" not in (g.run_dir / "agent.log").read_text()  # no request sent
    assert not [p for p in procs if pid_running(p)]
