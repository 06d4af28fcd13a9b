"""Packet injection through /dev/net/tun: the guest's stack answers what we write."""

from tunlab import checks
from tunlab.pcap import read_pcap
from tunlab.packets import LOCAL, PEER, parse_ipv4


def test_icmp_echo_is_answered_with_valid_checksums(tun):
    checks.icmp_echo_roundtrip(tun, LOCAL, PEER, seq=1)
    checks.icmp_echo_roundtrip(tun, LOCAL, PEER, seq=2, payload=bytes(range(256)) * 4)


def test_injected_and_read_packets_land_in_the_pcap(guest, tun, test_logs):
    checks.icmp_echo_roundtrip(tun, LOCAL, PEER)
    guest.pcap.close()
    guest.pcap = None
    packets = [parse_ipv4(p) for p in read_pcap(test_logs / "packets.pcap")]
    assert [(p.src, p.dst) for p in packets] == [(PEER, LOCAL), (LOCAL, PEER)]


def test_interface_counters_advance(tun):
    before = tun.stats()
    checks.icmp_echo_roundtrip(tun, LOCAL, PEER)
    after = tun.stats()
    # The packet we wrote is received by the interface; the reply is sent by it.
    assert after["rx_packets"] == before["rx_packets"] + 1
    assert after["tx_packets"] == before["tx_packets"] + 1
    assert after["rx_bytes"] > before["rx_bytes"] and after["tx_bytes"] > before["tx_bytes"]
