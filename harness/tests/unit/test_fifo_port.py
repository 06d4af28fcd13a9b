"""fifo_port.py: the serial transport of a recorded or replayed guest. The test plays QEMU's
part of `-chardev pipe,path=P` itself: it opens P.in and P.out read-write, as QEMU does, and
writes one byte at a time, as QEMU's UART does."""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from pathlib import Path

import pytest

from tunlab.errors import GuestDied
from tunlab.fifo_port import FifoPort
from tunlab.machine import GuestSpec
from tunlab.qemu import qemu_command


def _qemu_side(port: FifoPort) -> tuple[int, int]:
    """What QEMU opens: (the fd it reads the guest's input from, the fd it writes to)."""
    rd = os.open(port.fifo_in, os.O_RDWR | os.O_NONBLOCK)
    wr = os.open(port.fifo_out, os.O_RDWR | os.O_NONBLOCK)
    return rd, wr


def _recv_exactly(sock: socket.socket, n: int, timeout: float = 10.0) -> bytes:
    sock.settimeout(timeout)
    got = bytearray()
    while len(got) < n:
        chunk = sock.recv(65536)
        if not chunk:
            break
        got += chunk
    return bytes(got)


def _read_while_qemu_writes(port: FifoPort, data: bytes, one_byte_writes: bool) -> bytes:
    """QEMU writes `data` and exits, the port is closed at once (Machine.kill), and a reader
    thread (like the console watcher) takes what the harness's end gives; returns that."""
    rd, wr = _qemu_side(port)
    mine = port.connect(lambda: True, time.monotonic() + 5, lambda: "test")
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(_recv_exactly(mine, 10**6)))
    reader.start()
    if one_byte_writes:
        for i in range(len(data)):
            os.write(wr, data[i:i + 1])
    else:
        os.write(wr, data)
    os.close(rd)
    os.close(wr)  # QEMU exits ...
    port.close()  # ... and is cleaned up at once
    reader.join(timeout=10)
    mine.close()
    return got[0] if got else b""


@pytest.fixture
def port(tmp_path: Path):
    p = FifoPort(tmp_path / "control")
    yield p
    p.close()


def test_one_byte_writes_with_nobody_reading_never_fail_and_arrive_in_order(port: FifoPort):
    """The reason for the FIFOs: 60,000 one-byte writes before the harness even connects (a
    unix socket refuses the 279th unread one), then 100,000 more while it does not read, all
    succeed at once; none is lost, and the harness reads them in order."""
    assert port.pipe_bytes >= 65536
    rd, wr = _qemu_side(port)
    try:
        data = bytes(i % 251 for i in range(160_000))
        for i in range(60_000):  # nothing relays yet: the FIFO alone holds them
            assert os.write(wr, data[i:i + 1]) == 1, f"write {i} failed"
        mine = port.connect(lambda: True, time.monotonic() + 5, lambda: "test")
        for i in range(60_000, len(data)):
            assert os.write(wr, data[i:i + 1]) == 1, f"write {i} failed"
        assert _recv_exactly(mine, len(data)) == data
        mine.close()
    finally:
        os.close(rd)
        os.close(wr)


def test_what_qemu_wrote_before_it_exited_reaches_the_harness_and_the_copy(tmp_path: Path):
    """Closing the port right after QEMU's exit (Machine.kill) still passes on everything
    QEMU wrote to a harness that reads (the console watcher does, all the time), and the
    copy (a recording's control.raw) holds the same bytes."""
    for n in range(5):
        port = FifoPort(tmp_path / f"c{n}", copy_to=tmp_path / f"c{n}.raw")
        data = os.urandom(5000)
        assert _read_while_qemu_writes(port, data, one_byte_writes=True) == data
        assert (tmp_path / f"c{n}.raw").read_bytes() == data


def test_the_copy_is_whole_even_when_the_harness_reads_nothing(tmp_path: Path):
    port = FifoPort(tmp_path / "c", copy_to=tmp_path / "c.raw")
    rd, wr = _qemu_side(port)
    mine = port.connect(lambda: True, time.monotonic() + 5, lambda: "test")
    data = os.urandom(20_000)
    for i in range(len(data)):
        os.write(wr, data[i:i + 1])
    os.close(rd)
    os.close(wr)
    t0 = time.monotonic()
    port.close()
    assert time.monotonic() - t0 < 5
    assert (tmp_path / "c.raw").read_bytes() == data
    mine.close()


