#!/usr/bin/python3
"""A fault-injecting stand-in for qemu-system-x86_64, for the harness's own tests.

Installed on PATH as `qemu-system-x86_64` (see `install`), it takes QEMU's command line,
connects to the two serial sockets the harness listens on (-chardev socket,id=com1/com2),
runs the real agent (`tunlab-agent --stdio`, a host build) behind COM2 with its stderr on
COM1, and passes bytes through, except at reply N (TUNLAB_FAKE_QEMU_AT, default 2: the first
reply after `hello`), where TUNLAB_FAKE_QEMU_MODE says what goes wrong:

  ok              nothing
  exit-at-start   exit 1 before connecting the serial ports
  exit            exit with status 3 instead of sending reply N
  die             SIGKILL itself instead of sending reply N
  hang            never send reply N (stays alive, silent)
  hang-mid        send half of reply N, then nothing
  wrong-id        reply N with another id
  garbage         a malformed line (control bytes, bad id) instead of reply N
  huge            reply N as one 1.2 MB line
  endless         reply N starts and never ends (bytes without a newline, without end)
  noise           lines that are not frames, without end, instead of reply N
  escapes         reply N as an `err` whose msg carries OSC/CSI/BEL/CR; escapes on the console
  bad-err-name    reply N as an `err` whose name is a terminal escape
  flood           40 MB of console lines, then a kernel panic; reply N never comes
  flood-nonl      40 MB of console output without a newline, then a panic; no reply N

The agent child dies with this process (PR_SET_PDEATHSIG). Stdlib only.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
AGENT = Path(os.environ.get("TUNLAB_FAKE_AGENT", REPO / "build" / "agent" / "tunlab-agent"))
MODES = ("ok", "exit-at-start", "exit", "die", "hang", "hang-mid", "wrong-id", "garbage", "huge",
         "endless", "noise", "escapes", "bad-err-name", "flood", "flood-nonl")
FLOOD_BYTES = 40 << 20
CONSOLE_ESCAPES = (b"\x1b]0;pwned title\x07\x1bc\x1b[2J\x1b]8;;http://evil.invalid/\x1b\\click"
                   b"\x1b]8;;\x1b\\\x07\r\n")


def install(directory: Path) -> Path:
    """Put a `qemu-system-x86_64` that runs this file into `directory`; returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    exe = directory / "qemu-system-x86_64"
    exe.write_text(f"#!/bin/sh\nexec {sys.executable} {Path(__file__).resolve()} \"$@\"\n")
    exe.chmod(0o755)
    return exe


def _chardevs(argv: list[str]) -> dict[str, str]:
    paths = {}
    for i, a in enumerate(argv[:-1]):
        if a == "-chardev":
            opts = dict(o.split("=", 1) for o in argv[i + 1].split(",")[1:] if "=" in o)
            paths[opts.get("id", "")] = opts.get("path", "")
    return paths


def _die_with_parent() -> None:
    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)


def _hang() -> None:
    while True:
        time.sleep(3600)


def _flood(con: socket.socket, newlines: bool) -> None:
    line = (b"flood " * 15 + b"\n") if newlines else b"x" * 4096
    sent = 0
    block = line * (65536 // len(line))
    while sent < FLOOD_BYTES:
        con.sendall(block)
        sent += len(block)
    con.sendall(b"\nKernel panic - not syncing: after the flood\n")


def _fault(mode: str, rid: str, line: bytes, ctl: socket.socket, con: socket.socket) -> bool:
    """Reply N: do what `mode` says; True when the reply is still to be sent as it is."""
    if mode == "exit":
        os._exit(3)
    if mode == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "hang":
        _hang()
    if mode == "hang-mid":
        ctl.sendall(line[:len(line) // 2])
        _hang()
    if mode == "wrong-id":
        ctl.sendall(f"TL1 {int(rid) + 1000} ok\n".encode())
    elif mode == "garbage":
        ctl.sendall(b"TL1 \xff\xfe\x00 \x1b[2J garbage\n")
    elif mode == "huge":
        ctl.sendall(f"TL1 {rid} ok data=".encode() + b"ab" * 600000 + b"\n")
    elif mode == "endless":
        ctl.sendall(f"TL1 {rid} ok data=".encode())
        while True:
            ctl.sendall(b"ab" * 32768)
    elif mode == "noise":
        while True:
            ctl.sendall(b"login: \x1b[2J not a frame\n" * 2000)
    elif mode == "escapes":
        con.sendall(CONSOLE_ESCAPES)
        ctl.sendall(f"TL1 {rid} err EINVAL errno=22 msg=%1B]0;pwned%07%1Bc%1B[2J%0D%0APASS%07\n".encode())
    elif mode == "bad-err-name":
        ctl.sendall(f"TL1 {rid} err \x1b]0;x\x07 msg=x\n".encode())
    elif mode in ("flood", "flood-nonl"):
        _flood(con, mode == "flood")
        _hang()
    else:
        return True
    return False


def main(argv: list[str]) -> int:
    mode = os.environ.get("TUNLAB_FAKE_QEMU_MODE", "ok")
    at = int(os.environ.get("TUNLAB_FAKE_QEMU_AT", "2"))
    if mode not in MODES:
        print(f"fake qemu: unknown mode {mode!r}", file=sys.stderr)
        return 2
    if mode == "exit-at-start":
        print("fake qemu: exiting at start-up as asked", file=sys.stderr)
        return 1
    paths = _chardevs(argv)
    con = socket.socket(socket.AF_UNIX)
    con.connect(paths["com1"])
    ctl = socket.socket(socket.AF_UNIX)
    ctl.connect(paths["com2"])
    con.sendall(b"fake qemu: booting the agent\r\n")
    agent = subprocess.Popen([str(AGENT), "--stdio"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=con.fileno(), preexec_fn=_die_with_parent)
    assert agent.stdin is not None and agent.stdout is not None
    out = agent.stdout.fileno()
    buf = b""
    replies = 0
    while True:
        r, _, _ = select.select([ctl, out], [], [])
        if ctl in r:
            data = ctl.recv(65536)
            if not data:
                break
            agent.stdin.write(data)
            agent.stdin.flush()
        if out in r:
            data = os.read(out, 65536)
            if not data:
                break
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                line += b"\n"
                parts = line.split(b" ")
                if len(parts) > 2 and parts[0] == b"TL1" and parts[1] != b"0":
                    replies += 1
                    if replies == at and not _fault(mode, parts[1].decode(), line, ctl, con):
                        continue
                ctl.sendall(line)
    agent.wait(5)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
