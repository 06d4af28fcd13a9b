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


def test_race_cleans_up_and_counts_units_a_wildcard_create_made_below_base(guest):
    # `race base=1` creates tun1 and wildcard units, which take the lowest free number
    # (tun0): the verb must destroy and count those too (a fuzzer found it leaving tun0
    # while reporting left=0)
    r = guest.agent.request("race", kind="create_destroy", ms=1, base=1)
    assert r.int("left") == 0 and r.int("creates") == r.int("destroys"), r.line
    assert guest.agent.request("kstat").int("ifnets") == 0
