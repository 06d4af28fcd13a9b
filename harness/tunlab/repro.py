"""Repro files: the requests a failing test (or a fuzz program) sent, replayable on any
target, with what "the failure" was, and delta debugging to shrink them.

A repro file is text, one request a line (README, "Reproducing a bug"):

    # tunlab repro 1
    target: kpi
    driver: /tmp/x
    driver-id: src:0123456789ab
    ...
    failure: check
    reference: ours
    --
    > open nonblock=0 pi=0
    < ok h=1 ifname=tun0
    > ioctl h=1 req=FIONREAD
    < ok ret=0 value=0

`>` lines are requests exactly as the protocol carries them (without TL1 and the id); the
`<` line after one is the reply the original run got (for the reader, for remapping handles
and names, and for the `check` failure). Header lines are `key: value`.

The failure (`failure:`) is decided from what the original run recorded, and always concerns
the file's **last** request (the file ends where the failure happened):

- `crash <title>`: the console showed a crash (panic, trap, sanitizer report); the title is
  syzkaller-like, kind + function (crash_title). Reproduced: the replay's console shows a
  crash with the same title.
- `died`: the agent or VM ended with no crash line. Reproduced: the replay's guest dies too.
- `hang`: the last request got no reply within its timeout. Reproduced: so does the replay's.
- `error <NAME>`: the last request's reply was `err NAME` and the test did not expect it (the
  AgentError that failed the test). Reproduced: the replay's last reply is `err NAME`.
- `protocol`: the agent sent a malformed frame. Reproduced: the replay's does too.
- `check`: the test's own check failed after the last request (an assertion on its reply).
  Reproduced: the replay's last reply equals the recorded one (word, error name and every
  value, handles and interface names remapped, VOLATILE keys ignored) **and**, when the file
  names a `reference:` driver, the same replay on the reference gives a different last
  reply. Without a reference a shorter sequence can give the same reply by accident, so the
  plugin names `ours` as the reference whenever another BSD driver failed.
- `leak <counter,...>`: after the requests, the replay closes what they opened (devices,
  kqueues, listeners), reloads an unloaded module, destroys every unit they named, and a
  live kstat counter (bsd_instruments.DRIVER_OBJECTS) is above its value at the start.
  Reproduced: one of the same counters grew.

Handles (`h=`, `kq=`, `b=`) and interface names returned by earlier replies are remapped:
the value the original reply gave is replaced by the one the replay's reply gives; a handle
whose producing request is no longer in the file is replaced by 0 (no such handle).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import re
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from tunlab import targets
from tunlab.errors import (AgentError, AgentTimeout, GuestCrash, GuestDied, ProtocolError,
                           TunlabError, UsageError)
from tunlab.machine import GuestSpec
from tunlab.protocol import Frame, decode_text
from tunlab.runconfig import RunConfig

# a guest's description in QEMU's record mode, writing its recording in the run directory
RecordFn = Callable[[GuestSpec, Path], GuestSpec]

FORMAT = "# tunlab repro 1"
HANDLE_KEYS = ("h", "kq", "b")
NAME_KEYS = ("ifname", "name")
# reply keys that change from run to run by nature: never part of a `check`
VOLATILE = frozenset({"ns", "pps", "mbps", "rtt_min_ns", "rtt_avg_ns", "rtt_max_ns", "pid",
                      "pgrp", "msg", "sigio", "errno", "file", "tsleep_blocks",
                      "uiomove_calls", "mbuf_allocs", "cluster_allocs", "bpf_taps",
                      "echo_replies", "preempt_us", "creates", "destroys", "toggles",
                      "packets", "bytes", "done"})
LIVE_COUNTERS = ("mbufs", "clusters", "mbuf_bytes", "cdevs", "ifnets", "files", "knotes",
                 "malloc_tun")
# the counter a leak is titled by, most telling first (a leaked unit also leaks its cdev)
LEAK_ORDER = ("mbufs", "clusters", "knotes", "malloc_tun", "ifnets", "cdevs", "files", "mbuf_bytes")
KINDS = ("crash", "died", "hang", "error", "protocol", "check", "leak")
HEADER_KEYS = ("target", "driver", "driver-id", "image", "backend", "accel", "smp", "memory",
               "cpu", "qemu-opts", "test", "failure", "reference", "message", "recorded")


# -- the file --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    verb: str
    args: tuple[tuple[str, str], ...]  # wire values, in order
    reply: str = ""                    # the recorded reply: "ok k=v ...", "err NAME ...", ""

    def line(self) -> str:
        return " ".join([self.verb] + [f"{k}={v}" for k, v in self.args])

    def arg(self, key: str) -> str | None:
        return next((v for k, v in self.args if k == key), None)


@dataclass(frozen=True)
class Failure:
    kind: str
    detail: str = ""  # crash title, error name, leaked counters (comma-separated)

    def __str__(self) -> str:
        return f"{self.kind} {self.detail}".strip()

    @classmethod
    def parse(cls, text: str) -> "Failure":
        kind, _, detail = text.strip().partition(" ")
        if kind not in KINDS:
            raise UsageError(f"failure {text!r}: the kind must be one of {', '.join(KINDS)}")
        if kind in ("crash", "error", "leak") and not detail:
            raise UsageError(f"failure {text!r}: {kind} needs its {'title' if kind == 'crash' else 'name'}")
        return cls(kind, detail.strip())


@dataclass
class Repro:
    target: str
    driver: str
    failure: Failure
    steps: list[Step] = field(default_factory=list)
    driver_id: str = ""
    image: str = ""
    backend: str = ""
    accel: str = ""
    smp: str = ""
    memory: str = ""
    cpu: str = ""
    qemu_opts: str = ""                # as the shell would split it (--qemu-opts)
    test: str = ""
    reference: str = ""
    message: str = ""
    recorded: str = ""

    def render(self) -> str:
        out = [FORMAT, "# replay: tunlab repro THIS_FILE [--target T] [--driver D] [--minimize]"]
        for key in HEADER_KEYS:
            value = str(self.failure) if key == "failure" else getattr(self, key.replace("-", "_"))
            if value:
                out.append(f"{key}: {_one_line(str(value))}")
        out.append("--")
        for s in self.steps:
            out.append(f"> {s.line()}")
            if s.reply:
                out.append(f"< {s.reply}")
        return "\n".join(out) + "\n"

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.render())
        return path

    def with_steps(self, steps: list[Step]) -> "Repro":
        return dataclasses.replace(self, steps=list(steps))


def _one_line(text: str) -> str:
    return re.sub(r"[\x00-\x1f\x7f]+", " ", text)[:400]


def parse(text: str, where: str = "repro file") -> Repro:
    """Read a repro file; UsageError naming the line for anything malformed."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != FORMAT:
        raise UsageError(f"{where}: not a tunlab repro file (the first line must be {FORMAT!r})")
    header: dict[str, str] = {}
    steps: list[Step] = []
    in_steps = False
    for n, raw in enumerate(lines[1:], start=2):
        line = raw.rstrip()
        if not line or line.startswith("#"):
            continue
        if not in_steps:
            if line == "--":
                in_steps = True
                continue
            key, sep, value = line.partition(":")
            if not sep or key not in HEADER_KEYS:
                raise UsageError(f"{where}:{n}: want 'key: value' with a key of "
                                 f"{', '.join(HEADER_KEYS)}, or '--': {line[:80]!r}")
            header[key] = value.strip()
            continue
        if line.startswith("> "):
            tokens = line[2:].split()
            if not tokens or not re.fullmatch(r"[a-z0-9_]+", tokens[0]):
                raise UsageError(f"{where}:{n}: a request needs a verb: {line[:80]!r}")
            args = []
            for t in tokens[1:]:
                k, sep, v = t.partition("=")
                if not sep or not re.fullmatch(r"[a-z0-9_]+", k):
                    raise UsageError(f"{where}:{n}: arguments are key=value: {t[:40]!r}")
                args.append((k, v))
            steps.append(Step(tokens[0], tuple(args)))
        elif line.startswith("< "):
            if not steps or steps[-1].reply:
                raise UsageError(f"{where}:{n}: a reply line must follow its request")
            steps[-1] = dataclasses.replace(steps[-1], reply=line[2:].strip())
        else:
            raise UsageError(f"{where}:{n}: a step line starts with '> ' (request) or "
                             f"'< ' (its reply): {line[:80]!r}")
    for key in ("target", "driver", "failure"):
        if not header.get(key):
            raise UsageError(f"{where}: the header has no '{key}:' line")
    if not steps:
        raise UsageError(f"{where}: no requests (lines starting with '> ') after '--'")
    return Repro(target=header["target"], driver=header["driver"],
                 failure=Failure.parse(header["failure"]), steps=steps,
                 **{k.replace("-", "_"): v for k, v in header.items()
                    if k not in ("target", "driver", "failure")})


