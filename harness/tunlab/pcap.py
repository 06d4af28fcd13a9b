"""A pcap writer for the packets a test injects and reads (readable by tcpdump/Wireshark)."""

from __future__ import annotations

import struct
import time
from pathlib import Path
from typing import BinaryIO

LINKTYPE_RAW = 101  # bare IPv4/IPv6 packets, no link header
SNAPLEN = 262144


class PcapWriter:
    """Appends packets to a classic pcap file (microsecond timestamps)."""

    def __init__(self, path: Path, linktype: int = LINKTYPE_RAW) -> None:
        self.path = path
        self.count = 0
        self._f: BinaryIO = open(path, "wb")
        self._f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, linktype))
        self._f.flush()

    def write(self, packet: bytes, when: float | None = None) -> None:
        ts = time.time() if when is None else when
        sec = int(ts)
        usec = int((ts - sec) * 1e6)
        data = packet[:SNAPLEN]
        self._f.write(struct.pack("<IIII", sec, usec, len(data), len(packet)) + data)
        self._f.flush()
        self.count += 1

    def close(self) -> None:
        self._f.close()


def read_pcap(path: Path) -> list[bytes]:
    """The packets of a pcap file written by PcapWriter (for tests and reports)."""
    data = path.read_bytes()
    magic, = struct.unpack_from("<I", data, 0)
    if magic != 0xA1B2C3D4:
        raise ValueError(f"{path}: not a little-endian microsecond pcap file")
    packets = []
    off = 24
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack_from("<IIII", data, off)
        packets.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return packets
