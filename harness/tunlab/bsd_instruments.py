"""The BSD conformance suite's client: DragonFly's constants, the header-mode and bpf
framings, and `Instruments`, the agent's instruments (docs/protocol.md, "Instruments":
kqueue, bpf, kernel counters, sysctl, modules, interface cloning) as Python calls, with the
clean-up of what a test made.

Everything here goes through the control protocol, so the same test runs against the kpi
target (our driver over driver/kpi, in the agent process) and a DragonFly guest.
"""

from __future__ import annotations

import os
import struct
import time
from contextlib import contextmanager
from typing import Iterator

import pytest

from tunlab import targets
from tunlab.checks import echo_reply, expect_error  # noqa: F401  (the suite imports expect_error from here)
from tunlab.errors import AgentError, TunlabError
from tunlab.packets import LOCAL, LOCAL6, PEER, PEER6, icmp6_echo, is_noise, parse_icmp6
from tunlab.protocol import Frame
from tunlab.tundev import TunDevice

# DragonFly's numbers (sys/socket.h, net/if.h, net/if_types.h, sys/event.h)
AF_INET = 2
AF_INET6 = 28                    # not Linux's 10
IFF_UP = 0x1
IFF_BROADCAST = 0x2
IFF_POINTOPOINT = 0x10
IFF_MULTICAST = 0x8000
IFT_PPP = 0x17
EVFILT_EXCEPT = -8
UUCP, DIALER = 66, 68            # /dev/tun's owner and group

# TUN-SPEC constants
TUNMTU = 1500
TUNMRU = 65535
IF_MINMTU = 72
IF_MAXMTU = 65535
IFQMAXLEN = 250

# Raw ioctl numbers (_IOWR('t', 120, int), _IO('t', 99), SIOCGIFMTU) for I11
IOWR_T_120 = 0xC0047478
IO_T_99 = 0x20007463
SIOCGIFMTU = 0xC0206933

UDP_OVERHEAD = 28                # IPv4 + UDP headers: `send size=n` makes an (n+28)-byte packet
UDP6_OVERHEAD = 48


def hdr(af: int) -> bytes:
    """The header-mode prefix: the family, 4 bytes in network order."""
    return struct.pack("!I", af)


def bpf_family(record: bytes) -> int:
    """The DLT_NULL link header of a bpf record: the family in the guest's host order
    (x86_64: little-endian)."""
    return struct.unpack("<I", record[:4])[0]


def bpf_header(af: int) -> bytes:
    return struct.pack("<I", af)


