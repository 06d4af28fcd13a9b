"""The kpi target end to end: our driver over driver/kpi inside the agent process, driven
through the same protocol, fixtures and checks as a VM guest."""

import pytest

from tunlab import checks
from tunlab.packets import LOCAL, PEER

pytestmark = pytest.mark.target("kpi")


def test_hello_names_the_kpi_backend(guest):
    assert guest.hello["backend"] == "kpi"


def test_icmp_echo_through_our_driver(tun):
    checks.icmp_echo_roundtrip(tun, LOCAL, PEER)


def test_nonblocking_read_on_empty_queue(guest):
    dev = guest.open_tun(nonblock=True, addr=f"{LOCAL}/32", peer=PEER)
    checks.nonblocking_read_is_eagain(dev)


def test_tungifinfo_of_a_new_unit(guest):
    dev = guest.open_tun()
    info = dev.ioctl("TUNGIFINFO")
    assert (info.int("mtu"), info.int("type"), info.int("baudrate")) == (1500, 0x17, 0)
