"""The console watcher: keeps all of a guest's COM1 output in a log and turns panics, oopses,
traps and silence into failures that carry the console tail."""

from __future__ import annotations

import collections
import re
import socket
import threading
import time
from pathlib import Path
from typing import BinaryIO, Callable

from tunlab.crash_patterns import PROMPTS, TABLES, match_crash
from tunlab.errors import GuestCrash, GuestDied

POWEROFF_SENTINEL = "TUNLAB-POWEROFF"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# After a crash line, how long to keep collecting console output before reporting, so that
# the report carries the panic's text and backtrace.
CRASH_GRACE = 1.0


class ConsoleWatcher:
    """Reads a guest console from a connected stream socket in a thread of its own."""

    def __init__(self, sock: socket.socket, log_path: Path, os_name: str,
                 echo: Callable[[str], None] | None = None) -> None:
        self.log_path = log_path
        self._sock = sock
        self._log: BinaryIO = open(log_path, "ab")
        self._section: BinaryIO | None = None
        self._table = TABLES[os_name]
        self._prompts = PROMPTS.get(os_name, [])
        self._echo = echo
        self._tail: collections.deque[str] = collections.deque(maxlen=400)
        self._partial = ""
        self._cond = threading.Condition()
        self.crash: tuple[str, str, float] | None = None  # kind, title, when
        self.powered_off = False
        self.eof = False
        self.lines_seen = 0
        self.last_output = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"console:{log_path.name}", daemon=True)
        self._thread.start()

    # -- the reading thread ---------------------------------------------------------------
    def _run(self) -> None:
        while True:
            try:
                chunk = self._sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            self._feed(chunk)
        with self._cond:
            if self._partial:
                self._line(self._partial)
                self._partial = ""
            self.eof = True
            self._cond.notify_all()

    def _feed(self, chunk: bytes) -> None:
        self._log.write(chunk)
        self._log.flush()
        with self._cond:
            if self._section:
                self._section.write(chunk)
                self._section.flush()
            self.last_output = time.monotonic()
            text = self._partial + _ANSI.sub("", chunk.decode("utf-8", "replace")).replace("\r", "")
            *lines, self._partial = text.split("\n")
            for line in lines:
                self._line(line)
            hit = match_crash(self._prompts, self._partial) if self._prompts else None
            if hit and not self.crash:
                self.crash = (hit[0], hit[1], time.monotonic())
            self._cond.notify_all()

    def _line(self, line: str) -> None:
        self._tail.append(line)
        self.lines_seen += 1
        if self._echo:
            self._echo(line)
        if POWEROFF_SENTINEL in line:
            self.powered_off = True
        if not self.crash:
            hit = match_crash(self._table, line)
            if hit:
                self.crash = (hit[0], hit[1], time.monotonic())

    # -- for the harness ------------------------------------------------------------------
    def tail(self, lines: int = 40) -> str:
        with self._cond:
            rows = list(self._tail)[-lines:]
            if self._partial:
                rows.append(self._partial)
        return "\n".join(rows)

    def lines(self) -> list[str]:
        with self._cond:
            return list(self._tail)

    def send(self, data: bytes) -> None:
        """Type on the console (loader prompts, an installer's questions)."""
        self._sock.sendall(data)

    def begin_section(self, path: Path | None) -> None:
        """Also copy the console, from now on, to `path` (a per-test log); None stops."""
        with self._cond:
            if self._section:
                self._section.close()
            self._section = open(path, "ab") if path else None

    def check(self) -> None:
        """Raise GuestCrash once a crash has been seen (after a short grace that lets the
        panic text arrive)."""
        if not self.crash:
            return
        kind, title, when = self.crash
        with self._cond:
            self._cond.wait_for(lambda: self.eof, timeout=max(0.0, when + CRASH_GRACE - time.monotonic()))
        raise GuestCrash(
            f"guest kernel {kind}: {title}\n--- console tail ({self.log_path}) ---\n{self.tail(60)}",
            kind, title)

    def wait_for(self, pattern: str | re.Pattern[str], timeout: float,
                 alive: Callable[[], bool] = lambda: True) -> str:
        """Wait for a console line matching `pattern`; fail on a crash, on the console's end,
        or when `timeout` seconds pass. Returns the line."""
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            with self._cond:
                rows = list(self._tail)
                start = max(0, len(rows) - (self.lines_seen - seen))
                for line in rows[start:]:
                    if rx.search(line):
                        return line
                seen = self.lines_seen
                ended = self.eof
            self.check()
            if ended or not alive():
                raise GuestDied(f"guest console ended while waiting for /{rx.pattern}/\n"
                                f"--- console tail ({self.log_path}) ---\n{self.tail()}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise GuestDied(f"no console line matching /{rx.pattern}/ within {timeout:.0f} s "
                                f"(last output {time.monotonic() - self.last_output:.1f} s ago)\n"
                                f"--- console tail ({self.log_path}) ---\n{self.tail()}")
            with self._cond:
                self._cond.wait(timeout=min(left, 0.2))

    def wait_eof(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.eof, timeout=timeout)

    def close(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._thread.join(timeout=2)
        self._sock.close()
        with self._cond:
            if self._section:
                self._section.close()
                self._section = None
            self._log.close()
