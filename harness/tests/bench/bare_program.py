"""The bare loop program's interface (harness/agent/bench_bare.c): its argument and its result
lines. The program is the callgrind gate's (scripts/bench-gate.sh); these tests run it."""

from __future__ import annotations

import re
from typing import Any

from tunlab.bench import Cell, _number

BARE_LINE = re.compile(r"TUNLAB-BARE (.*)")


def bare_arg(cell: Cell, ms: int, reps: int, warmup_ms: int) -> str:
    """bench_bare.c's argument for a cell."""
    parts = [cell.kind, str(cell.size), str(ms), f"reps={reps}", f"warmup={warmup_ms}", f"mtu={cell.mtu}"]
    if cell.mode == "header":
        parts.append("pi")
    if cell.bpf:
        parts.append("bpf")
    return ",".join(parts)


def parse_bare_lines(text: str) -> tuple[list[dict[str, Any]], str]:
    """The samples a bare run printed (warm-up excluded) and its error line's text ("")."""
    samples, error, done = [], "", False
    for line in text.splitlines():
        m = BARE_LINE.search(line)
        if not m:
            continue
        body = m.group(1).strip()
        if body.startswith("done"):
            done = True
        elif body.startswith("error"):
            error = body
        else:
            fields = {k: _number(v) for k, _, v in (t.partition("=") for t in body.split()) if k}
            if not fields.get("warmup"):
                samples.append(fields)
    if not done and not error:
        error = "the bare program did not finish (no 'TUNLAB-BARE done' line)"
    return samples, error
