"""The harness's own failure handling against a real guest: a kernel panic, a silent agent
and a malformed reply are each reported as such, and no QEMU process is left behind."""

import time

import pytest

from tunlab.errors import AgentTimeout, GuestCrash, ProtocolError
from tunlab.machine import pid_running

pytestmark = [pytest.mark.target("linux"), pytest.mark.vm]


def test_kernel_panic_is_reported_with_its_text(fresh_guest):
    pid = fresh_guest.machine.pid
    t0 = time.monotonic()
    with pytest.raises(GuestCrash) as e:
        fresh_guest.agent.request("debug", op="panic", timeout=fresh_guest.timeouts.crash_report)
    took = time.monotonic() - t0
    assert e.value.kind == "panic"
    assert "sysrq triggered crash" in str(e.value)
    assert "console tail" in str(e.value)
    print(f"panic reported after {took:.2f} s")
    # With panic=-1 and -no-reboot the VM ends on its own.
    assert fresh_guest.machine.wait_exit(fresh_guest.timeouts.poweroff)
    fresh_guest.stop()
    assert not pid_running(pid)


def test_silent_agent_times_out_with_a_clear_message(fresh_guest):
    pid = fresh_guest.machine.pid
    with pytest.raises(AgentTimeout) as e:
        fresh_guest.agent.request("debug", op="stall", ms=5000, timeout=1.0)
    assert "did not answer 'debug'" in str(e.value) and "within 1.0 s" in str(e.value)
    assert str(fresh_guest.run_dir) in str(e.value)  # it says where the logs are
    fresh_guest.stop()
    assert not pid_running(pid)


def test_malformed_reply_is_caught_and_named(fresh_guest):
    pid = fresh_guest.machine.pid
    with pytest.raises(ProtocolError) as e:
        fresh_guest.agent.request("debug", op="garble")
    assert "malformed" in str(e.value)
    fresh_guest.stop()
    assert not pid_running(pid)


def test_clean_poweroff_prints_the_sentinel(fresh_guest):
    pid = fresh_guest.machine.pid
    assert fresh_guest.stop() == "powered off"
    assert not pid_running(pid)
