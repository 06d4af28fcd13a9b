"""No QEMU process outlives the run: not after Ctrl-C, not after the harness is killed."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tunlab.machine import pid_running

pytestmark = [pytest.mark.target("linux"), pytest.mark.vm]

REPO = Path(__file__).resolve().parents[3]


def _qemu_children(pid: int) -> list[int]:
    """QEMU processes whose parent is `pid`."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if name.startswith("qemu-system") and int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(d.name))
    return found


def _start_console_session() -> tuple[subprocess.Popen, list[int]]:
    """`tunlab console` waiting at its prompt, and its QEMU's pid."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "harness"))
    # SIGINT as a terminal's job has it, whatever this run inherited (a shell without job
    # control starts `cmd &` with SIGINT ignored, and tunlab then rightly ignores it too)
    proc = subprocess.Popen([sys.executable, "-m", "tunlab", "console"], cwd=REPO, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline().decode(errors="replace")
        if "agent ready" in line:
            qemus = _qemu_children(proc.pid)
            assert qemus, "tunlab console booted a guest but no QEMU child was found"
            return proc, qemus
        if not line and proc.poll() is not None:
            break
    proc.kill()
    pytest.fail("tunlab console did not get its guest ready")


def test_ctrl_c_stops_the_guest():
    proc, qemus = _start_console_session()
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert b"logs in" in out  # it went through its clean-up path and said where the logs are
    assert not any(pid_running(q) for q in qemus)


def test_killed_harness_takes_qemu_with_it():
    proc, qemus = _start_console_session()
    proc.kill()  # SIGKILL: no handler runs; PR_SET_PDEATHSIG must end QEMU
    proc.wait()
    deadline = time.monotonic() + 10
    while any(pid_running(q) for q in qemus) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(pid_running(q) for q in qemus)


def test_sigterm_stops_the_guest():
    proc, qemus = _start_console_session()
    proc.terminate()
    proc.communicate(timeout=30)
    assert not any(pid_running(q) for q in qemus)


def test_console_session_answers_typed_requests():
    proc, qemus = _start_console_session()
    out, _ = proc.communicate(b"hello\nnop\nbogus\nopen\n:quit\n", timeout=60)
    text = out.decode(errors="replace")
    assert "ok proto=1" in text
    assert "err ENOVERB" in text
    assert "ifname=tun0" in text
    assert "guest powered off" in text
    assert not any(pid_running(q) for q in qemus)
