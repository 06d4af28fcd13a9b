"""The control client: requests to the guest agent and their replies over one byte stream
(COM2 of a VM, or the agent's pipes on the kpi target), with a transcript kept as the
agent log.

Bounded against a broken agent: the agent log is capped (boundedlog.py, TUNLAB_AGENT_LOG_MB,
default 16, a marker where cut), a line is at most MAX_FRAME bytes, noise (lines that are not
frames) is at most NOISE_MAX bytes while waiting for one reply, and guest text is escaped in
the log and in every message (safetext.py)."""

from __future__ import annotations

import os
import select
import threading
import time
from pathlib import Path
from typing import Callable

from tunlab import safetext
from tunlab.boundedlog import AGENT_LOG_ENV, BoundedLog, agent_log_max
from tunlab.errors import AgentError, AgentTimeout, DiskFull, ProtocolError
from tunlab.protocol import MAX_FRAME, MAX_ID, Frame, Value, decode_frame, encode_request, is_frame

_LOG_VALUE_MAX = 96  # longer values (packet blobs) are shortened in the transcript
NOISE_MAX = 1 << 20  # bytes of non-frame lines tolerated while waiting for one reply
EXCHANGES_MAX_BYTES = 64 << 20  # the section's full requests and replies kept for repro files
ACK = b"\x06"  # the agent's acknowledgement of input (docs/protocol.md, "Acknowledged input")


class Exchange:
    """One request of the current section as sent (its full line, id included) and the
    reply line that answered it ("" when none came: a timeout or a broken channel)."""

    __slots__ = ("request", "reply")

    def __init__(self, request: str, reply: str = "") -> None:
        self.request = request
        self.reply = reply


def _shorten(line: str) -> str:
    parts = []
    for token in line.split(" "):
        key, sep, value = token.partition("=")
        if sep and len(value) > _LOG_VALUE_MAX:
            token = f"{key}={value[:_LOG_VALUE_MAX]}...({len(value)} chars)"
        parts.append(token)
    return " ".join(parts)