def load(path: Path) -> Repro:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: cannot read it: {e}") from None
    return parse(text, str(path))


# -- crash titles ----------------------------------------------------------------------------
_FRAME = re.compile(r"^\s*#\d+ 0x[0-9a-f]+ in (\S+)(?: (\S+))?")
_NOT_THE_CULPRIT = re.compile(r"^(__interceptor_|__asan|__ubsan|__lsan|__sanitizer|_?_?libc_|"
                              r"malloc$|calloc$|realloc$|free$|mem(cpy|move|set|cmp)$|str\w+$|"
                              r"kpi_|kmalloc|kfree|abort$|raise$|panic$)")


def _normalize(text: str) -> str:
    text = re.sub(r"0x[0-9a-fA-F]+", "ADDR", text)
    text = re.sub(r"\b(pid|tid|thread T)\s*\d+", r"\1 N", text)
    return re.sub(r"\s+", " ", text).strip()[:160]


def _culprit(lines: list[str], start: int) -> str:
    """The first stack frame after `start` that is the driver's (if_tun.c), else the first
    that is not a sanitizer's, libc's or the kpi layer's allocator."""
    frames = []
    for line in lines[start:start + 80]:
        m = _FRAME.match(line)
        if m:
            frames.append((m.group(1), m.group(2) or ""))
        elif frames and not line.strip():
            break
    for fn, where in frames:
        if "if_tun.c" in where:
            return fn
    for fn, _ in frames:
        if not _NOT_THE_CULPRIT.match(fn):
            return fn
    return frames[0][0] if frames else ""