def test_qemu_exiting_while_the_harness_connects_is_an_end_of_file(port: FifoPort):
    """QEMU opened its ports and died before the harness's relay started: the harness still
    sees the end of the stream (its reading end was open before QEMU started)."""
    rd, wr = _qemu_side(port)
    os.close(wr)
    mine = port.connect(lambda: True, time.monotonic() + 5, lambda: "test")
    os.close(rd)
    assert _recv_exactly(mine, 10, timeout=5) == b""
    mine.close()


def test_a_socket_chardev_refuses_a_few_hundred_unread_one_byte_writes():
    """The fact fifo_port.py rests on, checked on this kernel: a stream socket's sender can
    write only a few hundred one-byte buffers before the reader reads (so a UART writing to
    QEMU's socket chardev gets EAGAIN when the harness is a little late)."""
    a, b = socket.socketpair()
    a.setblocking(False)
    n = 0
    try:
        while n < 100_000:
            a.send(b"x")
            n += 1
    except BlockingIOError:
        pass
    finally:
        a.close()
        b.close()
    assert n < 100_000


def test_the_harness_input_reaches_qemu_and_qemus_exit_ends_the_stream(port: FifoPort):
    rd, wr = _qemu_side(port)
    mine = port.connect(lambda: True, time.monotonic() + 5, lambda: "test")
    try:
        mine.sendall(b"TL1 1 hello\n")
        deadline = time.monotonic() + 5
        got = b""
        while len(got) < 12 and time.monotonic() < deadline:
            if select.select([rd], [], [], 0.1)[0]:
                got += os.read(rd, 100)
        assert got == b"TL1 1 hello\n"
        os.write(wr, b"bye\n")
    finally:
        os.close(rd)
        os.close(wr)  # QEMU exits: its ends close
    assert _recv_exactly(mine, 100) == b"bye\n"   # then the end of the stream
    mine.close()


def test_connect_fails_when_qemu_exits_or_never_opens_the_port(port: FifoPort):
    with pytest.raises(GuestDied, match="exited at start-up: exit status 1"):
        port.connect(lambda: False, time.monotonic() + 5, lambda: "exit status 1")
    t0 = time.monotonic()
    with pytest.raises(GuestDied, match="did not open its serial port"):
        port.connect(lambda: True, time.monotonic() + 0.3, lambda: "still running")
    assert time.monotonic() - t0 < 3


def test_close_stops_the_relay_removes_the_fifos_and_can_be_repeated(port: FifoPort):
    rd, wr = _qemu_side(port)
    try:
        mine = port.connect(lambda: True, time.monotonic() + 5, lambda: "test")
        before = {t.name for t in threading.enumerate()}
        assert {"fifo-in:control", "fifo-out:control"} <= before
        t0 = time.monotonic()
        port.close()       # QEMU still has its ends open: the relay must stop anyway
        port.close()
        assert time.monotonic() - t0 < 3
        assert not {t.name for t in threading.enumerate()} & {"fifo-in:control", "fifo-out:control"}
        assert not port.fifo_in.exists() and not port.fifo_out.exists()
        mine.close()
    finally:
        os.close(rd)
        os.close(wr)


def test_a_guest_in_record_or_replay_mode_gets_pipe_chardevs_and_others_sockets(tmp_path: Path):
    base = GuestSpec(name="g", target="linux", kernel=tmp_path / "vmlinuz")

    def chardevs(spec: GuestSpec) -> list[str]:
        cmd = qemu_command(spec, "tcg", tmp_path / "console", tmp_path / "control")
        return [cmd[i + 1].split(",")[0] for i, a in enumerate(cmd) if a == "-chardev"]

    assert chardevs(base) == ["socket", "socket"]
    for mode in ("record", "replay"):
        spec = GuestSpec(name="g", target="linux", kernel=tmp_path / "vmlinuz",
                         icount=f"shift=7,rr={mode},rrfile={tmp_path / 'r.bin'}")
        assert chardevs(spec) == ["pipe", "pipe"]


def test_a_copy_that_cannot_be_written_is_removed_and_the_relay_goes_on(tmp_path: Path):
    """A full disk (a link to /dev/full) leaves no copy rather than a short one, which a
    replay would report as a difference; the harness still gets every byte."""
    link = tmp_path / "control.raw"
    link.symlink_to("/dev/full")
    port = FifoPort(tmp_path / "c", copy_to=link)
    data = os.urandom(20_000)
    assert _read_while_qemu_writes(port, data, one_byte_writes=False) == data
    assert not os.path.lexists(link) and os.path.exists("/dev/full")
