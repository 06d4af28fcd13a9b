"""Console patterns that mean a guest kernel crashed, one set per guest OS; each target
(targets/) names the set its guests use.

Kept as data, apart from the code that watches the console (console.py). Each entry is
(kind, regex); the first group of the regex, if any, becomes the crash title.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CrashTable = list[tuple[str, re.Pattern[str]]]


@dataclass(frozen=True)
class ConsolePatterns:
    """What the console watcher looks for: crash lines, and prompts that end without a
    newline (matched against the unfinished last line)."""

    crashes: tuple[tuple[str, re.Pattern[str]], ...]
    prompts: tuple[tuple[str, re.Pattern[str]], ...] = ()


def _table(rows: list[tuple[str, str]]) -> CrashTable:
    return [(kind, re.compile(rx)) for kind, rx in rows]


LINUX = _table([
    ("panic", r"Kernel panic - not syncing: ?(.*)"),
    ("oops", r"Oops: (.*)"),
    ("bug", r"BUG: (.*)"),
    ("gpf", r"general protection fault(.*)"),
    ("stall", r"rcu: INFO: (rcu_\w+ detected stalls.*)"),
    ("hung", r"INFO: (task \S+ blocked for more than .*)"),
])

# From DragonFly's kern_shutdown.c, trap.c and ddb (see DRAGONFLY-GUEST.md).
DRAGONFLY = _table([
    ("panic", r"^panic: (.*)"),
    ("trap", r"^(Fatal trap \d+: .+ while in (?:kernel|user) mode)"),
    ("panic", r"^(SECONDARY PANIC ON CPU \d+)"),
    ("debugger", r'^Debugger\("(.*)"\)'),
    ("debugger", r"^((?:Stopped|Breakpoint|Watchpoint) at\s+\S+)"),
])

DDB_PROMPT = _table([("debugger", r"^(db>) $")])

# The kpi target: our driver over driver/kpi in a host process. Its kernel half panics the
# DragonFly way; sanitizers report on the same stderr.
KPI = DRAGONFLY + _table([
    ("asan", r"ERROR: AddressSanitizer: (.*)"),
    ("lsan", r"ERROR: LeakSanitizer: (.*)"),
    ("ubsan", r"(\S+:\d+:\d+: runtime error: .*)"),
])

LINUX_CONSOLE = ConsolePatterns(tuple(LINUX))
DRAGONFLY_CONSOLE = ConsolePatterns(tuple(DRAGONFLY), tuple(DDB_PROMPT))
KPI_CONSOLE = ConsolePatterns(tuple(KPI))


def match_crash(table: CrashTable | tuple[tuple[str, re.Pattern[str]], ...], line: str) -> tuple[str, str] | None:
    """(kind, title) when the console line shows a crash, else None."""
    for kind, rx in table:
        m = rx.search(line)
        if m:
            title = (m.group(1) if rx.groups else line).strip() or line.strip()
            return kind, title
    return None