def crash_title(kind: str, title: str, console: list[str]) -> str:
    """A syzkaller-like title, stable from run to run: kind, what, and the function (the
    driver's own frame where the stack shows one); addresses and pids normalized."""
    if kind == "asan":
        for i, line in enumerate(console):
            m = re.search(r"ERROR: AddressSanitizer: ([\w-]+)", line)
            if m:
                what = m.group(1)
                access = ""
                for nxt in console[i + 1:i + 6]:
                    a = re.match(r"^(READ|WRITE) of size", nxt.strip())
                    if a:
                        access = " " + a.group(1).capitalize()
                        break
                fn = _culprit(console, i + 1)
                return f"asan: {what}{access}" + (f" in {fn}" if fn else "")
    if kind == "lsan":
        for i, line in enumerate(console):
            if re.search(r"(Direct|Indirect) leak of", line):
                fn = _culprit(console, i + 1)
                return "lsan: memory leak" + (f" in {fn}" if fn else "")
    if kind == "ubsan":
        for i, line in enumerate(console):
            m = re.search(r"(\S+):(\d+):\d+: runtime error: ([^:]+)", line)
            if m:
                what = re.sub(r"\s*\d+.*$", "", m.group(3)).strip() or m.group(3)
                fn = _culprit(console, i + 1)
                where = fn or f"{Path(m.group(1)).name}:{m.group(2)}"
                return f"ubsan: {_normalize(what)} in {where}"
    return f"{kind}: {_normalize(title)}"


# -- replaying -------------------------------------------------------------------------------
class Remap:
    """Handles and interface names of the original run -> those of this replay."""

    def __init__(self, steps: Iterable[Step]) -> None:
        # every handle any recorded reply produced: only those are remapped
        self.produced: dict[str, set[str]] = {k: set() for k in HANDLE_KEYS}
        for s in steps:
            fields = reply_fields(s.reply)
            for k in HANDLE_KEYS:
                if k in fields and s.verb in ("open", "kq", "bpf"):
                    self.produced[k].add(fields[k])
        self.handles: dict[tuple[str, str], str] = {}
        self.names: dict[str, str] = {}
        # what this replay holds now (from its own replies), for the clean-up
        self.live: dict[str, list[str]] = {k: [] for k in HANDLE_KEYS}
        self.units: set[str] = set()

    def args(self, step: Step) -> list[tuple[str, str]]:
        out = []
        for k, v in step.args:
            if k in HANDLE_KEYS and v in self.produced[k]:
                v = self.handles.get((k, v), "0")
            elif k in NAME_KEYS:
                v = self.names.get(v, v)
            out.append((k, v))
        return out

    def learn(self, step: Step, reply: Frame | None, sent: list[tuple[str, str]] | None = None) -> None:
        """Take in the reply to `step` (sent with the arguments `sent`)."""
        recorded = reply_fields(step.reply)
        got = reply.fields if reply is not None and reply.ok else {}
        sent_args = dict(sent if sent is not None else step.args)
        op = sent_args.get("op", "")
        for k in HANDLE_KEYS:
            if k in got and (step.verb == "open" or op == "open"):
                self.live[k].append(got[k])
        if got is not None and reply is not None and reply.ok:
            closing = {"close": "h"}.get(step.verb) or ({"kq": "kq", "bpf": "b"}.get(step.verb) if op == "close" else None)
            if closing and sent_args.get(closing) in self.live[closing]:
                self.live[closing].remove(sent_args[closing])
        for k in NAME_KEYS:
            for v in (got.get(k, ""), sent_args.get(k, "")):
                if _is_unit(decode_text(v)):
                    self.units.add(decode_text(v))
        if step.verb == "ioctl" and sent_args.get("req") == "SIOCSIFNAME" and sent_args.get("name"):
            # a unit renamed to any name (tunren) is still a unit to destroy
            self.units.add(decode_text(sent_args["name"]))
        for k in HANDLE_KEYS:
            if k in recorded and step.verb in ("open", "kq", "bpf"):
                if k in got:
                    self.handles[(k, recorded[k])] = got[k]
                else:
                    self.handles.pop((k, recorded[k]), None)
        for k in NAME_KEYS:
            if k in recorded and k in got and recorded[k] != got[k] and _is_unit(recorded[k]):
                self.names[recorded[k]] = got[k]

    def expected(self, key: str, value: str) -> str:
        if key in NAME_KEYS:
            return self.names.get(value, value)
        return value


