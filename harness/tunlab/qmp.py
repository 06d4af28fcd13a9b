"""A small QMP client (QEMU's JSON monitor protocol), enough to ask a running QEMU for its
state: `qmp_capabilities`, any command, and human-monitor commands (`info registers -a`)
through `human-monitor-command`. The qemu.qmp package is not in Debian 12, and this needs
little of it.

Every call is bounded: one deadline for connecting, the greeting and the reply, and at most
MAX_REPLY bytes read for one reply (a monitor's output is small; a larger one is cut and
said so). Events QEMU sends meanwhile are skipped.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

MAX_REPLY = 4 << 20  # bytes of one reply line


class QMPError(Exception):
    """The monitor could not be reached, broke the protocol, or answered an error."""


class QMPClient:
    """One connection to a QMP socket (QEMU serves one client at a time on it)."""

    def __init__(self, path: Path | str, timeout: float = 5.0) -> None:
        self.path = str(path)
        self.timeout = timeout
        self._buf = bytearray()
        self._id = 0
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.monotonic() + timeout
        try:
            self._sock.settimeout(timeout)
            self._sock.connect(self.path)
            greeting = self._read(deadline)
            if "QMP" not in greeting:
                raise QMPError(f"{self.path}: not a QMP greeting: {str(greeting)[:200]}")
            self._command("qmp_capabilities", None, deadline)
        except OSError as e:
            self.close()
            raise QMPError(f"QMP socket {self.path}: {e.strerror or e}") from None
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> "QMPClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass

    # -- the wire -------------------------------------------------------------------------
    def _read(self, deadline: float) -> dict[str, Any]:
        """The next JSON object QEMU sends (one per line)."""
        while True:
            nl = self._buf.find(b"\n")
            if nl >= 0:
                line = bytes(self._buf[:nl])
                del self._buf[:nl + 1]
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except ValueError:
                    raise QMPError(f"{self.path}: not JSON: {line[:200]!r}") from None
                if not isinstance(obj, dict):
                    raise QMPError(f"{self.path}: not a JSON object: {line[:200]!r}")
                return obj
            if len(self._buf) > MAX_REPLY:
                raise QMPError(f"{self.path}: a reply over {MAX_REPLY} bytes")
            left = deadline - time.monotonic()
            if left <= 0:
                raise QMPError(f"{self.path}: no reply within {self.timeout:.1f} s")
            self._sock.settimeout(left)
            try:
                chunk = self._sock.recv(65536)
            except socket.timeout:
                raise QMPError(f"{self.path}: no reply within {self.timeout:.1f} s") from None
            if not chunk:
                raise QMPError(f"{self.path}: QEMU closed the monitor connection")
            self._buf += chunk

    def _command(self, name: str, arguments: dict[str, Any] | None, deadline: float) -> Any:
        self._id += 1
        msg: dict[str, Any] = {"execute": name, "id": self._id}
        if arguments:
            msg["arguments"] = arguments
        self._sock.settimeout(max(0.01, deadline - time.monotonic()))
        self._sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            obj = self._read(deadline)
            if "event" in obj:
                continue
            if obj.get("id") not in (None, self._id):
                continue  # a reply to an earlier command that timed out
            if "error" in obj:
                err = obj["error"] if isinstance(obj["error"], dict) else {}
                raise QMPError(f"{name}: {err.get('class', 'error')}: {err.get('desc', obj['error'])}")
            if "return" in obj:
                return obj["return"]

    # -- commands -------------------------------------------------------------------------
    def execute(self, name: str, arguments: dict[str, Any] | None = None,
                timeout: float | None = None) -> Any:
        """Run a QMP command; its `return` value. Raises QMPError."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        try:
            return self._command(name, arguments, deadline)
        except OSError as e:
            raise QMPError(f"QMP socket {self.path}: {e.strerror or e}") from None

    def hmp(self, command: str, timeout: float | None = None) -> str:
        """A human-monitor command (`info registers -a`, `info status`); its text output."""
        out = self.execute("human-monitor-command", {"command-line": command}, timeout)
        return out if isinstance(out, str) else json.dumps(out)


def hmp(path: Path | str, command: str, timeout: float = 5.0) -> str:
    """Connect, run one human-monitor command, disconnect."""
    with QMPClient(path, timeout) as q:
        return q.hmp(command)
