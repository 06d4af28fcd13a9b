"""TUN-SPEC.md, Input path (the program writes, packets enter the stack): W1-W6."""

import pytest

from tunlab.bsd_instruments import (AF_INET, LOCAL6, PEER6, TUNMRU, echo4, echo6, expect_error, expect_nothing,
                 hdr, icmp6_echo, ipv6_ready, skip_unless_emulated)

pytestmark = pytest.mark.tun_api("bsd")

BAD_FAMILY = 99


@pytest.mark.row("W1")
def test_W1_zero_byte_write_returns_0_and_counts_nothing(k, dev):
    before = k.stats(dev.ifname)
    assert dev.write(b"") == 0
    dev.ioctl("TUNSIFHEAD", value=1)
    assert dev.write(b"") == 0
    after = k.stats(dev.ifname)
    for key in ("rx_packets", "rx_bytes", "rx_errors", "rx_dropped"):
        assert after[key] == before[key], f"a 0-byte write counted {key}"


@pytest.mark.row("W2")
def test_W2_largest_write_is_tunmru_plus_4_in_header_mode_one_more_eio(k, dev):
    # zeroes are no valid IP: the stack drops them, the write itself succeeds
    assert dev.write(bytes(TUNMRU)) == TUNMRU
    expect_error("EIO", dev.write, bytes(TUNMRU + 1))
    dev.ioctl("TUNSIFHEAD", value=1)
    assert dev.write(hdr(AF_INET) + bytes(TUNMRU)) == TUNMRU + 4
    expect_error("EIO", dev.write, hdr(AF_INET) + bytes(TUNMRU + 1))


@pytest.mark.row("W3")
def test_W3_header_mode_write_shorter_than_4_is_einval_and_leaks_nothing(k, dev):
    dev.ioctl("TUNSIFHEAD", value=1)
    before = k.kstat()
    for n in (1, 2, 3):
        expect_error("EINVAL", dev.write, bytes(n))
    k.assert_no_growth(before, k.kstat(), keys=("mbufs", "clusters", "mbuf_bytes"),
                       what="short header-mode writes")


def _bad_family_writes(k, dev, size: int, count: int) -> None:
    data = hdr(BAD_FAMILY) + bytes([0x5A]) * (size - 4)
    before = k.kstat()
    r = k.agent.request("writes", h=dev.h, data=data, count=count,
                        timeout=k.agent.default_timeout + count / 500)
    assert r.int("failed") == count and r.fields.get("error") == "EAFNOSUPPORT" \
        and r.int("same") == count, f"{count} writes of family {BAD_FAMILY}: {r.line}"
    k.assert_no_growth(before, k.kstat(), keys=("mbufs", "clusters", "mbuf_bytes"),
                       what=f"{count} writes of {size} bytes with family {BAD_FAMILY}")


@pytest.mark.row("W4")
def test_W4_unsupported_family_is_eafnosupport_and_frees_the_whole_chain(k, dev):
    dev.ioctl("TUNSIFHEAD", value=1)
    _bad_family_writes(k, dev, 2000, 10000)
    _bad_family_writes(k, dev, 20, 10000)
    _bad_family_writes(k, dev, 9000, 1000)         # a chain of several mbufs
    b = k.bpf_open(dev.ifname)                     # the stock driver double-frees here
    _bad_family_writes(k, dev, 2000, 10000)
    _bad_family_writes(k, dev, 20, 10000)
    _bad_family_writes(k, dev, 9000, 1000)
    k.bpf_close(b)
    assert k.stats(dev.ifname)["rx_packets"] == 0


@pytest.mark.row("W5")
def test_W5_valid_packets_reach_the_stack_echo_is_answered_counters_advance(k):
    dev = k.open(addr=True, addr6=True)
    ipv6_ready(dev)
    before = k.stats(dev.ifname)
    echo4(dev, header=False, seq=1)
    dev.ioctl("TUNSIFHEAD", value=1)
    echo4(dev, header=True, seq=2)
    echo6(dev, seq=3)
    # plain mode takes every packet as IPv4: an IPv6 packet gets no answer
    dev.ioctl("TUNSIFHEAD", value=0)
    request6 = icmp6_echo(PEER6, LOCAL6, seq=4)
    assert dev.write(request6) == len(request6)
    expect_nothing(dev, "plain", wait_ms=200)
    after = k.stats(dev.ifname)
    assert after["rx_packets"] - before["rx_packets"] >= 3
    assert after["rx_bytes"] > before["rx_bytes"]
    assert after["tx_packets"] - before["tx_packets"] >= 3


@pytest.mark.row("W6")
def test_W6_writes_copy_into_the_fewest_mbufs_one_uiomove_each(k, dev):
    skip_unless_emulated(k, "kpi-only: DragonFly does not export mbuf allocation or uiomove counts "
                       "(kern.ipc.mbstat and mbtypes count live mbufs only)")
    dev.ioctl("TUNSIFHEAD", value=1)
    for size in (20, 200, 1500, 2044, 2049, 4096, 9000):
        before = k.kstat()
        expect_error("EAFNOSUPPORT", dev.write, hdr(BAD_FAMILY) + bytes(size))
        after = k.kstat()
        mbufs = after["mbuf_allocs"] - before["mbuf_allocs"]
        moves = after["uiomove_calls"] - before["uiomove_calls"]
        assert mbufs == moves, f"{size} + 4 bytes: {mbufs} mbufs but {moves} uiomove calls"
        if size + 4 <= 2048:
            assert mbufs == 1, f"{size} + 4 bytes took {mbufs} mbufs, want one"
