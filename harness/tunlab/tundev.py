"""A tun device opened by the agent, as tests use it. Every packet written or read goes into
the current test's capture (tunlab/pcap.py), on the interface of the framing the device is in
at that moment: it knows its framing from pi= at open (BSD: header mode; Linux: tun_pi) and
from the TUNSIFHEAD/TUNSLMODE ioctls made through it (`ioctl`, or Instruments.ioctl)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

from tunlab.errors import AgentError
from tunlab.pcap import INBOUND, OUTBOUND
from tunlab.protocol import Frame, Value

if TYPE_CHECKING:
    from tunlab.client import AgentClient
    from tunlab.pcap import PcapWriter

PI_LEN = 4  # Linux's struct tun_pi / BSD's header-mode family word

# The BSD mode ioctls, by name and by number (driver/if_tun.h), as a request may name them.
TUNSLMODE, TUNSIFHEAD = 0x8004745D, 0x80047460
_MODE_IOCTLS = {"TUNSLMODE": "link", "TUNSIFHEAD": "header",
                hex(TUNSLMODE): "link", hex(TUNSIFHEAD): "header"}


class Host(Protocol):
    """What a device needs from the guest it lives in (a VM guest or the kpi target)."""

    @property
    def agent(self) -> "AgentClient": ...

    pcap: "PcapWriter | None"
    devices: "dict[int, TunDevice]"


def _tun_api(host: object) -> str:
    """"bsd" or "linux": what the host's target speaks (its spec names the target)."""
    from tunlab import targets
    try:
        return targets.get(host.spec.target).tun_api  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a stand-in host without a spec: Linux's framing
        return "linux"


def looks_like(packet: bytes) -> str:
    """The BSD framing a packet read from the device has, by its first byte: an IP version
    nibble (raw), a network-order family word's zero high byte (header), a sockaddr's length
    (link: 16 or 28, and that many bytes and more); "" when none fits."""
    if not packet:
        return ""
    first = packet[0]
    if first >> 4 in (4, 6):
        return "raw"
    if first == 0 and len(packet) >= 4:
        return "header"
    if first in (16, 28) and len(packet) > first:
        return "link"
    return ""


class TunDevice:
    def __init__(self, host: Host, handle: int, ifname: str, pi: bool, api: str = "") -> None:
        self.host = host
        self.h = handle
        self.ifname = ifname
        self.pi = pi
        self.api = api or _tun_api(host)
        # BSD: plain, header (TUNSIFHEAD) or link (TUNSLMODE); Linux: plain or tun_pi
        self.mode = ("header" if self.api == "bsd" else "tun_pi") if pi else "plain"
        self.closed = False

    def framing(self, direction: int) -> str:
        """The capture framing (pcap.FRAMINGS) of a packet written (INBOUND) or read
        (OUTBOUND) now: a link-layer mode write is a bare IP packet, its read has the
        sockaddr first."""
        if self.mode == "link" and direction == INBOUND:
            return "raw"
        return {"plain": "raw"}.get(self.mode, self.mode)

    def _record(self, packet: bytes, direction: int, when: float | None = None, note: str = "") -> None:
        pcap = self.host.pcap
        if not pcap or not packet:  # a 0-byte write or read: nothing crossed the device
            return
        framing = self.framing(direction)
        if direction == OUTBOUND and self.api == "bsd":
            seen = looks_like(packet)
            if seen and seen != framing:
                note = "; ".join(n for n in (f"the device was in {self.mode} mode, but the bytes "
                                             f"read are {seen} framing", note) if n)
                framing = seen
        pcap.write(packet, when, framing=framing, device=self.ifname, direction=direction,
                   comment=note)

    def write(self, packet: bytes) -> int:
        """Write one packet (with its 4-byte header when pi is on); returns bytes written.
        The capture has it either way, a refused one with the error in its comment."""
        when = time.time()
        try:
            n = self.host.agent.request("write", h=self.h, data=packet).int("n")
        except AgentError as e:
            self._record(packet, INBOUND, when, f"the write failed: {e.name}")
            raise
        except BaseException as e:
            self._record(packet, INBOUND, when, f"the write got no answer: {type(e).__name__}")
            raise
        self._record(packet, INBOUND, when, "" if n == len(packet) else f"{n} of {len(packet)} bytes written")
        return n

    def read(self, wait_ms: int | None = 2000, max: int | None = None) -> bytes:
        """Read one packet; the agent waits up to `wait_ms` for one (None: read(2) at once)."""
        args: dict[str, Value] = {"h": self.h}
        if wait_ms is not None:
            args["wait_ms"] = wait_ms
        if max is not None:
            args["max"] = max
        timeout = self.host.agent.default_timeout + (wait_ms or 0) / 1000
        when = time.time()
        packet = self.host.agent.request("read", timeout=timeout, **args).bytes("data")
        if packet:
            self._record(packet, OUTBOUND, when,
                         f"read with a {max}-byte buffer: what did not fit was dropped, if anything"
                         if max is not None and len(packet) == max else "")
        return packet

    def ioctl(self, req: str, **args: Value) -> Frame:
        reply = self.host.agent.request("ioctl", h=self.h, req=req, **args)
        self.note_ioctl(req, args.get("value"))
        return reply

    def note_ioctl(self, req: str | int, value: Value | None) -> None:
        """A successful ioctl on this device: TUNSIFHEAD/TUNSLMODE change its framing
        (each sets its own mode and clears the other; 0 clears its own)."""
        key = hex(req) if isinstance(req, int) else req.lower() if req.lower().startswith("0x") else req
        mode = _MODE_IOCTLS.get(key)
        if mode is None or self.api != "bsd" or value is None:
            return
        on = value not in (0, False, "0")
        if on:
            self.mode = mode
        elif self.mode == mode:
            self.mode = "plain"

    def configure(self, addr: str = "", peer: str = "", mtu: int = 0, up: bool | None = None) -> None:
        args: dict[str, Value] = {"ifname": self.ifname}
        if addr:
            args["addr"] = addr
        if peer:
            args["peer"] = peer
        if mtu:
            args["mtu"] = mtu
        if up is not None:
            args["up"] = up
        self.host.agent.request("ifconfig", **args)

    def info(self) -> Frame:
        return self.host.agent.request("ifinfo", ifname=self.ifname)

    def stats(self) -> dict[str, int]:
        reply = self.host.agent.request("stats", ifname=self.ifname)
        return {k: int(v) for k, v in reply.fields.items() if v.isdigit()}

    def bench(self, kind: str, size: int, ms: int, local: str, peer: str) -> Frame:
        timeout = self.host.agent.default_timeout + ms / 1000
        return self.host.agent.request("bench", timeout=timeout, h=self.h, kind=kind, size=size,
                                       ms=ms, local=local, peer=peer)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.host.devices.pop(self.h, None)
            self.host.agent.request("close", h=self.h)
