"""The agent's Linux backend against this machine's tun, in a private network namespace.

Skipped (with the reason) when /dev/net/tun or network namespaces are unusable here.
"""
import struct
import time

import pytest

from tunlab.packets import LOCAL, PEER

IFF_TUN, IFF_TAP, IFF_UP = 0x0001, 0x0002, 0x1


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def icmp_echo_request(src, dst, ident, seq, payload=b"tunlab"):
    icmp = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + payload
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 1, 0, 64, 1, 0,
                      ip4(src), ip4(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + icmp


def up_device(a, **open_args):
    """Opens a tun device and configures LOCAL/PEER on it; returns (handle, ifname)."""
    f = a.ok("open", **open_args)
    a.ok("ifconfig", ifname=f["ifname"], addr=LOCAL + "/24", peer=PEER, up=1)
    return f["h"], f["ifname"]


def read_echo_reply(a, h, ident, seq, skip=0):
    """Reads packets until the kernel's echo reply to (ident, seq); returns its IP bytes."""
    for _ in range(20):
        f = a.ok("read", h=h, wait_ms=2000)
        pkt = bytes.fromhex(f["data"])[skip:]
        if pkt[0] >> 4 == 4 and pkt[9] == 1 and pkt[20] == 0 and \
                struct.unpack("!HH", pkt[24:28]) == (ident, seq):
            return pkt
    pytest.fail("no echo reply read from the device")


@pytest.fixture
def a(tun_agent):
    return tun_agent


def test_open_gives_handle_and_ifname(a):
    f = a.ok("open")
    assert int(f["h"]) >= 1
    assert f["ifname"].startswith("tun")


def test_open_defaults_to_a_tun_device(a):
    h = a.ok("open")["h"]
    f = a.ok("ioctl", h=h, req="TUNGETIFF")
    # (TUNGETIFF cannot show IFF_NO_PI: it reports IFF_NOFILTER, the same bit, instead)
    assert int(f["flags"], 16) & (IFF_TUN | IFF_TAP) == IFF_TUN


def test_default_device_reads_bare_ip(a):
    h, ifname = up_device(a)
    a.ok("write", h=h, data=icmp_echo_request(PEER, LOCAL, 5, 5).hex())
    assert read_echo_reply(a, h, 5, 5)[0] == 0x45


def test_ifconfig_then_ifinfo(a):
    h, ifname = up_device(a)
    a.ok("ifconfig", ifname=ifname, mtu=1400)
    f = a.ok("ifinfo", ifname=ifname)
    assert f["mtu"] == "1400"
    assert int(f["flags"], 16) & IFF_UP
    assert int(f["index"]) > 0


def test_ifconfig_bad_address_is_earg(a):
    f = a.request("ifconfig", ifname="tun0", addr="10.0.0.300/24")
    assert f.name == "EARG" and f.text("msg").startswith("addr:")


def test_ifconfig_unknown_interface_is_an_errno(a):
    f = a.request("ifconfig", ifname="nosuch0", up=1)
    assert f.name == "ENODEV" and f["errno"]


def test_ifconfig_ipv6_address(a):
    h, ifname = up_device(a)
    a.ok("ifconfig", ifname=ifname, addr6="fd00:77::1/64")


def test_write_echo_request_read_kernel_reply(a):
    h, ifname = up_device(a)
    req = icmp_echo_request(PEER, LOCAL, 0x1234, 7)
    f = a.ok("write", h=h, data=req.hex())
    assert f["n"] == str(len(req))
    reply = read_echo_reply(a, h, 0x1234, 7)
    assert reply[12:16] == ip4(LOCAL) and reply[16:20] == ip4(PEER)
    assert reply[28:] == b"tunlab"


def test_packet_information_header_with_pi(a):
    h, ifname = up_device(a, pi=1)
    req = icmp_echo_request(PEER, LOCAL, 0x4321, 1)
    a.ok("write", h=h, data=(b"\0\0\x08\x00" + req).hex())
    read_echo_reply(a, h, 0x4321, 1, skip=4)


def test_read_wait_ms_times_out_on_an_empty_device(a):
    h = a.ok("open")["h"]
    f = a.request("read", h=h, wait_ms=50)
    assert f.name == "ETIMEDOUT"


def test_nonblocking_read_of_empty_device_is_eagain(a):
    h = a.ok("open", nonblock=1)["h"]
    f = a.request("read", h=h)
    assert (f.name, f["errno"]) == ("EAGAIN", "11")


def test_blocking_read_without_wait_ms_gives_up_after_5s(a):
    h = a.ok("open")["h"]
    t0 = time.monotonic()
    f = a.request("read", h=h, timeout=15)
    assert f.name == "ETIMEDOUT"
    assert 4.5 <= time.monotonic() - t0 < 10
    assert a.ok("nop")


def test_read_max_truncates(a):
    h, ifname = up_device(a)
    a.ok("write", h=h, data=icmp_echo_request(PEER, LOCAL, 1, 1).hex())
    f = a.ok("read", h=h, max=10, wait_ms=2000)
    assert f["n"] == "10" and len(f["data"]) == 20


def test_write_bad_blob_is_earg(a):
    h = a.ok("open")["h"]
    f = a.request("write", h=h, data="abc")
    assert f.name == "EARG" and f.text("msg").startswith("data:")


def test_stats_count_written_packets(a):
    h, ifname = up_device(a)
    before = a.ok("stats", ifname=ifname)
    req = icmp_echo_request(PEER, LOCAL, 9, 9)
    for _ in range(3):
        a.ok("write", h=h, data=req.hex())
    after = a.ok("stats", ifname=ifname)
    assert int(after["rx_packets"]) - int(before["rx_packets"]) == 3
    assert int(after["rx_bytes"]) - int(before["rx_bytes"]) == 3 * len(req)


def test_route_add_and_del(a):
    h, ifname = up_device(a)
    a.ok("route", op="add", dst="10.78.0.0/16", ifname=ifname)
    a.ok("route", op="del", dst="10.78.0.0/16", ifname=ifname)
    f = a.request("route", op="del", dst="10.78.0.0/16", ifname=ifname)
    assert f.word == "err" and f.name == "ESRCH"


def test_ioctls_from_the_table(a):
    h, ifname = up_device(a)
    assert int(a.ok("ioctl", h=h, req="TUNGETFEATURES")["value"]) & IFF_TUN
    assert a.ok("ioctl", ifname=ifname, req="SIOCGIFMTU")["value"] == "1500"
    assert a.ok("ioctl", h=h, req="TUNSETSNDBUF", value=65536)["ret"] == "0"
    f = a.request("ioctl", ifname=ifname, req="SIOCSIFMTU", value=10)
    assert f.name == "EINVAL"
    f = a.request("ioctl", h=h, req="TUNSETIFF", flags=IFF_TUN)
    assert f.name in ("EEXIST", "EINVAL", "EBUSY")


def test_ioctl_missing_typed_argument_is_earg(a):
    h = a.ok("open")["h"]
    f = a.request("ioctl", h=h, req="TUNSETPERSIST")
    assert f.name == "EARG" and f.text("msg").startswith("value:")


def test_sixteen_devices_then_close_all(a):
    opened = [a.ok("open") for _ in range(16)]
    assert len({f["h"] for f in opened}) == 16
    assert len({f["ifname"] for f in opened}) == 16
    for f in opened:
        a.ok("close", h=f["h"])
    assert a.request("read", h=opened[0]["h"], wait_ms=0).name == "ENOHANDLE"


def test_handles_are_not_reused(a):
    h1 = a.ok("open")["h"]
    a.ok("close", h=h1)
    h2 = a.ok("open")["h"]
    assert h2 != h1
    assert a.request("close", h=h1).name == "ENOHANDLE"


@pytest.mark.parametrize("kind,size", [("write", 100), ("read", 1400), ("rtt", 84)])
def test_bench_kinds_move_packets(a, kind, size):
    h, ifname = up_device(a)
    f = a.ok("bench", h=h, kind=kind, size=size, ms=200, local=LOCAL, peer=PEER,
             timeout=30)
    packets, ns = int(f["packets"]), int(f["ns"])
    assert packets > 0 and ns >= 200_000_000
    assert int(f["bytes"]) == packets * size
    assert float(f["pps"]) > 0 and float(f["mbps"]) > 0
    assert int(f["errors"]) == int(f["unexpected"])  # no failed reads or writes


def test_bench_rtt_with_pi_framing(a):
    h, ifname = up_device(a, pi=1)
    f = a.ok("bench", h=h, kind="rtt", size=200, ms=100, local=LOCAL, peer=PEER)
    assert int(f["packets"]) > 0 and int(f["rtt_min_ns"]) > 0


def test_bench_on_tap_is_refused(a):
    h = a.ok("open", tap=1)["h"]
    f = a.request("bench", h=h, kind="write", size=100, ms=10, local=LOCAL, peer=PEER)
    assert f.name == "EOPNOTSUPP"


def test_bench_bad_kind_is_earg(a):
    h = a.ok("open")["h"]
    f = a.request("bench", h=h, kind="sideways", size=100, ms=10, local=LOCAL, peer=PEER)
    assert f.name == "EARG" and f.text("msg").startswith("kind:")


def test_rename_with_siocsifname(a):
    f = a.ok("open")
    a.ok("ioctl", ifname=f["ifname"], req="SIOCSIFNAME", name="tlrenamed")
    assert int(a.ok("ifinfo", ifname="tlrenamed")["index"]) > 0
    assert a.request("ifinfo", ifname=f["ifname"]).name == "ENODEV"
