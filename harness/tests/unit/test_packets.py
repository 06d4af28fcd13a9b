"""The packet helpers the tests build injections with."""

import pytest

from tunlab.packets import checksum, icmp_echo, parse_ipv4


def test_checksum_known_value():
    # RFC 1071's example words.
    assert checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D


def test_icmp_echo_is_well_formed():
    p = parse_ipv4(icmp_echo("10.0.0.2", "10.0.0.1", seq=5, payload=b"abc"))
    assert (p.src, p.dst, p.proto) == ("10.0.0.2", "10.0.0.1", 1)
    assert p.header_ok and p.icmp_ok
    assert p.icmp == (8, 0, 0x7475, 5, b"abc")


def test_corrupted_checksums_are_seen():
    raw = bytearray(icmp_echo("10.0.0.2", "10.0.0.1"))
    raw[11] ^= 1  # IP header checksum
    raw[-1] ^= 1  # ICMP data
    p = parse_ipv4(bytes(raw))
    assert not p.header_ok and not p.icmp_ok


def test_not_ipv4_is_rejected():
    with pytest.raises(ValueError):
        parse_ipv4(b"\x60" + b"\0" * 39)
