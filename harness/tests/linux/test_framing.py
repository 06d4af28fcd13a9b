"""IFF_NO_PI versus packet-information framing (struct tun_pi: flags, protocol)."""

import struct

from tunlab.packets import icmp_echo, parse_ipv4

LOCAL, PEER = "10.77.1.1", "10.77.1.2"
ETH_P_IP = 0x0800


def test_pi_mode_prefixes_flags_and_protocol(guest):
    dev = guest.open_tun(pi=True, addr=f"{LOCAL}/32", peer=PEER)
    request = icmp_echo(PEER, LOCAL)
    assert dev.write(struct.pack("!HH", 0, ETH_P_IP) + request) == 4 + len(request)
    raw = dev.read(wait_ms=3000)
    flags, proto = struct.unpack_from("!HH", raw)
    assert (flags, proto) == (0, ETH_P_IP)
    reply = parse_ipv4(raw[4:])
    assert (reply.src, reply.dst) == (LOCAL, PEER) and reply.icmp_ok


def test_no_pi_mode_carries_bare_ip(guest):
    dev = guest.open_tun(addr=f"{LOCAL}/32", peer=PEER)
    dev.write(icmp_echo(PEER, LOCAL))
    raw = dev.read(wait_ms=3000)
    assert raw[0] >> 4 == 4  # the first byte read is the IPv4 header's version
    assert parse_ipv4(raw).icmp_ok


def test_pi_mode_reads_the_same_packet_four_bytes_longer(guest):
    plain = guest.open_tun(addr="10.77.2.1/32", peer="10.77.2.2")
    framed = guest.open_tun(pi=True, addr="10.77.3.1/32", peer="10.77.3.2")
    plain.write(icmp_echo("10.77.2.2", "10.77.2.1", payload=b"x" * 100))
    framed.write(b"\0\0\x08\0" + icmp_echo("10.77.3.2", "10.77.3.1", payload=b"x" * 100))
    assert len(framed.read(wait_ms=3000)) == len(plain.read(wait_ms=3000)) + 4
