"""The capture of the packets a test writes to and reads from its tun devices: a pcapng file
that Wireshark, tshark and tcpdump read (it keeps the name packets.pcap; both tools go by the
file's magic, not its name).

- **One interface per device and framing.** What the bytes on the device look like:

  | framing  | when                                       | link type         | the frame is          |
  |----------|--------------------------------------------|-------------------|-----------------------|
  | `raw`    | plain mode (Linux IFF_NO_PI, BSD default)  | RAW (101)         | the bytes as they are |
  | `header` | BSD header mode (TUNSIFHEAD, or pi=1)      | LOOP (108)        | the bytes as they are: a 4-byte network-order family, then IP |
  | `link`   | BSD link-layer mode (TUNSLMODE), reads     | RAW (101)         | the bytes after the leading sockaddr (its length is its first byte); the sockaddr is in the packet's comment |
  | `tun_pi` | Linux packet information (pi=1)            | RAW (101)         | the bytes after the 4-byte struct tun_pi; flags and protocol are in the packet's comment |

  libpcap (tcpdump 4.99, libpcap 1.10) reads a file of several interfaces only when they all
  have one link type, and then not RAW (it compares the second interface's LINKTYPE_RAW, 101,
  with the first one's DLT_RAW, 12, and stops: "an interface has a type 101 different from
  the type of the first interface"); LOOP is 108 either way. So a capture is RAW only while
  it has one interface and that one is RAW; as soon as it has a second interface (plain and
  header mode in one test, two devices, a Linux device with tun_pi beside a plain one),
  every interface of the file is written as LOOP: a frame of a RAW interface is given a
  4-byte family word taken from its IP version (2, or 28 for IPv6 as DragonFly numbers it),
  its comment says the word was added by tunlab, and its interface's description says so
  too. The file is rewritten whole when an interface is added (a few times per test), so
  that what is on disk is always complete.
- **Direction** (epb_flags): a packet written to the device is *inbound* (the interface
  receives it: toward the guest's stack); a packet read from it is *outbound* (the stack sent
  it out of the interface: from the guest's stack). A write the driver refused is kept,
  with the error in its comment.
- **The test** that made the capture is in the section header: its comment is
  `test: <pytest node id>`, shb_userappl `tunlab`.

`read_capture()` reads it back (and old classic pcap files); `read_pcap()` gives the IP
packets only, as tests use them.
"""

from __future__ import annotations

import os
import platform
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

LINKTYPE_RAW = 101   # bare IPv4/IPv6 packets, no link header
LINKTYPE_LOOP = 108  # a 4-byte network-order address family, then the packet (OpenBSD loopback)
SNAPLEN = 262144

INBOUND, OUTBOUND = 1, 2          # epb_flags bits 0-1
DIRECTIONS = {0: "", INBOUND: "in", OUTBOUND: "out"}

AF_INET, AF_INET6_BSD = 2, 28     # the family word tunlab adds to a RAW frame in a LOOP file

# framing -> (native link type, what an interface of that framing holds)
FRAMINGS: dict[str, tuple[int, str]] = {
    "raw": (LINKTYPE_RAW, "plain mode: bare IP packets, no header"),
    "header": (LINKTYPE_LOOP, "header mode (TUNSIFHEAD): a 4-byte network-order address family, "
                              "then the IP packet"),
    "link": (LINKTYPE_RAW, "link-layer mode (TUNSLMODE), packets read: the leading destination "
                           "sockaddr is stripped (each packet's comment has it)"),
    "tun_pi": (LINKTYPE_RAW, "Linux packet information: the leading 4-byte struct tun_pi is "
                             "stripped (each packet's comment has its flags and protocol)"),
}

_SHB, _IDB, _EPB = 0x0A0D0D0A, 0x00000001, 0x00000006
_BYTE_ORDER_MAGIC = 0x1A2B3C4D
_OPT_END, _OPT_COMMENT = 0, 1
_SHB_OS, _SHB_USERAPPL = 3, 4
_IF_NAME, _IF_DESCRIPTION = 2, 3
_EPB_FLAGS = 2


def _option(code: int, value: bytes) -> bytes:
    value = value[:0xFFFF]
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def _options(opts: list[tuple[int, bytes]]) -> bytes:
    if not opts:
        return b""
    return b"".join(_option(c, v) for c, v in opts) + struct.pack("<HH", _OPT_END, 0)


