"""A serial port's chardev on two FIFOs, relayed to the stream socket the harness reads: the
transport of a guest in QEMU's record or replay mode (replay.py), in place of the socket
chardev every other guest has (qemu.py).

Why: QEMU's 16550 hands every byte the guest sends to its chardev in a write of its own. On a
unix stream socket each such write is a buffer the kernel charges at about 770 bytes against
QEMU's 208 KB send buffer, so some 278 unread bytes fill it and the next write fails (EAGAIN).
The UART then retries from a main-loop watch, at a moment the recording does not hold, and the
replay stops with "Missing character write event in the replay log": measured, a 300-byte
reply the harness read 0.3 s late made every replay diverge, and a loaded machine did the same
now and then. In a FIFO one-byte writes share pages: it holds 64 KB with nobody reading, 1 MB
after F_SETPIPE_SZ (unprivileged up to fs.pipe-max-size), more than a whole agent frame.

QEMU's `-chardev pipe,path=P` reads P.in and writes P.out (it opens both read-write, so its
opens never wait). One relay thread per direction moves bytes between the FIFOs and a
socketpair whose other end is what Machine.console/control are, so nothing above changes.
The relay's socket writes are large, so the socketpair holds 200 KB of the guest's output
too before the relay waits, and while it waits the FIFO keeps taking the guest's bytes.
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import socket
import threading
import time
from pathlib import Path
from typing import Callable

from tunlab.console import start_quiet_thread
from tunlab.errors import GuestDied

PIPE_BYTES = 1 << 20   # what the guest may send with nobody reading (F_SETPIPE_SZ, best effort)
POLL_S = 0.2           # how often a relay thread looks whether it was told to stop
CHUNK = 65536


def _grow_pipe(fd: int) -> int:
    """Make the pipe hold PIPE_BYTES, or as much as fs.pipe-max-size allows an unprivileged
    process; returns its size (64 KB where even that is refused)."""
    for size in (PIPE_BYTES, _pipe_max()):
        try:
            return fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, min(size, PIPE_BYTES))
        except OSError:
            continue
    return fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)


def _pipe_max() -> int:
    try:
        return int(Path("/proc/sys/fs/pipe-max-size").read_text())
    except (OSError, ValueError):
        return 65536


class FifoPort:
    """One serial port: `path`.in (to the guest) and `path`.out (from it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fifo_in = Path(f"{path}.in")
        self.fifo_out = Path(f"{path}.out")
        for p in (self.fifo_in, self.fifo_out):
            os.mkfifo(p, 0o600)
        self.pipe_bytes = 0
        self._fds: list[int] = []
        self._relay: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()

    def connect(self, alive: Callable[[], bool], deadline: float, describe: Callable[[], str]
                ) -> socket.socket:
        """Wait until QEMU has opened the port (its .in has a reader), start the relay and
        return the harness's end of it. Raises GuestDied when QEMU exits or the deadline
        passes first."""
        while True:
            try:
                wfd = os.open(self.fifo_in, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
                break
            except OSError as e:
                if e.errno != errno.ENXIO:  # ENXIO: no reader yet, QEMU has not opened it
                    raise
            if not alive():
                raise GuestDied(f"QEMU exited at start-up: {describe()}")
            if time.monotonic() > deadline:
                raise GuestDied(f"QEMU did not open its serial port {self.path}.in/.out in time "
                                f"({describe()})")
            time.sleep(0.02)
        rfd = os.open(self.fifo_out, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        self._fds = [wfd, rfd]
        self.pipe_bytes = _grow_pipe(rfd)
        os.set_blocking(wfd, True)  # QEMU takes what the ack window lets through: never long
        mine, self._relay = socket.socketpair()
        for name, fn in (("out", self._from_guest), ("in", self._to_guest)):
            t = threading.Thread(target=fn, args=(rfd if name == "out" else wfd,),
                                 name=f"fifo-{name}:{self.path.name}", daemon=True)
            start_quiet_thread(t)
            self._threads.append(t)
        return mine

    def _from_guest(self, rfd: int) -> None:
        relay = self._relay
        assert relay is not None
        try:
            while not self._stop.is_set():
                r, _, _ = select.select([rfd], [], [], POLL_S)
                if not r:
                    continue
                chunk = os.read(rfd, CHUNK)
                if not chunk:  # QEMU closed it: it has exited
                    break
                relay.sendall(chunk)
        except OSError:  # the harness closed its end
            pass
        try:
            relay.shutdown(socket.SHUT_WR)  # the harness reads the end of the stream
        except OSError:
            pass

    def _to_guest(self, wfd: int) -> None:
        relay = self._relay
        assert relay is not None
        try:
            while chunk := relay.recv(CHUNK):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(wfd, view):]
        except OSError:  # EPIPE: QEMU has exited; or the relay was shut down
            pass

    def close(self) -> None:
        """Stop the relay (bounded: each thread sees the stop within POLL_S) and remove the
        FIFOs; idempotent."""
        self._stop.set()
        if self._relay is not None:
            try:
                self._relay.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self._threads:
            t.join(timeout=2 * POLL_S + 1)
        self._threads = []
        if self._relay is not None:
            self._relay.close()
            self._relay = None
        for fd in self._fds:
            os.close(fd)
        self._fds = []
        for p in (self.fifo_in, self.fifo_out):
            p.unlink(missing_ok=True)
