"""The file formats tunlab writes: the initramfs (cpio newc) and the per-test pcap."""

import struct

from tunlab.cpio import CpioWriter
from tunlab.pcap import LINKTYPE_RAW, PcapWriter, read_capture, read_pcap


def _parse_cpio(data: bytes) -> dict[str, tuple[int, bytes]]:
    entries, off = {}, 0
    while True:
        assert data[off:off + 6] == b"070701"
        fields = [int(data[off + 6 + 8 * i: off + 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = fields[1], fields[6], fields[11]
        name = data[off + 110: off + 110 + namesize - 1].decode()
        off = (off + 110 + namesize + 3) & ~3
        body = data[off: off + size]
        off = (off + size + 3) & ~3
        if name == "TRAILER!!!":
            return entries
        entries[name] = (mode, body)


def test_cpio_round_trip(tmp_path):
    path = tmp_path / "x.cpio"
    with open(path, "wb") as f:
        w = CpioWriter(f)
        w.directory("bin")
        w.file("init", b"#!/bin/sh\n", 0o755)
        w.symlink("bin/sh", "busybox")
        w.char_device("dev/console", 5, 1)
        w.finish()
    data = path.read_bytes()
    assert len(data) % 4 == 0
    entries = _parse_cpio(data)
    assert entries["init"] == (0o100755, b"#!/bin/sh\n")
    assert entries["bin/sh"] == (0o120777, b"busybox")
    assert entries["bin"][0] == 0o40755
    assert entries["dev/console"][0] == 0o20600


def test_cpio_is_reproducible(tmp_path):
    def make(p):
        with open(p, "wb") as f:
            w = CpioWriter(f)
            w.file("a", b"1")
            w.finish()
        return p.read_bytes()
    assert make(tmp_path / "1") == make(tmp_path / "2")


def test_pcap_header_and_packets(tmp_path):
    """The capture is pcapng (tests/unit/test_pcap.py has the rest); read_pcap still gives the
    packets."""
    path = tmp_path / "p.pcap"
    w = PcapWriter(path, test="t")
    w.write(b"\x45" + b"\0" * 19, when=1000.5)
    w.write(b"\x60" + b"\0" * 39)
    w.close()
    data = path.read_bytes()
    kind, _, magic, major, minor = struct.unpack_from("<IIIHH", data)
    assert (kind, magic, major, minor) == (0x0A0D0D0A, 0x1A2B3C4D, 1, 0)
    cap = read_capture(path)
    assert [i.linktype for i in cap.interfaces] == [LINKTYPE_RAW]
    assert (cap.packets[0].when, cap.packets[0].orig_len) == (1000.5, 20)
    assert [len(p) for p in read_pcap(path)] == [20, 40]
