"""A tun device opened by the agent, as tests use it. Every packet written or read goes into
the current test's pcap."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from tunlab.protocol import Frame, Value

if TYPE_CHECKING:
    from tunlab.client import AgentClient
    from tunlab.pcap import PcapWriter

PI_LEN = 4  # Linux's struct tun_pi / BSD's header-mode family word


class Host(Protocol):
    """What a device needs from the guest it lives in (a VM guest or the kpi target)."""

    @property
    def agent(self) -> "AgentClient": ...

    pcap: "PcapWriter | None"
    devices: "dict[int, TunDevice]"


class TunDevice:
    def __init__(self, host: Host, handle: int, ifname: str, pi: bool) -> None:
        self.host = host
        self.h = handle
        self.ifname = ifname
        self.pi = pi
        self.closed = False

    def _record(self, packet: bytes) -> None:
        pcap = self.host.pcap
        if pcap:
            pcap.write(packet[PI_LEN:] if self.pi else packet)

    def write(self, packet: bytes) -> int:
        """Write one packet (with its 4-byte header when pi is on); returns bytes written."""
        self._record(packet)
        return self.host.agent.request("write", h=self.h, data=packet).int("n")

    def read(self, wait_ms: int | None = 2000, max: int | None = None) -> bytes:
        """Read one packet; the agent waits up to `wait_ms` for one (None: read(2) at once)."""
        args: dict[str, Value] = {"h": self.h}
        if wait_ms is not None:
            args["wait_ms"] = wait_ms
        if max is not None:
            args["max"] = max
        timeout = self.host.agent.default_timeout + (wait_ms or 0) / 1000
        packet = self.host.agent.request("read", timeout=timeout, **args).bytes("data")
        self._record(packet)
        return packet

    def ioctl(self, req: str, **args: Value) -> Frame:
        return self.host.agent.request("ioctl", h=self.h, req=req, **args)

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