class Instruments:
    """The agent's instruments for one test; cleans up what the test made (created
    interfaces, kqueues, listeners, a module left unloaded) when the test ends. `driver` is
    the run's --driver (ours or stock)."""

    def __init__(self, guest, driver: str = "ours") -> None:
        self.guest = guest
        self.driver = driver
        self.agent = guest.agent
        self.created: list[str] = []
        self.opened: list[TunDevice] = []
        self.kqs: set[int] = set()
        self.bpfs: set[int] = set()
        self.unloaded = False

    @property
    def emulated(self) -> bool:
        """The kernel is driver/kpi's emulation (Target.emulated_kernel): its counters move
        only with the test, and it counts what a real kernel does not export."""
        return targets.get(self.guest.spec.target).emulated_kernel

    def req(self, verb: str, **args) -> Frame:
        return self.agent.request(verb, **args)

    # -- devices and interfaces -------------------------------------------------------
    def open(self, name: str = "", pi: bool = False, nonblock: bool = False, addr: bool = False,
             addr6: bool = False, mtu: int = 0, **extra) -> TunDevice:
        """Guest.open_tun, remembered for cleanup: /dev/tun (or /dev/<name>); with addr,
        LOCAL/PEER and up; with addr6 also LOCAL6/64."""
        dev = self.guest.open_tun(name, pi=pi, nonblock=nonblock, **extra)
        self.opened.append(dev)
        if addr or addr6 or mtu:
            cfg = {"ifname": dev.ifname}
            if addr:
                cfg.update(addr=f"{LOCAL}/32", peer=PEER, up=1)
            if addr6:
                cfg.update(addr6=f"{LOCAL6}/64", up=1)
            if mtu:
                cfg["mtu"] = mtu
            self.req("ifconfig", **cfg)
        return dev

    def ioctl(self, dev: TunDevice, req: str | int, **args) -> Frame:
        reply = self.req("ioctl", h=dev.h, req=hex(req) if isinstance(req, int) else req, **args)
        dev.note_ioctl(req, args.get("value"))  # TUNSIFHEAD/TUNSLMODE: the capture's framing
        return reply

    def ioctl_int(self, dev: TunDevice, req: str, value: int | None = None) -> int:
        args = {} if value is None else {"value": value}
        return self.ioctl(dev, req, **args).int("value")

    def has(self, feature: str) -> bool:
        """Whether the driver has `feature` (driver_source.FEATURES), as the agent was told
        (hello's features=; "all": today's driver)."""
        told = self.guest.hello.get("features", "all").split(",")
        return "all" in told or feature in told

    def unit(self) -> str:
        """A unit that exists while closed: `ifconfig create` where the driver clones
        interfaces; else one opened once (without interface cloning, a unit outlives its
        close)."""
        if self.has("if_clone"):
            return self.create()
        dev = self.open()
        dev.close()
        return dev.ifname

    def create(self, name: str = "tun") -> str:
        """ifconfig <name> create (SIOCIFCREATE2); "tun" makes the lowest free unit."""
        made = self.req("ioctl", ifname=name, req="SIOCIFCREATE2").text("name")
        self.created.append(made)
        return made

    def destroy(self, name: str) -> None:
        self.req("ioctl", ifname=name, req="SIOCIFDESTROY")
        if name in self.created:
            self.created.remove(name)

    def rename(self, name: str, new: str) -> None:
        self.req("ioctl", ifname=name, req="SIOCSIFNAME", name=new)

    def ifinfo(self, name: str) -> Frame:
        return self.req("ifinfo", ifname=name)

    def exists(self, name: str) -> bool:
        try:
            self.ifinfo(name)
            return True
        except AgentError as e:
            if e.name in ("ENXIO", "ENODEV", "EINVAL"):
                return False
            raise

    def flags(self, name: str) -> int:
        return self.ifinfo(name).int("flags")

    def ifconfig(self, name: str, **args) -> None:
        self.req("ifconfig", ifname=name, **args)

    def status(self, name: str) -> str:
        """What `ifconfig <name>` prints from the driver (SIOCGIFSTATUS)."""
        return self.req("ioctl", ifname=name, req="SIOCGIFSTATUS").text("text")

    def stats(self, name: str) -> dict[str, int]:
        reply = self.req("stats", ifname=name)
        return {k: int(v) for k, v in reply.fields.items() if v.isdigit()}

    # -- the stack ----------------------------------------------------------------------
    def send(self, dst: str = PEER, size: int = 72, count: int = 1, port: int = 9) -> Frame:
        """The stack sends `count` UDP datagrams of `size` payload bytes to dst."""
        return self.req("send", dst=dst, size=size, count=count, port=port,
                        timeout=self.agent.default_timeout + count / 1000)

    def send_ok(self, dst: str = PEER, size: int = 72, count: int = 1) -> None:
        r = self.send(dst, size, count)
        assert r.int("failed") == 0, f"send to {dst} failed: {r.fields.get('error')}"

    def send_error(self, dst: str = PEER, size: int = 72) -> str:
        """The error the single send got ("" if it went out)."""
        r = self.send(dst, size, 1)
        return r.fields.get("error", "") if r.int("failed") else ""

    # -- counters -----------------------------------------------------------------------
    def kstat(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.req("kstat").fields.items()}

    def proc(self) -> Frame:
        return self.req("proc")

    def sysctl(self, name: str, value: int | None = None) -> int:
        args = {"name": name} if value is None else {"name": name, "value": value}
        return self.req("sysctl", **args).int("value")

    def stat(self, path: str) -> tuple[int, int, int]:
        r = self.req("stat", path=path)
        return r.int("uid"), r.int("gid"), r.int("mode")

    def assert_no_growth(self, before: dict[str, int], after: dict[str, int],
                         keys: tuple[str, ...] = (), what: str = "") -> None:
        """The counters in `keys` (default: every one both have) did not change. On a
        real kernel other activity moves mbuf counts a little: `slack` allows for it."""
        keys = keys or tuple(k for k in before if k in after and k not in NOT_LEVELS)
        slack = 0 if self.emulated else 32
        grown = {k: (before[k], after[k]) for k in keys
                 if k in before and k in after and after[k] - before[k] > slack}
        assert not grown, f"{what}: counts grew (before, after): {grown}"

    # -- kqueue ---------------------------------------------------------------------------
    def kq_open(self) -> int:
        kq = self.req("kq", op="open").int("kq")
        self.kqs.add(kq)
        return kq

    def kq_add(self, kq: int, dev: TunDevice, filter: str | int) -> None:
        self.req("kq", op="add", kq=kq, h=dev.h, filter=str(filter))

    def kq_poll(self, kq: int, wait_ms: int = 0) -> list[dict]:
        r = self.agent.request("kq", op="poll", kq=kq, wait_ms=wait_ms,
                               timeout=self.agent.default_timeout + wait_ms / 1000)
        events = []
        for item in filter(None, r.fields.get("events", "").split(",")):
            f, flags, data, eof = item.split(":")
            events.append({"filter": f, "flags": int(flags, 16), "data": int(data),
                           "eof": eof == "1"})
        assert len(events) == r.int("n")
        return events

    def kq_close(self, kq: int) -> None:
        self.kqs.discard(kq)
        self.req("kq", op="close", kq=kq)

    # -- bpf ------------------------------------------------------------------------------
    def bpf_open(self, ifname: str) -> int:
        b = self.req("bpf", op="open", ifname=ifname).int("b")
        self.bpfs.add(b)
        return b

    def bpf_read(self, b: int, wait_ms: int = 2000) -> bytes:
        """The next tapped packet (its 4-byte family first), skipping what a real kernel
        sends by itself on an IPv6 interface (see is_noise)."""
        while True:
            record = self.agent.request("bpf", op="read", b=b, wait_ms=wait_ms,
                                        timeout=self.agent.default_timeout + wait_ms / 1000
                                        ).bytes("data")
            if not is_noise(record[4:]):
                return record

    def bpf_write(self, b: int, data: bytes) -> int:
        return self.req("bpf", op="write", b=b, data=data).int("n")

    def bpf_close(self, b: int) -> None:
        self.bpfs.discard(b)
        self.req("bpf", op="close", b=b)

    # -- module -----------------------------------------------------------------------------
    def unload(self) -> None:
        self.req("module", op="unload", name="if_tun")
        self.unloaded = True

    def load(self) -> None:
        file = self.req("module", op="load", name="if_tun").text("file")
        self.unloaded = False
        if not self.emulated and self.driver == "ours" and not file.startswith("/"):
            # the module path holds the stock if_tun.ko: later tests must not run on it
            self.guest.broken = (f"if_tun reloaded as {file!r} from the module path, maybe the "
                                 "stock driver (the session should export TUNLAB_DRIVER_KO)")

    # -- cleanup ----------------------------------------------------------------------------
    def check_clean(self, before: dict[str, int]) -> None:
        """After cleanup(): the driver's objects are back at `before` (the test's start);
        otherwise the guest must not serve another test (the plugin boots a fresh one)."""
        if self.guest.broken:
            return
        try:
            after = self.kstat()
        except TunlabError as e:
            self.guest.broken = f"could not check the state after the test: {e}"
            return
        left = {k: (before[k], after[k]) for k in DRIVER_OBJECTS
                if k in before and k in after and after[k] > before[k]}
        if left:
            self.guest.broken = f"the test left driver objects behind (before, after): {left}"

    def cleanup(self) -> None:
        """Closes what the test left open, reloads the module, destroys the units it
        created. What cannot be undone makes the guest unusable for the next test (the
        plugin then starts a fresh one) instead of failing this test's teardown."""
        try:
            for dev in self.opened:
                dev.close()
            for b in list(self.bpfs):
                self.bpf_close(b)
            for kq in list(self.kqs):
                self.kq_close(kq)
            if self.unloaded:
                self.load()
            for name in list(self.created):
                try:
                    self.destroy(name)
                except AgentError as e:
                    self.created.remove(name)
                    if e.name != "ENXIO":       # gone already (renamed away, unloaded)
                        raise
        except TunlabError as e:
            self.guest.broken = self.guest.broken or f"conformance cleanup failed: {e}"


