"""QEMU record/replay of a Linux guest (harness/tunlab/replay.py): requests after hello,
longer than the UART's 16-byte FIFO and sent to an idle guest, are answered in record mode,
and the recording replays with a byte-identical console."""

from __future__ import annotations

import time

import pytest

from tunlab import replay
from tunlab.guest import Guest
from tunlab.packets import icmp_echo

pytestmark = [pytest.mark.target("linux"), pytest.mark.vm]

LOCAL, PEER = "10.77.9.1", "10.77.9.2"


def test_requests_after_hello_are_answered_in_record_mode_and_replay_identically(guest_pool, test_logs):
    """Every request is answered (each is a checked reply) and the replay's console is
    byte-identical. The sleep before the first long request is what sets up the case the
    acknowledged input fixed (a long request reaching an idle guest's UART at once); it is
    best effort: a sleep cannot prove the vCPU halted. That cannot make the test pass
    wrongly: the assertions demand an answer to every request whatever the guest was doing,
    so a guest that was not idle only leaves that case unexercised here, and
    test_replay_pacing checks the client's side of it (never more than the window in flight)
    without a guest. The session is kept this short on purpose: longer ones (a second echo
    exchange, or ifinfo requests after the open) diverged on replay here ("Missing character
    write event", QEMU 7.2), a known limit README's step 5 states."""
    plan = guest_pool.plan()
    run_dir = test_logs / "recorded"
    spec = replay.record_spec(plan.spec, run_dir, "tcg")
    with Guest.boot(spec, backend="qemu", accel="tcg", run_dir=run_dir) as g:
        time.sleep(1.0)  # let the guest go idle (best effort, as above)
        dev = g.open_tun(nonblock=True, addr=f"{LOCAL}/32", peer=PEER)  # a request of 40+ bytes
        dev.write(icmp_echo(PEER, LOCAL, payload=b"z" * 300))             # one of 600+ bytes
        reply = dev.read(wait_ms=3000)
        assert reply[12:16] == bytes([10, 77, 9, 1]) and reply[16:20] == bytes([10, 77, 9, 2])
    replay.finish_recording(run_dir)
    res = replay.replay(run_dir)
    assert res["identical"], res
    assert res["recorded_bytes"] > 0 and not res["timed_out"]
