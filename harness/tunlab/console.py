"""The console watcher: keeps all of a guest's COM1 output in a log and turns panics, oopses,
traps and silence into failures that carry the console tail."""

from __future__ import annotations

import codecs
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
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0-9A-Za-z]|\x1b[=>]")
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
        """Wait for console text matching `pattern`; fail on a crash, on the console's end,
        or when `timeout` seconds pass. Returns the line the match is on."""
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        cur = ConsoleCursor(self, alive)
        try:
            m = cur.expect(rx, timeout, f"/{rx.pattern}/")
        finally:
            cur.close()
        start = cur.text.rfind("\n", 0, m.start()) + 1
        end = cur.text.find("\n", m.end())
        return cur.text[start:end if end >= 0 else len(cur.text)]

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


class ConsoleCursor:
    """Reads a console watcher's raw log from an offset and matches text not yet consumed."""

    def __init__(self, watcher: ConsoleWatcher, alive: Callable[[], bool] = lambda: True,
                 from_start: bool = True) -> None:
        self.watcher = watcher
        self.alive = alive
        self._log = open(watcher.log_path, "rb")
        if not from_start:
            self._log.seek(0, 2)
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._raw = ""      # decoded text not yet cleaned (may end inside an escape sequence)
        self.text = ""      # everything read so far, cleaned
        self.pos = 0        # how much of `text` has been consumed by matches
        self.last_change = time.monotonic()

    def pull(self) -> bool:
        """Read what the watcher has logged since the last call; True when there was some."""
        data = self._log.read()
        if not data:
            return False
        raw = self._raw + self._decoder.decode(data)
        cut = raw.rfind("\x1b")
        if cut >= 0 and len(raw) - cut < 8 and not _ANSI.match(raw, cut):
            raw, self._raw = raw[:cut], raw[cut:]  # keep an unfinished escape for next time
        else:
            self._raw = ""
        self.text += _ANSI.sub("", raw).replace("\r\n", "\n").replace("\r", "\n")
        self.last_change = time.monotonic()
        return True

    def last_line(self) -> str:
        lines = [ln.strip() for ln in self.text[-4096:].split("\n") if ln.strip()]
        return lines[-1] if lines else ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.text.rstrip("\n").split("\n")[-lines:])

    def where(self) -> str:
        tail = self.tail() if self.text.strip() else "(the guest printed nothing on COM1)"
        return f"--- console tail ({self.watcher.log_path}) ---\n{tail}"

    def send(self, text: str) -> None:
        self.watcher.send(text.encode())

    def expect(self, rx: re.Pattern[str], timeout: float, what: str,
               tick: Callable[[], None] | None = None, silence: float | None = None) -> re.Match[str]:
        """Wait for `rx` in the unconsumed text; consume up to the match. Fails on a crash, the
        console's end, the VM's end, `timeout` or `silence` seconds without output."""
        deadline = time.monotonic() + timeout
        while True:
            self.pull()
            m = rx.search(self.text, self.pos)
            if m:
                self.pos = m.end()
                return m
            self.watcher.check()  # raises GuestCrash with the panic text
            if self.watcher.eof or not self.alive():
                time.sleep(0.2)
                if self.pull():
                    continue
                self.watcher.check()
                raise GuestDied(f"the guest console ended while waiting for {what}\n{self.where()}")
            now = time.monotonic()
            if now > deadline:
                raise GuestDied(f"no {what} within {timeout:.0f} s (last output "
                                f"{now - self.last_change:.0f} s ago)\n{self.where()}")
            if silence is not None and now - self.last_change > silence:
                raise GuestDied(f"the console was silent for {silence:.0f} s while waiting for {what}\n"
                                f"{self.where()}")
            if tick:
                tick()
            time.sleep(0.1)

    def close(self) -> None:
        self._log.close()