# kstat keys that count what the driver holds (where the system reports them)
DRIVER_OBJECTS = ("mbufs", "clusters", "mbuf_bytes", "cdevs", "ifnets", "files", "knotes",
                  "sigios", "malloc_tun")

# kstat keys that count events, not live objects
NOT_LEVELS = {"mbuf_allocs", "cluster_allocs", "uiomove_calls", "tsleep_blocks", "bpf_taps",
              "echo_replies"}


# -- reading and writing packets ------------------------------------------------------------
def ip_of(raw: bytes, framing: str) -> bytes:
    """The IP packet in what the device returned: plain, header (4-byte family) or link
    (a sockaddr, its length in the first byte)."""
    if framing == "header":
        return raw[4:]
    if framing == "link":
        return raw[raw[0]:] if raw else raw
    return raw


def read_packet(dev: TunDevice, framing: str = "plain", wait_ms: int = 2000,
                max: int | None = None) -> bytes:
    """One packet from the device as read(2) returned it, skipping IPv6 noise (is_noise)."""
    while True:
        raw = dev.read(wait_ms=wait_ms, max=max)
        if not is_noise(ip_of(raw, framing)):
            return raw


def expect_nothing(dev: TunDevice, framing: str, wait_ms: int = 200) -> None:
    """Nothing but IPv6 noise arrives within wait_ms."""
    try:
        raw = read_packet(dev, framing, wait_ms=wait_ms)
    except AgentError as e:
        assert e.name == "ETIMEDOUT", e
        return
    raise AssertionError(f"unexpected packet: {raw[:48].hex()}")


