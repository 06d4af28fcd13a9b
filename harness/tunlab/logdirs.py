"""Log directories: one of its own per run, and retention of old ones.

A run's directory is named `<date>-<time>-<pid>-<random>[-<kind>]`, so two runs started in
the same second (two pytest sessions, a `tunlab run` beside them) never share one.

Retention, for build/logs and build/test-logs (each on its own): after a new run directory is
made, older run directories are removed while there are more than KEEP_RUNS of them or they
take more than KEEP_MB in all (newest kept first). Defaults, overridable from the environment
and validated where read:

    TUNLAB_KEEP_RUNS      30    run directories kept per tree
    TUNLAB_KEEP_LOGS_MB   500   MB kept per tree

Only directories whose name is a run directory's are considered; the one just made, and any
whose pid (in its name) is a running process, are never removed.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import shutil
import time
from pathlib import Path

from tunlab.boundedlog import MB, raise_if_disk_full
from tunlab.errors import SettingError
from tunlab.machine import pid_running

KEEP_RUNS_ENV, KEEP_RUNS = "TUNLAB_KEEP_RUNS", 30
KEEP_MB_ENV, KEEP_MB = "TUNLAB_KEEP_LOGS_MB", 500
RUN_DIR = re.compile(r"^(\d{8}-\d{6})(?:-(\d+)-)?")  # also matches older names (stamp only)


def _int_setting(env: str, default: int, low: int, high: int) -> int:
    text = os.environ.get(env, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value != int(value) or not low <= value <= high:
        raise SettingError(f"{env}={text[:40]!r} is not a whole number from {low} to {high} "
                           f"(default {default})")
    return int(value)


def keep_runs() -> int:
    return _int_setting(KEEP_RUNS_ENV, KEEP_RUNS, 1, 100000)


def keep_bytes() -> int:
    return _int_setting(KEEP_MB_ENV, KEEP_MB, 1, 10_000_000) * MB


def run_dir_name(kind: str = "", when: float | None = None) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when))
    name = f"{stamp}-{os.getpid()}-{secrets.token_hex(3)}"
    return f"{name}-{kind}" if kind else name


def unique_dir(parent: Path, kind: str = "") -> Path:
    """Make and return a new run directory under `parent` (never one that exists)."""
    for _ in range(100):
        path = parent / run_dir_name(kind)
        try:
            parent.mkdir(parents=True, exist_ok=True)
            path.mkdir()
            return path
        except FileExistsError:
            continue
        except OSError as e:
            raise_if_disk_full(e, path, "creating")
            raise
    raise RuntimeError(f"could not make a fresh directory under {parent}")


def _size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def _in_use(name: str) -> bool:
    m = RUN_DIR.match(name)
    return bool(m and m.group(2) and int(m.group(2)) != os.getpid() and pid_running(int(m.group(2))))


def prune(parent: Path, runs: int | None = None, max_bytes: int | None = None,
          protect: Path | None = None) -> list[Path]:
    """Remove the oldest run directories under `parent` beyond `runs` of them or `max_bytes`
    in all (defaults: keep_runs(), keep_bytes()); returns what was removed."""
    runs = keep_runs() if runs is None else runs
    max_bytes = keep_bytes() if max_bytes is None else max_bytes
    try:
        dirs = [p for p in parent.iterdir() if p.is_dir() and not p.is_symlink() and RUN_DIR.match(p.name)]
    except OSError:
        return []
    dirs.sort(key=lambda p: (RUN_DIR.match(p.name).group(1), p.stat().st_mtime), reverse=True)  # type: ignore[union-attr]
    removed = []
    kept = 0
    total = 0
    for d in [d for d in dirs if d == protect or _in_use(d.name)]:  # counted first, never removed
        kept += 1
        total += _size(d)
    for i, d in enumerate(dirs):
        if d == protect or _in_use(d.name):
            continue
        size = _size(d)
        if (i == 0 and protect is None) or (kept < runs and total + size <= max_bytes):
            kept += 1
            total += size
            continue
        shutil.rmtree(d, ignore_errors=True)
        removed.append(d)
    return removed


def new_run_dir(parent: Path, kind: str = "") -> Path:
    """A fresh run directory under `parent`, after pruning the old ones (settings checked
    first, so a bad one is reported before anything is made or removed)."""
    runs, max_bytes = keep_runs(), keep_bytes()
    path = unique_dir(parent, kind)
    prune(parent, runs, max_bytes, protect=path)
    return path
