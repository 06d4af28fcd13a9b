"""Checks of a live tun device that both the test suite and `tunlab run` use. Each returns a
one-line account of what it saw and raises CheckFailed when the device misbehaves."""

from __future__ import annotations

import statistics
import time

from tunlab.client import AgentClient
from tunlab.errors import AgentError, TunlabError
from tunlab.packets import ICMP_ECHO_REPLY, PROTO_ICMP, icmp_echo, parse_ipv4
from tunlab.tundev import TunDevice


class CheckFailed(TunlabError, AssertionError):
    """A device did not behave as the check expects."""


def expect(cond: bool, message: str) -> None:
    if not cond:
        raise CheckFailed(message)


def icmp_echo_roundtrip(dev: TunDevice, local: str, peer: str, seq: int = 1,
                        payload: bytes = b"tunlab-icmp-echo") -> str:
    """Inject an ICMP echo request from `peer` to the device's address `local`; the guest's
    stack must answer with a well-formed echo reply through the device."""
    request = icmp_echo(peer, local, seq=seq, payload=payload)
    frame = (b"\x00\x00\x08\x00" if dev.pi else b"") + request
    n = dev.write(frame)
    expect(n == len(frame), f"write returned {n}, expected {len(frame)}")
    raw = dev.read(wait_ms=3000)
    packet = raw[4:] if dev.pi else raw
    ip = parse_ipv4(packet)
    expect(ip.src == local and ip.dst == peer,
           f"reply goes {ip.src} -> {ip.dst}, expected {local} -> {peer}")
    expect(ip.proto == PROTO_ICMP, f"reply has IP protocol {ip.proto}, expected ICMP")
    expect(ip.header_ok, "reply's IP header checksum is wrong")
    expect(ip.icmp_ok, "reply's ICMP checksum is wrong")
    kind, code, ident, rseq, data = ip.icmp
    expect((kind, code) == (ICMP_ECHO_REPLY, 0), f"ICMP type/code {kind}/{code}, expected echo reply 0/0")
    expect(rseq == seq and data == payload, "echo reply does not carry the request's sequence and data")
    return f"echo request {len(request)} B in, reply {len(packet)} B out, checksums ok"


def nonblocking_read_is_eagain(dev: TunDevice) -> str:
    """A read on an empty non-blocking device fails with EAGAIN at once."""
    try:
        data = dev.read(wait_ms=None)
    except AgentError as e:
        expect(e.name == "EAGAIN", f"read on an empty queue failed with {e.name}, expected EAGAIN")
        return "read on an empty queue: EAGAIN"
    raise CheckFailed(f"read on an empty non-blocking device returned {len(data)} bytes, expected EAGAIN")


def control_round_trip(agent: AgentClient, count: int) -> dict[str, float]:
    """Times `count` no-op requests; returns median, p99 and max in milliseconds."""
    samples = []
    for _ in range(count):
        t0 = time.perf_counter()
        agent.request("nop")
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return {"count": count, "median_ms": statistics.median(samples),
            "p99_ms": samples[min(len(samples) - 1, int(len(samples) * 0.99))], "max_ms": samples[-1]}
