"""`tunlab timing`: boot-to-agent-ready and restore-to-agent-ready (snapshot.py), interleaved
so that both see the same load; the control round trip; and with --suite, the wall time of a
test suite with a fresh guest per test (--fresh restore) against one reused guest (--fresh
reuse), the runs interleaved too. Figures only: nothing here passes or fails on a time."""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tunlab import snapshot, targets
from tunlab.checks import control_round_trip
from tunlab.errors import TunlabError, UsageError
from tunlab.guest import Guest, new_run_dir
from tunlab.paths import REPO
from tunlab.runconfig import RunConfig, to_argv

# The suite --suite runs where --suite-tests is not given, by the target's tun API.
DEFAULT_SUITES = {"linux": ("harness/tests/linux", "harness/tests/selftest")}
SUITE_TIMEOUT = 3600.0  # seconds for one run of a suite
_SUMMARY = re.compile(r"^=*\s*(\d+ (passed|failed|error).*?)\s*=*$")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--boots", type=int, default=5,
                   help="boots (and as many restores) per backend (default: 5; 0 with --suite)")
    p.add_argument("--nops", type=int, default=1000)
    p.add_argument("--compare-backends", action="store_true",
                   help="boot through qemu and libvirt in turn; report both medians and their ratio")
    p.add_argument("--suite", type=int, default=0, metavar="RUNS",
                   help="also run the target's suite RUNS times with a fresh guest per test "
                        "(--fresh restore) and RUNS times reusing one (--fresh reuse), "
                        "interleaved; report each wall time")
    p.add_argument("--suite-tests", nargs="+", metavar="PATH",
                   help="the suite --suite runs (default, linux: harness/tests/linux "
                        "harness/tests/selftest)")


