"""The CI performance gate: instructions per packet under callgrind, against a baseline kept in
the repository.

Wall-clock figures on a shared CI machine are noise; the number of instructions a program
executes is not. So CI runs the kpi target's bench program (our driver over driver/kpi, on
the host) under `valgrind --tool=callgrind`, divides the instructions by the packets it
moved, and compares with the baseline:

    regression when  new_ir_per_packet > baseline_ir_per_packet * (1 + threshold)

(default threshold 10%; callgrind's counts are deterministic, so no spread is involved).

    python3 -m tunlab.bench_gate --baseline FILE --name NAME [--threshold 0.10] \\
        [--packets N] [--update] [--json OUT] -- COMMAND [ARGS...]

How packets are counted:
- if an argument of COMMAND contains `{n}`, the command is run twice, with n = --n1 and --n2
  (default 2000 and 4000), and the figure is the slope (Ir(n2) - Ir(n1)) / (packets(n2) -
  packets(n1)): start-up and tear-down cancel out exactly;
- otherwise it is run once and the figure is Ir / packets.
packets is the last `packets=<n>` the command printed on stdout, else n (slope mode), else
--packets (single run; it overrides what the command printed).
A run that printed `errors=<n>` with n > 0 on any line gives no figure (a set-up problem).

Exit status: 0 within the threshold (or --update); 1 regression; 2 set-up problem (valgrind
missing, the command failed, no such baseline entry, unparsable output).

Wired in scripts/bench-gate.sh (run by `make check`): the kpi build of tunlab-bench-bare
(our driver over driver/kpi, harness/agent/bench_loops.c with count=<n>) for the write and read
paths at 64 and 1400 bytes, counted inside the driver's functions (--toggle-collect 'tun*') less
the host allocator's self cost (--exclude-fn), against harness/bench-baseline/kpi-callgrind.json.
harness/tests/bench/test_gate_kpi.py shows a slowed driver build being caught.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SCHEMA = "tunlab-bench-gate/1"
DEFAULT_THRESHOLD = 0.10
_PACKETS = re.compile(r"\bpackets=(\d+)")
_ERRORS = re.compile(r"\berrors=(\d+)")


class GateError(Exception):
    """A set-up problem: the gate cannot give a verdict (exit 2)."""


def parse_callgrind_total(text: str) -> int:
    """Total instructions (Ir) of a callgrind output file: its `totals:` line, else its
    `summary:` line (the first event is Ir unless --event options changed that)."""
    events = None
    for line in text.splitlines():
        if line.startswith("events:"):
            events = line.split()[1:]
    if events and events[0] != "Ir":
        raise GateError(f"callgrind output counts {events}, expected Ir first")
    for key in ("totals:", "summary:"):
        for line in text.splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    raise GateError("no totals: or summary: line in the callgrind output")


def parse_callgrind_self(text: str) -> dict[str, int]:
    """Self cost (Ir) per function of a callgrind output file written with
    --compress-strings=no: cost lines are summed under the current `fn=`, and the inclusive
    cost line that follows each `calls=` line is left out (it belongs to the callee)."""
    costs: dict[str, int] = {}
    fn = None
    after_calls = False
    for line in text.splitlines():
        if after_calls:
            after_calls = False
            continue
        if line.startswith("fn="):
            fn = line[3:]
        elif line.startswith("calls="):
            after_calls = True
        elif fn is not None and line[:1] and (line[0].isdigit() or line[0] in "+-*"):
            parts = line.split()
            if len(parts) >= 2:
                costs[fn] = costs.get(fn, 0) + int(parts[1])
    return costs


def counted(text: str, exclude: re.Pattern[str] | None) -> int:
    """Instructions in a callgrind output, less the self cost of functions matching
    `exclude` (e.g. the host's malloc, whose cost depends on how threads interleave)."""
    if exclude is None:
        return parse_callgrind_total(text)
    costs = parse_callgrind_self(text)
    return sum(c for f, c in costs.items() if not exclude.search(f))


def valgrind_version() -> str:
    try:
        return subprocess.run(["valgrind", "--version"], capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def measure_once(command: list[str], workdir: Path, extra: list[str] | None = None,
                 timeout: float = 600, exclude: re.Pattern[str] | None = None) -> tuple[int, int | None, str]:
    """Runs `command` under callgrind; returns (instructions, packets it printed or None,
    its stdout)."""
    if not shutil.which("valgrind"):
        raise GateError("valgrind not found: run `make deps` (installs valgrind)")
    out = workdir / f"callgrind.out.{time.monotonic_ns()}"
    vg = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no",
          "--compress-strings=no", *(extra or []), *command]
    try:
        res = subprocess.run(vg, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise GateError(f"{command[0]} under callgrind took over {timeout:.0f} s") from None
    if res.returncode != 0:
        raise GateError(f"{' '.join(command)} failed under callgrind (status {res.returncode}):\n"
                        f"{res.stderr[-2000:]}")
    try:
        ir = counted(out.read_text(), exclude)
    except OSError as e:
        raise GateError(f"callgrind wrote no output file ({e}):\n{res.stderr[-2000:]}") from None
    bad = [line for line in res.stdout.splitlines() if (m := _ERRORS.search(line)) and int(m[1])]
    if bad:  # packets that failed are not the work the figure divides by
        raise GateError(f"{' '.join(command)} reported errors: a figure needs a clean run:\n"
                        f"{bad[0][:300]}")
    found = _PACKETS.findall(res.stdout)
    return ir, (int(found[-1]) if found else None), res.stdout


def measure(command: list[str], packets: int | None = None, n1: int = 2000, n2: int = 4000,
            extra: list[str] | None = None, exclude: re.Pattern[str] | None = None) -> dict[str, Any]:
    """Instructions per packet of `command` (see the module's docstring for the two modes)."""
    with tempfile.TemporaryDirectory(prefix="tunlab-gate-") as d:
        work = Path(d)
        if any("{n}" in a for a in command):
            if not 0 < n1 < n2:
                raise GateError(f"--n1 {n1} and --n2 {n2}: want 0 < n1 < n2")
            runs = []
            for n in (n1, n2):
                ir, printed, _ = measure_once([a.replace("{n}", str(n)) for a in command], work, extra,
                                              exclude=exclude)
                runs.append((ir, printed if printed is not None else n))
            (ir1, p1), (ir2, p2) = runs
            if p2 <= p1:
                raise GateError(f"packets did not grow between the runs ({p1} -> {p2})")
            return {"ir_per_packet": (ir2 - ir1) / (p2 - p1), "method": f"slope n={n1}..{n2}",
                    "runs": [{"ir": ir1, "packets": p1}, {"ir": ir2, "packets": p2}]}
        ir, printed, _ = measure_once(command, work, extra, exclude=exclude)
        count = packets or printed
        if not count:
            raise GateError("no packet count: give --packets, or make the command print packets=<n>")
        return {"ir_per_packet": ir / count, "method": "total/packets",
                "runs": [{"ir": ir, "packets": count}]}


def verdict(baseline: float, new: float, threshold: float = DEFAULT_THRESHOLD) -> str:
    """"REGRESSION" above baseline*(1+threshold), "improved" below baseline*(1-threshold)
    (time to re-record the baseline), else "ok"."""
    if new > baseline * (1 + threshold):
        return "REGRESSION"
    if new < baseline * (1 - threshold):
        return "improved"
    return "ok"


def load_baseline(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"schema": SCHEMA, "entries": {}}
    try:
        doc = json.loads(path.read_text())
    except ValueError as e:
        raise GateError(f"{path}: not JSON ({e})") from None
    if doc.get("schema") != SCHEMA:
        raise GateError(f"{path}: schema {doc.get('schema')!r}, expected {SCHEMA!r}")
    return doc


def _git_commit() -> str:
    try:
        r = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10,
                           cwd=Path(__file__).resolve().parent)
        return r.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--" in argv:
        split = argv.index("--")
        own, command = argv[:split], argv[split + 1:]
    else:
        own, command = argv, []
    p = argparse.ArgumentParser(
        prog="python3 -m tunlab.bench_gate",
        description="Instructions per packet under callgrind, compared with a stored baseline: "
                    "regression when new > baseline*(1+threshold). Usage: ... -- COMMAND [ARGS] "
                    "({n} in an argument: two runs, slope per packet).")
    p.add_argument("--baseline", type=Path, required=True, help="the baseline JSON file")
    p.add_argument("--name", required=True, help="the entry in the baseline (one per gated cell)")
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    p.add_argument("--packets", type=int, help="packets the command moves (else parsed from packets=<n>)")
    p.add_argument("--n1", type=int, default=2000)
    p.add_argument("--n2", type=int, default=4000)
    p.add_argument("--toggle-collect", help="count only inside this function (callgrind --toggle-collect)")
    p.add_argument("--exclude-fn", type=re.compile, default=None, metavar="REGEX",
                   help="leave out the self cost of functions matching REGEX (e.g. the host's "
                        "allocator, whose cost varies with thread timing)")
    p.add_argument("--update", action="store_true", help="record the figure as the baseline entry")
    p.add_argument("--json", type=Path, help="also write the result here")
    args = p.parse_args(own)
    if not command:
        p.error("no command: give it after --")
    extra = [f"--toggle-collect={args.toggle_collect}"] if args.toggle_collect else []
    try:
        doc = load_baseline(args.baseline)
        m = measure(command, args.packets, args.n1, args.n2, extra, args.exclude_fn)
        new = m["ir_per_packet"]
        result: dict[str, Any] = {"name": args.name, "command": command, **m,
                                  "valgrind": valgrind_version(), "threshold": args.threshold}
        if args.update:
            doc["entries"][args.name] = {"ir_per_packet": new, "method": m["method"], "command": command,
                                         "valgrind": result["valgrind"], "commit": _git_commit(),
                                         "recorded": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            args.baseline.parent.mkdir(parents=True, exist_ok=True)
            tmp = args.baseline.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
            os.replace(tmp, args.baseline)
            result["verdict"] = "recorded"
            print(f"bench-gate {args.name}: {new:.1f} instructions/packet recorded in {args.baseline}")
        else:
            entry = doc["entries"].get(args.name)
            if entry is None:
                raise GateError(f"{args.baseline} has no entry {args.name!r}: record one with --update")
            if entry.get("method") and entry["method"] != m["method"]:
                raise GateError(f"baseline {args.name!r} was measured as {entry['method']!r}, this run as "
                                f"{m['method']!r}: not comparable (use the recorded command)")
            base = float(entry["ir_per_packet"])
            result.update({"baseline": base, "ratio": new / base,
                           "verdict": verdict(base, new, args.threshold)})
            print(f"bench-gate {args.name}: {new:.1f} instructions/packet, baseline {base:.1f} "
                  f"(x{new / base:.3f}, threshold +{args.threshold:.0%}): {result['verdict']}")
            if result["verdict"] == "improved":
                print(f"bench-gate {args.name}: faster than the baseline by more than the threshold: "
                      f"re-record it with --update")
        if args.json:
            args.json.write_text(json.dumps(result, indent=2) + "\n")
        return 1 if result["verdict"] == "REGRESSION" else 0
    except GateError as e:
        print(f"bench-gate {args.name}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