class AgentClient:
    """Speaks docs/protocol.md. `liveness` is called while waiting and raises when the
    guest has crashed or died, so no wait outlives the guest."""

    def __init__(self, rfd: int, wfd: int, log_path: Path, default_timeout: float,
                 liveness: Callable[[], None] = lambda: None, where: str = "",
                 on_close: Callable[[], None] = lambda: None,
                 on_timeout: Callable[[], str] = lambda: "") -> None:
        self._rfd = rfd
        self._wfd = wfd
        self._buf = bytearray()
        self._next_id = 1
        self._lock = threading.Lock()
        self.default_timeout = default_timeout
        self.liveness = liveness
        self.on_close = on_close  # called when the channel ends; may raise a better error
        self.on_timeout = on_timeout  # called when a reply is late: more text for the error
        self.where = where  # named in timeout messages: which logs to look at
        self.log_path = log_path
        self.log_max = agent_log_max()
        self._log: BoundedLog | None = BoundedLog(log_path, self.log_max, AGENT_LOG_ENV)
        self._section: BoundedLog | None = None
        # The current section's exchanges in full (agent.log shortens long values), for
        # the repro file of a failing test (repro.py); capped at EXCHANGES_MAX_BYTES.
        self.exchanges: list[Exchange] = []
        self.exchanges_capped = False
        self._exchange_bytes = 0
        self.disk_full: DiskFull | None = None  # set once writing the log failed
        self._noise = 0  # bytes of noise since the last frame
        # Set after a timeout or a protocol error: replies may then be out of step with
        # requests, so the channel is not used again.
        self.failed = ""
        # Acknowledged input (docs/protocol.md): an agent whose hello says ack=N sends an
        # ACK byte per N bytes it has read; then at most N bytes are sent unacknowledged.
        self.ack_window = 0
        self._sent = 0  # bytes written to the agent, ever
        self._acks = 0  # ACK bytes it sent, ever

    # -- logging --------------------------------------------------------------------------
    def note(self, text: str) -> None:
        """Append a line to the transcript. A full disk raises DiskFull once; after that the
        transcript is not written (so clean-up can go on)."""
        if self.disk_full:
            return
        stamp = time.strftime("%H:%M:%S") + f".{int(time.time() * 1000) % 1000:03d}"
        row = f"{stamp} {safetext.escape(text, newlines=False)}\n".encode("utf-8", "backslashreplace")
        for f in (self._log, self._section):
            if f:
                try:
                    f.write(row)
                except DiskFull as e:
                    self.disk_full = e
                    raise

    def begin_section(self, path: Path | None) -> None:
        """Also copy the transcript, from now on, to `path` (a per-test agent log, capped
        like the guest's)."""
        if self._section:
            self._section.close()
        self._section = BoundedLog(path, self.log_max, AGENT_LOG_ENV) if path else None
        self.clear_exchanges()

    def clear_exchanges(self) -> None:
        """Forget the exchanges kept so far (a new section, a new fuzz program)."""
        self.exchanges = []
        self.exchanges_capped = False
        self._exchange_bytes = 0

    def _record(self, request: str) -> Exchange | None:
        self._exchange_bytes += len(request)
        if self._exchange_bytes > EXCHANGES_MAX_BYTES:
            self.exchanges_capped = True
            return None
        ex = Exchange(request)
        self.exchanges.append(ex)
        return ex

    def _noise_line(self, line: str, what: str) -> None:
        """A line that is not a frame: logged (shortened); too much of it is a protocol error."""
        self._noise += len(line) + 1
        self.note("~~ " + line[:200])
        if self._noise > NOISE_MAX:
            self._noise = 0
            raise ProtocolError(f"the agent sent over {NOISE_MAX} bytes of lines that are not "
                                f"frames while {what}{self.where}")

    # -- the wire -------------------------------------------------------------------------
    def _send(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            room = len(view)
            if self.ack_window:
                room = min(room, self.ack_window - (self._sent - self._acks * self.ack_window))
                if room <= 0:  # wait for the agent to take in what is in flight
                    if not self._fill(deadline, "waiting for the agent to acknowledge input"):
                        raise AgentTimeout(f"the agent did not acknowledge its input within "
                                           f"the deadline{self.where}")
                    continue
            left = deadline - time.monotonic()
            if left <= 0:
                raise AgentTimeout(f"could not send to the agent within the deadline{self.where}")
            _, w, _ = select.select([], [self._wfd], [], min(left, 0.2))
            if w:
                try:
                    n = os.write(self._wfd, view[:room])
                except OSError as e:  # EPIPE, ECONNRESET: the guest end is gone
                    self._channel_failed(e, "sending")
                self._sent += n
                view = view[n:]
            else:
                self.liveness()

    def _read_line(self, deadline: float, what: str) -> str | None:
        """The next line from the agent, or None when the deadline passes."""
        while True:
            nl = self._buf.find(b"\n")
            if nl >= 0:
                line = bytes(self._buf[:nl]).decode("ascii", "replace").rstrip("\r")
                del self._buf[:nl + 1]
                return line
            if len(self._buf) >= MAX_FRAME:
                self.note(f"!! a line over {MAX_FRAME} bytes: {bytes(self._buf[:120])!r}...")
                raise ProtocolError(f"agent sent a line over {MAX_FRAME} bytes while {what}: "
                                    f"{bytes(self._buf[:120])!r}...{self.where}")
            if not self._fill(deadline, what):
                return None

    def _fill(self, deadline: float, what: str) -> bool:
        """Wait (up to 0.1 s) for bytes from the agent and buffer them, counting and
        dropping ACK bytes. False once the deadline has passed."""
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([self._rfd], [], [], min(left, 0.1))
        if r:
            try:
                chunk = os.read(self._rfd, 65536)
            except OSError as e:
                self._channel_failed(e, what)
            if not chunk:
                self.on_close()
                raise ProtocolError(f"the agent's channel closed while {what}{self.where}")
            acks = chunk.count(ACK)
            if acks:
                self._acks += acks
                chunk = chunk.replace(ACK, b"")
            self._buf += chunk
        else:
            self.liveness()
        return True

    def _channel_failed(self, e: OSError, what: str) -> None:
        """The channel broke under us (the VM died): the backend's explanation when it has
        one (on_close raises it), else a ProtocolError naming the OS error."""
        self.on_close()
        raise ProtocolError(f"the agent's channel failed while {what}: {e.strerror or e}{self.where}") from None

    def request(self, verb: str, timeout: float | None = None, check: bool = True,
                **args: Value) -> Frame:
        """Send one request and return its reply. An `err` reply raises AgentError unless
        check=False; silence beyond `timeout` raises AgentTimeout; a malformed frame raises
        ProtocolError. After either of those the channel refuses further requests."""
        with self._lock:
            if self.failed:
                raise ProtocolError(f"control channel not used after an earlier failure ({self.failed})")
            try:
                return self._request(verb, timeout, check, args)
            except (AgentTimeout, ProtocolError) as e:
                self.failed = str(e).splitlines()[0]
                raise

    def _request(self, verb: str, timeout: float | None, check: bool, args: dict[str, Value]) -> Frame:
        timeout = self.default_timeout if timeout is None else timeout
        req_id = self._next_id
        self._next_id = self._next_id % MAX_ID + 1
        data = encode_request(req_id, verb, args)
        deadline = time.monotonic() + timeout
        self.note(">> " + _shorten(data.decode().rstrip("\n")))
        ex = self._record(data.decode().rstrip("\n"))
        self._send(data, deadline)
        what = f"waiting for the reply to {verb!r} (id {req_id})"
        while True:
            line = self._read_line(deadline, what)
            if line is None:
                self.liveness()
                self.note(f"!! no reply to {verb} (id {req_id}) within {timeout:.1f} s")
                raise AgentTimeout(f"agent did not answer {verb!r} (id {req_id}) within "
                                   f"{timeout:.1f} s{self.where}{self.on_timeout()}")
            if not is_frame(line):
                self._noise_line(line, what)
                continue
            self._noise = 0
            self.note("<< " + _shorten(line))
            try:
                frame = decode_frame(line)
            except ProtocolError as e:
                raise ProtocolError(f"{e} (while {what}){self.where}") from None
            if frame.word == "log":
                continue
            if frame.id == 0 and frame.word == "err":
                raise ProtocolError(f"agent rejected the {verb!r} request: {frame.error} "
                                    f"{safetext.one_line(frame.text('msg'))}{self.where}")
            if frame.id != req_id:
                raise ProtocolError(f"reply id {frame.id} does not match request id {req_id} "
                                    f"({verb}): {line[:200]!r}{self.where}")
            if verb == "hello" and frame.fields.get("ack", "").isdigit():
                self.ack_window = int(frame.fields["ack"])
            if ex is not None:
                self._exchange_bytes += len(line)
                ex.reply = line
            if check and not frame.ok:
                errno = int(frame.fields["errno"]) if frame.fields.get("errno", "").lstrip("-").isdigit() else None
                raise AgentError(verb, frame.error, errno, safetext.one_line(frame.text("msg"), 1000))
            return frame

    def send_raw(self, data: bytes) -> None:
        """Write bytes as they are (for tests of the agent's handling of bad input)."""
        with self._lock:
            self.note(">> (raw) " + _shorten(data.decode("ascii", "replace").rstrip("\n")))
            self._send(data, time.monotonic() + self.default_timeout)

    def read_frame(self, timeout: float) -> Frame | None:
        """The next frame the agent sends of its own accord (None when none comes)."""
        with self._lock:
            deadline = time.monotonic() + timeout
            while True:
                line = self._read_line(deadline, "waiting for a frame")
                if line is None:
                    return None
                if not is_frame(line):
                    self._noise_line(line, "waiting for a frame")
                    continue
                self._noise = 0
                self.note("<< " + _shorten(line))
                return decode_frame(line)

    def close(self) -> None:
        """Close the transcript (idempotent)."""
        for f in (self._section, self._log):
            if f:
                f.close()
        self._section = self._log = None
