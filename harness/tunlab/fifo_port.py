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
The guest's side is read as soon as QEMU writes, into a copy (the control channel's, which
a replay compares) and a buffer the harness takes when it reads, in as few sends as it can.
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
from typing import BinaryIO, Callable

from tunlab.console import start_quiet_thread
from tunlab.errors import GuestDied

PIPE_BYTES = 1 << 20   # what the guest may send with nobody reading (F_SETPIPE_SZ, best effort)
COPY_MAX = 64 << 20    # the most of a port's output copied to a file (replay compares it)
RELAY_MAX = 64 << 20   # the most read from the FIFO and not yet taken by the harness
SEND_GRACE = 0.5       # close(): how long the harness may take to read the last output
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
    """One serial port: `path`.in (to the guest) and `path`.out (from it). Made before QEMU
    starts: the harness's reading end of .out is open from then on, so that QEMU's exit is
    an end of file whenever it comes (a FIFO reader that opened after the last writer left
    would never see one)."""

    def __init__(self, path: Path, copy_to: Path | None = None) -> None:
        """`copy_to`: a file that gets the first COPY_MAX bytes of the guest's output too
        (removed if writing it fails: no copy rather than a short one)."""
        self.path = path
        self.copy_to = copy_to
        self.fifo_in = Path(f"{path}.in")
        self.fifo_out = Path(f"{path}.out")
        self._fds: dict[str, int] = {}
        self._relay: socket.socket | None = None
        self._threads: dict[str, threading.Thread] = {}
        self._stop = threading.Event()
        self._eof = threading.Event()   # QEMU's output has ended, and all of it is read
        for p in (self.fifo_in, self.fifo_out):
            os.mkfifo(p, 0o600)
        self._fds["out"] = os.open(self.fifo_out, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        self.pipe_bytes = _grow_pipe(self._fds["out"])

    def connect(self, alive: Callable[[], bool], deadline: float, describe: Callable[[], str]
                ) -> socket.socket:
        """Wait until QEMU has opened the port (its .in has a reader), start the relay and
        return the harness's end of it. Raises GuestDied when QEMU exits or the deadline
        passes first."""
        while True:
            try:
                self._fds["in"] = os.open(self.fifo_in, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
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
        copy = open(self.copy_to, "wb") if self.copy_to else None
        mine, self._relay = socket.socketpair()
        for name, fn, args in (("out", self._from_guest, (copy,)), ("in", self._to_guest, ())):
            t = threading.Thread(target=fn, args=(self._fds[name], self._relay, *args),
                                 name=f"fifo-{name}:{self.path.name}", daemon=True)
            self._threads[name] = t
            start_quiet_thread(t)
        return mine

    def _from_guest(self, rfd: int, relay: socket.socket, copy: BinaryIO | None) -> None:
        """Read the FIFO as soon as QEMU writes, whether or not the harness reads: into the
        copy, and into `pending`, which goes to the harness in as few sends as it will take
        (one send per byte would fill the socketpair after a few hundred bytes again)."""
        pending = bytearray()
        room = COPY_MAX
        try:
            while not self._stop.is_set() and not (self._eof.is_set() and not pending):
                want_read = not self._eof.is_set() and len(pending) < RELAY_MAX
                r, w, _ = select.select([rfd] if want_read else [], [relay] if pending else [],
                                        [], POLL_S)
                if r:
                    try:
                        chunk = os.read(rfd, CHUNK)
                    except BlockingIOError:
                        chunk = None
                    if chunk == b"":  # every writer has gone: QEMU has exited
                        if copy:
                            self._end_copy(copy)
                            copy = None
                        self._eof.set()
                    elif chunk:
                        if copy and room > 0:
                            try:
                                room -= copy.write(chunk[:room])
                            except OSError:  # a full disk: no copy; the relay goes on
                                self._end_copy(copy, failed=True)
                                copy = None
                        pending += chunk
                if w and pending:
                    try:
                        del pending[:relay.send(pending, socket.MSG_DONTWAIT)]
                    except BlockingIOError:
                        pass
        except OSError:  # the harness closed its end
            pass
        finally:
            if copy:
                self._end_copy(copy)
        try:
            relay.shutdown(socket.SHUT_WR)  # the harness reads the end of the stream
        except OSError:
            pass

    def _end_copy(self, copy: BinaryIO, failed: bool = False) -> None:
        """Close the copy; remove it if writing it failed (no copy rather than a short one)."""
        try:
            copy.close()
        except OSError:
            failed = True
        if failed and self.copy_to:
            self.copy_to.unlink(missing_ok=True)

    def _to_guest(self, wfd: int, relay: socket.socket) -> None:
        try:
            while chunk := relay.recv(CHUNK):
                view = memoryview(chunk)
                while view and not self._stop.is_set():
                    if not select.select([], [wfd], [], POLL_S)[1]:
                        continue
                    try:
                        view = view[os.write(wfd, view):]
                    except BlockingIOError:  # room for less than an atomic write: wait
                        continue
        except OSError:  # EPIPE: QEMU has exited; or the relay was shut down
            pass

    def close(self, drain_s: float = 2.0) -> None:
        """Stop the relay and remove the FIFOs; idempotent. What QEMU wrote before it exited
        is read into the copy first (up to `drain_s`), and passed on to a harness that is
        reading (up to SEND_GRACE more); then each thread sees the stop within POLL_S. An fd
        whose thread is still blocked is left open rather than closed under it."""
        out = self._threads.get("out")
        if out is not None:
            self._eof.wait(drain_s)
            out.join(timeout=SEND_GRACE)
        self._stop.set()
        if self._relay is not None:
            try:
                self._relay.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for name, t in list(self._threads.items()):
            t.join(timeout=2 * POLL_S + 1)
            if not t.is_alive():
                del self._threads[name]
        if self._relay is not None and not self._threads:
            self._relay.close()
            self._relay = None
        for name, fd in list(self._fds.items()):
            if name not in self._threads:
                os.close(fd)
                del self._fds[name]
        for p in (self.fifo_in, self.fifo_out):
            p.unlink(missing_ok=True)
