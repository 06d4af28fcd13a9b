"""The process backend (the kpi target's "guest"): the real agent over its stdin/stdout,
stderr as the console, and crashes reported from it as from a VM console."""

import sys

import pytest

from tunlab.errors import GuestCrash
from tunlab.guest import Guest
from tunlab.image_linux import build_agent
from tunlab.machine import GuestSpec
from tunlab.paths import BUILD

AGENT = BUILD / "agent" / "tunlab-agent"


@pytest.fixture
def agent_spec():
    build_agent()  # a build failure is an error of the run, not a skip
    return GuestSpec(target="kpi", name="agent-stdio", program=(str(AGENT), "--stdio"))


def test_agent_over_pipes_boots_answers_and_powers_off(agent_spec, tmp_path):
    g = Guest.boot(agent_spec, backend="process", run_dir=tmp_path)
    try:
        assert g.hello["proto"] == "1"
        g.agent.request("nop")
    finally:
        how = g.stop()
    assert how == "powered off"
    assert not g.machine.alive()
    assert "hello" in (tmp_path / "agent.log").read_text()


def _fake_kernel(tmp_path, stderr_text):
    """A stand-in "agent" that announces itself, then prints `stderr_text` on its console."""
    script = tmp_path / "fake.py"
    script.write_text(
        "import sys, time\n"
        "print('TL1 0 log msg=ready', flush=True)\n"
        "line = sys.stdin.readline()\n"
        "print('TL1 ' + line.split()[1] + ' ok proto=1', flush=True)\n"
        "sys.stdin.readline()\n"
        f"sys.stderr.write({stderr_text!r}); sys.stderr.flush()\n"
        "time.sleep(30)\n")
    return GuestSpec(target="kpi", name="fake", program=(sys.executable, str(script)))


@pytest.mark.parametrize("text,kind", [
    ("panic: tun: mbuf chain corrupt\ncpuid = 0\n", "panic"),
    ("==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x6\n", "asan"),
    ("if_tun.c:412:9: runtime error: signed integer overflow\n", "ubsan"),
])
def test_kernel_half_crash_is_reported(tmp_path, text, kind):
    g = Guest.boot(_fake_kernel(tmp_path, text), backend="process", run_dir=tmp_path)
    try:
        with pytest.raises(GuestCrash) as e:
            g.agent.request("nop", timeout=10)
        assert e.value.kind == kind
    finally:
        g.stop()
    assert not g.machine.alive()
