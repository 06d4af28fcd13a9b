"""The rows of TUN-SPEC.md (shared/TUN-SPEC.md, kept beside the repository), as data: each
row's id, a short title, and whether the stock DragonFly driver behaves differently (then
the conformance suite expects that row to fail against the stock driver)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    id: str
    title: str
    stock_differs: bool = False


ROWS = [
    Row("L1", "/dev/tun autoclones the lowest free unit, node and interface, group tun"),
    Row("L2", "open needs root (EPERM); second open of an open unit EBUSY"),
    Row("L3", "closing an autocloned unit frees it: 1000 opens give the same unit", True),
    Row("L4", "ifconfig create persists until destroy; duplicate create EEXIST", True),
    Row("L5", "destroy while open EBUSY; destroy of a non-cloned unit EINVAL"),
    Row("L6", "rename: TUNGIFNAME follows; close still destroys a renamed unit", True),
    Row("L7", "module unload: EBUSY while open, else destroys every unit"),
    Row("L8", "create/destroy and up/destroy races end without panic or leak"),
    Row("I1", "TUNGIFINFO on a new unit: mtu 1500, IFT_PPP, baudrate 0"),
    Row("I2", "TUNSIFINFO: type change EPROTOTYPE, mtu < 72 EINVAL, else set"),
    Row("I3", "SIOCSIFMTU outside [72, 65535] EINVAL"),
    Row("I4", "TUNSIFMODE: EBUSY while up; exact flags; EINVAL otherwise", True),
    Row("I5", "TUNSLMODE/TUNSIFHEAD exclude each other; TUNGIFHEAD reports"),
    Row("I6", "TUNSDEBUG/TUNGDEBUG and net.link.tun.debug"),
    Row("I7", "TUNSIFPID records the pid; cleared at close"),
    Row("I8", "FIONREAD: 0 when empty, else the next read's length"),
    Row("I9", "FIOASYNC + FIOSETOWN: SIGIO per packet; FIOGETOWN, TIOC[SG]PGRP"),
    Row("I10", "TUNGIFNAME copies the interface name"),
    Row("I11", "other ioctls ENOTTY; FIONBIO makes reads non-blocking"),
    Row("O1", "output while closed EHOSTDOWN; reads never EHOSTDOWN"),
    Row("O2", "plain: IPv4 only (EAFNOSUPPORT); header and link-layer prefixes"),
    Row("O3", "send queue holds 250; the next send ENOBUFS, an output drop", True),
    Row("O4", "read returns one packet; a short buffer truncates that packet only"),
    Row("O5", "read of 0 bytes returns 0 and keeps the packet", True),
    Row("O6", "EAGAIN when empty non-blocking; no lost wakeup (10^5 round trips)", True),
    Row("O7", "bpf sees every packet with a 4-byte host-order family, both ways"),
    Row("O8", "bpf write under 4 bytes EINVAL", True),
    Row("W1", "0-byte write returns 0, counts nothing"),
    Row("W2", "largest write TUNMRU (+4 in header mode); one more EIO"),
    Row("W3", "header mode, write under 4 bytes EINVAL, nothing leaks", True),
    Row("W4", "header mode, bad family EAFNOSUPPORT, whole chain freed", True),
    Row("W5", "valid packets reach the stack; echo answered; counters advance"),
    Row("W6", "writes copy into as few mbufs as possible (one cluster to 2048)", True),
    Row("K1", "EVFILT_READ active exactly while the queue is non-empty"),
    Row("K2", "EVFILT_WRITE always active; kn_data is the MTU", True),
    Row("K3", "other filters EOPNOTSUPP"),
    Row("K4", "close with knotes registered wakes them with EOF"),
]

BY_ID = {r.id: r for r in ROWS}
