"""The in-guest traffic loops return plausible figures (measured, not judged on speed)."""

import pytest

LOCAL, PEER = "10.77.6.1", "10.77.6.2"


@pytest.mark.parametrize("kind", ["write", "read", "rtt"])
def test_bench_moves_packets_and_reports_consistent_figures(guest, kind):
    dev = guest.open_tun(addr=f"{LOCAL}/32", peer=PEER)
    r = dev.bench(kind, 512, 300, LOCAL, PEER)
    packets, nbytes, ns = r.int("packets"), r.int("bytes"), r.int("ns")
    assert packets > 0 and r.int("errors") == 0
    assert nbytes == packets * 512
    assert ns > 0
    # pps and mbps are what packets, bytes and ns say they are (within rounding).
    assert r.float("pps") == pytest.approx(packets / (ns / 1e9), rel=0.01)
    assert r.float("mbps") == pytest.approx(nbytes * 8 / (ns / 1e3), rel=0.01)