def p90(values: list[float]) -> float:
    """The 90th percentile (nearest rank) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, -(-9 * len(ordered) // 10) - 1)]


def main(args: argparse.Namespace, cfg: RunConfig) -> int:
    if args.boots < 0 or args.nops < 0 or args.suite < 0:
        raise UsageError("--boots, --nops and --suite must be at least 0")
    if args.boots == 0 and not args.suite:
        raise UsageError("--boots must be at least 1 (or give --suite RUNS)")
    plan = targets.plan(cfg)
    restores = snapshot.resolve_mode(cfg.fresh, plan.target.uses_vm, plan.target.snapshots,
                                     False) == "restore"
    if args.suite and not restores:
        raise UsageError("--suite compares --fresh restore with reuse: this target's guests "
                         "cannot be restored")
    suite = _suite_paths(args, plan.target) if args.suite else []
    result: dict[str, Any] = {"accel": plan.accel}
    if args.boots:
        result.update(_guests(args, plan, restores))
    if args.suite:
        result["suite"] = _suite_walls(cfg, suite, args.suite)
    print(json.dumps(result, indent=2))
    return 0


def _guests(args: argparse.Namespace, plan: targets.TargetPlan, restores: bool) -> dict[str, Any]:
    backends = ["qemu", "libvirt"] if args.compare_backends else [plan.backend]
    # The snapshots are made (or found) first: only restores are timed.
    snaps = {b: snapshot.Snapshots(plan.spec, b, plan.accel) for b in backends} if restores else {}
    for s in snaps.values():
        s.ensure()
    kinds = ["boot", "restore"] if restores else ["boot"]
    times: dict[str, dict[str, list[float]]] = {k: {b: [] for b in backends} for k in kinds}
    rt: dict[str, float] = {}
    for i in range(args.boots):
        for b in backends:  # interleaved, so that every backend and kind sees the same load
            for kind in kinds:
                g = (snaps[b].restore() if kind == "restore"
                     else Guest.boot(plan.spec, backend=b, accel=plan.accel))
                with g:
                    times[kind][b].append(g.boot_seconds)
                    print(f"{kind} {i + 1}/{args.boots} ({b}): agent ready after "
                          f"{g.boot_seconds:.2f} s", flush=True)
                    if i == args.boots - 1 and args.nops and b == backends[0] and kind == "boot":
                        rt = control_round_trip(g.agent, args.nops)
                    if kind == "restore":
                        g.stop(clean=False)
    first = backends[0]
    boots = times["boot"]
    out: dict[str, Any] = {"backend": first, "boots_s": boots[first],
                           "boot_median_s": statistics.median(boots[first]),
                           "boot_p90_s": p90(boots[first]), "control_round_trip": rt}
    if restores:
        r = times["restore"][first]
        out.update({"restores_s": r, "restore_median_s": statistics.median(r),
                    "restore_p90_s": p90(r),
                    "restore_to_boot": statistics.median(r) / statistics.median(boots[first]),
                    "snapshot": str(snaps[first].ensure().directory)})
    if args.compare_backends:
        medians = {b: statistics.median(v) for b, v in boots.items()}
        out = {"boots_s": boots, "boot_median_s": medians,
               "ratio_libvirt_to_qemu": medians["libvirt"] / medians["qemu"], "control_round_trip": rt}
        if restores:
            out.update({"restores_s": times["restore"],
                        "restore_median_s": {b: statistics.median(v) for b, v in times["restore"].items()},
                        "restore_p90_s": {b: p90(v) for b, v in times["restore"].items()}})
    return out


def _suite_paths(args: argparse.Namespace, target: targets.Target) -> list[str]:
    paths = args.suite_tests or list(DEFAULT_SUITES.get(target.tun_api, ()))
    if not paths:
        raise UsageError(f"--suite: name the tests to run on {target.name} with --suite-tests")
    found = []
    for p in paths:  # the suite runs in REPO: a path relative to here is made absolute
        file, sep, rest = p.partition("::")
        if Path(file).exists():
            found.append(str(Path(file).absolute()) + sep + rest)
        elif (REPO / file).exists():
            found.append(p)
        else:
            raise UsageError(f"--suite-tests: {p} does not exist")
    return found


def _suite_walls(cfg: RunConfig, paths: list[str], runs: int) -> dict[str, Any]:
    """Run the suite `runs` times per mode, restore and reuse in turn; wall times, outcomes
    and where each run's output is."""
    logs = new_run_dir("timing-suite")
    walls: dict[str, list[float]] = {"restore": [], "reuse": []}
    outcomes: dict[str, list[str]] = {"restore": [], "reuse": []}
    for i in range(runs):
        for mode in walls:
            out = logs / f"{mode}-{i + 1}.txt"
            print(f"suite {i + 1}/{runs} (--fresh {mode}): running, output in {out}", flush=True)
            wall, summary = run_suite(cfg, paths, mode, out, logs / f"{mode}-{i + 1}")
            walls[mode].append(wall)
            outcomes[mode].append(summary)
            print(f"suite {i + 1}/{runs} (--fresh {mode}): {wall:.0f} s: {summary}", flush=True)
    med = {m: statistics.median(v) for m, v in walls.items()}
    return {"tests": paths, "backend": cfg.backend, "wall_s": walls, "outcome": outcomes,
            "wall_median_s": med, "restore_to_reuse": med["restore"] / med["reuse"], "logs": str(logs)}


def run_suite(cfg: RunConfig, paths: list[str], mode: str, out: Path, test_logs: Path) -> tuple[float, str]:
    """One pytest run of `paths` with --fresh `mode`: its wall time and pytest's summary line.
    Bounded (SUITE_TIMEOUT); an interrupt ends it (subprocess.run kills the child)."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
           *to_argv(cfg, skip=("--fresh",)), "--fresh", mode, "--tunlab-logs", str(test_logs),
           *paths]
    env = {**os.environ, "PYTHONPATH": str(REPO / "harness")}
    t0 = time.monotonic()
    with open(out, "w") as f:
        try:
            subprocess.run(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=f,
                           stderr=subprocess.STDOUT, timeout=SUITE_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise TunlabError(f"the suite did not finish within {SUITE_TIMEOUT:.0f} s "
                              f"(--fresh {mode}; output in {out})") from None
    wall = time.monotonic() - t0
    lines = out.read_text(errors="replace").splitlines()
    summary = next((m.group(1) for ln in reversed(lines) if (m := _SUMMARY.match(ln.strip()))),
                   f"no pytest summary (see {out})")
    return wall, summary
