"""The capture of a Linux guest's devices (tunlab/pcap.py): a plain device and one with
packet information (struct tun_pi) in one test, decoded by tcpdump (and tshark)."""

import shutil

import pytest

from tunlab.packets import icmp_echo, parse_ipv4
from tunlab.pcap import read_capture
from tunlab.pcap_check import survey

pytestmark = pytest.mark.target("linux")


@pytest.mark.skipif(not shutil.which("tcpdump"), reason="tcpdump is not installed (apt-get install tcpdump)")
def test_plain_and_tun_pi_frames_decode_with_their_directions(guest, test_logs):
    plain = guest.open_tun(addr="10.77.4.1/32", peer="10.77.4.2")
    framed = guest.open_tun(pi=True, addr="10.77.5.1/32", peer="10.77.5.2")
    plain.write(icmp_echo("10.77.4.2", "10.77.4.1"))
    assert parse_ipv4(plain.read(wait_ms=3000)).icmp_ok
    framed.write(b"\0\0\x08\0" + icmp_echo("10.77.5.2", "10.77.5.1"))
    assert parse_ipv4(framed.read(wait_ms=3000)[4:]).icmp_ok
    guest.pcap.close()
    guest.pcap = None
    cap = read_capture(test_logs / "packets.pcap")
    names = [i.name for i in cap.interfaces]
    assert [(names[p.interface], p.direction) for p in cap.packets] == [
        (f"{plain.ifname} raw", "in"), (f"{plain.ifname} raw", "out"),
        (f"{framed.ifname} tun_pi", "in"), (f"{framed.ifname} tun_pi", "out")]
    assert cap.packets[2].comment.endswith("tun_pi flags=0x0000 proto=0x0800")
    s = survey(test_logs)
    assert {k: dict(v) for k, v in s.counts.items()} == {"raw": {"decoded": 2}, "tun_pi": {"decoded": 2}}, s.table()
    assert not s.problems, s.problems
