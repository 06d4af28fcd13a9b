"""--port mode: the agent on a serial line, here the slave side of a pseudo-terminal.

Only harmless verbs: with --port, poweroff and debug op=panic act on the real machine.
"""
import os
import subprocess
import termios
import time

from agent_proc import parse_frame


def read_frames(fd, n, timeout=10.0):
    buf, frames = b"", []
    deadline = time.monotonic() + timeout
    while len(frames) < n:
        assert time.monotonic() < deadline, "no frame in time; have %r" % buf
        try:
            buf += os.read(fd, 4096)
        except BlockingIOError:
            time.sleep(0.01)
            continue
        while b"\n" in buf:
            line, _, buf = buf.partition(b"\n")
            frames.append(parse_frame(line + b"\n"))
    return frames


def test_serves_a_raw_serial_port(agent_bin, tmp_path):
    master, slave = os.openpty()
    path = os.ttyname(slave)
    os.set_blocking(master, False)
    proc = subprocess.Popen([agent_bin, "--port", path, "--console", str(tmp_path / "c")],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        log = read_frames(master, 1)[0]
        assert (log.id, log.word) == (0, "log")
        attrs = termios.tcgetattr(slave)
        assert not attrs[3] & termios.ECHO and not attrs[3] & termios.ICANON  # raw
        assert attrs[5] == termios.B115200  # output speed
        os.write(master, b"boot noise\nTL1 1 hello\nTL1 2 nop\n")
        hello, nop = read_frames(master, 2)
        assert (hello.id, hello.word, nop.id, nop.word) == (1, "ok", 2, "ok")
        assert hello["backend"] == "linux"
    finally:
        proc.kill()
        proc.wait()
        os.close(master)
        os.close(slave)
