"""Just enough IPv4 to build and check the packets the tests inject (ICMP echo, UDP)."""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

PROTO_ICMP = 1
PROTO_UDP = 17
ICMP_ECHO_REPLY = 0
ICMP_ECHO_REQUEST = 8


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of `data`."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4(src: str, dst: str, proto: int, payload: bytes, ident: int = 0x1234, ttl: int = 64) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, ttl, proto, 0,
                         ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def icmp_echo(src: str, dst: str, ident: int = 0x7475, seq: int = 1, payload: bytes = b"tunlab",
              reply: bool = False) -> bytes:
    """An IPv4 ICMP echo request (or reply) with correct checksums."""
    kind = ICMP_ECHO_REPLY if reply else ICMP_ECHO_REQUEST
    body = struct.pack("!BBHHH", kind, 0, 0, ident, seq) + payload
    body = body[:2] + struct.pack("!H", checksum(body)) + body[4:]
    return ipv4(src, dst, PROTO_ICMP, body)


@dataclass
class IPv4Packet:
    src: str
    dst: str
    proto: int
    ttl: int
    header_ok: bool  # the IP header checksum verifies
    payload: bytes

    @property
    def icmp_ok(self) -> bool:
        return self.proto == PROTO_ICMP and checksum(self.payload) == 0

    @property
    def icmp(self) -> tuple[int, int, int, int, bytes]:
        """(type, code, ident, seq, data) of an ICMP echo message."""
        kind, code, _, ident, seq = struct.unpack_from("!BBHHH", self.payload)
        return kind, code, ident, seq, self.payload[8:]


def parse_ipv4(packet: bytes) -> IPv4Packet:
    if len(packet) < 20 or packet[0] >> 4 != 4:
        raise ValueError(f"not an IPv4 packet: {packet[:24].hex()}")
    ihl = (packet[0] & 0xF) * 4
    total, = struct.unpack_from("!H", packet, 2)
    if total > len(packet) or ihl < 20:
        raise ValueError(f"truncated IPv4 packet ({len(packet)} of {total} bytes)")
    return IPv4Packet(src=str(ipaddress.IPv4Address(packet[12:16])),
                      dst=str(ipaddress.IPv4Address(packet[16:20])),
                      proto=packet[9], ttl=packet[8], header_ok=checksum(packet[:ihl]) == 0,
                      payload=packet[ihl:total])


# -- the addresses tests give a device: its local end in the guest and the point-to-point peer
LOCAL, PEER = "10.77.0.1", "10.77.0.2"
LOCAL6, PEER6 = "fd00:77::1", "fd00:77::2"


def icmp6_echo(src: str, dst: str, ident: int = 0x7476, seq: int = 1,
               payload: bytes = b"tunlab-icmp6", reply: bool = False) -> bytes:
    """An IPv6 ICMPv6 echo request (or reply) with a correct checksum."""
    s, d = ipaddress.IPv6Address(src).packed, ipaddress.IPv6Address(dst).packed
    body = struct.pack("!BBHHH", 129 if reply else 128, 0, 0, ident, seq) + payload
    pseudo = s + d + struct.pack("!I3xB", len(body), 58)
    body = body[:2] + struct.pack("!H", checksum(pseudo + body)) + body[4:]
    return struct.pack("!IHBB", 6 << 28, len(body), 58, 64) + s + d + body


def parse_icmp6(packet: bytes) -> tuple[str, str, int, int, int, bytes]:
    """(src, dst, type, ident, seq, data) of an ICMPv6 echo packet."""
    if len(packet) < 48 or packet[0] >> 4 != 6 or packet[6] != 58:
        raise ValueError(f"not an ICMPv6 packet: {packet[:48].hex()}")
    kind, _, _, ident, seq = struct.unpack_from("!BBHHH", packet, 40)
    return (str(ipaddress.IPv6Address(packet[8:24])), str(ipaddress.IPv6Address(packet[24:40])),
            kind, ident, seq, packet[48:])


def is_noise(ip: bytes) -> bool:
    """What a real kernel sends by itself on an interface with an IPv6 address: MLD reports
    (behind a hop-by-hop header), router and neighbour solicitations (ICMPv6 130-143)."""
    if len(ip) < 40 or ip[0] >> 4 != 6:
        return False
    nxt, off = ip[6], 40
    if nxt == 0 and len(ip) >= 42:          # hop-by-hop options
        nxt, off = ip[40], 40 + (ip[41] + 1) * 8
    return nxt == 58 and len(ip) > off and 130 <= ip[off] <= 143
