"""An MTU set on the tun interface is what the stack then uses."""

import pytest

from tunlab.errors import AgentError
from tunlab.packets import icmp_echo, parse_ipv4

LOCAL, PEER = "10.77.5.1", "10.77.5.2"


def test_siocsifmtu_is_reported_back(guest):
    dev = guest.open_tun(addr=f"{LOCAL}/32", peer=PEER)
    dev.ioctl("SIOCSIFMTU", ifname=dev.ifname, value=1280)
    assert dev.ioctl("SIOCGIFMTU", ifname=dev.ifname).int("value") == 1280
    assert dev.info().int("mtu") == 1280


def test_stack_fragments_replies_to_the_new_mtu(guest):
    dev = guest.open_tun(addr=f"{LOCAL}/32", peer=PEER, mtu=576)
    dev.write(icmp_echo(PEER, LOCAL, payload=b"m" * 1000))
    first = dev.read(wait_ms=3000)
    assert len(first) <= 576, f"reply of {len(first)} bytes exceeds the 576-byte MTU"
    ip = parse_ipv4(first)
    more_fragments = first[6] & 0x20
    assert (ip.src, ip.dst) == (LOCAL, PEER) and more_fragments


def test_mtu_below_the_minimum_is_refused(guest):
    dev = guest.open_tun()
    with pytest.raises(AgentError) as e:
        dev.ioctl("SIOCSIFMTU", ifname=dev.ifname, value=10)
    assert e.value.name == "EINVAL"
