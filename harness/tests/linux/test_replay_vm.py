"""QEMU record/replay of a Linux guest (harness/tunlab/replay.py): requests after hello,
longer than the UART's 16-byte FIFO and sent to an idle guest, are answered in record mode,
and a recorded session on a tun unit replays with a byte-identical console."""

from __future__ import annotations

import argparse
import time

import pytest

from tunlab import replay, repro
from tunlab.guest import Guest
from tunlab.packets import icmp_echo
from tunlab.protocol import encode_request

pytestmark = [pytest.mark.target("linux"), pytest.mark.vm]

LOCAL, PEER = "10.77.9.1", "10.77.9.2"


def test_long_requests_to_an_idle_recording_guest_are_answered(guest_pool, test_logs):
    """Requests longer than the UART's 16-byte FIFO, sent to an idle guest in record mode, are
    answered (each is a checked reply): before acknowledged input (docs/protocol.md) the first
    one after hello overran the FIFO and was never answered. The sleep that lets the guest go
    idle is best effort (a sleep cannot prove the vCPU halted), which cannot make the test pass
    wrongly: every request must be answered whatever the guest was doing; test_replay_pacing
    checks the client's side (never more than the window in flight) without a guest."""
    plan = guest_pool.plan()
    run_dir = test_logs / "recorded"
    spec = replay.record_spec(plan.spec, run_dir, "tcg")
    with Guest.boot(spec, backend="qemu", accel="tcg", run_dir=run_dir) as g:
        time.sleep(1.0)
        dev = g.open_tun(nonblock=True, addr=f"{LOCAL}/32", peer=PEER)  # a request of 40+ bytes
        dev.write(icmp_echo(PEER, LOCAL, payload=b"z" * 300))             # one of 600+ bytes
        reply = dev.read(wait_ms=3000)
        assert reply[12:16] == bytes([10, 77, 9, 1]) and reply[16:20] == bytes([10, 77, 9, 2])
    replay.finish_recording(run_dir)
    assert (run_dir / replay.RECORD_FILE).stat().st_size > 0


def test_a_recorded_tun_session_read_late_replays_with_a_byte_identical_console(guest_pool, test_logs):
    """A recorded session on a tun unit (open, address, echo exchanges of 1428-byte packets
    whose 2.9 KB replies the harness reads 0.5 s late) replays deterministically: the replay's
    console, to the power-off line, and every byte the agent sent equal the recording's. On
    QEMU's socket chardev a reply over about 278 bytes read late made the UART retry its
    write at a moment the recording does not hold, and the replay stopped with "Missing
    character write event" (fifo_port.py): this session diverged on every replay."""
    plan = guest_pool.plan()
    run_dir = test_logs / "recorded"
    spec = replay.record_spec(plan.spec, run_dir, "tcg")
    with Guest.boot(spec, backend="qemu", accel="tcg", run_dir=run_dir) as g:
        dev = g.open_tun(nonblock=True, addr=f"{LOCAL}/32", peer=PEER)
        for i in range(3):
            payload = bytes([0x41 + i]) * 1400
            dev.write(icmp_echo(PEER, LOCAL, payload=payload))
            g.agent.send_raw(encode_request(900 + i, "read", {"h": dev.h, "wait_ms": 3000}))
            time.sleep(0.5)  # the reply waits in the port, unread
            frame = g.agent.read_frame(60)
            assert frame is not None and frame.id == 900 + i and frame.ok, frame
            assert frame.bytes("data").endswith(payload)
    replay.finish_recording(run_dir)
    res = replay.replay(run_dir)
    assert res["identical"], res
    assert b"TUNLAB-POWEROFF" in (run_dir / "console.log").read_bytes() and not res["timed_out"]
    # the agent's bytes too: the three replies' 2,856 hex digits each, and the rest
    assert res["control_identical"] and res["control_recorded_bytes"] > 3 * 2856, res


def test_repro_record_keeps_a_recording_of_the_reproduction_that_replays_identically(guest_pool, tmp_path):
    """`tunlab repro FILE --record`: the repro's guest runs in record mode, the failure
    reproduces as it does unrecorded, and the replay's log directory keeps a recording that
    `tunlab replay` replays byte for byte (console and control channel)."""
    echo = icmp_echo(PEER, LOCAL, payload=b"r" * 600).hex()
    f = tmp_path / "repro.txt"
    f.write_text(f"{repro.FORMAT}\ntarget: linux\ndriver: ours\nfailure: error ENODEV\n--\n"
                 f"> open pi=0 nonblock=1\n< ok h=1 ifname=tun0\n"
                 f"> ifconfig ifname=tun0 addr={LOCAL}/32 peer={PEER} up=1\n< ok\n"
                 f"> write h=1 data={echo}\n< ok n=628\n"
                 f"> read h=1 wait_ms=3000\n< ok n=628\n"
                 f"> ifinfo ifname=nosuch0\n< err ENODEV\n")
    parser = argparse.ArgumentParser()
    repro.add_arguments(parser)
    logs = tmp_path / "logs"
    cfg = guest_pool.plan().config.with_(backend="qemu", accel="tcg")  # what record mode needs
    rc = repro.main(parser.parse_args([str(f), "--record", "--logs", str(logs)]), cfg, True, False)
    assert rc == 0  # REPRODUCED
    recorded = logs / "0001-replay"
    assert (recorded / replay.RECORD_FILE).stat().st_size > 0
    assert (recorded / replay.IMAGE_DIR).is_dir()  # kept with the image it booted
    res = replay.replay(recorded)
    assert res["identical"] and res["control_identical"] and not res["timed_out"], res
