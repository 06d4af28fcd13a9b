"""The console watcher: keeps a guest's COM1 output in a log and turns panics, oopses, traps
and silence into failures that carry the console tail.

Everything is bounded, whatever the guest sends:
- the log is capped (boundedlog.py: TUNLAB_CONSOLE_LOG_MB, default 32, a marker where cut);
- a line that never ends is cut every LINE_MAX characters (each piece is matched as a line),
  so the work per byte is constant: a line-less flood costs what a normal one does;
- the cleaned text kept for cursors (ConsoleCursor) is about the last STREAM_KEEP characters,
  the line tail the last TAIL_LINES lines;
- tails quoted in messages are capped and made safe for a terminal (safetext.py).

The reading thread logs a chunk, then updates the tail and the cleaned text under one lock,
so whatever a wait has matched is in the tail and in the log.
"""

from __future__ import annotations

import codecs
import collections
import re
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Callable

from tunlab import safetext
from tunlab.boundedlog import CONSOLE_LOG_ENV, BoundedLog, console_log_max
from tunlab.crash_patterns import ConsolePatterns, match_crash
from tunlab.errors import DiskFull, GuestCrash, GuestDied

POWEROFF_SENTINEL = "TUNLAB-POWEROFF"
HARNESS_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}  # for the main thread only
# Terminal escapes stripped from console text (the raw log keeps them): CSI, OSC (ended by
# BEL or ST), DCS/SOS/PM/APC strings, charset designations, and two-character escapes
# (ESC c, ESC 7, ESC =, ...). An escape left unfinished is shown escaped by safetext.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]"
                   r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
                   r"|\x1b[PX^_][^\x1b]*\x1b\\"
                   r"|\x1b[ -/]+[0-~]"
                   r"|\x1b[0-?@-OQ-WYZ\\`-~]")
_ESC_HOLD = 256       # an escape this close to a chunk's end may continue in the next one
LINE_MAX = 4096       # characters: a longer (or never-ending) line is cut into pieces this long
TAIL_LINES = 400      # lines kept for tail()
STREAM_KEEP = 1 << 20 # characters of cleaned text kept for cursors
CURSOR_KEEP = 1 << 20 # characters a cursor keeps of what it has read
LOOKBACK = 8192       # a pattern may span this much of text already searched (when polling)
# After a crash line, how long to keep collecting console output before reporting, so that
# the report carries the panic's text and backtrace.
CRASH_GRACE = 1.0


def _hold_back(text: str) -> tuple[str, str]:
    """Split off an escape sequence (or a CR) that the next chunk may finish."""
    cut = text.rfind("\x1b", max(0, len(text) - _ESC_HOLD))
    if cut >= 0 and not _ANSI.match(text, cut):
        return text[:cut], text[cut:]
    if text.endswith("\r"):
        return text[:-1], "\r"
    return text, ""


