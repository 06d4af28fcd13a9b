"""`tunlab run`: boot the target's guest with the driver under test, run a short session
(the device's identity ioctl, packet injection, counters, a throughput sample) and print a
readable report."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from typing import Callable

from tunlab import checks, targets
from tunlab.errors import TunlabError
from tunlab.guest import Guest
from tunlab.packets import LOCAL, PEER
from tunlab.paths import BUILD
from tunlab.runconfig import RunConfig
from tunlab.safetext import one_line
from tunlab.tundev import TunDevice



@dataclass
class Row:
    name: str
    ok: bool
    detail: str


def _check(rows: list[Row], name: str, fn: Callable[[], str]) -> None:
    tty = sys.stdout.isatty()
    if tty:  # what is running now, overwritten by its result
        print(f"  ... {name}", end="\r", flush=True)
    try:
        rows.append(Row(name, True, fn()))
    except (TunlabError, AssertionError) as e:
        rows.append(Row(name, False, one_line(str(e).splitlines()[0] if str(e) else repr(e))))
    r = rows[-1]
    print(f"{chr(27) + '[K' if tty else ''}  {'PASS' if r.ok else 'FAIL'}  {r.name:<34} {r.detail}")


def linux_identity(dev: TunDevice) -> str:
    reply = dev.ioctl("TUNGETIFF")
    name, flags = reply.text("name"), reply.int("flags")
    checks.expect(name == dev.ifname, f"TUNGETIFF name {name!r}, expected {dev.ifname!r}")
    checks.expect(flags & 0x0003 == 0x0001, f"TUNGETIFF flags {flags:#x}: not IFF_TUN")
    return f"{name} flags={flags:#06x} (IFF_TUN)"


def bsd_identity(dev: TunDevice) -> str:
    reply = dev.ioctl("TUNGIFINFO")
    mtu, kind = reply.int("mtu"), reply.int("type")
    checks.expect(mtu == 1500 and kind == 0x17,
                  f"TUNGIFINFO mtu {mtu} type {kind:#x}, expected 1500 and IFT_PPP (0x17)")
    return f"{dev.ifname} mtu={mtu} type=IFT_PPP"


# The ioctl that says what a new device is, per tun API (Target.tun_api).
IDENTITY: dict[str, tuple[str, Callable[[TunDevice], str]]] = {
    "linux": ("TUNGETIFF", linux_identity),
    "bsd": ("TUNGIFINFO", bsd_identity),
}


def session(guest: Guest, rows: list[Row], tun_api: str) -> None:
    dev = guest.open_tun(addr=f"{LOCAL}/32", peer=PEER, nonblock=True)
    ident_name, ident = IDENTITY[tun_api]

    def mtu() -> str:
        dev.configure(mtu=1400)
        seen = dev.info().int("mtu")
        dev.configure(mtu=1500)
        checks.expect(seen == 1400, f"stack reports mtu {seen} after setting 1400")
        return "set 1400, stack reports 1400"

    def counters() -> str:
        st = dev.stats()
        checks.expect(st.get("rx_packets", 0) >= 1 and st.get("tx_packets", 0) >= 1,
                      f"counters did not advance: {st}")
        return f"rx {st['rx_packets']} pkts / tx {st['tx_packets']} pkts"

    def control() -> str:
        rt = checks.control_round_trip(guest.agent, 200)
        return f"{rt['count']} no-ops: median {rt['median_ms']:.2f} ms, p99 {rt['p99_ms']:.2f} ms"

    def throughput(kind: str, size: int) -> Callable[[], str]:
        def run() -> str:
            r = dev.bench(kind, size, 1000, LOCAL, PEER)
            checks.expect(r.int("packets") > 0, f"bench {kind} moved no packets")
            return (f"{r.float('pps'):>9.0f} pkt/s {r.float('mbps'):>8.2f} Mbit/s "
                    f"({r.int('packets')} pkts, {r.int('errors')} errors)")
        return run

    _check(rows, f"{ident_name} on {dev.ifname}", lambda: ident(dev))
    _check(rows, "non-blocking read, empty queue", lambda: checks.nonblocking_read_is_eagain(dev))
    _check(rows, "MTU change seen by the stack", mtu)
    _check(rows, "inject ICMP echo, read reply", lambda: checks.icmp_echo_roundtrip(dev, LOCAL, PEER))
    _check(rows, "interface counters", counters)
    _check(rows, "control round trip (COM2)", control)
    for kind, size in (("rtt", 64), ("write", 1400), ("read", 1400)):
        _check(rows, f"throughput {kind} {size} B, 1 s", throughput(kind, size))
    dev.close()


def run_target(cfg: RunConfig, rows: list[Row]) -> str:
    """Boot one target's guest, run the session on it; returns where its logs are."""
    plan = targets.plan(cfg)
    print(f"\n== {cfg.target}: driver {plan.spec.driver or cfg.driver}, backend {plan.backend}, "
          f"accelerator {plan.accel}")
    guest = Guest.boot(plan.spec, backend=plan.backend, accel=plan.accel)
    try:
        h = guest.hello
        print(f"  guest booted, agent ready in {guest.boot_seconds:.2f} s: agent {h.get('agent')} "
              f"backend {h.get('backend')} on {h.get('os')}, driver {h.get('driver')}")
        session(guest, rows, plan.target.tun_api)
    except TunlabError as e:
        rows.append(Row(f"{cfg.target}: session", False, one_line(str(e))))
        print(f"  FAIL  session aborted: {one_line(str(e).splitlines()[0] if str(e) else repr(e))}")
    finally:
        how = guest.stop()
    print(f"  guest {how}; logs: {guest.run_dir}")
    return str(guest.run_dir)


