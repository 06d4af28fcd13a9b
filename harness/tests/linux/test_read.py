"""The read side: empty queues, timeouts and short buffers."""

import pytest

from tunlab import checks
from tunlab.errors import AgentError
from tunlab.packets import icmp_echo

LOCAL, PEER = "10.77.4.1", "10.77.4.2"


def test_nonblocking_read_on_empty_queue_is_eagain(guest):
    dev = guest.open_tun(nonblock=True, addr=f"{LOCAL}/32", peer=PEER)
    checks.nonblocking_read_is_eagain(dev)


def test_read_with_nothing_queued_times_out(guest):
    dev = guest.open_tun(addr=f"{LOCAL}/32", peer=PEER)
    with pytest.raises(AgentError) as e:
        dev.read(wait_ms=300)
    assert e.value.name == "ETIMEDOUT"


def test_short_buffer_gets_the_head_and_the_rest_is_dropped(guest):
    dev = guest.open_tun(nonblock=True, addr=f"{LOCAL}/32", peer=PEER)
    dev.write(icmp_echo(PEER, LOCAL, payload=b"y" * 200))
    head = dev.read(wait_ms=3000, max=20)
    assert len(head) == 20
    assert head[0] == 0x45  # an IPv4 header...
    assert head[12:16] == bytes([10, 77, 4, 1]) and head[16:20] == bytes([10, 77, 4, 2])  # ...of the reply
    # The rest of that packet is gone: the queue is empty again.
    checks.nonblocking_read_is_eagain(dev)
