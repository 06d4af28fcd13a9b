"""`tunlab console` on the kpi target (a host process, no VM): batch mode through a pipe
and a file, its exit status, no traceback for any line, Ctrl-C (exit 130, one line, the
guest gone, logs kept), readline completion and history in a pseudo-terminal; and the
completion and help tables from docs/protocol.md without a guest."""

import fcntl
import os
import re
import select
import signal
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tunlab.console_cmd import ConsoleShell, load_verbs
from tunlab.paths import REPO

ENV = {**os.environ, "PYTHONPATH": str(REPO / "harness")}
CMD = [sys.executable, "-m", "tunlab", "console", "--target", "kpi"]


def _batch(text: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(CMD + list(args), input=text, capture_output=True, text=True, cwd=REPO,
                          env=ENV, timeout=timeout)


def _run_dir(stderr: str) -> Path:
    m = re.search(r"logs in (\S+)", stderr)
    assert m, stderr
    return Path(m.group(1))


def _processes_in(directory: Path) -> list[int]:
    """Processes whose working directory is `directory` (the kpi agent runs in its run dir)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if os.readlink(f"/proc/{entry.name}/cwd") == str(directory):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


# -- batch mode ---------------------------------------------------------------------------------
def test_piped_requests_that_all_succeed_exit_0():
    r = _batch("# a comment\nhello\n\nopen pi=0\nioctl h=1 req=TUNGIFINFO\nclose h=1\n")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "agent> hello\nok proto=1" in r.stdout
    assert "agent> open pi=0\nok h=1 ifname=tun" in r.stdout
    assert "ok ret=0 mtu=1500" in r.stdout
    assert "4 line(s) run, 0 failed" in r.stderr
    run_dir = _run_dir(r.stderr)
    assert (run_dir / "agent.log").exists() and "TUNGIFINFO" in (run_dir / "agent.log").read_text()
    assert not _processes_in(run_dir)


GARBAGE = [
    ":shell", '"unbalanced', "open 'x", "bogus", "FOO=1", "nop x", "nop =1", "nop a=1 a=2",
    "read h=99", "ioctl h=1 req=NOSUCH", "open name=" + "x" * 5000, "\x00\x01\x1b[2J", "é ü",
    ":", "::", "? nosuch", "help :nosuch", ":tail abc", ":expect (", ":console", ":send hi",
    ":monitor info", ":gdb", "debug op=panic", "nop " + "k=v " * 3000, "write h=1 data=zz",
    "=", "!ls", "help",
]


def test_no_line_ends_the_session_with_a_traceback_and_failures_set_the_status():
    r = _batch("\n".join(GARBAGE) + "\nnop\n")
    out = r.stdout + r.stderr
    assert "Traceback" not in out and "internal error" not in out, out
    assert r.returncode == 1
    assert "err ENOVERB" in r.stdout and "err ENOHANDLE" in r.stdout
    assert "cannot read that line: No closing quotation" in r.stdout
    assert ":shell: no such console command" in r.stdout
    assert "has no console line or QEMU" in r.stdout  # :console etc. on a host process
    assert r.stdout.rstrip().endswith("agent> nop\nok"), r.stdout[-300:]  # still serving
    m = re.search(r"(\d+) line\(s\) run, (\d+) failed", r.stderr)
    assert m and int(m.group(1)) == len(GARBAGE) + 1
    # everything but help, `? nosuch` aside, fails; the last nop does not
    assert 20 <= int(m.group(2)) < int(m.group(1))
    assert not _processes_in(_run_dir(r.stderr))


def test_batch_file_and_a_missing_one(tmp_path):
    f = tmp_path / "reqs.txt"
    f.write_text("hello\nread h=1\n")
    r = subprocess.run(CMD + ["--batch", str(f)], capture_output=True, text=True, cwd=REPO,
                       env=ENV, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and "err ENOHANDLE" in r.stdout
    r = subprocess.run(CMD + ["--batch", str(tmp_path / "nope")], capture_output=True, text=True,
                       cwd=REPO, env=ENV, timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "--batch" in r.stderr


def test_poweroff_ends_the_batch():
    r = _batch("poweroff\nnop\n")
    assert r.returncode == 0 and "agent> nop" not in r.stdout


# -- a terminal -----------------------------------------------------------------------------------
class Pty:
    """The console in a pseudo-terminal of its own (its controlling terminal, so ^C is
    SIGINT from the line discipline, as in a real terminal)."""

    def __init__(self, env_extra=None, sigint_ignored=False):
        """sigint_ignored: start it as a shell without job control starts `cmd &`."""
        self.master, slave = os.openpty()

        def child() -> None:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
            # what it inherits is set, not left to whoever ran the tests
            signal.signal(signal.SIGINT, signal.SIG_IGN if sigint_ignored else signal.SIG_DFL)
        self.proc = subprocess.Popen(CMD, stdin=slave, stdout=slave, stderr=slave, cwd=REPO,
                                     env={**ENV, "TERM": "dumb", **(env_extra or {})},
                                     start_new_session=True, preexec_fn=child)
        os.close(slave)
        self.out = b""

    def expect(self, pattern: bytes, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.out):
            left = deadline - time.monotonic()
            assert left > 0, f"no {pattern!r} within {timeout} s: {self.out[-2000:]!r}"
            r, _, _ = select.select([self.master], [], [], min(left, 0.2))
            if r:
                try:
                    self.out += os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    assert re.search(pattern, self.out), self.out[-2000:]
                    return

    def type(self, data: bytes) -> None:
        os.write(self.master, data)

    def wait(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            r, _, _ = select.select([self.master], [], [], 0.1)
            if r:
                try:
                    self.out += os.read(self.master, 65536)
                except OSError:
                    pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"the console did not end within {timeout} s: {self.out[-2000:]!r}")
        try:
            while select.select([self.master], [], [], 0.1)[0]:
                self.out += os.read(self.master, 65536)
        except OSError:
            pass
        os.close(self.master)
        return self.proc.returncode

    def text(self) -> str:
        return self.out.decode("utf-8", "replace").replace("\r\n", "\n")


@pytest.mark.parametrize("when, sigint_ignored", [
    ("at the prompt", False), ("during a request", False),
    ("at the prompt", True)])  # started with SIGINT ignored: Ctrl-C still works
def test_ctrl_c_stops_the_guest_keeps_the_logs_and_exits_130(when, sigint_ignored):
    t = Pty(sigint_ignored=sigint_ignored)
    t.expect(rb"agent> ")
    # CPython's readline checks for signals only when its select() is interrupted: a
    # Ctrl-C that lands between printing the prompt and entering select() waits for the
    # next key. A person cannot type that fast; give the prompt a moment to be waiting.
    time.sleep(0.5)
    if when == "during a request":
        t.type(b"debug op=stall ms=20000\r")
        t.expect(rb"stall ms=20000\r\n")
        time.sleep(1.0)
    mark = len(t.out)
    t0 = time.monotonic()
    t.type(b"\x03")
    assert t.wait(30) == 130
    assert time.monotonic() - t0 < 15  # no request timeout waited out
    after = t.out[mark:].decode("utf-8", "replace").replace("\r\n", "\n")
    lines = [ln for ln in after.split("\n") if ln.strip() and ln.strip() != "^C"]
    assert len(lines) == 1, after
    assert "interrupted" in lines[0] and "killed (interrupted)" in lines[0], lines
    assert "Traceback" not in t.text()
    run_dir = Path(re.search(r"logs in (\S+)", lines[0]).group(1))
    assert (run_dir / "console.log").exists() and (run_dir / "agent.log").exists()
    assert not _processes_in(run_dir)


def test_tab_completion_and_history_across_sessions(tmp_path):
    history = tmp_path / "history"
    t = Pty({"TUNLAB_CONSOLE_HISTORY": str(history)})
    t.expect(rb"agent> ")
    t.type(b"hell\t")           # completes the verb (hel: hello or help)
    t.expect(rb"hello ")
    t.type(b"\r")
    t.expect(rb"ok proto=1")
    t.type(b"ioctl h=1 req=TUNGIFI\t")  # completes a value from docs/protocol.md
    t.expect(rb"req=TUNGIFINFO ")
    t.type(b"\x15:quit\r")       # ^U clears the line first
    assert t.wait(30) == 0, t.text()[-1000:]
    assert "hello" in [ln.strip() for ln in history.read_text().split("\n")]
    t = Pty({"TUNLAB_CONSOLE_HISTORY": str(history)})
    t.expect(rb"agent> ")
    t.type(b"\x1b[A\x1b[A\r")    # two lines up: `hello` from the last session
    t.expect(rb"ok proto=1")
    t.expect(rb"agent> $")
    t.type(b"\x04")              # Ctrl-D leaves like :quit
    assert t.wait(30) == 0, t.text()[-1000:]
    assert "Traceback" not in t.text()


# -- the tables, without a guest --------------------------------------------------------------
def _shell(caps="hello,nop,open,ioctl,bench,kq,read,newverb"):
    guest = SimpleNamespace(hello={"caps": caps}, spec=SimpleNamespace(target="kpi"))
    return ConsoleShell(guest, stdout=open(os.devnull, "w"), is_vm=False)


def test_every_verb_of_the_protocol_table_has_help_and_keys():
    verbs = load_verbs()
    doc = (REPO / "docs" / "protocol.md").read_text()
    table = re.findall(r"^\| `([a-z0-9_]+)` \|", doc.split("| verb |", 1)[1].split("\n\n", 1)[0], re.M)
    assert set(table) == set(verbs) and len(table) >= 20
    assert verbs["open"].keys[:3] == ["name", "pi", "tap"]
    assert verbs["bench"].values["kind"] == ["write", "read", "rtt"]
    assert {"open", "add", "poll", "close"} <= set(verbs["kq"].values["op"])
    assert "TUNSIFHEAD" in verbs["ioctl"].values["req"] and "SIOCIFCREATE2" in verbs["ioctl"].values["req"]
    assert "wait_ms" in verbs["read"].notes  # the `### read` section


def test_completion_of_verbs_keys_and_values():
    s = _shell()
    assert s.completions("op", "op") == ["open "]
    assert "newverb " in s.completions("", "")  # the agent's caps count too
    assert ":console " in s.completions(":co", ":co")
    assert s.completions("bench h=1 k", "k") == ["kind="]
    assert s.completions("bench kind=", "kind=") == ["kind=write ", "kind=read ", "kind=rtt "]
    assert "h=" not in s.completions("bench h=1 ", "")  # a key given is not offered again
    assert "req=TUNSIFHEAD " in s.completions("ioctl h=1 req=TUNS", "req=TUNS")
    assert s.completions("help ben", "ben") == ["bench ", "benchenv "]
    assert s.completions("help benche", "benche") == ["benchenv "]
    assert s.completions("nosuch x", "x") == []


def test_help_for_a_verb_an_unknown_one_and_one_only_the_agent_has(capsys):
    s = _shell()
    s.out = sys.stdout
    s.onecmd("help bench")
    s.onecmd("? newverb")
    s.onecmd("help nosuch")
    out = capsys.readouterr().out
    assert "bench h= kind=write|read|rtt size=" in out and "reply: ok packets=" in out
    assert "newverb: the agent offers it" in out
    assert "nosuch: no such verb" in out
    assert s.failures == 1


def test_the_console_reader_thread_never_takes_ctrl_c(tmp_path):
    """A Ctrl-C the kernel handed to the console's reader thread would not wake the main
    thread's readline prompt (the console then hung until the next key): the reader blocks
    SIGINT, SIGTERM and SIGHUP, and the thread that made it still takes them."""
    import socket
    from tunlab.console import ConsoleWatcher
    from tunlab.crash_patterns import LINUX_CONSOLE
    a, b = socket.socketpair()
    w = ConsoleWatcher(a, tmp_path / "console.log", LINUX_CONSOLE)
    try:
        def blocked(tid):
            status = Path(f"/proc/self/task/{tid}/status").read_text()
            mask = int(re.search(r"^SigBlk:\s*([0-9a-f]+)", status, re.M).group(1), 16)
            return {s for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP) if mask >> (s - 1) & 1}
        assert blocked(w._thread.native_id) == {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
        assert blocked(threading.get_native_id()) == set()
    finally:
        b.close()
        w.close()
