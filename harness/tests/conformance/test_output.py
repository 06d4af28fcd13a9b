"""TUN-SPEC.md, Output path (the stack sends to tunN, the program reads): O1-O8."""

import ipaddress
import struct

import pytest

from tunlab.bsd_instruments import (AF_INET, AF_INET6, IFQMAXLEN, LOCAL, LOCAL6, PEER, PEER6, UDP6_OVERHEAD,
                 UDP_OVERHEAD, bpf_family, bpf_header, drain, env_int, expect_error, hdr,
                 icmp6_echo, ipv6_ready, read_packet)
from tunlab.packets import icmp_echo

pytestmark = pytest.mark.tun_api("bsd")


@pytest.mark.row("O1")
def test_O1_output_while_closed_ehostdown_and_reads_never_ehostdown(k):
    closed = k.unit()
    # a closed unit with an address: the stack's send reaches the driver, which refuses
    k.ifconfig(closed, addr="10.78.0.1/32", peer="10.78.0.2", up=1)
    assert k.send_error("10.78.0.2") == "EHOSTDOWN"
    # open units, with and without an address: an empty read is EAGAIN, never EHOSTDOWN
    bare = k.unit()
    for name in (closed, bare):
        dev = k.open(name=name, nonblock=True)
        expect_error("EAGAIN", dev.read, wait_ms=None)
        dev.close()


@pytest.mark.row("O2")
def test_O2_plain_mode_carries_ipv4_only_header_and_link_layer_prefixes(k):
    dev = k.open(addr=True, addr6=True)
    ipv6_ready(dev)
    # plain mode: IPv6 is refused
    assert k.send_error(PEER6, size=32) == "EAFNOSUPPORT"
    assert dev.ioctl("FIONREAD").int("value") == 0
    # header mode: a 4-byte family in network order
    dev.ioctl("TUNSIFHEAD", value=1)
    k.send_ok(PEER6, size=32)
    got = read_packet(dev, "header")
    assert got[:4] == hdr(AF_INET6) and len(got) == 4 + UDP6_OVERHEAD + 32, got[:8].hex()
    assert got[4] >> 4 == 6
    k.send_ok(PEER, size=36)
    got = read_packet(dev, "header")
    assert got[:4] == hdr(AF_INET) and len(got) == 4 + UDP_OVERHEAD + 36 and got[4] == 0x45
    # link-layer mode: the destination sockaddr first
    dev.ioctl("TUNSLMODE", value=1)
    k.send_ok(PEER6, size=32)
    got = read_packet(dev, "link")
    assert got[0] == 28 and got[1] == AF_INET6, f"want a sockaddr_in6 first: {got[:28].hex()}"
    assert got[8:24] == ipaddress.IPv6Address(PEER6).packed
    assert len(got) == 28 + UDP6_OVERHEAD + 32 and got[28] >> 4 == 6
    k.send_ok(PEER, size=36)
    got = read_packet(dev, "link")
    assert got[0] == 16 and got[1] == AF_INET and got[4:8] == ipaddress.IPv4Address(PEER).packed
    assert len(got) == 16 + UDP_OVERHEAD + 36 and got[16] == 0x45


@pytest.mark.row("O3")
def test_O3_send_queue_holds_ifqmaxlen_then_enobufs_counted_as_output_drop(k, dev):
    before = k.stats(dev.ifname)
    r = k.send(size=100 - UDP_OVERHEAD, count=IFQMAXLEN + 1)
    assert (r.int("sent"), r.int("failed")) == (IFQMAXLEN, 1), \
        f"{IFQMAXLEN + 1} sends: {r.int('sent')} queued, {r.int('failed')} refused"
    assert r.fields.get("error") == "ENOBUFS"
    after = k.stats(dev.ifname)
    assert after["tx_dropped"] - before["tx_dropped"] == 1, "the refused packet is no output drop"
    assert after["tx_packets"] - before["tx_packets"] == IFQMAXLEN
    # the queue is intact
    assert drain(dev) == IFQMAXLEN


@pytest.mark.row("O4")
def test_O4_read_returns_one_packet_and_a_short_buffer_drops_only_its_rest(k):
    dev = k.open(addr=True, mtu=9000)      # no fragments of the 3000-byte packet
    for size in (1000, 3000, 500):
        k.send_ok(size=size - UDP_OVERHEAD)
    assert len(dev.read()) == 1000
    head = dev.read(max=10)
    assert len(head) == 10 and head[0] == 0x45
    assert dev.ioctl("FIONREAD").int("value") == 500, "the short read took more than its packet"
    assert len(dev.read()) == 500