def start_quiet_thread(thread: threading.Thread) -> None:
    """Start a reader thread that never takes Ctrl-C, SIGTERM or SIGHUP: the kernel may hand
    a process signal to any thread that does not block it, and one taken there would not wake
    the main thread where it waits in select() (tunlab console's readline prompt), so the
    KeyboardInterrupt would wait for the next key. The thread inherits this mask."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, HARNESS_SIGNALS)
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class ConsoleWatcher:
    """Reads a guest console from a connected stream socket in a thread of its own."""

    def __init__(self, sock: socket.socket, log_path: Path, patterns: ConsolePatterns,
                 echo: Callable[[str], None] | None = None, log_max: int | None = None) -> None:
        self.log_path = log_path
        self.log_max = console_log_max() if log_max is None else log_max
        self._sock = sock
        self._log: BoundedLog | None = BoundedLog(log_path, self.log_max, CONSOLE_LOG_ENV)
        self._section: BoundedLog | None = None
        self._table = patterns.crashes
        self._prompts = patterns.prompts
        self._echo = echo
        self._tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._partial = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._held = ""          # decoded text whose end may be an unfinished escape
        # cleaned text (CR and CRLF as newlines) for cursors, in pieces, the first at absolute
        # offset _stream_start; _stream_end is where the last one ends
        self._stream: collections.deque[str] = collections.deque()
        self._stream_start = 0
        self._stream_end = 0
        self._cond = threading.Condition()
        self.crash: tuple[str, str, float] | None = None  # kind, title, when
        self.disk_full: DiskFull | None = None  # writing a log failed: the disk is full
        self.powered_off = False
        self.eof = False
        self.lines_seen = 0
        self.bytes_seen = 0
        self.last_output = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"console:{log_path.name}", daemon=True)
        start_quiet_thread(self._thread)

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
            self._text(self._held + self._decoder.decode(b"", final=True))
            self._held = ""
            if self._partial:
                self._line(self._partial)
                self._partial = ""
            self.eof = True
            self._cond.notify_all()

    def _write_logs(self, chunk: bytes) -> None:
        for log in (self._log, self._section):
            if log is None or self.disk_full:
                continue
            try:
                log.write(chunk)
            except DiskFull as e:
                self.disk_full = e  # reported by check(); the watching goes on
            except (OSError, ValueError):
                pass  # a section closed under us: the next chunk goes to the new one

    def _feed(self, chunk: bytes) -> None:
        with self._cond:
            self._write_logs(chunk)
            self.bytes_seen += len(chunk)
            self.last_output = time.monotonic()
            text, self._held = _hold_back(self._held + self._decoder.decode(chunk))
            self._text(text)
            hit = match_crash(self._prompts, self._partial) if self._prompts else None
            if hit and not self.crash:
                self.crash = (hit[0], hit[1], time.monotonic())
            self._cond.notify_all()

    def _text(self, text: str) -> None:
        """Take decoded console text (lock held): the cursors' stream, then lines."""
        clean = _ANSI.sub("", text)
        if not clean:
            return
        piece = clean.replace("\r\n", "\n").replace("\r", "\n")
        self._stream.append(piece)
        self._stream_end += len(piece)
        while self._stream_end - self._stream_start - len(self._stream[0]) >= STREAM_KEEP:
            self._stream_start += len(self._stream.popleft())
        *lines, last = clean.replace("\r", "").split("\n")
        if lines:
            self._line(self._partial + lines[0])
            for line in lines[1:]:
                if len(line) <= LINE_MAX:
                    self._one_line(line)
                else:
                    self._line(line)
            self._partial = last
        else:
            self._partial += last
        while len(self._partial) > LINE_MAX:
            piece, self._partial = self._partial[:LINE_MAX], self._partial[LINE_MAX:]
            self._one_line(piece)

    def _line(self, line: str) -> None:
        for start in range(0, max(len(line), 1), LINE_MAX):
            self._one_line(line[start:start + LINE_MAX])

    def _one_line(self, line: str) -> None:
        self._tail.append(line)
        self.lines_seen += 1
        if self._echo:
            self._echo(safetext.escape(line))
        if POWEROFF_SENTINEL in line:
            self.powered_off = True
        if not self.crash:
            hit = match_crash(self._table, line)
            if hit:
                self.crash = (hit[0], safetext.one_line(hit[1]), time.monotonic())

    # -- for cursors ----------------------------------------------------------------------
    def read_stream(self, offset: int) -> tuple[str, int, int]:
        """Cleaned console text from absolute `offset` on: (text, the offset after it, how
        many characters from `offset` were no longer kept)."""
        with self._cond:
            gap = max(0, self._stream_start - offset)
            start = max(offset, self._stream_start)
            parts, at = [], self._stream_end
            for piece in reversed(self._stream):
                if at <= start:
                    break
                at -= len(piece)
                parts.append(piece[max(0, start - at):])
            return "".join(reversed(parts)), self._stream_end, gap

    @property
    def stream_end(self) -> int:
        with self._cond:
            return self._stream_end

    # -- for the harness ------------------------------------------------------------------
    def tail(self, lines: int = 40) -> str:
        """The last `lines` console lines, capped and safe to print."""
        with self._cond:
            rows = list(self._tail)[-lines:]
            if self._partial:
                rows.append(self._partial)
        return safetext.quote("\n".join(rows))

    def lines(self) -> list[str]:
        """The last TAIL_LINES lines as the guest sent them (not made safe: match, don't print)."""
        with self._cond:
            return list(self._tail)

    def send(self, data: bytes) -> None:
        """Type on the console (loader prompts, an installer's questions)."""
        self._sock.sendall(data)

    def begin_section(self, path: Path | None) -> None:
        """Also copy the console, from now on, to `path` (a per-test log, capped like the
        guest's); None stops."""
        log = BoundedLog(path, self.log_max, CONSOLE_LOG_ENV) if path else None
        with self._cond:
            if self._section:
                self._section.close()
            self._section = log

    def check(self) -> None:
        """Raise GuestCrash once a crash has been seen (after a short grace that lets the
        panic text arrive); DiskFull once a log could not be written."""
        if self.disk_full:
            raise self.disk_full
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
        or when `timeout` seconds pass. Returns the line the match is on (the line is then
        in tail() and in the log)."""
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        cur = ConsoleCursor(self, alive)
        try:
            m = cur.expect(rx, timeout, f"/{safetext.one_line(rx.pattern)}/")
        finally:
            cur.close()
        start = cur.text.rfind("\n", 0, m.start()) + 1
        end = cur.text.find("\n", m.end())
        return cur.text[start:end if end >= 0 else len(cur.text)]

    def wait_eof(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.eof, timeout=timeout)

    def close(self) -> None:
        """Stop reading and close the logs (idempotent; a dead socket is fine)."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._thread.join(timeout=2)
        try:
            self._sock.close()
        except OSError:
            pass
        with self._cond:
            for log in (self._section, self._log):
                if log:
                    log.close()
            self._section = self._log = None


