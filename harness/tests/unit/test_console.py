"""The console watcher on a scripted console (a socket pair standing in for COM1)."""

import socket
import time

import pytest

from tunlab.console import ConsoleWatcher
from tunlab.crash_patterns import DRAGONFLY, DRAGONFLY_CONSOLE, LINUX, LINUX_CONSOLE, match_crash
from tunlab.errors import GuestCrash, GuestDied


@pytest.fixture
def console(tmp_path):
    ours, theirs = socket.socketpair()
    made = []

    def make(patterns=LINUX_CONSOLE):
        w = ConsoleWatcher(ours, tmp_path / "console.log", patterns)
        made.append(w)
        return w, theirs
    yield make
    for w in made:
        w.close()
    theirs.close()


def test_log_keeps_everything_and_wait_finds_a_line(console):
    w, peer = console()
    peer.sendall(b"\x1b[1mboot\x1b[0m\r\ntunlab-init: starting agent\r\n")
    assert "starting agent" in w.wait_for("starting agent", timeout=5)
    assert w.tail().splitlines()[0] == "boot"  # ANSI codes and CRs stripped
    time.sleep(0.1)
    assert b"\x1b[1mboot" in w.log_path.read_bytes()  # the log is raw


def test_linux_panic_becomes_guest_crash_with_text(console):
    w, peer = console()
    peer.sendall(b"sysrq: Trigger a crash\nKernel panic - not syncing: sysrq triggered crash\n"
                 b"CPU: 0 PID: 1 Comm: sh\nCall Trace:\n")
    with pytest.raises(GuestCrash) as e:
        w.wait_for("never comes", timeout=10)
    assert e.value.kind == "panic"
    assert e.value.title == "sysrq triggered crash"
    assert "Call Trace:" in str(e.value)  # text after the panic line is kept


def test_dragonfly_trap_and_ddb_prompt(console):
    w, peer = console(DRAGONFLY_CONSOLE)
    peer.sendall(b"Fatal trap 12: page fault while in kernel mode\ncpuid = 0\n")
    with pytest.raises(GuestCrash, match="Fatal trap 12"):
        w.wait_for("never", timeout=10)
    assert match_crash(DRAGONFLY, "panic: tun: bad mbuf") == ("panic", "tun: bad mbuf")


def test_ddb_prompt_without_newline(console):
    w, peer = console(DRAGONFLY_CONSOLE)
    peer.sendall(b"Stopped at Debugger+0x7c\ndb> ")
    with pytest.raises(GuestCrash):
        w.wait_for("never", timeout=10)


def test_silence_times_out_with_tail(console):
    w, peer = console()
    peer.sendall(b"last words\n")
    t0 = time.monotonic()
    with pytest.raises(GuestDied, match="last words"):
        w.wait_for("agent ready", timeout=0.5)
    assert time.monotonic() - t0 < 5


def test_console_end_is_reported(console):
    w, peer = console()
    peer.sendall(b"bye\n")
    peer.shutdown(socket.SHUT_RDWR)
    with pytest.raises(GuestDied, match="console ended"):
        w.wait_for("never", timeout=10)


def test_poweroff_sentinel(console):
    w, peer = console()
    peer.sendall(b"TUNLAB-POWEROFF\n")
    peer.shutdown(socket.SHUT_RDWR)
    assert w.wait_eof(5) and w.powered_off


def test_ordinary_lines_are_not_crashes():
    for line in ["Booting Linux on physical CPU 0x0", "tun: Universal TUN/TAP device driver, 1.6",
                 "random: crng init done"]:
        assert match_crash(LINUX, line) is None