@pytest.mark.row("O5")
def test_O5_zero_length_read_returns_0_and_keeps_the_packet(k, dev):
    k.send_ok(size=100 - UDP_OVERHEAD)
    assert dev.read(max=0) == b""
    assert dev.ioctl("FIONREAD").int("value") == 100, "a 0-byte read ate the packet"
    assert len(dev.read()) == 100
    # on an empty queue too: 0 at once, not EAGAIN and not a sleep
    dev.ioctl("FIONBIO", value=1)
    assert dev.read(wait_ms=None, max=0) == b""
    dev.ioctl("FIONBIO", value=0)


@pytest.mark.row("O6", stock="same")      # the stock driver differs in the lost wakeup only
def test_O6_nonblocking_read_on_an_empty_queue_is_eagain(k):
    dev = k.open(addr=True, nonblock=True)
    expect_error("EAGAIN", dev.read, wait_ms=None)


@pytest.mark.row("O6")
@pytest.mark.vcpus(2)  # a race: two vCPUs on a VM (conftest.py)
def test_O6_no_lost_wakeup_in_100000_single_packet_round_trips(k, dev):
    # A reader thread blocks in read(2), the agent writes one echo request at a time and
    # waits for the reply to be read; a reader left asleep with a packet queued for lost_ms
    # is a lost wakeup. On kpi every non-interlocked tsleep() is also preempted (preempt_us),
    # so a sleep without tsleep_interlock() loses a wakeup within a few round trips.
    count = env_int("TUNLAB_ROUNDTRIPS", 100000)
    before = k.kstat()
    r = k.agent.request("roundtrip", h=dev.h, count=count, local=LOCAL, peer=PEER,
                        timeout=k.agent.default_timeout + 30 + count / 1000)
    assert r.int("lost") == 0, f"lost wakeup after {r.int('done')} round trips: {r.line}"
    assert r.int("stalled") == 0, f"no progress after {r.int('done')} round trips: {r.line}"
    assert r.int("done") == count and r.int("bad") == 0, r.line
    assert "read_error" not in r.fields and "write_error" not in r.fields, r.line
    if k.emulated:
        # most reads must really have slept, or the wakeup path was not tested
        slept = k.kstat()["tsleep_blocks"] - before["tsleep_blocks"]
        assert slept > count // 2, f"only {slept} of {count} reads slept"


@pytest.mark.row("O7")
def test_O7_bpf_sees_every_packet_with_a_host_order_family_both_ways(k):
    dev = k.open(addr=True, addr6=True)
    ipv6_ready(dev)
    b = k.bpf_open(dev.ifname)
    # stack -> program
    k.send_ok(size=120 - UDP_OVERHEAD)
    tap = k.bpf_read(b)
    assert len(tap) == 4 + 120 and bpf_family(tap) == AF_INET and tap[4] == 0x45
    assert len(dev.read()) == 120
    # program -> stack, plain mode: the echo request and the kernel's reply
    request = icmp_echo(PEER, LOCAL, seq=7, payload=b"tunlab-O7" * 3)
    dev.write(request)
    tap = k.bpf_read(b)
    assert bpf_family(tap) == AF_INET and tap[4:] == request
    reply = dev.read(wait_ms=3000)
    tap = k.bpf_read(b)
    assert bpf_family(tap) == AF_INET and tap[4:] == reply
    # header mode, IPv6: the tap shows a host-order family and no header
    dev.ioctl("TUNSIFHEAD", value=1)
    request6 = icmp6_echo(PEER6, LOCAL6, seq=9, payload=b"tunlab-O7-v6")
    dev.write(hdr(AF_INET6) + request6)
    tap = k.bpf_read(b)
    assert bpf_family(tap) == AF_INET6 and tap[4:] == request6, tap[:8].hex()
    reply6 = read_packet(dev, "header", wait_ms=3000)
    assert reply6[:4] == hdr(AF_INET6)
    tap = k.bpf_read(b)
    assert bpf_family(tap) == AF_INET6 and tap[4:] == reply6[4:]


@pytest.mark.row("O8")
def test_O8_bpf_write_shorter_than_4_bytes_is_einval(k, dev):
    b = k.bpf_open(dev.ifname)
    before = k.kstat()
    for n in (1, 2, 3):
        expect_error("EINVAL", k.bpf_write, b, b"\x02\x00\x00"[:n])
    k.assert_no_growth(before, k.kstat(), keys=("mbufs", "clusters"), what="short bpf writes")
    assert dev.ioctl("FIONREAD").int("value") == 0, "a short bpf write queued a packet"
    # a well-formed bpf write: host-order family, then the packet, which the program reads
    packet = icmp_echo(LOCAL, PEER, seq=1, payload=b"tunlab-O8")
    assert k.bpf_write(b, bpf_header(AF_INET) + packet) == 4 + len(packet)
    assert dev.read() == packet
    expect_error("EAFNOSUPPORT", k.bpf_write, b, struct.pack("<I", 0) + packet)
