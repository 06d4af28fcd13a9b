"""The client's side of acknowledged input (docs/protocol.md, "Acknowledged input"; QEMU's
record mode, harness/tunlab/replay.py): once hello says ack=N, at most N bytes are in flight
unacknowledged; ACK bytes are taken out of the stream and never reach a frame."""

import socket
import threading

import pytest

from tunlab.client import AgentClient
from tunlab.errors import AgentTimeout

HELLO_REPLY = b"TL1 1 ok proto=1 agent=1 backend=linux os=x driver=linux-tun features=all " \
              b"caps=hello,nop max_frame=163840 ack=16\n"


def _pair():
    """(host end, stand-in agent end); every read on the agent's end is bounded."""
    host, guest = socket.socketpair()
    guest.settimeout(10)  # a client that stops sending fails the test, never hangs it
    return host, guest


def _client(tmp_path, sock):
    return AgentClient(sock.fileno(), sock.fileno(), tmp_path / "agent.log", 5.0)


def _recv_until(sock, n):
    got = b""
    while len(got) < n:
        chunk = sock.recv(65536)
        assert chunk, "client closed"
        got += chunk
    return got


def test_nothing_beyond_the_window_is_sent_without_an_ack(tmp_path):
    host, guest = _pair()
    c = _client(tmp_path, host)
    guest.sendall(HELLO_REPLY)
    c.request("hello")  # 12 bytes
    assert c.ack_window == 16
    assert _recv_until(guest, 12) == b"TL1 1 hello\n"
    # The agent never acknowledges: of a 40-byte request only 4 more bytes may go out.
    with pytest.raises(AgentTimeout, match="acknowledge"):
        c.request("nop", timeout=0.5, pad="x" * 25)
    guest.setblocking(False)
    assert guest.recv(65536) == b"TL1 "  # 12 + 4 = 16 unacknowledged


def test_acks_let_a_long_request_through_and_never_reach_a_frame(tmp_path):
    host, guest = _pair()
    c = _client(tmp_path, host)
    guest.sendall(HELLO_REPLY)
    c.request("hello")
    request = b"TL1 2 nop pad=" + b"y" * 1000 + b"\n"
    seen = bytearray(_recv_until(guest, 12))
    errors = []

    def agent():
        # Acknowledge every 16 bytes as they come; the client must never be more than
        # 16 ahead of the acknowledged count.
        acked = 12 // 16
        try:
            while len(seen) < 12 + len(request):
                chunk = guest.recv(65536)
                if not chunk:
                    errors.append("client closed")
                    return
                seen.extend(chunk)
                if len(seen) - acked * 16 > 16:
                    errors.append(f"{len(seen) - acked * 16} bytes in flight")
                    return
                while (len(seen) // 16) > acked:
                    acked += 1
                    guest.sendall(b"\x06")
            guest.sendall(b"\x06TL1 2 ok\n\x06")
        except OSError as e:  # socket.timeout included
            errors.append(f"stand-in agent: {e!r}")

    t = threading.Thread(target=agent, daemon=True)
    t.start()
    reply = c.request("nop", timeout=10, pad="y" * 1000)
    t.join(15)
    assert not t.is_alive(), "the stand-in agent did not finish"
    assert not errors
    assert bytes(seen[12:]) == request
    assert reply.ok and reply.line == "TL1 2 ok"