def echo4(dev: TunDevice, header: bool, seq: int = 1, payload: bytes = b"tunlab-echo-4") -> bytes:
    """checks.echo_reply from PEER to LOCAL, with the header-mode prefix when `header`;
    returns the reply's IP packet."""
    return echo_reply(dev, LOCAL, PEER, hdr(AF_INET) if header else b"", seq, payload)


def echo6(dev: TunDevice, seq: int = 1, payload: bytes = b"tunlab-echo-6", tries: int = 1) -> bytes:
    """The same for IPv6 in header mode (family 28); returns the reply's IPv6 packet.
    `tries` > 1 retries while a fresh address may still be tentative (DAD)."""
    request = icmp6_echo(PEER6, LOCAL6, seq=seq, payload=payload)
    for attempt in range(tries):
        assert dev.write(hdr(AF_INET6) + request) == 4 + len(request)
        try:
            raw = read_packet(dev, "header", wait_ms=1500 if tries > 1 else 3000)
        except AgentError as e:
            if e.name == "ETIMEDOUT" and attempt + 1 < tries:
                continue
            raise
        assert raw[:4] == hdr(AF_INET6), f"reply's header {raw[:4].hex()}, want AF_INET6 28"
        src, dst, kind, _, rseq, data = parse_icmp6(raw[4:])
        assert (src, dst, kind, rseq, data) == (LOCAL6, PEER6, 129, seq, payload)
        return raw[4:]
    raise AssertionError("no ICMPv6 echo reply")


def ipv6_ready(dev: TunDevice) -> None:
    """Waits until LOCAL6 answers (a real kernel runs DAD on a new address first); the
    device is put in header mode for it and back, and left with nothing queued."""
    dev.ioctl("TUNSIFHEAD", value=1)
    try:
        echo6(dev, seq=999, tries=6)
    finally:
        dev.ioctl("TUNSIFHEAD", value=0)
    drain(dev)


def drain(dev: TunDevice) -> int:
    """Reads what the device holds without waiting; returns the count."""
    n = 0
    while True:
        try:
            dev.read(wait_ms=0)
        except AgentError as e:
            if e.name in ("ETIMEDOUT", "EAGAIN"):
                return n
            raise
        n += 1


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def wait_for(pred, timeout: float = 2.0, step: float = 0.02) -> bool:
    end = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(step)


@contextmanager
def header_mode(dev: TunDevice) -> Iterator[None]:
    dev.ioctl("TUNSIFHEAD", value=1)
    try:
        yield
    finally:
        dev.ioctl("TUNSIFHEAD", value=0)


def skip_unless_emulated(k: Instruments, why: str) -> None:
    """For a part of a row only the kpi emulation can observe: this target cannot run it."""
    if not k.emulated:
        pytest.skip(why)
