"""Checks of a live tun device that both the test suite and `tunlab run` use. Each returns a
one-line account of what it saw and raises CheckFailed when the device misbehaves."""

from __future__ import annotations

import statistics
import time
from typing import Callable

from tunlab.client import AgentClient
from tunlab.errors import AgentError, TunlabError
from tunlab.packets import ICMP_ECHO_REPLY, PROTO_ICMP, icmp_echo, is_noise, parse_ipv4
from tunlab.tundev import TunDevice


class CheckFailed(TunlabError, AssertionError):
    """A device did not behave as the check expects."""


def expect(cond: bool, message: str) -> None:
    if not cond:
        raise CheckFailed(message)


def echo_reply(dev: TunDevice, local: str, peer: str, prefix: bytes = b"", seq: int = 1,
               payload: bytes = b"tunlab-icmp-echo", wait_ms: int = 3000) -> bytes:
    """The one echo check: write an ICMP echo request from `peer` to the device's address
    `local`, framed with `prefix` (the device's packet header, if any: Linux's tun_pi, BSD's
    header-mode family); the guest's stack must answer through the device with the same
    framing and a well-formed echo reply. Returns the reply's IP packet."""
    request = icmp_echo(peer, local, seq=seq, payload=payload)
    frame = prefix + request
    n = dev.write(frame)
    expect(n == len(frame), f"write returned {n}, expected {len(frame)}")
    while True:  # skip what a kernel sends by itself on an interface with IPv6
        raw = dev.read(wait_ms=wait_ms)
        if not is_noise(raw[len(prefix):]):
            break
    expect(raw[:len(prefix)] == prefix,
           f"reply's header {raw[:len(prefix)].hex()}, expected {prefix.hex()}")
    packet = raw[len(prefix):]
    ip = parse_ipv4(packet)
    expect(ip.src == local and ip.dst == peer,
           f"reply goes {ip.src} -> {ip.dst}, expected {local} -> {peer}")
    expect(ip.proto == PROTO_ICMP, f"reply has IP protocol {ip.proto}, expected ICMP")
    expect(ip.header_ok, "reply's IP header checksum is wrong")
    expect(ip.icmp_ok, "reply's ICMP checksum is wrong")
    kind, code, ident, rseq, data = ip.icmp
    expect((kind, code) == (ICMP_ECHO_REPLY, 0), f"ICMP type/code {kind}/{code}, expected echo reply 0/0")
    expect(rseq == seq and data == payload, "echo reply does not carry the request's sequence and data")
    return packet


def icmp_echo_roundtrip(dev: TunDevice, local: str, peer: str, seq: int = 1,
                        payload: bytes = b"tunlab-icmp-echo", prefix: bytes = b"") -> str:
    """echo_reply, as a one-line account (tunlab run, the Linux suite)."""
    packet = echo_reply(dev, local, peer, prefix, seq, payload)
    return (f"echo request {len(packet)} B in, reply {len(packet)} B out, checksums ok")


def expect_error(errname: str, fn: Callable[..., object], *args: object, **kwargs: object) -> AgentError:
    """The one way to expect a named error: fn(...) must fail with the errno named
    `errname` (the agent's err reply)."""
    try:
        result = fn(*args, **kwargs)
    except AgentError as e:
        expect(e.name == errname, f"expected {errname}, got {e.name} ({e})")
        return e
    raise CheckFailed(f"expected {errname}, got success: {result!r}")


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
