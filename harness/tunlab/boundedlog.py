"""Log files with a size cap, for everything a guest sends (console log, agent log).

A guest can print without end (a flood wrote 345 MB of console log in 5 s). A BoundedLog
keeps the first `limit` bytes, then a marker line, then drops further output but remembers
its last TAIL_KEEP bytes, which close() appends after a second marker: so a capped log still
ends with what the guest said last (a panic after a flood). Caps (documented defaults, in MB,
overridable from the environment, validated where read):

    TUNLAB_CONSOLE_LOG_MB   32   console.log of a guest, and of each test's section
    TUNLAB_AGENT_LOG_MB     16   agent.log of a guest, and of each test's section

A full disk (ENOSPC) raises DiskFull naming the file.
"""

from __future__ import annotations

import errno
import math
import os
from pathlib import Path

from tunlab.errors import DiskFull, SettingError

MB = 1024 * 1024
CONSOLE_LOG_ENV, CONSOLE_LOG_MB = "TUNLAB_CONSOLE_LOG_MB", 32.0
AGENT_LOG_ENV, AGENT_LOG_MB = "TUNLAB_AGENT_LOG_MB", 16.0
SIZE_MB_MIN, SIZE_MB_MAX = 0.01, 100000.0
TAIL_KEEP = 64 * 1024  # bytes of the dropped output kept for the end of a capped log


def size_setting(env: str, default_mb: float) -> int:
    """A size in bytes from environment variable `env` (in MB), or `default_mb`; a bad value
    is a one-line SettingError."""
    text = os.environ.get(env, "").strip()
    if not text:
        return int(default_mb * MB)
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not SIZE_MB_MIN <= value <= SIZE_MB_MAX:
        raise SettingError(f"{env}={text[:40]!r} is not a size in MB from {SIZE_MB_MIN:g} to "
                           f"{SIZE_MB_MAX:g} (default {default_mb:g})")
    return int(value * MB)


def console_log_max() -> int:
    return size_setting(CONSOLE_LOG_ENV, CONSOLE_LOG_MB)


def agent_log_max() -> int:
    return size_setting(AGENT_LOG_ENV, AGENT_LOG_MB)


def raise_if_disk_full(e: OSError, path: object, what: str = "writing") -> None:
    """Turn ENOSPC (and EDQUOT, a full quota) into DiskFull naming `path`."""
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        raise DiskFull(path, what) from None


class BoundedLog:
    """An append-only binary log of at most about `limit` + TAIL_KEEP bytes. Writes go
    straight to the file (no buffer), so what was written is on disk for readers."""

    def __init__(self, path: Path, limit: int, setting: str = "") -> None:
        self.path = path
        self.limit = limit
        self.setting = setting  # the environment variable that sets the cap, for the marker
        self.written = 0    # bytes of guest output written (markers not counted)
        self.dropped = 0    # bytes of guest output over the cap
        self._tail = bytearray()
        try:
            self._f = open(path, "ab", buffering=0)
        except OSError as e:
            raise_if_disk_full(e, path, "creating")
            raise

    @property
    def truncated(self) -> bool:
        return self.dropped > 0

    def _put(self, data: bytes) -> None:
        try:
            view = memoryview(data)
            while view:
                view = view[self._f.write(view):]
        except OSError as e:
            raise_if_disk_full(e, self.path)
            raise

    def write(self, data: bytes) -> None:
        if self._f.closed or not data:
            return
        room = self.limit - self.written
        if room > 0:
            head = data[:room]
            self._put(head)
            self.written += len(head)
            data = data[room:]
            if not data:
                return
        if not self.dropped:
            how = f" ({self.setting})" if self.setting else ""
            self._put(f"\n[tunlab: log capped at {self.limit} bytes{how}; later output is "
                      f"dropped, its last {TAIL_KEEP} bytes are kept for the end]\n".encode())
        self.dropped += len(data)
        self._tail += data[-TAIL_KEEP:]
        if len(self._tail) > 2 * TAIL_KEEP:
            del self._tail[:-TAIL_KEEP]

    def close(self) -> None:
        """Append the end of what was dropped, then close (idempotent). A full disk here is
        not an error: the log is as complete as it can be."""
        if self._f.closed:
            return
        try:
            if self.dropped:
                tail = bytes(self._tail[-TAIL_KEEP:])
                self._put(f"\n[tunlab: {self.dropped} bytes over the cap were dropped; the last "
                          f"{len(tail)} follow]\n".encode() + tail)
        except (OSError, DiskFull):
            pass
        finally:
            try:
                self._f.close()
            except OSError:
                pass
