"""TUN-SPEC.md, Readiness (kqueue; poll and select go through it on DragonFly): K1-K4."""

import pytest

from tunlab.bsd_instruments import EVFILT_EXCEPT, TUNMTU, UDP_OVERHEAD, expect_error

pytestmark = pytest.mark.tun_api("bsd")


@pytest.mark.row("K1")
def test_K1_evfilt_read_is_active_exactly_while_the_queue_is_not_empty(k, dev):
    if not k.has("kqueue"):
        return poll_readiness(k, dev, "K1")
    kq = k.kq_open()
    k.kq_add(kq, dev, "read")
    assert k.kq_poll(kq) == [], "EVFILT_READ active on an empty queue"
    k.send_ok(size=100 - UDP_OVERHEAD)
    k.send_ok(size=50 - UDP_OVERHEAD)
    events = k.kq_poll(kq, wait_ms=1000)
    # kn_data: the length of the next packet, as read would return it
    assert [(e["filter"], e["data"]) for e in events] == [("read", 100)], events
    assert len(dev.read()) == 100
    assert [(e["filter"], e["data"]) for e in k.kq_poll(kq)] == [("read", 50)], \
        "inactive (or the wrong length) with a packet queued"
    assert len(dev.read()) == 50
    assert k.kq_poll(kq) == [], "still active after the queue emptied"
    assert k.kq_poll(kq, wait_ms=20) == []


@pytest.mark.row("K2")
def test_K2_evfilt_write_is_always_active_with_the_mtu_as_data(k, dev):
    if not k.has("kqueue"):
        return poll_readiness(k, dev, "K2")
    kq = k.kq_open()
    k.kq_add(kq, dev, "write")
    for _ in range(3):
        events = k.kq_poll(kq)
        assert [(e["filter"], e["data"]) for e in events] == [("write", TUNMTU)], events
    r = dev.ioctl("TUNGIFINFO")
    dev.ioctl("TUNSIFINFO", mtu=1280, type=r.int("type"), baudrate=r.int("baudrate"))
    assert [(e["filter"], e["data"]) for e in k.kq_poll(kq)] == [("write", 1280)]


@pytest.mark.row("K3")
def test_K3_other_filters_are_eopnotsupp(k):
    dev = k.open()
    kq = k.kq_open()
    expect_error("EOPNOTSUPP", k.kq_add, kq, dev, EVFILT_EXCEPT)


@pytest.mark.row("K4")
def test_K4_close_with_knotes_registered_no_panic(k):
    base = k.kstat()
    dev = k.open(addr=True)
    kq1, kq2 = k.kq_open(), k.kq_open()
    k.kq_add(kq1, dev, "read")
    k.kq_add(kq1, dev, "write")
    k.kq_add(kq2, dev, "read")
    k.send_ok()
    dev.close()
    # the knotes went with the file (or report EOF); none may fire as a live device
    for kq in (kq1, kq2):
        live = [e for e in k.kq_poll(kq) if not e["eof"]]
        assert live == [], f"events of a closed device: {live}"
    k.agent.request("nop")
    k.kq_close(kq1)
    k.kq_close(kq2)
    # (whether the unit itself outlives the close is L3's row)
    k.assert_no_growth(base, k.kstat(), keys=("knotes", "files", "mbufs"), what="close with knotes")


def poll_readiness(k, dev, row: str) -> None:
    """K1/K2 on a driver without kqueue (2008's d_poll): readiness through poll(2) must
    follow the queue as EVFILT_READ/EVFILT_WRITE would, but poll carries no kn_data (the next
    packet's length, the MTU), which the row also asks for."""
    def poll() -> tuple[int, int]:
        r = k.req("poll", h=dev.h)
        return r.int("in"), r.int("out")

    assert poll() == (0, 1), "empty queue: want writable only"
    k.send_ok(size=100 - UDP_OVERHEAD)
    assert poll() == (1, 1), "a packet queued: want readable and writable"
    assert len(dev.read()) == 100
    assert poll() == (0, 1), "queue emptied: want writable only"
    pytest.fail(f"{row}: the driver has no kqueue; poll(2) reports readiness but no kn_data "
                f"({'the next packet length' if row == 'K1' else 'the MTU'})")