def produced_handles(steps: Iterable[Step]) -> dict[str, set[str]]:
    """Every handle a recorded reply of `steps` produced, by key."""
    return Remap(steps).produced


def bind(steps: list[Step], produced: dict[str, set[str]]) -> list[Step]:
    """`steps` with each handle argument that names a handle of the original file (one of
    `produced`) but that no earlier step here produces replaced by 0 (no such handle), so
    that a shortened file means what its replays meant."""
    have: dict[str, set[str]] = {k: set() for k in HANDLE_KEYS}
    out = []
    for s in steps:
        args = tuple((k, "0") if k in HANDLE_KEYS and v in produced.get(k, ()) and v not in have[k]
                     else (k, v) for k, v in s.args)
        out.append(dataclasses.replace(s, args=args))
        fields = reply_fields(s.reply)
        for k in HANDLE_KEYS:
            if k in fields and s.verb in ("open", "kq", "bpf"):
                have[k].add(fields[k])
    return out


def leak_title(leaked: dict[str, int]) -> str:
    """The one counter a leak is titled and deduplicated by."""
    return next((k for k in LEAK_ORDER if k in leaked), sorted(leaked)[0] if leaked else "")


def _is_unit(name: str) -> bool:
    return bool(re.fullmatch(r"[a-z]+\d+", name))


def reply_fields(reply: str) -> dict[str, str]:
    """The key=value fields of a recorded reply ("ok k=v", "err NAME k=v")."""
    out = {}
    for t in reply.split()[1:]:
        k, sep, v = t.partition("=")
        if sep:
            out[k] = v
    return out


def reply_word(reply: str) -> str:
    """"ok", "err NAME" or "" of a recorded reply."""
    parts = reply.split()
    if not parts:
        return ""
    return parts[0] if parts[0] != "err" or len(parts) < 2 else f"err {parts[1]}"


def _strip_id(line: str) -> str:
    """A wire line without "TL1 <id> "."""
    parts = line.split(" ", 2)
    return parts[2] if len(parts) == 3 else ""


@dataclass
class Outcome:
    """What one replay did."""

    replies: list[Frame | None] = field(default_factory=list)  # one per step sent
    crash: tuple[str, str] | None = None  # (kind, title)
    died: str = ""
    hang: bool = False
    protocol: str = ""
    leaked: dict[str, int] = field(default_factory=dict)
    driver_id: str = ""
    run_dir: Path | None = None
    seconds: float = 0.0
    remap: Remap | None = None

    def title(self, verb: str = "") -> str:
        """A finding's title (fuzz.py), "" when nothing went wrong."""
        at = f" in {verb}" if verb else ""
        if self.crash:
            return self.crash[1]
        if self.died:
            return f"died: {self.died}{at}"
        if self.hang:
            return f"hang{at}"
        if self.protocol:
            return f"protocol error{at}"
        if self.leaked:
            return f"leak: {leak_title(self.leaked)}"
        return ""


_PLANS: dict[RunConfig, targets.TargetPlan] = {}


def plan_for(cfg: RunConfig) -> targets.TargetPlan:
    """targets.plan, once per configuration (a build check per replay is wasted time)."""
    if cfg not in _PLANS:
        _PLANS[cfg] = targets.plan(cfg)
    return _PLANS[cfg]


def cleanup_requests(guest: Any, remap: Remap, steps: list[Step]) -> None:
    """Close what the replay holds open (from its own replies), reload an unloaded module,
    destroy every unit it named or was given (errors ignored: this only sets the kernel back
    to where a leak can be seen)."""
    agent = guest.agent
    for key, verb in (("b", "bpf"), ("kq", "kq")):
        for v in remap.live[key]:
            agent.request(verb, check=False, op="close", **{key: v})
    for h in remap.live["h"]:
        agent.request("close", check=False, h=h)
    remap.live = {k: [] for k in HANDLE_KEYS}
    if any(s.verb == "module" and s.arg("op") == "unload" for s in steps):
        agent.request("module", check=False, op="load", name="if_tun")
    for name in sorted(remap.units):
        agent.request("ioctl", check=False, ifname=name, req="SIOCIFDESTROY")


# A serial line under TCG moves 0.1-0.2 MB/s (DESIGN.md, Channels); a request's bound grows
# by its bytes each way at 5 KB/s (a 140 KB write measured over 15 s with the machine
# loaded 4 times over), so that a long write is not taken for a hang.
SERIAL_BYTES_PER_S = 5_000.0
# reply bytes a request may bring back: a read's hex data
_REPLY_MAX = {"read": ("max", 65539), "bpf": ("max", 65539)}