def _block(kind: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack("<II", kind, n) + body + struct.pack("<I", n)


def strip(framing: str, packet: bytes) -> tuple[bytes, str]:
    """The frame a packet of `framing` is recorded as (link and tun_pi prefixes stripped),
    and what the comment says of the stripped part ("" when nothing was)."""
    if framing == "tun_pi":
        if len(packet) < 4:
            return packet, f"shorter than the 4-byte tun_pi ({len(packet)} bytes), kept whole"
        flags, proto = struct.unpack_from(">HH", packet)
        return packet[4:], f"tun_pi flags=0x{flags:04x} proto=0x{proto:04x}"
    if framing == "link":
        salen = packet[0] if packet else 0
        if salen < 2 or salen > len(packet):
            return packet, f"no whole sockaddr first (length byte {salen}, {len(packet)} bytes), kept whole"
        return packet[salen:], f"link-layer sockaddr ({salen} bytes, family {packet[1]}): {packet[:salen].hex()}"
    return packet, ""


def is_ip(framing: str, frame: bytes) -> bool:
    """Whether a frame (as strip() leaves it) holds an IPv4 or IPv6 packet's first byte
    after its header, if any: what a tool can decode as IP."""
    body = frame[4:] if FRAMINGS[framing][0] == LINKTYPE_LOOP else frame
    return len(body) >= 1 and body[0] >> 4 in (4, 6)


def _family_word(frame: bytes) -> tuple[bytes, str]:
    version = frame[0] >> 4 if frame else 0
    af = {4: AF_INET, 6: AF_INET6_BSD}.get(version, 0)
    return struct.pack(">I", af), f"family word {af} added by tunlab (not on the device)"


@dataclass
class _Record:
    iface: int
    when: float
    frame: bytes       # as stripped; without the family word a LOOP file adds
    orig_len: int
    direction: int
    comment: str


class PcapWriter:
    """Appends the packets of one test to a pcapng file, one interface per (device,
    framing). The file is complete on disk after every packet."""

    def __init__(self, path: Path, test: str | None = None) -> None:
        self.path = path
        self.test = _current_test(path) if test is None else test
        self.count = 0
        self.interfaces: list[tuple[str, str]] = []  # (device name, framing)
        self._records: list[_Record] = []
        self._f: BinaryIO | None = None
        self._rewrite()

    @property
    def linktype(self) -> int:
        """The link type of every interface of the file: RAW while there is at most one
        interface and it is RAW, else LOOP (what libpcap reads with several interfaces)."""
        if len(self.interfaces) <= 1 and all(FRAMINGS[f][0] == LINKTYPE_RAW for _, f in self.interfaces):
            return LINKTYPE_RAW
        return LINKTYPE_LOOP

    def write(self, packet: bytes, when: float | None = None, *, framing: str = "raw",
              device: str = "tun", direction: int = 0, comment: str = "") -> None:
        """Records one packet as it was on `device` in `framing` (FRAMINGS), `direction`
        INBOUND (written to the device) or OUTBOUND (read from it)."""
        if framing not in FRAMINGS:
            raise ValueError(f"unknown framing {framing!r}")
        frame, note = strip(framing, packet)
        if not is_ip(framing, frame):
            note = "; ".join(n for n in (note, "not an IP packet") if n)
        key = (device, framing)
        rec = _Record(0, time.time() if when is None else when, frame[:SNAPLEN], len(frame),
                      direction, "; ".join(c for c in (note, comment) if c))
        self.count += 1
        if key not in self.interfaces:
            self.interfaces.append(key)
            rec.iface = len(self.interfaces) - 1
            self._records.append(rec)
            self._rewrite()
            return
        rec.iface = self.interfaces.index(key)
        self._records.append(rec)
        assert self._f is not None
        self._f.write(self._epb(rec, self.linktype))
        self._f.flush()

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None

    # -- blocks ---------------------------------------------------------------------------
    def _rewrite(self) -> None:
        if self._f is not None:
            self._f.close()
        lt = self.linktype
        out = [self._shb()]
        if not self.interfaces:
            # libpcap wants an interface before it reads on, even in a file without packets
            out.append(self._idb(lt, "none", "no packet was recorded"))
        for name, framing in self.interfaces:
            out.append(self._idb(lt, f"{name} {framing}", self._describe(name, framing, lt)))
        out += [self._epb(r, lt) for r in self._records]
        self._f = open(self.path, "wb")
        self._f.write(b"".join(out))
        self._f.flush()

    def _shb(self) -> bytes:
        opts = [(_SHB_USERAPPL, b"tunlab"), (_SHB_OS, f"{platform.system()} {platform.release()}".encode())]
        if self.test:
            opts.insert(0, (_OPT_COMMENT, f"test: {self.test}".encode()))
        return _block(_SHB, struct.pack("<IHHq", _BYTE_ORDER_MAGIC, 1, 0, -1) + _options(opts))

    @staticmethod
    def _describe(name: str, framing: str, lt: int) -> str:
        native, what = FRAMINGS[framing]
        text = f"{name}, {what}"
        if native != lt:
            text += ("; this file has several interfaces, so it is LOOP throughout (what libpcap "
                     "reads then), and tunlab put a family word before each frame: it was not on "
                     "the device")
        return text

    @staticmethod
    def _idb(lt: int, name: str, description: str) -> bytes:
        return _block(_IDB, struct.pack("<HHI", lt, 0, SNAPLEN) +
                      _options([(_IF_NAME, name.encode()), (_IF_DESCRIPTION, description.encode())]))

    def _epb(self, r: _Record, lt: int) -> bytes:
        frame, orig, comment = r.frame, r.orig_len, r.comment
        if lt == LINKTYPE_LOOP and FRAMINGS[self.interfaces[r.iface][1]][0] != LINKTYPE_LOOP:
            word, note = _family_word(frame)
            frame, orig = word + frame, orig + 4
            comment = "; ".join(c for c in (note, comment) if c)
        usec = int(round(r.when * 1e6))
        opts: list[tuple[int, bytes]] = []
        if r.direction:
            opts.append((_EPB_FLAGS, struct.pack("<I", r.direction)))
        if comment:
            opts.append((_OPT_COMMENT, comment.encode()))
        return _block(_EPB, struct.pack("<IIIII", r.iface, usec >> 32, usec & 0xFFFFFFFF, len(frame), orig)
                      + frame + b"\0" * (-len(frame) % 4) + _options(opts))


def _current_test(path: Path) -> str:
    """The test running now (pytest's PYTEST_CURRENT_TEST, "nodeid (setup)"), else the name
    of the capture's directory (the per-test log directory is named after the test)."""
    current = os.environ.get("PYTEST_CURRENT_TEST", "")
    if current:
        return current.rsplit(" (", 1)[0]
    return path.parent.name


# -- reading ------------------------------------------------------------------------------
@dataclass
class Interface:
    linktype: int
    name: str = ""
    description: str = ""


@dataclass
class Packet:
    interface: int
    when: float
    data: bytes            # the frame as in the file (with its LOOP family word, if any)
    orig_len: int
    direction: str = ""    # "in" (written to the device), "out" (read from it), "" unknown
    comment: str = ""


@dataclass
class Capture:
    comment: str = ""
    userappl: str = ""
    interfaces: list[Interface] = field(default_factory=list)
    packets: list[Packet] = field(default_factory=list)

    @property
    def test(self) -> str:
        return self.comment.removeprefix("test: ") if self.comment.startswith("test: ") else ""

    def ip(self, p: Packet) -> bytes:
        """A packet's IP bytes (a LOOP frame without its family word)."""
        return p.data[4:] if self.interfaces[p.interface].linktype == LINKTYPE_LOOP else p.data


def _parse_options(data: bytes) -> dict[int, bytes]:
    opts, off = {}, 0
    while off + 4 <= len(data):
        code, n = struct.unpack_from("<HH", data, off)
        if code == _OPT_END:
            break
        opts[code] = data[off + 4:off + 4 + n]
        off += 4 + n + (-n % 4)
    return opts


def read_capture(path: Path) -> Capture:
    """A capture written by PcapWriter (pcapng, little-endian) or a classic microsecond
    pcap file, whole (for tests and the report)."""
    data = path.read_bytes()
    if len(data) >= 24 and struct.unpack_from("<I", data)[0] == 0xA1B2C3D4:
        return _read_classic(data)
    if len(data) < 12 or struct.unpack_from("<I", data)[0] != _SHB or \
            struct.unpack_from("<I", data, 8)[0] != _BYTE_ORDER_MAGIC:
        raise ValueError(f"{path}: not a little-endian pcapng or microsecond pcap file")
    cap, off = Capture(), 0
    while off + 12 <= len(data):
        kind, n = struct.unpack_from("<II", data, off)
        if n < 12 or off + n > len(data):
            raise ValueError(f"{path}: block at {off} runs past the end")
        body = data[off + 8:off + n - 4]
        if kind == _SHB:
            o = _parse_options(body[16:])
            cap.comment = o.get(_OPT_COMMENT, b"").decode(errors="replace")
            cap.userappl = o.get(_SHB_USERAPPL, b"").decode(errors="replace")
        elif kind == _IDB:
            lt, = struct.unpack_from("<H", body)
            o = _parse_options(body[8:])
            cap.interfaces.append(Interface(lt, o.get(_IF_NAME, b"").decode(errors="replace"),
                                            o.get(_IF_DESCRIPTION, b"").decode(errors="replace")))
        elif kind == _EPB:
            iface, hi, lo, caplen, orig = struct.unpack_from("<IIIII", body)
            frame = body[20:20 + caplen]
            o = _parse_options(body[20 + caplen + (-caplen % 4):])
            flags = struct.unpack("<I", o[_EPB_FLAGS])[0] if _EPB_FLAGS in o else 0
            cap.packets.append(Packet(iface, ((hi << 32) | lo) / 1e6, frame, orig,
                                      DIRECTIONS.get(flags & 3, ""),
                                      o.get(_OPT_COMMENT, b"").decode(errors="replace")))
        off += n
    return cap


def _read_classic(data: bytes) -> Capture:
    lt, = struct.unpack_from("<I", data, 20)
    cap, off = Capture(interfaces=[Interface(lt)]), 24
    while off + 16 <= len(data):
        sec, usec, caplen, orig = struct.unpack_from("<IIII", data, off)
        cap.packets.append(Packet(0, sec + usec / 1e6, data[off + 16:off + 16 + caplen], orig))
        off += 16 + caplen
    return cap


def read_pcap(path: Path) -> list[bytes]:
    """The IP packets of a capture, in order (a LOOP frame without its family word)."""
    cap = read_capture(path)
    return [cap.ip(p) for p in cap.packets]
