"""`tunlab fuzz`: random programs over the agent's verbs, against any target and driver.

A program is a short list of requests (repro.Step) drawn by Generator: opens of /dev/tun and
/dev/tunN, tun ioctls with typed, edge-biased arguments (INT_MIN, INT_MAX, -1, 0, powers of
two and their neighbours, negative owners, odd flag sets, raw request numbers), reads and
writes of crafted packets in each framing (plain, 4-byte header, link; short, oversized,
bad family, bad version), kqueue registrations, unit create/destroy/rename/up/down, bpf
listeners and bpf writes, module unload/reload where the driver has `unload`, and the
agent's two-thread verbs (`race`, `roundtrip`). Names and handles come from what earlier
requests of the same program returned, so most requests reach the driver.

Programs run one after another in one guest (one agent process on kpi, under ASan/UBSan);
after each, the fuzzer closes what it opened, destroys the units it named and, on a target
with an emulated kernel (kpi), compares kstat's live counters with the guest's start: more
is a leak. A crash line on the console (panic, trap, sanitizer report), an agent or VM that
dies, a request with no reply within its timeout (a hang) or a leak is a finding, titled like
syzkaller's (repro.crash_title: kind + function), deduplicated by title. The first of each
title is saved under OUT/findings/<title>/ with its repro file (the program; with the
programs before it in the same guest when it does not reproduce alone) and a minimized one
(repro.minimize), and the console log. The guest is replaced after a finding.

A finding is kept only when it reproduces in a fresh guest: alone, or after the programs
that ran before it in the same guest (state carried across programs). One that does neither
is "flaky": counted and saved under OUT/flaky/, not reported as a finding. A leak is only
taken once the counters stay up for repro.LEAK_SETTLE_S (packets in the emulated netisr
thread are still in flight right after a program).

Coverage: on kpi the -san agent's driver counts its edges (the agent's `cov` verb,
harness/agent/verb_cov.c). The fuzzer resets the counters before each program and reads them
after its clean-up; a program that hits an edge no earlier one hit joins the corpus
(OUT/corpus/, one JSON file each, loaded again when OUT is reused), and most later programs
are mutations of corpus programs (insert, delete, re-draw an argument, duplicate, splice).
On targets whose agent answers `cov` with ENOTSUP (VM targets) it generates blind.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import shutil
import signal
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunlab import repro, targets
from tunlab.errors import AgentTimeout, GuestCrash, GuestDied, ProtocolError, UsageError
from tunlab.protocol import encode_value
from tunlab.repro import Failure, Outcome, Step
from tunlab.runconfig import RunConfig

INT_MIN, INT_MAX = -2**31, 2**31 - 1
EDGE_INTS = (0, 1, -1, 2, 3, 4, 7, 8, 16, 255, 256, 1500, 9000, 65535, 65536, 65539,
             INT_MAX, INT_MAX - 1, INT_MIN, INT_MIN + 1, 2**32 - 1, 0x7fff, 0x8000, -65536)
AF_INET, AF_INET6, AF_LINK = 2, 28, 18  # DragonFly's numbers
BSD_IOCTLS = {
    # name: argument kind
    "TUNSDEBUG": "int", "TUNGDEBUG": "out", "TUNSIFINFO": "info", "TUNGIFINFO": "out",
    "TUNSLMODE": "int", "TUNSIFMODE": "mode", "TUNSIFPID": "none", "TUNSIFHEAD": "int",
    "TUNGIFHEAD": "out", "TUNGIFNAME": "out", "FIONREAD": "out", "FIONBIO": "int",
    "FIOASYNC": "int", "FIOSETOWN": "owner", "FIOGETOWN": "out", "TIOCSPGRP": "owner",
    "TIOCGPGRP": "out",
}
BSD_SOCK_IOCTLS = ("SIOCGIFMTU", "SIOCSIFMTU", "SIOCGIFFLAGS", "SIOCSIFFLAGS", "SIOCSIFNAME",
                   "SIOCIFCREATE2", "SIOCIFDESTROY", "SIOCGIFSTATUS")
LINUX_IOCTLS = {
    "TUNSETPERSIST": "int", "TUNSETOFFLOAD": "int", "TUNSETTXFILTER": "int", "FIONREAD": "out",
    "TUNGETFEATURES": "out", "TUNGETSNDBUF": "out", "TUNSETSNDBUF": "int", "FIONBIO": "int",
    "TUNGETIFF": "out",
}
LINUX_SOCK_IOCTLS = ("SIOCGIFMTU", "SIOCSIFMTU", "SIOCGIFFLAGS", "SIOCSIFFLAGS", "SIOCSIFNAME")
IFF_FLAGS = (0x1, 0x2, 0x10, 0x40, 0x80, 0x100, 0x800, 0x8000, 0x1 | 0x10, 0x1 | 0x8000)
TUN_MODES = (0x0010, 0x0002, 0x8000, 0x0010 | 0x0002, 0x0010 | 0x8000, 0, -1)  # IFF_POINTOPOINT, BROADCAST, MULTICAST
LOCAL, PEER = "10.97.0.1", "10.97.0.2"
LOCAL6, PEER6 = "fd97::1", "fd97::2"


def _ipv4(src: str, dst: str, proto: int, payload: bytes, *, ver_ihl: int = 0x45,
          total: int | None = None) -> bytes:
    total = 20 + len(payload) if total is None else total
    hdr = struct.pack("!BBHHHBBH4s4s", ver_ihl, 0, total & 0xFFFF, 0x1234, 0, 64, proto, 0,
                      bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    s = sum(struct.unpack("!10H", hdr))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return hdr[:10] + struct.pack("!H", ~s & 0xFFFF) + hdr[12:] + payload


def _icmp_echo(seq: int, size: int) -> bytes:
    body = struct.pack("!BBHHH", 8, 0, 0, 0x4f15, seq & 0xFFFF) + bytes(size)
    s = sum(struct.unpack(f"!{len(body) // 2}H", body[:len(body) // 2 * 2]))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return body[:2] + struct.pack("!H", ~s & 0xFFFF) + body[4:]


def _ipv6(payload: bytes, nxt: int = 58) -> bytes:
    import ipaddress
    return (struct.pack("!IHBB", 0x60000000, len(payload), nxt, 64)
            + ipaddress.IPv6Address(PEER6).packed + ipaddress.IPv6Address(LOCAL6).packed + payload)


@dataclass
class State:
    """What a program has made so far, for drawing arguments that reach the driver."""

    handles: list[int] = field(default_factory=list)
    kqs: list[int] = field(default_factory=list)
    bpfs: list[int] = field(default_factory=list)
    units: list[str] = field(default_factory=list)
    nonblock: set[int] = field(default_factory=set)  # handles opened (or FIONBIO'd) non-blocking
    next_h: int = 1000  # placeholders: the real handle comes from the reply


class Generator:
    """Draws programs for a target's tun API (bsd or linux) and a driver's features."""

    def __init__(self, rng: random.Random, api: str, features: set[str]) -> None:
        self.rng = rng
        self.api = api
        self.features = features

    # -- values -----------------------------------------------------------------------
    def int_(self) -> int:
        r = self.rng.random()
        if r < 0.6:
            return self.rng.choice(EDGE_INTS)
        if r < 0.8:
            return self.rng.randint(-10, 70000)
        return self.rng.randint(INT_MIN, INT_MAX)

    def unit_name(self, st: State) -> str:
        if st.units and self.rng.random() < 0.7:
            return self.rng.choice(st.units)
        return self.rng.choice(("tun0", "tun1", "tun2", "tun7", "tun255", "tun32767",
                                "tun2147483647", "tun4294967296", "tun-1", "tun", "tunx", "lo0"))

    def packet(self, framing: str) -> bytes:
        rng = self.rng
        kind = rng.choice(("echo", "echo", "udp", "v6", "short", "big", "badver", "badlen", "empty"))
        if kind == "echo":
            ip = _ipv4(PEER, LOCAL, 1, _icmp_echo(rng.randint(0, 65535), rng.choice((0, 8, 56, 1400))))
        elif kind == "udp":
            ip = _ipv4(PEER, LOCAL, 17, struct.pack("!HHHH", 9, 9, 8 + 16, 0) + bytes(16))
        elif kind == "v6":
            ip = _ipv6(bytes([128, 0, 0, 0, 0, 1, 0, 1]) + bytes(rng.choice((0, 16))))
        elif kind == "short":
            ip = bytes(rng.randint(0, 40) * [0x45])[:rng.randint(0, 19)]
        elif kind == "big":
            ip = _ipv4(PEER, LOCAL, 17, bytes(rng.choice((1500, 9000, 65515, 70000))))
        elif kind == "badver":
            ip = _ipv4(PEER, LOCAL, 1, _icmp_echo(1, 8), ver_ihl=rng.choice((0x4f, 0x05, 0xf5, 0x65)))
        elif kind == "badlen":
            ip = _ipv4(PEER, LOCAL, 1, _icmp_echo(1, 8), total=rng.choice((0, 19, 65535)))
        else:
            ip = b""
        if framing == "header":
            fam = rng.choice((AF_INET, AF_INET, AF_INET6, 0, 1, 255, AF_LINK, 0xFFFFFFFF))
            return struct.pack("!I", fam) + ip
        if framing == "link":
            sa = bytes([rng.choice((16, 0, 255, 2)), rng.choice((AF_INET, AF_INET6, 0))]) + bytes(14)
            return sa + ip
        return ip[:rng.choice((len(ip), len(ip), len(ip) // 2))] if ip else ip

    # -- calls ------------------------------------------------------------------------
    def program(self, length: int | None = None) -> list[Step]:
        st = State()
        n = length or self.rng.randint(3, 24)
        steps: list[Step] = []
        for _ in range(n):
            steps.extend(self.call(st))
        return steps

    def _h(self, st: State) -> int:
        if st.handles and self.rng.random() < 0.93:
            return self.rng.choice(st.handles)
        return self.rng.choice((0, -1, 63, INT_MAX))

    def call(self, st: State) -> list[Step]:
        rng = self.rng
        bsd = self.api == "bsd"
        choices = ["open"] * 6 + ["ioctl"] * 10 + ["sockioctl"] * 5 + ["write"] * 8 + \
                  ["read"] * 5 + ["ifconfig"] * 3 + ["close"] * 2 + ["send"] * 3 + \
                  ["poll"] + ["stats", "ifinfo"]
        if bsd:
            choices += ["kq"] * 3 + ["bpf"] * 3 + ["writes", "race", "kstat", "proc", "rawioctl"]
            if "unload" in self.features:
                choices += ["module"]
        what = rng.choice(choices)
        h = self._h(st)
        if what == "open" or (not st.handles and what in ("ioctl", "write", "read", "close", "poll")):
            args: list[tuple[str, Any]] = []
            if rng.random() < 0.5 and bsd:
                args.append(("name", self.unit_name(st)))
            elif not bsd and rng.random() < 0.5:
                args.append(("name", rng.choice(("tun0", "tun1", "tunlab%d", "t" * 15))))
            args += [("pi", rng.choice((0, 1))), ("nonblock", rng.choice((0, 1, 1)))]
            if rng.random() < 0.05 and bsd:
                args.append(("uid", rng.choice((0, 66, 65534))))
            st.next_h += 1
            st.handles.append(st.next_h)
            if dict(args)["nonblock"]:
                st.nonblock.add(st.next_h)
            return [self._step("open", args, produces=("h", st.next_h))]
        if what == "close":
            if st.handles and rng.random() < 0.8:
                st.handles.remove(h) if h in st.handles else None
            return [self._step("close", [("h", h)])]
        if what == "ioctl":
            table = BSD_IOCTLS if bsd else LINUX_IOCTLS
            req = rng.choice(sorted(table))
            kind = table[req]
            args = [("h", h), ("req", req)]
            if kind == "int":
                args.append(("value", rng.choice((0, 1, 1, self.int_()))))
                if req == "FIONBIO":
                    (st.nonblock.add if args[-1][1] else st.nonblock.discard)(h)
            elif kind == "owner":
                args.append(("value", rng.choice((0, -1, INT_MIN, INT_MAX, -INT_MAX, 1, self.int_()))))
            elif kind == "mode":
                args.append(("value", rng.choice(TUN_MODES + (self.int_(),))))
            elif kind == "info":
                args += [("mtu", rng.choice((0, 1, 576, 1500, 9000, 65535, 65536, -1, self.int_()))),
                         ("type", rng.choice((0, 23, 255, 256, self.int_()))),
                         ("baudrate", self.int_())]
            return [self._step("ioctl", args)]
        if what == "rawioctl":
            num = rng.choice((0, 1, 0x80047460, 0x40047460, 0xc0207469, 0x8004745f, self.int_() & 0xFFFFFFFF))
            return [self._step("ioctl", [("h", h), ("req", num), ("value", self.int_())])]
        if what == "sockioctl":
            req = rng.choice(BSD_SOCK_IOCTLS if bsd else LINUX_SOCK_IOCTLS)
            name = self.unit_name(st)
            args = [("ifname", name), ("req", req)]
            if req in ("SIOCSIFMTU",):
                args.append(("value", rng.choice((0, 72, 576, 1500, 9000, 65535, 65536, -1, self.int_()))))
            elif req == "SIOCSIFFLAGS":
                args.append(("value", rng.choice(IFF_FLAGS + (self.int_(),))))
            elif req == "SIOCSIFNAME":
                new = rng.choice(("tun9", "tun10", "tunren", "lab0", "tun0"))
                args.append(("name", new))
                st.units.append(new)
            elif req == "SIOCIFCREATE2":
                args[0] = ("ifname", rng.choice(("tun", "tun", "tun3", "tun0", "tun65535")))
            return [self._step("ioctl", args)]
        if what == "write":
            framing = rng.choice(("plain", "header", "link")) if bsd else "plain"
            steps = []
            if bsd and framing != "plain" and rng.random() < 0.5:
                steps.append(self._step("ioctl", [("h", h), ("req", "TUNSIFHEAD" if framing == "header" else "TUNSLMODE"), ("value", 1)]))
            data = self.packet(framing)
            return steps + [self._step("write", [("h", h), ("data", data[:81888])])]
        if what == "writes":
            return [self._step("writes", [("h", h), ("data", self.packet(rng.choice(("plain", "header")))[:4000]),
                                          ("count", rng.choice((1, 2, 10, 100)))])]
        if what == "read":
            args = [("h", h), ("max", rng.choice((0, 1, 3, 4, 20, 65539, 65539, 1500)))]
            # Without wait_ms the agent reads at once on a non-blocking device (the driver's
            # empty-queue EWOULDBLOCK), but waits up to 5 s on a blocking one: bounded there.
            if h not in st.nonblock or rng.random() < 0.5:
                args.append(("wait_ms", rng.choice((0, 0, 1, 20))))
            return [self._step("read", args)]
        if what == "poll":
            return [self._step("poll", [("h", h), ("wait_ms", rng.choice((0, 10)))])]
        if what == "ifconfig":
            name = self.unit_name(st)
            args = [("ifname", name)]
            if rng.random() < 0.8:
                args += [("addr", f"{LOCAL}/32"), ("peer", PEER)]
            if bsd and rng.random() < 0.2:
                args.append(("addr6", f"{LOCAL6}/64"))
            if rng.random() < 0.3:
                args.append(("mtu", rng.choice((576, 1500, 9000, 65535))))
            args.append(("up", rng.choice((1, 1, 0))))
            return [self._step("ifconfig", args)]
        if what == "send":
            return [self._step("send", [("dst", rng.choice((PEER, PEER, PEER6))),
                                        ("size", rng.choice((0, 8, 100, 1400, 8000))),
                                        ("count", rng.choice((1, 1, 3, 60)))])]
        if what in ("stats", "ifinfo"):
            return [self._step(what, [("ifname", self.unit_name(st))])]
        if what in ("kstat", "proc"):
            return [self._step(what, [])]
        if what == "kq":
            if not st.kqs or rng.random() < 0.3:
                st.next_h += 1
                st.kqs.append(st.next_h)
                return [self._step("kq", [("op", "open")], produces=("kq", st.next_h))]
            kq = rng.choice(st.kqs)
            op = rng.choice(("add", "add", "poll", "close"))
            if op == "add":
                return [self._step("kq", [("op", "add"), ("kq", kq), ("h", h),
                                          ("filter", rng.choice(("read", "write", "-8", "-1", "0")))])]
            if op == "poll":
                return [self._step("kq", [("op", "poll"), ("kq", kq), ("wait_ms", 0)])]
            st.kqs.remove(kq)
            return [self._step("kq", [("op", "close"), ("kq", kq)])]
        if what == "bpf":
            if not st.bpfs or rng.random() < 0.3:
                st.next_h += 1
                st.bpfs.append(st.next_h)
                return [self._step("bpf", [("op", "open"), ("ifname", self.unit_name(st))],
                                   produces=("b", st.next_h))]
            b = rng.choice(st.bpfs)
            op = rng.choice(("read", "write", "write", "close"))
            if op == "read":
                return [self._step("bpf", [("op", "read"), ("b", b), ("wait_ms", 0)])]
            if op == "write":
                return [self._step("bpf", [("op", "write"), ("b", b),
                                           ("data", struct.pack("=I", rng.choice((AF_INET, AF_INET6, 0, 99))) + self.packet("plain"))])]
            st.bpfs.remove(b)
            return [self._step("bpf", [("op", "close"), ("b", b)])]
        if what == "module":
            return [self._step("module", [("op", "unload"), ("name", "if_tun")]),
                    self._step("module", [("op", "load"), ("name", "if_tun")])][:rng.choice((1, 2, 2))]
        if what == "race":
            return [self._step("race", [("kind", rng.choice(("create_destroy", "up_destroy"))),
                                        ("ms", rng.choice((5, 20))), ("base", rng.choice((0, 40)))])]
        return [self._step("nop", [])]

    @staticmethod
    def _step(verb: str, args: list[tuple[str, Any]], produces: tuple[str, int] | None = None) -> Step:
        wire = tuple((k, encode_value(v)) for k, v in args)
        reply = f"ok {produces[0]}={produces[1]}" if produces else ""
        return Step(verb, wire, reply)


# -- mutation --------------------------------------------------------------------------------
MAX_STEPS = 48  # a mutated program's length bound
INT_KEYS = ("value", "mtu", "type", "baudrate", "max", "req")
# keys whose value is a duration or a repeat count: re-drawn from the generator's own small
# choices (an edge int there is a minute-long request, not a bug)
BOUNDED_KEYS = {"wait_ms": (0, 1, 20), "ms": (5, 20), "count": (1, 2, 10, 100), "size": (0, 8, 100, 1400)}


def _placeholders(steps: list[Step]) -> dict[str, list[int]]:
    """The handle placeholders (h=1001 ...) the generated `steps` produce, by key."""
    out: dict[str, list[int]] = {k: [] for k in repro.HANDLE_KEYS}
    for s in steps:
        for k, v in repro.reply_fields(s.reply).items():
            if k in out and v.lstrip("-").isdigit():
                out[k].append(int(v))
    return out


def _renumber(steps: list[Step], offset: int) -> list[Step]:
    """`steps` with every placeholder they produce (and the arguments naming it) moved up by
    `offset`, so that two programs can be spliced without their handles meeting."""
    made = {k: {str(v) for v in vs} for k, vs in _placeholders(steps).items()}

    def shift(k: str, v: str) -> str:
        return str(int(v) + offset) if v in made.get(k, ()) else v

    out = []
    for s in steps:
        reply = " ".join(f"{k}={shift(k, v)}" if sep else k
                         for k, sep, v in (t.partition("=") for t in s.reply.split(" "))) if s.reply else ""
        out.append(Step(s.verb, tuple((k, shift(k, v)) for k, v in s.args), reply))
    return out


def _is_placeholder(v: str) -> bool:
    return v.isdigit() and 1000 < int(v) < 1_000_000


def _bind_dangling(steps: list[Step]) -> list[Step]:
    """A placeholder handle whose producing step a mutation removed (or that a splice put
    before it) becomes 0, no such handle: repro.bind, the rule a shortened repro file is
    replayed by, with every placeholder counted as a handle of the original."""
    placeholders = {k: {v for s in steps for a, v in s.args if a == k and _is_placeholder(v)}
                    for k in repro.HANDLE_KEYS}
    return repro.bind(steps, placeholders)


class Mutator:
    """Changes a corpus program a little, keeping its handles meaningful: new calls draw on
    the handles the steps before them produce."""

    def __init__(self, gen: Generator) -> None:
        self.gen = gen
        self.rng = gen.rng

    def _state_at(self, steps: list[Step], pos: int) -> State:
        st = State()
        made = _placeholders(steps[:pos])
        st.handles, st.kqs, st.bpfs = list(made["h"]), list(made["kq"]), list(made["b"])
        everything = [v for vs in _placeholders(steps).values() for v in vs]
        st.next_h = max(everything + [st.next_h])
        return st

    def mutate(self, steps: list[Step], other: list[Step] | None = None) -> list[Step]:
        rng = self.rng
        steps = list(steps)
        for _ in range(rng.choice((1, 1, 2, 3))):
            op = rng.choice(("insert", "insert", "arg", "arg", "delete", "dup", "splice"))
            if op == "splice" and other:
                offset = max([v for vs in _placeholders(steps).values() for v in vs] + [1000]) - 999
                tail = _renumber(other, offset)
                steps = steps[:rng.randint(0, len(steps))] + tail[rng.randint(0, len(tail)):]
            elif op == "insert" or not steps:
                pos = rng.randint(0, len(steps))
                steps[pos:pos] = self.gen.call(self._state_at(steps, pos))
            elif op == "delete" and len(steps) > 1:
                del steps[rng.randrange(len(steps))]
            elif op == "dup":
                i = rng.randrange(len(steps))
                if not repro.reply_fields(steps[i].reply):  # not one that produces a handle
                    steps.insert(i, steps[i])
            else:
                steps = self._new_arg(steps)
        return _bind_dangling(steps[:MAX_STEPS])

    def _new_arg(self, steps: list[Step]) -> list[Step]:
        rng = self.rng
        i = rng.randrange(len(steps))
        s = steps[i]
        keys = [j for j, (k, _) in enumerate(s.args) if k in INT_KEYS or k in BOUNDED_KEYS or k == "data"]
        if not keys:
            return steps
        j = rng.choice(keys)
        k, v = s.args[j]
        if k == "data":
            raw = bytes.fromhex(v) if len(v) % 2 == 0 else b""
            nv = self._mutate_bytes(raw).hex()
        elif k == "req" and not v.lstrip("-").isdigit():
            return steps  # a named request stays named: its arguments are typed for it
        elif k in BOUNDED_KEYS:
            nv = str(rng.choice(BOUNDED_KEYS[k]))
        else:
            nv = str(self.gen.int_())
        steps[i] = Step(s.verb, s.args[:j] + ((k, nv),) + s.args[j + 1:], s.reply)
        return steps

    def _mutate_bytes(self, raw: bytes) -> bytes:
        rng = self.rng
        b = bytearray(raw)
        what = rng.choice(("flip", "flip", "cut", "grow", "fresh"))
        if what == "flip" and b:
            for _ in range(rng.randint(1, 4)):
                b[rng.randrange(len(b))] = rng.choice((0, 0xFF, 0x45, 0x60, rng.randrange(256)))
        elif what == "cut" and b:
            del b[rng.randrange(len(b)):]
        elif what == "grow":
            b += bytes(rng.choice((1, 3, 4, 64, 1500)))
        else:
            b = bytearray(self.gen.packet(rng.choice(("plain", "header", "link"))))
        return bytes(b[:81888])


# -- coverage --------------------------------------------------------------------------------
def parse_cov(fields: dict[str, str]) -> tuple[int, int]:
    """(total edges, bitmap of the edges hit as an int: bit i = edge i) from a `cov` reply."""
    total = int(fields.get("total", "0"))
    data = bytes.fromhex(fields.get("map", ""))
    return total, int.from_bytes(data, "little")


def save_program(corpus: Path, steps: list[Step]) -> Path:
    """One corpus file: the generated program (placeholders and all), JSON."""
    doc = [[s.verb, [list(a) for a in s.args], s.reply] for s in steps]
    text = json.dumps(doc, separators=(",", ":")) + "\n"
    path = corpus / f"{hashlib.sha1(text.encode()).hexdigest()[:16]}.json"
    path.write_text(text)
    return path


def load_program(path: Path) -> list[Step]:
    """A corpus file back as steps (UsageError naming the file when it is not one)."""
    try:
        doc = json.loads(path.read_text())
        return [Step(str(v), tuple((str(k), str(x)) for k, x in a), str(r)) for v, a, r in doc]
    except (ValueError, TypeError) as e:
        raise UsageError(f"{path}: not a tunlab fuzz corpus file ({e})") from None


# -- running ---------------------------------------------------------------------------------
def _slug(title: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", title)[:80].strip("_") or "finding"


@dataclass
class Finding:
    title: str
    first_s: float
    count: int = 1
    directory: str = ""
    minimized: int = 0
    original: int = 0
    reproduced: bool = False
    alone: bool = False  # reproduces without the programs before it
    tries: int = 0       # reproduction attempts (a flaky title is tried again, up to 3)


class Fuzzer:
    def __init__(self, cfg: RunConfig, out: Path, seed: int, duration: float,
                 minimize_runs: int = 60, minimize_seconds: float = 180.0,
                 programs_per_guest: int = 200, request_timeout: float = 10.0) -> None:
        self.cfg = cfg
        self.out = out
        self.seed = seed
        self.duration = duration
        self.rng = random.Random(seed)
        self.target = targets.get(cfg.target)
        self.minimize_runs = minimize_runs
        self.minimize_seconds = minimize_seconds
        self.programs_per_guest = programs_per_guest
        self.request_timeout = request_timeout
        self.findings: dict[str, Finding] = {}
        self.flaky: dict[str, Finding] = {}
        self.corpus: list[list[Step]] = []
        self.pending: list[list[Step]] = []  # corpus files of an earlier run: run first
        self.cov_total = 0
        self.cov_seen = 0                    # bitmap of every edge any program hit
        self.guided = False
        self.cov_log: list[tuple[float, int]] = []  # (s, edges) each time coverage grew
        self.execs = 0
        self.programs = 0
        # set by SIGTERM/SIGINT: the loop ends even where the KeyboardInterrupt the signal also
        # raises is swallowed (a clean-up's finally, a callback whose exceptions are ignored)
        self.stopping = False
        self.replay_only = False  # --replay-corpus: run the corpus once, nothing else
        self.t0 = 0.0
        self.driver_id = ""

    def _elapsed(self) -> float:
        return time.monotonic() - self.t0

    def run(self) -> dict[str, Any]:
        from tunlab.guest import Guest
        plan = repro.plan_for(self.cfg)
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "corpus").mkdir(exist_ok=True)
        self.pending = [load_program(f) for f in sorted((self.out / "corpus").glob("*.json"))]
        if self.pending:
            print(f"tunlab fuzz: {len(self.pending)} corpus programs from {self.out / 'corpus'} run first",
                  flush=True)
        self.t0 = time.monotonic()
        guest = None
        last_progress = 0.0
        guest_no = 0
        history: list[list[Step]] = []
        try:
            while self._more():
                if guest is None:
                    guest_no += 1
                    guest = Guest.boot(plan.spec, backend=plan.backend, accel=plan.accel,
                                       run_dir=self.out / "guests" / f"{guest_no:05d}")
                    self.driver_id = guest.hello.get("driver", "")
                    features = set(guest.hello.get("features", "").split(","))
                    gen = Generator(self.rng, self.target.tun_api, features)
                    mut = Mutator(gen)
                    self._probe_cov(guest)
                    base = guest.agent.request("kstat").fields if self.target.emulated_kernel else {}
                    history = []
                    in_guest = 0
                program = self._next_program(gen, mut)
                out, sent, cov = self._execute(guest, program, base)
                history.append(sent)
                in_guest += 1
                self.programs += 1
                title = out.title(sent[-1].verb if sent else "")
                if not title and cov is not None:
                    self._learn(program, cov)
                if title and out.leaked and self._again(title):
                    # a known leak: the guest is sound, carry on from its counters now
                    base = guest.agent.request("kstat").fields
                elif title:
                    keep = guest
                    guest = None
                    try:  # an interrupt during the wait still stops the guest
                        if out.crash or out.died:
                            repro.let_report_finish(keep, self.target.uses_vm)
                    finally:
                        self._stop(keep)
                    if keep.watcher and out.crash:
                        out.crash = (out.crash[0], repro.crash_title(out.crash[0], out.crash[1], keep.watcher.lines()))
                        title = out.crash[1]
                    self._finding(title, out, history, keep.run_dir)
                elif in_guest >= self.programs_per_guest:
                    self._stop(guest)
                    guest = None
                if time.monotonic() - last_progress >= 10:
                    last_progress = time.monotonic()
                    self._progress()
        finally:
            if guest is not None:
                self._stop(guest)
            summary = self._summary()  # an interrupted run's too
        self._progress(final=True)
        return summary

    def _more(self) -> bool:
        """Whether to run another program: time left, no stop asked, and (replaying a
        corpus) corpus programs left."""
        if self.replay_only:
            return bool(self.pending) and not self.stopping
        return self._elapsed() < self.duration and not self.stopping

    def _summary(self) -> dict[str, Any]:
        summary = {"target": self.cfg.target, "driver": self.cfg.driver, "driver_id": self.driver_id,
                   "seed": self.seed, "duration_s": round(self._elapsed(), 1), "programs": self.programs,
                   "execs": self.execs, "execs_per_s": round(self.execs / max(self._elapsed(), 1e-9), 1),
                   "guided": self.guided, "edges": bin(self.cov_seen).count("1"),
                   "edges_total": self.cov_total, "corpus": len(self.corpus),
                   "coverage_growth": self.cov_log,
                   "findings": [f.__dict__ for f in self.findings.values()],
                   "flaky": [f.__dict__ for f in self.flaky.values()],
                   "interrupted": self.stopping}
        (self.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        return summary

    @staticmethod
    def _stop(guest: Any) -> None:
        try:
            guest.stop()
        except Exception:  # noqa: BLE001 - the machine is killed either way
            pass

    def _probe_cov(self, guest: Any) -> None:
        """Whether this guest's agent counts the driver's edges (cov verb): guided or blind."""
        reply = guest.agent.request("cov", check=False, op="reset")
        self.guided = reply.ok and int(reply.fields.get("total", "0")) > 0
        if self.guided:
            self.cov_total = int(reply.fields["total"])

    def _next_program(self, gen: Generator, mut: Mutator) -> list[Step]:
        if self.pending:
            return self.pending.pop(0)
        if self.corpus and self.rng.random() < 0.8:
            other = self.rng.choice(self.corpus) if self.rng.random() < 0.2 else None
            return mut.mutate(self.rng.choice(self.corpus), other)
        return gen.program()

    def _learn(self, program: list[Step], cov: int) -> None:
        """Keep `program` in the corpus when it hit an edge no program before it hit."""
        new = cov & ~self.cov_seen
        if not new:
            return
        self.cov_seen |= cov
        self.corpus.append(program)
        save_program(self.out / "corpus", program)
        self.cov_log.append((round(self._elapsed(), 1), bin(self.cov_seen).count("1")))

    def _execute(self, guest: Any, program: list[Step],
                 base: dict[str, str]) -> tuple[Outcome, list[Step], int | None]:
        """Run one program in `guest` (remapping its placeholder handles), clean up after it
        and look for a leak. Returns what happened, the requests as they were sent with their
        replies (the client's exchanges: the clean-up's requests included), and the edges the
        program hit (None when blind or when it failed)."""
        out = Outcome(run_dir=guest.run_dir)
        remap = repro.Remap(program)
        out.remap = remap
        agent = guest.agent
        uses_vm = self.target.uses_vm
        if self.guided:
            agent.request("cov", op="reset")
        agent.clear_exchanges()
        sent: list[Step] | None = None
        cov = None
        try:
            for step in program:
                wire = remap.args(step)
                args = {k: repro.decode_text(v) for k, v in wire}
                self.execs += 1
                bound = repro.step_timeout(step.verb, wire, self.request_timeout, uses_vm)
                reply = agent.request(step.verb, check=False, timeout=bound, **args)
                out.replies.append(reply)
                remap.learn(step, reply, wire)
            repro.cleanup_requests(guest, remap, program)
            guest.check_alive()
            sent = repro.steps_from_exchanges(agent.exchanges)  # without the leak check's kstats
            if base:
                # a leak already found is counted after a short settle; a new one gets the
                # full repro.LEAK_SETTLE_S (a stock driver leaking every program ran at a
                # tenth of the speed otherwise)
                out.leaked = repro.leaked_since(agent, base, settle_s=0.2)
                if out.leaked and not self._settled(f"leak: {repro.leak_title(out.leaked)}"):
                    out.leaked = repro.leaked_since(agent, base)
            if self.guided and not out.leaked:
                cov = parse_cov(agent.request("cov").fields)[1]
        except GuestCrash as e:
            out.crash = (e.kind, e.title)
        except GuestDied:
            out.died = repro._death(guest)
        except AgentTimeout:
            out.hang = True
        except ProtocolError as e:
            out.protocol = str(e).splitlines()[0][:200]
        if sent is None:
            sent = repro.steps_from_exchanges(agent.exchanges)
        return out, sent, cov

    def _settled(self, title: str) -> bool:
        """A title already found, or flaky after 3 tries: only counted from now on."""
        flaky = self.flaky.get(title)
        return title in self.findings or bool(flaky and flaky.tries >= 3)

    def _again(self, title: str) -> bool:
        """Count one more of a title already settled (a finding, or flaky after 3 tries)."""
        if not self._settled(title):
            return False
        known = self.findings.get(title)
        f = known or self.flaky[title]
        f.count += 1
        print(f"tunlab fuzz: again: {title} ({f.count} times{'' if known else ', flaky'})", flush=True)
        return True

    def _finding(self, title: str, out: Outcome, history: list[list[Step]], guest_dir: Path) -> None:
        """Save a new title's repro once it reproduces in a fresh guest (alone, else after the
        programs before it); one that does neither is flaky (tried again, up to 3 times)."""
        t = self._elapsed()
        if self._again(title):
            return
        if self.replay_only:
            self.findings[title] = Finding(title, round(t, 1))
            print(f"tunlab fuzz: corpus replay: {title} (not reproduced here: a fuzz run does that)", flush=True)
            return
        flaky = self.flaky.get(title)
        f = flaky or Finding(title, round(t, 1))
        if flaky:
            f.count += 1
        f.tries += 1
        d = self.out / "findings" / _slug(title)
        d.mkdir(parents=True, exist_ok=True)
        print(f"tunlab fuzz: {'again' if flaky else 'NEW'}: {title} after {t:.0f} s; "
              f"reproducing in a fresh guest", flush=True)
        for name in ("console.log", "agent.log"):
            if (guest_dir / name).exists():
                shutil.copy2(guest_dir / name, d / name)
        failure = _failure_for(title, out)
        plan = repro.plan_for(self.cfg)
        r = repro.from_run(history[-1], failure, self.cfg, plan, self.driver_id,
                           test=f"tunlab fuzz seed {self.seed}", message=title)
        r.reference = ""
        r.write(d / "repro.txt")
        f.original = len(r.steps)
        # Does it reproduce alone, in a fresh guest? Else with the programs before it.
        rp = repro.Replayer(r, self.cfg, d / "replays", None)
        ok = f.alone = rp.reproduces(r.steps)
        if not ok and len(history) > 1:
            steps = [s for p in history[-20:-1] for s in p] + r.steps
            r = r.with_steps(steps)
            r.write(d / "repro.txt")
            f.original = len(steps)
            rp = repro.Replayer(r, self.cfg, d / "replays", None)
            ok = rp.reproduces(r.steps)
        f.reproduced = ok
        if ok:
            self.flaky.pop(title, None)
            self.findings[title] = f
            if not self.stopping:
                small = repro.minimize(rp, self.minimize_runs, self.minimize_seconds)
                r.with_steps(small).write(d / "repro.min.txt")
                f.minimized = len(small)
        else:
            self.flaky[title] = f
            dest = self.out / "flaky" / _slug(title)
            if dest.exists():
                shutil.rmtree(dest)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(d), dest)
            d = dest
        f.directory = str(d)
        (d / "finding.json").write_text(json.dumps(f.__dict__, indent=2) + "\n")
        how = ("reproduces alone" if f.alone else f"reproduces after the {f.original - len(history[-1])} "
               "requests before it") if ok else "flaky: does not reproduce in a fresh guest"
        print(f"tunlab fuzz:   {how}; saved {d}: repro {f.original} requests"
              + (f", minimized {f.minimized}" if ok else ""), flush=True)

    def _progress(self, final: bool = False) -> None:
        t = max(self._elapsed(), 1e-9)
        cov = (f"cov {bin(self.cov_seen).count('1')}/{self.cov_total} edges  corpus {len(self.corpus)}"
               if self.guided else "cov blind")
        print(f"tunlab fuzz: {t:5.0f} s  {self.programs} programs  {self.execs} execs  "
              f"{self.execs / t:.1f} execs/s  {cov}  {len(self.findings)} findings"
              + (f" ({len(self.flaky)} flaky)" if self.flaky else "")
              + ("  (done)" if final else ""), flush=True)



def finding_line(f: dict[str, Any]) -> str:
    """A finding's line in the final summary: what was done with it (a corpus replay or a
    stopped run leaves it unreproduced or unminimized, and says so)."""
    head = f"  {f['first_s']:7.1f} s  x{f['count']:<3}  {f['title']}"
    if not f["reproduced"]:
        return f"{head}  (not reproduced yet)"
    needs = "" if f["alone"] else ", needs the programs before it"
    if not f["minimized"]:
        return f"{head}  (repro {f['original']} requests, not minimized: the run stopped{needs})"
    return f"{head}  (minimized {f['original']} -> {f['minimized']} requests{needs})"


def _failure_for(title: str, out: Outcome) -> Failure:
    if out.crash:
        return Failure("crash", title)
    if out.died:
        return Failure("died")
    if out.hang:
        return Failure("hang")
    if out.protocol:
        return Failure("protocol")
    return Failure("leak", repro.leak_title(out.leaked))


# -- the command -----------------------------------------------------------------------------
def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--duration", type=float, default=60.0, help="seconds to fuzz (default 60)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock; printed)")
    p.add_argument("--out", type=Path, default=None, help="corpus and findings (default build/fuzz/<date-time>)")
    p.add_argument("--minimize-runs", type=int, default=60, help="replays to minimize each new finding (60)")
    p.add_argument("--replay-corpus", action="store_true",
                   help="run each program of OUT/corpus once and stop (driver line coverage of a "
                        "corpus: make -f driver/Makefile.host fuzz-corpus-cov FUZZ_OUT=OUT)")
    p.add_argument("--programs-per-guest", type=int, default=200,
                   help="programs before the guest is replaced by a fresh one (200)")


def main(args: argparse.Namespace, cfg: RunConfig) -> int:
    from tunlab.paths import BUILD
    import os
    if args.duration <= 0:
        raise UsageError("--duration must be positive")
    if args.replay_corpus and (args.out is None or not (args.out / "corpus").is_dir()):
        raise UsageError("--replay-corpus needs --out DIR of an earlier run (DIR/corpus)")
    seed = args.seed if args.seed is not None else int(time.time()) & 0xFFFFFF
    out = args.out or BUILD / "fuzz" / time.strftime("%Y%m%d-%H%M%S")
    if targets.get(cfg.target).emulated_kernel:
        # UBSan findings abort with a stack (the kpi build already uses -fno-sanitize-recover)
        os.environ.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    print(f"tunlab fuzz: target {cfg.target}, driver {cfg.driver}, seed {seed}, "
          f"{args.duration:.0f} s, out {out}", flush=True)
    fz = Fuzzer(cfg, out, seed, args.duration, minimize_runs=args.minimize_runs,
                programs_per_guest=args.programs_per_guest)
    if args.replay_corpus:
        fz.replay_only, fz.duration = True, float("inf")
        fz.out = out / "replay"  # the run's own summary stays
        shutil.copytree(out / "corpus", fz.out / "corpus", dirs_exist_ok=True)
    # SIGTERM ends the run like Ctrl-C: the guest is stopped, the summary written
    def stop(signum: int, _frame: Any) -> None:
        fz.stopping = True
        raise KeyboardInterrupt(f"signal {signum}")

    old = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        summary = fz.run()
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    for f in summary["findings"]:
        print(finding_line(f))
    for f in summary["flaky"]:
        print(f"  {f['first_s']:7.1f} s  x{f['count']:<3}  flaky: {f['title']}  (did not reproduce in a fresh guest)")
    cov = (f"{summary['edges']}/{summary['edges_total']} driver edges (the total counts the "
           f"sanitizers' check branches too: line coverage is fuzz-corpus-cov's), corpus {summary['corpus']}"
           if summary["guided"] else "blind (no coverage from this target)")
    print(f"tunlab fuzz: {summary['execs_per_s']} execs/s, {cov}, {len(summary['findings'])} findings, "
          f"{len(summary['flaky'])} flaky; {fz.out}/summary.json")
    return 0