def step_timeout(verb: str, wire: list[tuple[str, str]], base: float, uses_vm: bool) -> float:
    """The reply bound for one request: `base`, plus on a VM target the time its bytes
    (sent, and the largest reply it can bring back) take over the serial line."""
    if not uses_vm:
        return base
    sent = len(verb) + sum(len(k) + len(v) + 2 for k, v in wire)
    back = 0
    if verb in _REPLY_MAX:
        key, default = _REPLY_MAX[verb]
        value = dict(wire).get(key, "")
        back = 2 * (int(value) if value.isdigit() else default)
    return base + (sent + back) / SERIAL_BYTES_PER_S


# How long a leak may take to go away: packets the driver handed to the emulated netisr
# thread are still in flight right after the last request (kpi: real threads).
LEAK_SETTLE_S = 1.0


def leaked_since(agent: Any, base: dict[str, str], settle_s: float = LEAK_SETTLE_S) -> dict[str, int]:
    """Live kstat counters above `base`, re-read for up to `settle_s` until none is: what is
    left is a leak, not work still in flight."""
    deadline = time.monotonic() + settle_s
    while True:
        after = agent.request("kstat").fields
        leaked = {k: int(after[k]) - int(base[k]) for k in LIVE_COUNTERS
                  if k in after and k in base and int(after[k]) > int(base[k])}
        if not leaked or time.monotonic() >= deadline:
            return leaked
        time.sleep(0.05)


CRASH_REPORT_S = 20.0  # a sanitizer's report (symbolized stack) on a loaded machine


def let_report_finish(guest: Any, uses_vm: bool, timeout: float = CRASH_REPORT_S) -> None:
    """On a process guest (kpi) that crashed or died: wait, bounded, for the agent to end by
    itself and its console to close, so that the sanitizer's stack after the first report
    line is read (the title names its function). A VM that panicked may never end: no wait."""
    if uses_vm or guest.machine is None:
        return
    if guest.machine.wait_exit(timeout) and guest.watcher:
        guest.watcher.wait_eof(2.0)


def run_steps(cfg: RunConfig, steps: list[Step], run_dir: Path, *, leak_check: bool = False,
              timeout: float | None = None, record: RecordFn | None = None) -> Outcome:
    """Boot a fresh guest for `cfg`, send `steps` (remapped), and say what happened.
    Every wait is bounded (the client's timeouts); the guest is always stopped."""
    from tunlab.guest import Guest
    plan = plan_for(cfg)
    out = Outcome(run_dir=run_dir)
    t0 = time.monotonic()
    run_dir.mkdir(parents=True, exist_ok=True)
    spec = record(plan.spec, run_dir) if record else plan.spec
    guest = Guest.boot(spec, backend=plan.backend, accel=plan.accel, run_dir=run_dir)
    remap = Remap(steps)
    out.remap = remap
    out.driver_id = guest.hello.get("driver", "")
    target = targets.get(cfg.target)
    emulated = target.emulated_kernel
    try:
        base = guest.agent.request("kstat").fields if leak_check and emulated else {}
        for step in steps:
            wire = remap.args(step)
            args = {k: decode_text(v) for k, v in wire}
            bound = step_timeout(step.verb, wire, timeout or guest.agent.default_timeout, target.uses_vm)
            try:
                reply = guest.agent.request(step.verb, check=False, timeout=bound, **args)
            except ValueError as e:  # a key or verb the protocol cannot carry
                raise UsageError(f"request {step.line()[:80]!r}: {e}") from None
            out.replies.append(reply)
            remap.learn(step, reply, wire)
        guest.check_alive()
        if base:
            cleanup_requests(guest, remap, steps)
            out.leaked = leaked_since(guest.agent, base)
    except GuestCrash as e:
        out.crash = (e.kind, e.title)
    except GuestDied as e:
        out.died = str(e).splitlines()[0][:200]
    except AgentTimeout:
        out.hang = True
    except ProtocolError as e:
        out.protocol = str(e).splitlines()[0][:200]
    finally:
        try:  # an interrupt or a write error here still stops the guest
            if out.crash or out.died:
                let_report_finish(guest, target.uses_vm)
            if guest.client is not None:  # the frames as sent: `run --stdio < requests.tl` in gdb
                (run_dir / "requests.tl").write_text("".join(ex.request.rstrip("\n") + "\n"
                                                             for ex in guest.client.exchanges if ex.request))
        finally:
            guest.stop()
        seen = guest.watcher.crash if guest.watcher else None
        if out.crash is None and seen:  # e.g. LeakSanitizer at the agent's exit
            out.crash = (seen[0], seen[1])
        if out.crash and guest.watcher:
            out.crash = (out.crash[0], crash_title(out.crash[0], out.crash[1], guest.watcher.lines()))
        if out.died and guest.machine and not out.crash:
            out.died = _death(guest)
        out.seconds = time.monotonic() - t0
    return out