def run_conformance(cfg: RunConfig, rows: list[Row]) -> None:
    """The whole TUN-SPEC suite on the driver under test (a target with the BSD API that
    boots in a moment: kpi), as its rows table."""
    from tunlab import conformance
    out = BUILD / "conformance" / f"run-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    column, cells = conformance.run_suite(cfg, cfg.driver, out,
                                          say=lambda line: print(f"  {line}"))
    print("\n".join("  " + line for line in conformance.render({column: cells}).splitlines()))
    bad = conformance.unexpected(cells)
    rows.append(Row(f"{cfg.target}: TUN-SPEC conformance", not bad,
                    f"{len(bad)} unexpected result(s){': ' + ', '.join(bad) if bad else ''}"))
    print(f"  {'PASS' if not bad else 'FAIL'}  TUN-SPEC conformance: {rows[-1].detail}")


def main(cfg: RunConfig, every_target: bool = False) -> int:
    """`tunlab run`: the session on cfg's target; with `every_target`, on every registered
    target that can run here (the driver under test on the BSD ones, plus its whole
    conformance suite where the guest is a host process), each target that cannot run
    saying why in one line."""
    t0 = time.monotonic()
    rows: list[Row] = []
    names = targets.names() if every_target else (cfg.target,)
    print(f"tunlab run: driver under test {cfg.driver}; targets {', '.join(names)}")
    for name in names:
        target = targets.get(name)
        # Linux's tun is the reference peer: it runs its own driver whatever --driver says
        tcfg = cfg.with_(target=name, driver=cfg.driver if target.tun_api == "bsd" else "ours")
        reason = target.unavailable(tcfg)
        if reason:
            print(f"\n== {name}: not run here: {reason}")
            continue
        run_target(tcfg, rows)
        if every_target and target.tun_api == "bsd" and not target.uses_vm:
            run_conformance(tcfg, rows)
    failed = [r for r in rows if not r.ok]
    verdict = "PASS" if rows and not failed else "FAIL"
    print(f"\ntunlab run: {verdict}: {len(rows) - len(failed)} passed, {len(failed)} failed "
          f"in {time.monotonic() - t0:.1f} s"
          + (f" (failed: {', '.join(r.name for r in failed)})" if failed else ""))
    return 0 if verdict == "PASS" else 1