class ConsoleCursor:
    """Reads a console watcher's cleaned text (ANSI codes stripped, CR and CRLF as newlines)
    from where it starts and matches text not yet consumed. It keeps the last CURSOR_KEEP
    characters it has read (`text`; `pos` indexes into it)."""

    def __init__(self, watcher: ConsoleWatcher, alive: Callable[[], bool] = lambda: True,
                 from_start: bool = True) -> None:
        self.watcher = watcher
        self.alive = alive
        self._offset = 0 if from_start else watcher.stream_end  # in the watcher's stream
        self._trimmed = 0   # characters dropped from the front of `text`
        self.text = ""      # what has been read (its last CURSOR_KEEP characters)
        self.pos = 0        # how much of `text` has been consumed by matches
        self.last_change = time.monotonic()

    def pull(self) -> bool:
        """Read what the watcher has taken since the last call; True when there was some."""
        new, self._offset, gap = self.watcher.read_stream(self._offset)
        if gap:
            new = f"\n[tunlab: {gap} characters of console output were not kept]\n" + new
        if not new:
            return False
        self.text += new
        if len(self.text) > 2 * CURSOR_KEEP:
            drop = len(self.text) - CURSOR_KEEP
            self.text = self.text[drop:]
            self.pos = max(0, self.pos - drop)
            self._trimmed += drop
        self.last_change = time.monotonic()
        return True

    def last_line(self) -> str:
        """The last non-empty line read, safe to print on one line."""
        lines = [ln.strip() for ln in self.text[-4096:].split("\n") if ln.strip()]
        return safetext.one_line(lines[-1]) if lines else ""

    def tail(self, lines: int = 40) -> str:
        return safetext.quote("\n".join(self.text[-safetext.TAIL_MAX * 2:].rstrip("\n").split("\n")[-lines:]))

    def where(self) -> str:
        tail = self.tail() if self.text.strip() else "(the guest printed nothing on COM1)"
        return f"--- console tail ({self.watcher.log_path}) ---\n{tail}"

    def send(self, text: str) -> None:
        self.watcher.send(text.encode())

    def expect(self, rx: re.Pattern[str], timeout: float, what: str,
               tick: Callable[[], None] | None = None, silence: float | None = None) -> re.Match[str]:
        """Wait for `rx` in the unconsumed text; consume up to the match. Fails on a crash, the
        console's end, the VM's end, `timeout` or `silence` seconds without output. Text
        already searched is searched again only LOOKBACK characters back, so polling a
        flood stays linear."""
        deadline = time.monotonic() + timeout
        scanned = self._trimmed + self.pos  # searched up to here (absolute, in this cursor's text)
        while True:
            self.pull()
            start = max(self.pos, scanned - self._trimmed - LOOKBACK)
            m = rx.search(self.text, start)
            if m:
                self.pos = m.end()
                return m
            scanned = self._trimmed + len(self.text)
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
        """Nothing to release (kept for callers that close their cursor)."""