def _death(guest: Any) -> str:
    proc = getattr(guest.machine, "proc", None)
    rc = proc.poll() if proc is not None else None
    if rc is None:
        return "the guest ended"
    return f"killed by signal {-rc}" if rc < 0 else f"exit status {rc}"


def _same_reply(recorded: str, got: Frame | None, remap: Remap | None) -> bool:
    if got is None:
        return False
    word = "ok" if got.ok else f"err {got.error}"
    if reply_word(recorded) != word:
        return False
    for k, v in reply_fields(recorded).items():
        if k in VOLATILE or k in HANDLE_KEYS:
            continue
        want = remap.expected(k, v) if remap else v
        if got.fields.get(k) != want:
            return False
    return True


def verdict(failure: Failure, steps: list[Step], out: Outcome) -> bool:
    """Whether `out` (a replay of `steps`) shows `failure` (module docstring), without the
    reference half of `check`."""
    last_sent = len(out.replies) == len(steps)
    if failure.kind == "crash":
        return out.crash is not None and out.crash[1] == failure.detail
    if failure.kind == "died":
        return bool(out.died) and out.crash is None
    if failure.kind == "hang":
        return out.hang and len(out.replies) == len(steps) - 1
    if failure.kind == "protocol":
        return bool(out.protocol)
    if failure.kind == "leak":
        return bool(set(out.leaked) & set(failure.detail.split(",")))
    if not last_sent or out.crash or out.died or out.hang or out.protocol:
        return False
    last = out.replies[-1]
    if failure.kind == "error":
        return last is not None and not last.ok and last.error == failure.detail
    return _same_reply(steps[-1].reply, last, out.remap)  # check


def config_for(repro: Repro, base: RunConfig, driver: str | None = None) -> RunConfig:
    """The run configuration a replay uses: the file's target, driver, image and shape,
    unless `base` (the command line) overrides them."""
    changes: dict[str, Any] = {"driver": driver or repro.driver}
    if repro.smp.isdigit() and base.smp is None:
        changes["smp"] = int(repro.smp)
    if repro.memory.isdigit() and base.memory is None:
        changes["memory"] = int(repro.memory)
    if repro.cpu and base.cpu is None:
        changes["cpu"] = repro.cpu
    if repro.qemu_opts and not base.qemu_opts:
        changes["qemu_opts"] = repro.qemu_opts  # with_ parses and checks it
    if base.image is None and repro.image and Path(repro.image).is_dir() and base.target == repro.target:
        changes["image"] = Path(repro.image)
    return base.with_(**changes)


class Replayer:
    """Replays step lists of one repro, counting runs and caching verdicts."""

    def __init__(self, repro: Repro, cfg: RunConfig, out_dir: Path, reference: RunConfig | None,
                 log: Callable[[str], None] = lambda s: None, record: RecordFn | None = None) -> None:
        self.repro = repro
        self.cfg = cfg
        self.reference = reference
        self.out_dir = out_dir
        self.log = log
        self.record = record
        self.runs = 0
        self._cache: dict[tuple[str, ...], bool] = {}
        self.last: Outcome | None = None
        self.produced = produced_handles(repro.steps)

    def _run(self, cfg: RunConfig, steps: list[Step], tag: str) -> Outcome:
        self.runs += 1
        return run_steps(cfg, steps, self.out_dir / f"{self.runs:04d}-{tag}",
                         leak_check=self.repro.failure.kind == "leak",
                         record=self.record if tag == "replay" else None)  # not the reference

    def reproduces(self, steps: list[Step]) -> bool:
        steps = bind(steps, self.produced)
        key = tuple(s.line() for s in steps)
        if key in self._cache:
            return self._cache[key]
        out = self._run(self.cfg, steps, "replay")
        self.last = out
        ok = verdict(self.repro.failure, steps, out)
        if ok and self.repro.failure.kind == "check" and self.reference is not None:
            ref = self._run(self.reference, steps, "reference")
            ok = not verdict(self.repro.failure, steps, ref)
        self._cache[key] = ok
        return ok


