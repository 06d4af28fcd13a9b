"""The QMP client against a stand-in QMP server: greeting, capabilities, events between
replies, errors, silence and a dead server, every wait bounded. (The real QEMU's monitor:
harness/tests/selftest/test_qemu_knobs_vm.py.)"""

import json
import socket
import threading
import time

import pytest

from tunlab import qmp

GREETING = {"QMP": {"version": {"qemu": {"major": 7}}, "capabilities": []}}


class FakeQmp:
    """Serves one connection: the greeting, then answers each command with `answer(cmd)`
    (a list of JSON objects or raw byte strings to send; [] sends nothing)."""

    def __init__(self, path, answer, greeting=GREETING):
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(str(path))
        self.srv.listen(1)
        self.answer = answer
        self.greeting = greeting
        self.commands = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def send(self, conn, obj):
        conn.sendall(obj if isinstance(obj, bytes) else json.dumps(obj).encode() + b"\r\n")

    def serve(self):
        try:
            self._serve()
        except OSError:  # the client went away (it gave up on a flood or on silence)
            pass

    def _serve(self):
        conn, _ = self.srv.accept()
        with conn:
            self.send(conn, self.greeting)
            buf = b""
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    cmd = json.loads(line)
                    self.commands.append(cmd)
                    for obj in self.answer(cmd):
                        self.send(conn, obj)

    def close(self):
        self.srv.close()


def _ok(cmd):
    if cmd["execute"] == "qmp_capabilities":
        return [{"return": {}, "id": cmd["id"]}]
    if cmd["execute"] == "human-monitor-command":
        line = cmd["arguments"]["command-line"]
        return [{"event": "RTC_CHANGE", "data": {}},  # events in between are skipped
                {"return": f"RIP=ffffffff81000000 for {line}\r\n", "id": cmd["id"]}]
    return [{"error": {"class": "CommandNotFound", "desc": f"{cmd['execute']} not found"},
             "id": cmd["id"]}]


def test_human_monitor_command_skips_events(tmp_path):
    srv = FakeQmp(tmp_path / "q.sock", _ok)
    try:
        with qmp.QMPClient(tmp_path / "q.sock", timeout=5) as q:
            assert q.hmp("info registers -a") == "RIP=ffffffff81000000 for info registers -a\r\n"
            with pytest.raises(qmp.QMPError, match="CommandNotFound: bogus not found"):
                q.execute("bogus")
            assert q.execute("human-monitor-command", {"command-line": "info status"}).startswith("RIP=")
        assert srv.commands[0]["execute"] == "qmp_capabilities"
    finally:
        srv.close()


def test_a_silent_monitor_times_out_within_the_bound(tmp_path):
    srv = FakeQmp(tmp_path / "q.sock", lambda cmd: _ok(cmd) if cmd["execute"] == "qmp_capabilities" else [])
    try:
        q = qmp.QMPClient(tmp_path / "q.sock", timeout=0.5)
        t0 = time.monotonic()
        with pytest.raises(qmp.QMPError, match="no reply within 0.5 s"):
            q.hmp("info status")
        assert time.monotonic() - t0 < 2.0
        q.close()
    finally:
        srv.close()


def test_not_a_qmp_server_and_no_server_are_errors(tmp_path):
    srv = FakeQmp(tmp_path / "q.sock", _ok, greeting=b"SSH-2.0-nope\n")
    try:
        with pytest.raises(qmp.QMPError, match="not JSON"):
            qmp.QMPClient(tmp_path / "q.sock", timeout=2)
    finally:
        srv.close()
    with pytest.raises(qmp.QMPError, match="QMP socket"):
        qmp.hmp(tmp_path / "missing.sock", "info status", timeout=1)


def test_a_reply_without_a_newline_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(qmp, "MAX_REPLY", 100_000)
    flood = [b"{" + b"x" * 65536] * 4

    def answer(cmd):
        return _ok(cmd) if cmd["execute"] == "qmp_capabilities" else flood
    srv = FakeQmp(tmp_path / "q.sock", answer)
    try:
        with qmp.QMPClient(tmp_path / "q.sock", timeout=5) as q:
            with pytest.raises(qmp.QMPError, match="over 100000 bytes"):
                q.hmp("info registers")
    finally:
        srv.close()
