"""The console watcher holds against a hostile console: floods with and without newlines,
terminal escapes, a full disk. Its memory, its log and the tails it quotes stay bounded."""

import socket
import threading
import time

import pytest

from tunlab import console as console_mod
from tunlab.boundedlog import TAIL_KEEP
from tunlab.console import LINE_MAX, STREAM_KEEP, ConsoleCursor, ConsoleWatcher
from tunlab.crash_patterns import LINUX_CONSOLE
from tunlab.errors import DiskFull, GuestCrash
from tunlab.safetext import TAIL_MAX


@pytest.fixture
def pair():
    ours, theirs = socket.socketpair()
    made = []

    def make(path, log_max=None):
        w = ConsoleWatcher(ours, path, LINUX_CONSOLE, log_max=log_max)
        made.append(w)
        return w
    yield make, theirs
    for w in made:
        w.close()
    theirs.close()


def _send_all(sock, data, chunk=65536):
    """Send from a thread (the socket buffer is smaller than the flood)."""
    t = threading.Thread(target=lambda: [sock.sendall(data[i:i + chunk]) for i in range(0, len(data), chunk)])
    t.start()
    return t


def _wait_seen(w, n, timeout=60):
    deadline = time.monotonic() + timeout
    while w.bytes_seen < n:
        assert time.monotonic() < deadline, f"watcher took {w.bytes_seen} of {n} bytes in {timeout} s"
        time.sleep(0.01)


def test_lineless_flood_keeps_memory_and_log_bounded(pair, tmp_path):
    make, peer = pair
    w = make(tmp_path / "console.log", log_max=1 << 20)
    flood = b"x" * (8 << 20)
    t = _send_all(peer, flood)
    _wait_seen(w, len(flood))
    t.join(10)
    assert len(w._partial) <= LINE_MAX
    assert sum(map(len, w._stream)) <= STREAM_KEEP + 65536
    assert all(len(line) <= LINE_MAX for line in w.lines())
    assert len(w.tail()) <= TAIL_MAX + 100
    peer.sendall(b"\nKernel panic - not syncing: after the flood\n")
    with pytest.raises(GuestCrash, match="after the flood") as e:
        w.wait_for("never", timeout=30)
    assert len(str(e.value)) < TAIL_MAX + 1000  # the message quotes a capped tail
    w.close()
    log = (tmp_path / "console.log").read_bytes()
    assert len(log) <= (1 << 20) + TAIL_KEEP + 1000
    assert b"[tunlab: log capped at 1048576 bytes" in log
    assert log.rstrip().endswith(b"after the flood")  # the end of a capped log is kept


def test_wait_for_sees_what_was_logged_and_the_tail(pair, tmp_path):
    make, peer = pair
    w = make(tmp_path / "console.log")
    for i in range(50):
        peer.sendall(f"line {i}\r\n".encode())
        line = w.wait_for(rf"line {i}\b", timeout=10)
        assert line == f"line {i}"
        assert w.tail(1) == f"line {i}"  # no wait: the tail was updated with the text
        assert f"line {i}\r\n".encode() in w.log_path.read_bytes()  # and the log before it


def test_escapes_are_stripped_and_the_rest_shown_escaped(pair, tmp_path):
    make, peer = pair
    w = make(tmp_path / "console.log")
    evil = (b"\x1b]0;pwned title\x07\x1b]8;;http://x.invalid/\x1b\\link\x1b]8;;\x1b\\ \x1bc"
            b"\x1b[2J\x1b[31mred\x1b[0m bell\x07 cr\rback \x1b[?1049h end\n")
    # split inside escape sequences: the watcher must join them across chunks
    for i in range(0, len(evil), 5):
        peer.sendall(evil[i:i + 5])
        time.sleep(0.001)
    w.wait_for("end", timeout=10)
    tail = w.tail()
    assert "\x1b" not in tail and "\x07" not in tail and "\r" not in tail
    assert "pwned" not in tail and "http://" not in tail  # OSC title and link target gone
    assert "link" in tail and "red" in tail and "bell\\x07" in tail
    assert w.log_path.read_bytes() == evil  # the log stays raw


def test_unfinished_escape_at_the_end_is_shown_escaped(pair, tmp_path):
    make, peer = pair
    w = make(tmp_path / "console.log")
    peer.sendall(b"text \x1b]0;never ended")
    peer.shutdown(socket.SHUT_WR)
    assert w.wait_eof(10)
    assert "\\x1b" in w.tail() and "\x1b" not in w.tail()


def test_crash_title_in_a_long_line_is_capped_and_safe(pair, tmp_path):
    make, peer = pair
    w = make(tmp_path / "console.log")
    peer.sendall(b"Kernel panic - not syncing: " + b"\x1b]0;t\x07" + b"A" * 100000 + b"\n")
    with pytest.raises(GuestCrash) as e:
        w.wait_for("never", timeout=10)
    assert len(e.value.title) < 400 and "\x07" not in e.value.title
    assert len(str(e.value)) < TAIL_MAX + 1000


def test_full_disk_is_a_named_error(pair, tmp_path):
    make, peer = pair
    w = make(tmp_path / "console.log")
    w.begin_section(tmp_path / "section.log")
    w._log._f.close()  # stand-in for the disk: writes to /dev/full fail with ENOSPC
    w._log._f = open("/dev/full", "ab", buffering=0)
    w._log.path = tmp_path / "console.log"
    peer.sendall(b"some output\n")
    with pytest.raises(DiskFull) as e:
        w.wait_for("never", timeout=10)
    assert str(tmp_path / "console.log") in str(e.value)
    assert "no space left" in str(e.value)


def test_cursor_over_a_flood_stays_bounded_and_finds_the_end(pair, tmp_path):
    make, peer = pair
    w = make(tmp_path / "console.log", log_max=1 << 20)
    cur = ConsoleCursor(w)
    t = _send_all(peer, b"y" * (6 << 20) + b"\nDONE\n")
    m = cur.expect(console_mod.re.compile("DONE"), timeout=60, what="DONE")
    t.join(10)
    assert m.group(0) == "DONE"
    assert len(cur.text) <= 2 * console_mod.CURSOR_KEEP
    assert "characters of console output were not kept" in cur.text or len(cur.text) < 6 << 20


def test_stream_reads_from_any_offset_and_reports_what_was_dropped(pair, tmp_path):
    make, peer = pair
    w = make(tmp_path / "console.log")
    sent = "".join(f"row {i}\n" for i in range(1000))
    for i in range(0, len(sent), 777):
        peer.sendall(sent[i:i + 777].encode())
    _wait_seen(w, len(sent))
    for offset in (0, 1, 776, 777, 778, 5000, len(sent)):
        text, end, gap = w.read_stream(offset)
        assert (text, end, gap) == (sent[offset:], len(sent), 0)
    t = _send_all(peer, b"z" * (3 * STREAM_KEEP))
    _wait_seen(w, len(sent) + 3 * STREAM_KEEP)
    t.join(10)
    text, end, gap = w.read_stream(0)
    assert gap > 0 and gap + len(text) == end == len(sent) + 3 * STREAM_KEEP
    assert len(text) <= STREAM_KEEP + 65536