# -- delta debugging -------------------------------------------------------------------------
def ddmin(items: list[Any], test: Callable[[list[Any]], bool], budget: Callable[[], bool]) -> list[Any]:
    """Zeller's ddmin: a 1-minimal sublist of `items` for which `test` holds (it holds for
    `items`), trying complements first; stops early when `budget()` says so."""
    n = 2
    while len(items) >= 2 and budget():
        size = -(-len(items) // n)
        chunks = [items[i:i + size] for i in range(0, len(items), size)]
        for i in range(len(chunks)):
            complement = [x for j, c in enumerate(chunks) if j != i for x in c]
            if budget() and test(complement):
                items, n = complement, max(n - 1, 2)
                break
        else:
            if n >= len(items):
                break
            n = min(len(items), 2 * n)
    return items


def _simpler_values(key: str, value: str) -> list[str]:
    if key in HANDLE_KEYS or key in NAME_KEYS or key in ("req", "op", "kind", "filter"):
        return []
    out: list[str] = []
    if re.fullmatch(r"-?(0x[0-9a-fA-F]+|\d+)", value):
        for simple in ("0", "1"):
            if value != simple:
                out.append(simple)
    elif re.fullmatch(r"([0-9a-fA-F]{2})+", value) and len(value) > 2 and key == "data":
        out.append(value[:len(value) // 2 // 2 * 2] or value[:2])
    return out


def minimize(replayer: Replayer, max_runs: int = 300, max_seconds: float = 600.0) -> list[Step]:
    """Shrink the request sequence (ddmin over every step but the failing last one; all of
    them for a leak), then each remaining request's arguments (drop one, or make a number 0
    or 1, or halve a packet), keeping every change after which the failure still
    reproduces. Bounded by max_runs replays and max_seconds."""
    steps = list(replayer.repro.steps)
    deadline = time.monotonic() + max_seconds
    budget = lambda: replayer.runs < max_runs and time.monotonic() < deadline  # noqa: E731
    keep_last = replayer.repro.failure.kind != "leak"
    if keep_last:
        head, last = steps[:-1], steps[-1:]
        head = ddmin(head, lambda h: replayer.reproduces(h + last), budget)
        steps = head + last
    else:
        steps = ddmin(steps, replayer.reproduces, budget)
    steps = bind(steps, replayer.produced)
    replayer.log(f"sequence: {len(replayer.repro.steps)} -> {len(steps)} requests "
                 f"({replayer.runs} replays)")
    # arguments, one change at a time
    i = 0
    while i < len(steps) and budget():
        step = steps[i]
        changed = False
        for j, (k, v) in enumerate(step.args):
            candidates = [step.args[:j] + step.args[j + 1:]]
            candidates += [step.args[:j] + ((k, nv),) + step.args[j + 1:] for nv in _simpler_values(k, v)]
            for args in candidates:
                if not budget():
                    break
                trial = steps[:i] + [dataclasses.replace(step, args=args)] + steps[i + 1:]
                if replayer.reproduces(trial):
                    steps, changed = bind(trial, replayer.produced), True
                    break
            if changed:
                break
        if not changed:
            i += 1
    return steps


# -- from a failing test ---------------------------------------------------------------------
def failure_of(exc: BaseException | None, console: list[str]) -> Failure:
    if isinstance(exc, GuestCrash):
        return Failure("crash", crash_title(exc.kind, exc.title, console))
    if isinstance(exc, GuestDied):
        return Failure("died")
    if isinstance(exc, AgentTimeout):
        return Failure("hang")
    if isinstance(exc, AgentError):
        return Failure("error", exc.name)
    if isinstance(exc, ProtocolError):
        return Failure("protocol")
    return Failure("check")


def steps_from_exchanges(exchanges: Iterable[Any]) -> list[Step]:
    out = []
    for ex in exchanges:
        body = _strip_id(ex.request)
        if not body:
            continue
        verb, *tokens = body.split(" ")
        args = tuple(tuple(t.split("=", 1)) for t in tokens if "=" in t)
        out.append(Step(verb, args, _strip_id(ex.reply) if ex.reply else ""))  # type: ignore[arg-type]
    return out


def from_run(steps: list[Step], failure: Failure, cfg: RunConfig, plan: targets.TargetPlan | None,
             driver_id: str, test: str = "", message: str = "") -> Repro:
    """A repro of a failed run: the steps up to the failing one, and the run's setting."""
    if failure.kind == "error":
        idx = max((i for i, s in enumerate(steps) if reply_word(s.reply) == f"err {failure.detail}"),
                  default=len(steps) - 1)
        steps = steps[:idx + 1]
    elif failure.kind in ("crash", "died", "hang", "protocol") and steps and not steps[-1].reply:
        pass  # the last request is the one that got no reply
    reference = ""
    if failure.kind == "check" and targets.get(cfg.target).tun_api == "bsd" and cfg.driver != "ours":
        reference = "ours"
    image = str(cfg.image or "")
    if not image and plan is not None and plan.spec.initrd:
        image = str(Path(plan.spec.initrd).parent)
    return Repro(target=cfg.target, driver=cfg.driver, failure=failure, steps=steps,
                 driver_id=driver_id, image=image,
                 backend=plan.backend if plan else cfg.backend,
                 accel=plan.accel if plan else cfg.accel,
                 smp=str(cfg.smp or ""), memory=str(cfg.memory or ""), cpu=cfg.cpu or "",
                 qemu_opts=shlex.join(cfg.qemu_opts), test=test,
                 reference=reference, message=message,
                 recorded=time.strftime("%Y-%m-%d %H:%M:%S"))


def write_for_test(item: Any, call: Any, logs: Path, cfg: RunConfig) -> Path | None:
    """The pytest plugin's hook: a failed test that used a guest leaves logs/repro.txt."""
    funcargs = getattr(item, "funcargs", {}) or {}
    guest = funcargs.get("guest") or funcargs.get("fresh_guest")
    client = getattr(guest, "client", None)
    if client is None or not client.exchanges:
        return None
    exc = call.excinfo.value if call.excinfo is not None else None
    console = guest.watcher.lines() if guest.watcher else []
    failure = failure_of(exc, console)
    steps = steps_from_exchanges(client.exchanges)
    message = str(exc).splitlines()[0] if exc is not None and str(exc) else ""
    try:
        plan = plan_for(cfg)
    except TunlabError:
        plan = None
    repro = from_run(steps, failure, cfg, plan, guest.hello.get("driver", ""),
                     test=item.nodeid, message=message)
    return repro.write(logs / "repro.txt")


# -- the command -----------------------------------------------------------------------------
def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, help="a repro file (a failing test leaves repro.txt "
                   "beside its logs; tunlab fuzz leaves one per finding)")
    p.add_argument("--minimize", action="store_true",
                   help="shrink the requests and their arguments while the failure still "
                        "reproduces; write FILE.min (or --out)")
    p.add_argument("--reference", metavar="DRIVER",
                   help="for a `check` failure: the driver whose replay must not show it "
                        "(default: the file's reference:)")
    p.add_argument("--out", type=Path, help="where the minimized file goes (default FILE.min)")
    p.add_argument("--logs", type=Path, help="where the replays' logs go "
                   "(default build/repro/<date-time>)")
    p.add_argument("--max-runs", type=int, default=300, help="replays --minimize may use (300)")
    p.add_argument("--max-seconds", type=float, default=900.0,
                   help="time --minimize may use (900)")
    p.add_argument("--record", action="store_true",
                   help="VM targets (TCG, --backend qemu): run the replay's guest in QEMU's "
                        "record mode and keep the recording in its log directory, for "
                        "`tunlab replay DIR` (byte-identical replay, --gdb)")


def main(args: argparse.Namespace, base: RunConfig, target_given: bool, driver_given: bool) -> int:
    from tunlab.paths import BUILD
    repro = load(args.file)
    if not target_given:
        base = base.with_(target=repro.target)
    cfg = config_for(repro, base, args.driver if driver_given else None)
    ref_name = args.reference if args.reference is not None else repro.reference
    reference = cfg.with_(driver=ref_name) if ref_name and repro.failure.kind == "check" else None
    logs = args.logs or BUILD / "repro" / time.strftime("%Y%m%d-%H%M%S")
    record: RecordFn | None = None
    if args.record:
        if args.minimize:
            raise UsageError("--record with --minimize: minimize first, then replay FILE.min "
                             "with --record (every minimizing replay would be recorded)")
        from tunlab import replay
        plan = plan_for(cfg)
        replay.check_recordable(plan.spec, plan.accel, plan.backend)
        record = functools.partial(replay.record_spec, accel=plan.accel, backend=plan.backend)
    replayer = Replayer(repro, cfg, logs, reference, log=lambda s: print(f"tunlab repro: {s}", flush=True),
                        record=record)
    print(f"tunlab repro: {args.file}: {len(repro.steps)} requests, failure: {repro.failure}; "
          f"replaying on {cfg.target} with driver {cfg.driver}"
          + (f" (reference {ref_name})" if reference else ""), flush=True)
    t0 = time.monotonic()
    ok = replayer.reproduces(repro.steps)
    out = replayer.last
    assert out is not None
    if repro.driver_id and out.driver_id and out.driver_id != repro.driver_id and not driver_given:
        print(f"tunlab repro: note: the driver is now {out.driver_id}; the file was recorded "
              f"with {repro.driver_id}")
    got = out.title() or (f"last reply: {out.replies[-1].line if out.replies and out.replies[-1] else '-'}")
    print(f"tunlab repro: {'REPRODUCED' if ok else 'NOT REPRODUCED'}: want {repro.failure}; "
          f"the replay gave {got} ({time.monotonic() - t0:.1f} s; logs {out.run_dir})")
    if record is not None:
        replay.after_test(out.run_dir, keep=True)
        print(f"tunlab repro: recorded: replay it exactly with `tunlab replay {out.run_dir}` "
              f"(--gdb to debug it)")
    if not args.minimize:
        return 0 if ok else 1
    if not ok:
        print("tunlab repro: not minimizing a failure that does not reproduce")
        return 1
    steps = minimize(replayer, args.max_runs, args.max_seconds)
    small = repro.with_steps(steps)
    dest = args.out or args.file.with_name(args.file.name + ".min")
    small.write(dest)
    print(f"tunlab repro: minimized {len(repro.steps)} -> {len(steps)} requests "
          f"({sum(len(s.line()) for s in repro.steps)} -> {sum(len(s.line()) for s in steps)} "
          f"bytes of requests) in {replayer.runs} replays, {time.monotonic() - t0:.0f} s: {dest}")
    return 0
