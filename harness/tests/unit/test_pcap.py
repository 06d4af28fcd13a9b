"""The per-test capture (tunlab/pcap.py) and the framing a tun device records its packets in
(tunlab/tundev.py): pcapng, one interface per framing, directions, the test's name; read back
by our reader and, where installed, by tcpdump and tshark."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from tunlab.errors import AgentError
from tunlab.packets import LOCAL, PEER, icmp_echo
from tunlab.pcap import (INBOUND, LINKTYPE_LOOP, LINKTYPE_RAW, OUTBOUND, PcapWriter, read_capture,
                         read_pcap)
from tunlab.protocol import decode_frame
from tunlab.tundev import TunDevice, looks_like

from tunlab.pcap_check import classify_tcpdump, decode_tcpdump, decode_tshark, on_purpose, survey

IP4 = icmp_echo(PEER, LOCAL, seq=1, payload=b"tunlab")
IP6 = bytes([0x60]) + b"\0" * 3 + struct.pack(">H", 8) + bytes([58, 64]) + \
    b"\xfe\x80" + b"\0" * 13 + b"\x02" + b"\xfe\x80" + b"\0" * 13 + b"\x01" + \
    bytes([128, 0, 0, 0, 0, 1, 0, 1])          # ICMPv6 echo request (checksum not checked)
HDR4, HDR6 = struct.pack(">I", 2), struct.pack(">I", 28)
SIN = bytes([16, 2, 0, 0]) + bytes([10, 0, 0, 2]) + b"\0" * 8          # sockaddr_in
SIN6 = bytes([28, 28]) + b"\0" * 6 + b"\xfe\x80" + b"\0" * 13 + b"\x02" + b"\0" * 4


def test_a_plain_capture_is_pcapng_with_one_raw_interface_the_test_and_directions(tmp_path):
    path = tmp_path / "packets.pcap"
    w = PcapWriter(path, test="harness/tests/x.py::test_y")
    w.write(IP4, when=1000.5, device="tun0", direction=INBOUND)
    w.write(IP4, when=1001.25, device="tun0", direction=OUTBOUND)
    w.close()
    data = path.read_bytes()
    assert struct.unpack_from("<II", data)[0] == 0x0A0D0D0A and struct.unpack_from("<I", data, 8)[0] == 0x1A2B3C4D
    cap = read_capture(path)
    assert cap.test == "harness/tests/x.py::test_y" and cap.userappl == "tunlab"
    assert [(i.linktype, i.name) for i in cap.interfaces] == [(LINKTYPE_RAW, "tun0 raw")]
    assert [(p.direction, p.when, p.data) for p in cap.packets] == [("in", 1000.5, IP4), ("out", 1001.25, IP4)]
    assert read_pcap(path) == [IP4, IP4]


def test_the_test_name_comes_from_pytest_when_not_given(tmp_path):
    w = PcapWriter(tmp_path / "p.pcap")
    w.close()
    # this very test is running: PYTEST_CURRENT_TEST names it
    assert read_capture(tmp_path / "p.pcap").test.endswith("::test_the_test_name_comes_from_pytest_when_not_given")


def test_header_mode_alone_is_loop_with_the_device_bytes(tmp_path):
    w = PcapWriter(tmp_path / "p.pcap", test="t")
    w.write(HDR6 + IP6, framing="header", device="tun0", direction=INBOUND)
    w.close()
    cap = read_capture(tmp_path / "p.pcap")
    assert [i.linktype for i in cap.interfaces] == [LINKTYPE_LOOP]
    assert cap.packets[0].data == HDR6 + IP6 and cap.packets[0].comment == ""
    assert read_pcap(tmp_path / "p.pcap") == [IP6]


def test_plain_and_header_in_one_file_are_loop_throughout_with_the_added_word_said(tmp_path):
    path = tmp_path / "p.pcap"
    w = PcapWriter(path, test="t")
    w.write(IP4, device="tun0", direction=INBOUND)
    assert read_capture(path).interfaces[0].linktype == LINKTYPE_RAW   # RAW until a LOOP frame
    w.write(HDR6 + IP6, framing="header", device="tun0", direction=OUTBOUND)
    w.write(IP4, device="tun0", direction=OUTBOUND)   # appended after the rewrite
    w.close()
    cap = read_capture(path)
    assert [(i.linktype, i.name) for i in cap.interfaces] == [(LINKTYPE_LOOP, "tun0 raw"),
                                                               (LINKTYPE_LOOP, "tun0 header")]
    assert "not on the device" in cap.interfaces[0].description
    assert "not on the device" not in cap.interfaces[1].description
    assert [(p.interface, p.direction, p.data[:4]) for p in cap.packets] == \
        [(0, "in", HDR4), (1, "out", HDR6), (0, "out", HDR4)]
    assert "added by tunlab" in cap.packets[0].comment and cap.packets[1].comment == ""
    assert read_pcap(path) == [IP4, IP6, IP4]


def test_link_layer_and_tun_pi_prefixes_are_stripped_into_the_comment(tmp_path):
    w = PcapWriter(tmp_path / "p.pcap", test="t")
    w.write(SIN6 + IP6, framing="link", device="tun0", direction=OUTBOUND)
    w.write(SIN + IP4, framing="link", device="tun0", direction=OUTBOUND)
    w.write(b"\x00\x00\x08\x00" + IP4, framing="tun_pi", device="tun1", direction=INBOUND)
    w.write(b"\x1c", framing="link", device="tun0", direction=OUTBOUND)       # no whole sockaddr
    w.close()
    cap = read_capture(tmp_path / "p.pcap")
    # two interfaces: LOOP throughout (libpcap), the family word added before each frame
    assert [(i.linktype, i.name) for i in cap.interfaces] == [(LINKTYPE_LOOP, "tun0 link"),
                                                               (LINKTYPE_LOOP, "tun1 tun_pi")]
    assert [cap.ip(p) for p in cap.packets] == [IP6, IP4, IP4, b"\x1c"]
    assert [p.data[:4] for p in cap.packets[:3]] == [HDR6, HDR4, HDR4]
    assert cap.packets[0].comment.endswith(f"link-layer sockaddr (28 bytes, family 28): {SIN6.hex()}")
    assert cap.packets[2].comment.endswith("tun_pi flags=0x0000 proto=0x0800")
    assert "kept whole" in cap.packets[3].comment


def test_an_empty_capture_still_has_an_interface(tmp_path):
    w = PcapWriter(tmp_path / "p.pcap", test="t")
    w.close()
    cap = read_capture(tmp_path / "p.pcap")
    assert len(cap.interfaces) == 1 and cap.packets == []


def test_old_classic_pcap_files_still_read(tmp_path):
    path = tmp_path / "old.pcap"
    path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101) +
                     struct.pack("<IIII", 1, 2, len(IP4), len(IP4)) + IP4)
    assert read_pcap(path) == [IP4]


# -- the device's framing ------------------------------------------------------------------
class FakeAgent:
    default_timeout = 1.0

    def __init__(self) -> None:
        self.queue: list[bytes] = []
        self.refuse: set[bytes] = set()

    def request(self, verb, timeout=None, **args):
        if verb == "write":
            if args["data"] in self.refuse:
                raise AgentError("write", "EINVAL", 22, "")
            return decode_frame(f"TL1 1 ok n={len(args['data'])}")
        if verb == "read":
            return decode_frame(f"TL1 1 ok data={self.queue.pop(0).hex()}")
        if verb == "ioctl" and args["req"] == "TUNSLMODE" and args.get("value") == 7:
            raise AgentError("ioctl", "ENOTTY", 25, "")
        return decode_frame("TL1 1 ok")


class FakeHost:
    def __init__(self, path: Path) -> None:
        self.agent = FakeAgent()
        self.pcap: PcapWriter | None = PcapWriter(path, test="t")
        self.devices: dict = {}


def _capture(host: FakeHost, path: Path):
    host.pcap.close()
    return read_capture(path)


def test_bsd_device_follows_pi_tunsifhead_and_tunslmode(tmp_path):
    path = tmp_path / "p.pcap"
    host = FakeHost(path)
    dev = TunDevice(host, 1, "tun0", pi=True, api="bsd")
    assert dev.mode == "header"
    dev.write(HDR4 + IP4)
    host.agent.queue = [HDR6 + IP6, SIN6 + IP6, IP4]
    dev.read()
    dev.ioctl("TUNSLMODE", value=1)                 # link: clears header
    dev.write(IP4)                                  # a link-layer mode write is bare IP
    dev.read()
    dev.ioctl("TUNSIFHEAD", value=0)                # clears header only: still link
    assert dev.mode == "link"
    dev.ioctl("0x8004745d", value=0)                # TUNSLMODE by number
    dev.read()
    assert dev.mode == "plain"
    cap = _capture(host, path)
    names = [i.name for i in cap.interfaces]
    assert [(names[p.interface], p.direction) for p in cap.packets] == [
        ("tun0 header", "in"), ("tun0 header", "out"), ("tun0 raw", "in"), ("tun0 link", "out"),
        ("tun0 raw", "out")]
    assert [cap.ip(p) for p in cap.packets] == [IP4, IP6, IP4, IP6, IP4]


def test_a_failed_mode_ioctl_changes_nothing_and_a_refused_write_is_kept_with_its_error(tmp_path):
    path = tmp_path / "p.pcap"
    host = FakeHost(path)
    dev = TunDevice(host, 1, "tun0", pi=False, api="bsd")
    with pytest.raises(AgentError):
        dev.ioctl("TUNSLMODE", value=7)
    assert dev.mode == "plain"
    dev.ioctl("TUNSIFHEAD", value=1)
    host.agent.refuse.add(b"\0\0")
    with pytest.raises(AgentError):
        dev.write(b"\0\0")
    cap = _capture(host, path)
    assert cap.packets[0].comment == "not an IP packet; the write failed: EINVAL"
    assert cap.packets[0].direction == "in"
    assert cap.interfaces[cap.packets[0].interface].name == "tun0 header"


def test_a_read_whose_bytes_contradict_the_mode_is_recorded_as_what_it_is(tmp_path):
    # a driver whose TUNSLMODE did not clear header mode: the capture follows the bytes
    path = tmp_path / "p.pcap"
    host = FakeHost(path)
    dev = TunDevice(host, 1, "tun0", pi=True, api="bsd")
    dev.ioctl("TUNSLMODE", value=1)
    host.agent.queue = [HDR4 + IP4]
    dev.read()
    cap = _capture(host, path)
    assert cap.interfaces[0].name == "tun0 header" and "in link mode" in cap.packets[0].comment
    assert [looks_like(p) for p in (IP4, IP6, HDR4 + IP4, SIN + IP4, SIN6 + IP6, b"\x1c", b"")] == \
        ["raw", "raw", "header", "link", "link", "", ""]


def test_linux_device_with_pi_records_tun_pi_and_ignores_bsd_ioctls(tmp_path):
    path = tmp_path / "p.pcap"
    host = FakeHost(path)
    dev = TunDevice(host, 1, "tun0", pi=True, api="linux")
    dev.ioctl("TUNSIFHEAD", value=1)
    dev.write(b"\0\0\x08\0" + IP4)
    cap = _capture(host, path)
    assert cap.interfaces[0].name == "tun0 tun_pi" and cap.packets[0].data == IP4
    assert cap.interfaces[0].linktype == LINKTYPE_RAW  # one interface: RAW


def test_instruments_ioctl_tells_the_device(tmp_path):
    from tunlab.bsd_instruments import Instruments

    path = tmp_path / "p.pcap"
    host = FakeHost(path)
    dev = TunDevice(host, 1, "tun0", pi=False, api="bsd")
    k = Instruments.__new__(Instruments)
    k.req = lambda verb, **args: host.agent.request(verb, **args)
    k.ioctl(dev, 0x80047460, value=1)               # TUNSIFHEAD by number
    assert dev.mode == "header"


# -- what tcpdump and tshark make of it --------------------------------------------------------
def _mixed(path: Path) -> None:
    w = PcapWriter(path, test="t")
    w.write(IP4, device="tun0", direction=INBOUND)
    w.write(HDR6 + IP6, framing="header", device="tun0", direction=OUTBOUND)
    w.write(SIN + IP4, framing="link", device="tun0", direction=OUTBOUND)
    w.write(HDR4 + IP4, framing="header", device="tun0", direction=INBOUND)
    w.close()


@pytest.mark.skipif(not shutil.which("tcpdump"), reason="tcpdump is not installed (apt-get install tcpdump)")
def test_tcpdump_decodes_every_framing_of_a_mixed_file(tmp_path):
    _mixed(tmp_path / "p.pcap")
    lines = decode_tcpdump(tmp_path / "p.pcap")
    assert len(lines) == 4
    assert [classify_tcpdump(l) for l in lines] == ["IP", "IP6", "IP", "IP"], lines


@pytest.mark.skipif(not shutil.which("tcpdump"), reason="tcpdump is not installed (apt-get install tcpdump)")
def test_tcpdump_reads_an_empty_capture_and_the_old_raw_recording_is_caught(tmp_path):
    w = PcapWriter(tmp_path / "empty.pcap", test="t")
    w.close()
    assert decode_tcpdump(tmp_path / "empty.pcap") == []
    # what tunlab recorded before: a header-mode frame in a RAW file is undecodable
    old = tmp_path / "old.pcap"
    old.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101) +
                    struct.pack("<IIII", 1, 2, len(IP4) + 4, len(IP4) + 4) + HDR4 + IP4)
    lines = decode_tcpdump(old)
    assert [classify_tcpdump(l) for l in lines] == ["undecodable"], lines


@pytest.mark.skipif(not shutil.which("tshark"), reason="tshark is not installed")
def test_tshark_decodes_every_framing_of_a_mixed_file_and_sees_the_directions(tmp_path):
    _mixed(tmp_path / "p.pcap")
    rows = decode_tshark(tmp_path / "p.pcap")
    assert [r["ip"] for r in rows] == ["ip", "ipv6", "ip", "ip"], rows
    assert [r["direction"] for r in rows] == ["in", "out", "out", "in"], rows
    assert all(not r["malformed"] for r in rows)
    out = subprocess.run(["tshark", "-r", str(tmp_path / "p.pcap"), "-T", "fields", "-e",
                          "frame.interface_name"], capture_output=True, text=True).stdout
    assert out.split() == ["tun0", "raw", "tun0", "header", "tun0", "link", "tun0", "header"]


def test_what_excuses_a_frame_that_is_no_whole_ip_packet():
    assert on_purpose("not an IP packet; the write failed: EINVAL", "in") == "refused"
    assert on_purpose("read with a 10-byte buffer: what did not fit was dropped, if anything", "out") == "short read"
    assert on_purpose("not an IP packet", "in") == "not IP"
    assert on_purpose("not an IP packet", "out") == ""     # the driver gave us garbage: a finding
    assert on_purpose("", "in") == ""


@pytest.mark.skipif(not shutil.which("tcpdump"), reason="tcpdump is not installed (apt-get install tcpdump)")
def test_survey_counts_per_framing_and_names_an_undecodable_frame(tmp_path):
    (tmp_path / "a").mkdir()
    _mixed(tmp_path / "a" / "packets.pcap")
    w = PcapWriter(tmp_path / "b.pcap", test="t")      # not named packets.pcap: not surveyed
    w.close()
    (tmp_path / "c").mkdir()
    w = PcapWriter(tmp_path / "c" / "packets.pcap", test="t")
    w.write(bytes(20), device="tun0", direction=INBOUND)          # zeroes written on purpose
    w.write(bytes(20), device="tun0", direction=OUTBOUND)         # zeroes read: a finding
    w.close()
    s = survey(tmp_path, tshark=False)
    assert s.files == 2
    assert dict(s.counts["header"]) == {"decoded": 2} and dict(s.counts["link"]) == {"decoded": 1}
    assert dict(s.counts["raw"]) == {"decoded": 1, "not IP": 1, "undecodable": 1}
    assert len(s.problems) == 1 and "c/packets.pcap frame 2 (raw, out)" in s.problems[0]
    assert "undecodable" in s.table().splitlines()[1]


@pytest.mark.skipif(not shutil.which("tcpdump"), reason="tcpdump is not installed (apt-get install tcpdump)")
def test_tcpdump_reads_two_raw_interfaces(tmp_path):
    # two devices, or Linux's tun_pi beside a plain device: both RAW framings, two interfaces
    w = PcapWriter(tmp_path / "p.pcap", test="t")
    w.write(IP4, device="tun0", direction=INBOUND)
    w.write(b"\0\0\x86\xdd" + IP6, framing="tun_pi", device="tun1", direction=INBOUND)
    w.write(IP4, device="tun2", direction=OUTBOUND)
    w.close()
    lines = decode_tcpdump(tmp_path / "p.pcap")
    assert [classify_tcpdump(l) for l in lines] == ["IP", "IP6", "IP"], lines


@pytest.mark.skipif(not shutil.which("tcpdump"), reason="tcpdump is not installed (apt-get install tcpdump)")
def test_pcap_check_command_exit_status(tmp_path, capsys):
    from tunlab.pcap_check import main
    assert main([]) == 2 and main([str(tmp_path / "nowhere")]) == 2
    assert main([str(tmp_path)]) == 1            # no capture at all is no success
    (tmp_path / "t").mkdir()
    _mixed(tmp_path / "t" / "packets.pcap")
    assert main([str(tmp_path)]) == 0
    assert "1 captures" in capsys.readouterr().out
    w = PcapWriter(tmp_path / "t" / "packets.pcap", test="t")
    w.write(bytes(20), device="tun0", direction=OUTBOUND)
    w.close()
    assert main([str(tmp_path)]) == 1
