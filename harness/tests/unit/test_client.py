"""The control client against a fake agent on a socket pair: replies, errors, silence and
malformed frames."""

import socket
import threading

import pytest

from tunlab.client import AgentClient
from tunlab.errors import AgentError, AgentTimeout, GuestDied, ProtocolError


class FakeAgent:
    """Answers each request line with what `reply(line)` returns (None: stay silent)."""

    def __init__(self, reply):
        self.host, self.sock = socket.socketpair()
        self.reply = reply
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        buf = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:  # the test closed its end
                return
            if not chunk:
                return
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                out = self.reply(line.decode())
                if out is not None:
                    self.sock.sendall(out.encode())


@pytest.fixture
def client(tmp_path):
    made = []

    def make(reply, liveness=lambda: None):
        fake = FakeAgent(reply)
        c = AgentClient(fake.host.fileno(), fake.host.fileno(), tmp_path / "agent.log", 1.0, liveness)
        made.append((c, fake))
        return c
    yield make
    for c, fake in made:
        c.close()
        fake.host.close()
        fake.sock.close()


def _id(line):
    return line.split(" ")[1]


def test_reply_and_log_frames(client, tmp_path):
    c = client(lambda l: f"TL1 0 log msg=hi\nnoise from a getty\nTL1 {_id(l)} ok proto=1\n")
    assert c.request("hello").int("proto") == 1
    log = (tmp_path / "agent.log").read_text()
    assert "~~ noise from a getty" in log  # noise is kept in the agent log, not taken as a frame
    assert ">> TL1 1 hello" in log and "<< TL1 1 ok proto=1" in log and "log msg=hi" in log


def test_err_reply_raises_agent_error(client):
    c = client(lambda l: f"TL1 {_id(l)} err EAGAIN errno=11 msg=empty%20queue\n")
    with pytest.raises(AgentError) as e:
        c.request("read", h=1)
    assert (e.value.name, e.value.errno, e.value.msg) == ("EAGAIN", 11, "empty queue")
    assert c.request("read", h=1, check=False).error == "EAGAIN"


def test_silent_agent_times_out_clearly(client):
    c = client(lambda l: None)
    with pytest.raises(AgentTimeout, match=r"did not answer 'nop' \(id 1\) within 0.2 s"):
        c.request("nop", timeout=0.2)


def test_malformed_reply_is_named(client):
    c = client(lambda l: f"TL1 {_id(l)} ok bad token\n")
    with pytest.raises(ProtocolError, match="malformed token 'bad'"):
        c.request("nop")


def test_wrong_id_is_caught(client):
    c = client(lambda l: "TL1 99 ok\n")
    with pytest.raises(ProtocolError, match="does not match"):
        c.request("nop")


def test_oversized_reply_is_caught(client):
    c = client(lambda l: "TL1 1 ok data=" + "a" * 200000 + "\n")
    with pytest.raises(ProtocolError, match="over 163840 bytes"):
        c.request("nop", timeout=5)


def test_liveness_failure_ends_the_wait(client):
    def dead():
        raise GuestDied("the VM ended")
    c = client(lambda l: None, liveness=dead)
    with pytest.raises(GuestDied):
        c.request("nop", timeout=30)


def test_ids_advance(client):
    seen = []

    def reply(l):
        seen.append(int(_id(l)))
        return f"TL1 {_id(l)} ok\n"
    c = client(reply)
    for _ in range(3):
        c.request("nop")
    assert seen == [1, 2, 3]
