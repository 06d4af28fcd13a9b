"""TUNSETIFF/TUNGETIFF and TUNGETFEATURES on Linux's tun."""

import pytest

from tunlab.errors import AgentError

IFF_TUN, IFF_TAP, IFF_NO_PI = 0x0001, 0x0002, 0x1000


# Linux's TUNGETIFF also sets IFF_NOFILTER (0x1000, the same bit as IFF_NO_PI) whenever no
# socket filter is attached, so its 0x1000 bit says nothing about the framing; the framing
# tests in test_framing.py check that by the bytes read instead.


@pytest.mark.parametrize("pi", [False, True])
def test_tungetiff_reports_name_and_type(guest, pi):
    dev = guest.open_tun(pi=pi)
    reply = dev.ioctl("TUNGETIFF")
    assert reply.text("name") == dev.ifname
    assert reply.int("flags") & (IFF_TUN | IFF_TAP) == IFF_TUN


def test_tunsetiff_with_a_chosen_name(guest):
    dev = guest.open_tun(name="tunlab7")
    assert dev.ifname == "tunlab7"
    assert dev.ioctl("TUNGETIFF").text("name") == "tunlab7"
    assert dev.info().int("mtu") == 1500


def test_second_tunsetiff_on_an_attached_fd_is_eexist(guest):
    dev = guest.open_tun()
    with pytest.raises(AgentError) as e:
        dev.ioctl("TUNSETIFF", name="tunlab8", flags=IFF_TUN | IFF_NO_PI)
    assert e.value.name == "EEXIST"


def test_features_include_tun_tap_and_no_pi(guest):
    dev = guest.open_tun()
    features = dev.ioctl("TUNGETFEATURES").int("value")
    assert features & (IFF_TUN | IFF_TAP | IFF_NO_PI) == IFF_TUN | IFF_TAP | IFF_NO_PI


def test_unknown_ioctl_name_is_an_argument_error(guest):
    dev = guest.open_tun()
    with pytest.raises(AgentError) as e:
        dev.ioctl("TUNSETNOTHING")
    assert e.value.name == "EARG"
