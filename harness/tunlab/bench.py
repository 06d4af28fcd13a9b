"""`tunlab bench`: the throughput matrix of a target (or two side by side), its files, and the
comparison with a baseline.

For every cell -- kind (write: program -> stack, read: stack -> program, rtt: echo written and
reply read) x packet size (64, 512, 1400, 9000 bytes; the interface MTU is raised to the size
when it is larger than 1500) x mode (plain: no header / IFF_NO_PI; header: packet information
/ TUNSIFHEAD) x bpf listener (off/on) -- the agent runs the agent's `bench` verb inside the
guest: one warm-up loop, then N timed loops (the samples). Only requests and figures cross
the serial line. With two targets (`--vs`) both guests are booted at the start and the
samples of a cell alternate between them (A B A B ...), so a change of load on the host
falls on both alike.

Output directory (default build/bench/<date-time>/, `build/bench/latest` points to it):
  results.json  everything (schema below), every sample included
  cells.csv     one row per target and cell: median, min, max, mean, stdev, spread, cv
  samples.csv   one row per sample (warm-up loops as rep 0)
  bench.png     the figures per kind (and the ratios with --vs)
  table.txt     the table printed on the terminal (and compare.txt/.csv with --compare)
  logs/         the guests' console and agent logs

results.json: {"schema": "tunlab-bench/1", "created", "settings": {reps, ms, warmup_ms, kinds,
sizes, modes, bpf, order}, "machine": {hostname, cpu, cores, platform, load_start, load_end},
"qemu", "accel", "backend", "git": {commit, dirty}, "targets": [{name, label, image, kernel,
agent, backend, boot_s, env_start, env_end}], "skipped": [{name, reason}], "cells": [{target,
kind, size, mode, bpf, mtu, warmup, samples: [agent reply figures + host_load], stats, error}],
"ratios": [...], "wall_s"}. env_start/env_end: what the guest's agent says can change a figure
(benchenv: clocksource, clocksources, clock_log (the kernel's tsc/clocksource messages), cpu,
loadavg) at boot and at the end; each sample also carries the clocksource its loop ran on and
the host's 1-minute load average when it ended. The kpi agent, a host process, leaves the
clock keys out (the host's would pass for a guest's); reports say "not reported".

The statistics and the regression rule are in bench_stats.py; tables, CSV and the plot in
bench_report.py; the callgrind gate for CI in bench_gate.py.

kpi: the agent with our driver over driver/kpi runs on the host through the "process"
backend (targets.plan); benchmarks use its build without sanitizers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from tunlab import bench_report as report
from tunlab import targets
from tunlab.bench_stats import (DEFAULT_THRESHOLD, KINDS, MODES, SIZES, Cell, cell_stats,
                                compare, matrix, overhead_figures, parse_list, ratios)
from tunlab.errors import AgentError, SetupError, TargetUnavailable, TunlabError, UsageError
from tunlab.paths import BUILD, REPO
from tunlab.qemu import qemu_version
from tunlab.runconfig import RunConfig
from tunlab.targets.base import driver_choice

SCHEMA = "tunlab-bench/1"
OVERHEAD_SCHEMA = "tunlab-bench-overhead/2"
# The loops --overhead compares: the reference loop (bench_ref.c) and ours (bench_loops.c).
LOOPS = ("ref", "tunlab")
# Addresses of the devices the matrix runs on, per mode (point-to-point, /32).
ADDRS = {"plain": ("10.80.0.1", "10.80.0.2"), "header": ("10.80.1.1", "10.80.1.2")}
DEFAULT_OVERHEAD_CELLS = "rtt:64,rtt:1400,write:64,write:1400,read:64,read:1400"

HELP_EPILOG = f"""\
The figure of a cell is packets/s (round trips/s for rtt), median of --reps samples of --ms
each after one --warmup-ms loop. spread = (max-min)/median; cv = stdev/mean (stdev: sample
standard deviation).
--compare BASELINE.json exits 1 on a regression: a cell whose new median is below
old_median*(1-threshold) AND whose interval [median*(1-spread), median*(1+spread)] lies wholly
below the baseline's, i.e. new_median*(1+new_spread) < old_median*(1-old_spread). A drop
the spread explains is reported as "slower (noise)" and does not fail. Default threshold
{DEFAULT_THRESHOLD:.0%}.
--overhead measures what the tunlab loops cost beside the system calls they time: in one
guest, per --overhead-cells cell, samples of the reference loop (bench loop=ref: the least a
program can do to move those packets, harness/agent/bench_ref.c, written apart from the
tunlab loops) alternate with samples of the tunlab loop; it reports tunlab median / reference
median (goal >= 0.95), and the ratio of each pair of neighbouring samples.
Exit status: 0; 1 on a regression, a failed cell or nothing measured; 2 on bad arguments."""


# -- metadata ----------------------------------------------------------------------------
def machine_info() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"hostname": socket.gethostname(), "cpu": cpu, "cores": os.cpu_count(),
            "platform": platform.platform(), "python": platform.python_version(),
            "load_start": _load()}


def _load() -> str:
    """The host's load averages over 1, 5 and 15 minutes ("0.52 0.61 0.70"); "" if unknown."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return ""


def git_info() -> dict[str, Any]:
    def git(*a: str) -> str:
        try:
            r = subprocess.run(["git", "-C", str(REPO), *a], capture_output=True, text=True, timeout=10)
            return r.stdout.strip() if r.returncode == 0 else ""
        except (OSError, subprocess.TimeoutExpired):
            return ""
    return {"commit": git("rev-parse", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def _number(v: str) -> int | float | str:
    try:
        return int(v)
    except ValueError:
        try:
            return float(v)
        except ValueError:
            return v


# -- one side of a run: a target's guest and its devices ---------------------------------
class Side:
    """A target taking part in the run: its plan, its booted guest, a device per mode."""

    def __init__(self, cfg: RunConfig, label: str) -> None:
        self.cfg, self.name, self.label = cfg, cfg.target, label
        self.guest: Any = None
        self.devices: dict[str, Any] = {}
        self.mtu: dict[str, int] = {}
        self.failed = ""
        self.info: dict[str, Any] = {"name": cfg.target, "label": label, "driver": cfg.driver}

    def start(self, log_dir: Path) -> None:
        """Plan and boot the target. Raises TargetUnavailable with the target's reason when
        it cannot run here."""
        from tunlab.guest import Guest
        plan = targets.plan(self.cfg.with_(progress=True, sanitizers=False))
        self.guest = Guest.boot(plan.spec, backend=plan.backend, accel=plan.accel, run_dir=log_dir)
        self.guest.settle_clock()  # no sample on the provisional clock source (tsc-early)
        h = self.guest.hello
        image = plan.spec.kernel.parent if plan.spec.kernel else None
        kernel = h.get("os", "")
        if image and (image / "manifest.json").exists():
            kernel = kernel or json.loads((image / "manifest.json").read_text()).get("kernel_version", "")
        self.info.update({"image": str(image or ""), "kernel": kernel, "agent": h.get("agent", ""),
                          "backend": h.get("backend", ""), "vm_backend": plan.backend,
                          "driver_id": h.get("driver", ""),
                          "boot_s": round(self.guest.boot_seconds, 2), "logs": str(log_dir)})

    def device(self, mode: str, mtu: int) -> Any:
        """The device for a mode, opened on first use, with the MTU set to `mtu`."""
        if mode not in self.devices:
            local, peer = ADDRS[mode]
            self.devices[mode] = self.guest.open_tun(pi=mode == "header", addr=f"{local}/32", peer=peer)
            self.mtu[mode] = 1500
        if self.mtu[mode] != mtu:
            self.devices[mode].configure(mtu=mtu)
            self.mtu[mode] = mtu
        return self.devices[mode]

    def sample(self, cell: Cell, ms: int, loop: str = "") -> dict[str, Any]:
        """One timed loop of the agent (loop="ref": the reference loop, bench_ref.c): its
        reply's figures as numbers, and the host's load average when it ended."""
        dev = self.device(cell.mode, cell.mtu)
        local, peer = ADDRS[cell.mode]
        args: dict[str, Any] = {"h": dev.h, "kind": cell.kind, "size": cell.size, "ms": ms,
                                "local": local, "peer": peer}
        if cell.bpf:
            args["bpf"] = 1
        if loop:
            args["loop"] = loop
        agent = self.guest.agent
        reply = agent.request("bench", timeout=agent.default_timeout + ms / 1000, **args)
        load = _load().split()
        return {**{k: _number(v) for k, v in reply.fields.items()},
                "host_load": float(load[0]) if load else None}

    def has_verb(self, verb: str) -> bool:
        return self.guest.has_verb(verb)

    def env(self) -> dict[str, Any]:
        """What the guest says can change a figure (the agent's benchenv verb: clock source,
        the kernel's clock messages, CPU model, load); {} from an agent without the verb."""
        if not self.has_verb("benchenv"):
            return {}
        reply = self.guest.agent.request("benchenv")
        env: dict[str, Any] = {k: reply.text(k) for k in reply.fields}
        if "clock_log" in env:
            env["clock_log"] = env["clock_log"].splitlines()
        return {**env, "host_load": _load()}

    def stop(self) -> None:
        if self.guest is not None:
            self.info["ended"] = self.guest.stop()


def _labels(cfgs: list[RunConfig]) -> list[str]:
    names = [c.target for c in cfgs]
    out = []
    for i, c in enumerate(cfgs):
        if names.count(c.target) > 1:
            other = c.image.name if c.image else driver_choice(c.driver).label
            same = len({(d.image, d.driver) for d in cfgs if d.target == c.target}) == 1
            out.append(f"{c.target}#{i + 1}" if same else f"{c.target}@{other}")
        else:
            out.append(c.target)
    return out


# -- the matrix --------------------------------------------------------------------------
class Progress:
    """The progress line: cell i/n, elapsed, ETA (rewritten in place on a terminal, one line
    per cell otherwise)."""

    def __init__(self, ncells: int, total_units: float, stream: Any = None) -> None:
        self.ncells, self.total = ncells, total_units
        self.done = 0.0
        self.t0 = time.monotonic()
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, i: int, what: str, units: float = 0.0, cell_done: bool = False) -> None:
        from tunlab.bench_stats import eta_seconds
        self.done += units
        elapsed = time.monotonic() - self.t0
        line = report.progress_line(i, self.ncells, what, elapsed, eta_seconds(elapsed, self.done, self.total))
        if self.tty:
            self.stream.write("\r" + line[:150].ljust(150) + ("\n" if cell_done and i == self.ncells else ""))
            self.stream.flush()
        elif cell_done:
            print(line, file=self.stream, flush=True)

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\r" + " " * 150 + "\r")
            self.stream.flush()


def run_matrix(sides: list[Side], cells: list[Cell], reps: int, ms: int, warmup_ms: int,
               progress: Progress | None = None) -> list[dict[str, Any]]:
    """Runs every cell on every side (samples alternating between sides); returns the cell
    records. A side whose guest breaks stops there; its remaining cells carry the reason."""
    records: list[dict[str, Any]] = []
    for i, cell in enumerate(cells, 1):
        recs = {s.label: {"target": s.label, **cell.as_dict(), "mtu": cell.mtu, "warmup": None,
                          "samples": [], "stats": None, "error": ""} for s in sides}
        active = []
        what = f"{cell.kind} {cell.size} B {cell.mode}{' +bpf' if cell.bpf else ''}"

        def fail(side: Side, e: Exception) -> None:
            text = str(e).splitlines()[0] if str(e) else type(e).__name__
            recs[side.label]["error"] = text
            if not isinstance(e, AgentError):
                side.failed = side.failed or text
            if side in active:
                active.remove(side)

        for side in sides:
            if side.failed:
                recs[side.label]["error"] = f"not run: {side.failed}"
                continue
            try:
                side.device(cell.mode, cell.mtu)
            except AgentError as e:
                recs[side.label]["error"] = f"skipped: mtu {cell.mtu} refused ({e.name} {e.msg})"
                continue
            except TunlabError as e:
                fail(side, e)
                continue
            active.append(side)
            if warmup_ms > 0:
                try:
                    recs[side.label]["warmup"] = side.sample(cell, warmup_ms)
                except TunlabError as e:
                    fail(side, e)
            if progress:
                progress.update(i, f"{what} warm-up ({side.label})", warmup_ms)
        for rep in range(reps):
            for side in list(active):
                try:
                    recs[side.label]["samples"].append(side.sample(cell, ms))
                except TunlabError as e:
                    fail(side, e)
                if progress:
                    progress.update(i, f"{what} rep {rep + 1}/{reps} ({side.label})", ms)
        for side in sides:
            r = recs[side.label]
            if r["samples"] and not r["error"]:
                r["stats"] = cell_stats(r["samples"])
                if cell.bpf and not r["stats"].get("bpf_read"):
                    r["error"] = "the bpf listener read no packet (is it attached?)"
            records.append(r)
        if progress:
            # units of sides that did not run this cell still count as done
            skipped = sum(1 for s in sides if s not in active)
            progress.update(i, f"{what} done", skipped * (warmup_ms + reps * ms), cell_done=True)
    return records


def run(cfgs: list[RunConfig], cells: list[Cell], reps: int, ms: int, warmup_ms: int, accel: str,
        out: Path, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Boot the target(s) (one run configuration each), run the matrix, and return the
    results document."""
    labels = _labels(cfgs)
    backend = cfgs[0].backend
    results: dict[str, Any] = {
        "schema": SCHEMA, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settings": {"reps": reps, "ms": ms, "warmup_ms": warmup_ms,
                     "kinds": sorted({c.kind for c in cells}, key=KINDS.index),
                     "sizes": sorted({c.size for c in cells}),
                     "modes": sorted({c.mode for c in cells}, key=MODES.index),
                     "bpf": sorted({c.bpf for c in cells}),
                     "order": "per cell: warm-up on each target, then samples alternating between targets"},
        "machine": machine_info(), "qemu": qemu_version(), "accel": accel, "backend": backend,
        "git": git_info(), "targets": [], "skipped": [], "cells": [], "ratios": [],
    }
    t0 = time.monotonic()
    sides: list[Side] = []
    try:
        for cfg, label in zip(cfgs, labels):
            side = Side(cfg, label)
            try:
                say(f"tunlab bench: booting {label} ({accel})")
                side.start(out / "logs" / label)
                sides.append(side)
                side.info["env_start"] = side.env()
                say(f"tunlab bench: {label} ready in {side.info['boot_s']:.1f} s: {side.info['kernel']}, "
                    f"agent {side.info['agent']} backend {side.info['backend']}")
            except TargetUnavailable as e:
                reason = str(e).splitlines()[0]
                say(f"tunlab bench: skipping {label}: {reason}")
                results["skipped"].append({"name": label, "reason": reason})
                side.stop()
        if not sides:
            return results
        units = len(cells) * len(sides) * (warmup_ms + reps * ms)
        say(f"tunlab bench: {len(cells)} cells x {len(sides)} target(s), {reps} x {ms} ms each "
            f"(+{warmup_ms} ms warm-up): about {units / 1000 / 60:.1f} min of traffic")
        progress = Progress(len(cells), units)
        results["cells"] = run_matrix(sides, cells, reps, ms, warmup_ms, progress)
        progress.finish()
    finally:
        for side in sides:
            if not side.failed:
                try:
                    side.info["env_end"] = side.env()
                except TunlabError:
                    pass
            side.stop()
        results["targets"] = [s.info for s in sides]
    if len(sides) == 2:
        results["ratios"] = ratios(results, sides[0].label, sides[1].label)
    results["machine"]["load_end"] = _load()
    results["wall_s"] = round(time.monotonic() - t0, 1)
    return results


# -- the overhead figure: the tunlab loops vs the reference loops -------------------------
def parse_overhead_cells(text: str) -> list[Cell]:
    """kind:size[:mode] items (the reference loop has no listener, so no bpf cells)."""
    cells = []
    for item in parse_list(text):
        bits = item.split(":")
        if not 2 <= len(bits) <= 3 or bits[0] not in KINDS or not bits[1].isdigit():
            raise ValueError(f"overhead cell {item!r}: want kind:size[:mode], e.g. rtt:64:plain "
                             f"(no bpf: the reference loop has no listener)")
        mode = bits[2] if len(bits) > 2 else "plain"
        if mode not in MODES:
            raise ValueError(f"overhead cell {item!r}: mode is plain or header")
        cells.append(Cell(bits[0], int(bits[1]), mode, False))
    return cells


def run_overhead(cfg: RunConfig, cells: list[Cell], reps: int, ms: int, warmup_ms: int,
                 accel: str, out: Path, say: Callable[[str], None] = print) -> dict[str, Any]:
    """In one guest of the target, per cell: a warm-up of each loop, then `reps` samples of
    the reference loop (`bench loop=ref`, harness/agent/bench_ref.c) and of the tunlab loop,
    alternating (which goes first alternates too, so a change of load falls on both alike).
    Returns the overhead document: per cell, tunlab median / reference median."""
    doc: dict[str, Any] = {"schema": OVERHEAD_SCHEMA, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                           "settings": {"reps": reps, "ms": ms, "warmup_ms": warmup_ms,
                                        "order": "per cell: warm-up of each loop, then samples "
                                                 "alternating ref/tunlab, first one alternating"},
                           "machine": machine_info(), "qemu": qemu_version(), "accel": accel,
                           "git": git_info(), "target": cfg.target, "cells": []}
    side = Side(cfg, cfg.target)
    try:
        say(f"tunlab bench --overhead: booting {cfg.target} ({accel})")
        side.start(out / "logs" / cfg.target)
        if not side.has_verb("benchenv"):  # came with loop=ref
            raise SetupError(f"--overhead: the {cfg.target} guest's agent has no reference loop "
                             f"(bench loop=ref); rebuild its image (`make image`)")
        doc["env_start"] = side.env()
        say(f"tunlab bench --overhead: {len(cells)} cells, {reps} x {ms} ms per loop "
            f"(+{warmup_ms} ms warm-up); clock source {report.clock_name(doc['env_start'])}")
        for n, cell in enumerate(cells, 1):
            rec: dict[str, Any] = {**cell.as_dict(), "mtu": cell.mtu, "ref": [], "tunlab": [],
                                   "error": ""}
            doc["cells"].append(rec)
            try:
                if warmup_ms:
                    for loop in LOOPS:
                        side.sample(cell, warmup_ms, loop)
                for rep in range(reps):
                    for loop in (LOOPS if rep % 2 == 0 else LOOPS[::-1]):
                        rec[loop].append(side.sample(cell, ms, loop))
            except TunlabError as e:
                rec["error"] = str(e).splitlines()[0] if str(e) else type(e).__name__
                if not isinstance(e, AgentError):
                    break
            rec.update(overhead_figures(rec["ref"], rec["tunlab"]) if not rec["error"] else {})
            say(f"tunlab bench --overhead [{n}/{len(cells)}] {cell.key}: "
                + (f"ratio {rec['ratio']:.3f}" if "ratio" in rec else rec["error"] or "no figures"))
        doc["env_end"] = side.env()
    finally:
        side.stop()
        doc["target_info"] = side.info
    doc["machine"]["load_end"] = _load()
    return doc


def overhead_table(doc: dict[str, Any]) -> str:
    s = doc["settings"]
    env = doc.get("env_start", {})
    lines = [f"tunlab bench --overhead: tunlab loop / reference loop (bench_ref.c), in one "
             f"{doc['target']} guest (goal >= 0.95); {s['reps']} x {s['ms']} ms each; accel "
             f"{doc['accel']}; clock source {report.clock_name(env)}; host load "
             f"{doc['machine'].get('load_start')} -> {doc['machine'].get('load_end', '')}",
             f"{'cell':<22}{'ref pkt/s':>12}{'spread':>8}{'tunlab pkt/s':>14}{'spread':>8}"
             f"{'ratio':>8}{'pairs: median':>15}{'min-max':>14}"]
    lines.append("-" * len(lines[-1]))
    for r in doc["cells"]:
        key = Cell.from_dict(r).key
        if "ratio" not in r:
            lines.append(f"{key:<22}({r['error'] or 'no figures'})")
            continue
        b, a, p = r["ref_stats"], r["tunlab_stats"], r["pair_ratios"]
        changed = "" if len(r["clocksources"]) == 1 else f"  clock sources {','.join(r['clocksources'])}!"
        lines.append(f"{key:<22}{b['median_pps']:>12,.0f}{b['spread'] * 100:>7.1f}%"
                     f"{a['median_pps']:>14,.0f}{a['spread'] * 100:>7.1f}%{r['ratio']:>8.3f}"
                     f"{r['pair_median']:>15.3f}{min(p):>8.3f}-{max(p):.3f}{changed}")
    end = doc.get("env_end", {})
    if env.get("clocksource") != end.get("clocksource"):
        lines.append(f"the guest's clock source changed during the run: {env.get('clocksource')} -> "
                     f"{end.get('clocksource')}")
    return "\n".join(lines) + "\n"


# -- output ------------------------------------------------------------------------------
def default_out() -> Path:
    return BUILD / "bench" / time.strftime("%Y%m%d-%H%M%S")


def _point_latest(out: Path) -> None:
    latest = out.parent / "latest"
    try:
        if latest.is_symlink() or not latest.exists():
            tmp = out.parent / f".latest-{os.getpid()}"
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(out.name)
            os.replace(tmp, latest)
    except OSError:
        pass


def write_outputs(results: dict[str, Any], out: Path, plot: bool = True) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = [out / "results.json", out / "cells.csv", out / "samples.csv", out / "table.txt"]
    files[0].write_text(json.dumps(results, indent=1, sort_keys=False) + "\n")
    report.write_cells_csv(results, files[1])
    report.write_samples_csv(results, files[2])
    files[3].write_text(report.table(results))
    if plot and results.get("cells"):
        try:
            report.plot(results, out / "bench.png")
            files.append(out / "bench.png")
        except ImportError as e:
            print(f"tunlab bench: no plot ({e}): run `make deps` (installs python3-matplotlib)",
                  file=sys.stderr)
    return files


def do_compare(results: dict[str, Any], baseline_path: Path, threshold: float,
               out: Path | None) -> int:
    """Print the comparison with a baseline; 1 when a cell regressed, 2 when nothing matched."""
    try:
        baseline = json.loads(baseline_path.read_text())
    except (OSError, ValueError) as e:
        raise UsageError(f"--compare {baseline_path}: cannot read it ({e})") from None
    if baseline.get("schema") != SCHEMA:
        raise UsageError(f"--compare {baseline_path}: not a tunlab bench results.json "
                         f"(schema {baseline.get('schema')!r}, expected {SCHEMA!r})")
    rows, note = compare(baseline, results, threshold)
    text = report.compare_table(rows, note, threshold, str(baseline_path))
    print(text, end="")
    if out is not None:
        (out / "compare.txt").write_text(text)
        report.write_compare_csv(rows, out / "compare.csv")
    if not rows:
        print("tunlab bench: no cell of this run is in the baseline: nothing compared", file=sys.stderr)
        return 2
    return 1 if any(r["verdict"] == "REGRESSION" for r in rows) else 0


# -- the command line --------------------------------------------------------------------
def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = HELP_EPILOG
    p.add_argument("--vs", metavar="TARGET",
                   help="a second target, measured side by side (ratios per cell); it may be "
                        "the same target with --vs-image or --vs-driver (two driver builds)")
    p.add_argument("--vs-image", type=Path, help="the image directory of the --vs side")
    p.add_argument("--vs-driver", default="ours", help="the driver of the --vs side (default: ours)")
    p.add_argument("--reps", type=int, default=5, help="samples per cell (default 5)")
    p.add_argument("--ms", type=int, default=1000, help="length of one sample in ms (default 1000)")
    p.add_argument("--warmup-ms", type=int, default=300, help="warm-up loop per cell (default 300; 0: none)")
    p.add_argument("--kinds", default=",".join(KINDS), help="default: write,read,rtt")
    p.add_argument("--sizes", default=",".join(map(str, SIZES)), help="IP packet bytes (default: 64,512,1400,9000)")
    p.add_argument("--modes", default=",".join(MODES), help="plain (no header), header (packet information)")
    p.add_argument("--bpf", default="off,on", help="with a bpf listener: off, on or off,on (default)")
    p.add_argument("--out", type=Path, help="output directory (default build/bench/<date-time>)")
    p.add_argument("--compare", type=Path, metavar="BASELINE.json",
                   help="compare with an earlier results.json; exit 1 on a regression (rule below)")
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                   help=f"regression threshold for --compare (default {DEFAULT_THRESHOLD})")
    p.add_argument("--from", dest="from_results", type=Path, metavar="RESULTS.json",
                   help="do not run: print (and with --out rewrite) the outputs of an earlier run")
    p.add_argument("--no-plot", action="store_true", help="skip the PNG")
    p.add_argument("--overhead", action="store_true",
                   help="measure the loops' own cost instead: the agent's tunlab loop vs its "
                        "reference loop (bench loop=ref, harness/agent/bench_ref.c)")
    p.add_argument("--overhead-cells", default=DEFAULT_OVERHEAD_CELLS,
                   help=f"cells for --overhead, kind:size[:mode] (default {DEFAULT_OVERHEAD_CELLS})")


def main(args: argparse.Namespace) -> int:
    """`tunlab bench` (cli.py hands its parsed arguments here)."""
    from tunlab.qemu import pick_accel
    try:
        cells = matrix(parse_list(args.kinds), parse_list(args.sizes, int), parse_list(args.modes),
                       parse_list(args.bpf, bool))
        if args.reps < 1 or args.ms < 1 or args.warmup_ms < 0:
            raise ValueError("--reps and --ms must be at least 1, --warmup-ms at least 0")
        if not 0 < args.threshold < 1:
            raise ValueError("--threshold is a fraction between 0 and 1, e.g. 0.1")
        overhead_cells = parse_overhead_cells(args.overhead_cells) if args.overhead else []
    except ValueError as e:
        print(f"tunlab bench: {e}", file=sys.stderr)
        return 2
    if args.from_results:
        try:
            results = json.loads(args.from_results.read_text())
        except (OSError, ValueError) as e:
            raise UsageError(f"--from {args.from_results}: {e}") from None
        if (not isinstance(results, dict) or results.get("schema") != SCHEMA
                or not isinstance(results.get("cells"), list)):
            raise UsageError(f"--from {args.from_results}: not a tunlab bench results.json "
                             f"(expected schema {SCHEMA!r} and a list of cells)")
        print(report.table(results), end="")
        if args.out:
            write_outputs(results, args.out, plot=not args.no_plot)
        return do_compare(results, args.compare, args.threshold, args.out) if args.compare else 0

    cfg = RunConfig.from_args(args)
    cfgs = [cfg] + ([cfg.with_(target=args.vs, image=args.vs_image, driver=args.vs_driver)]
                    if args.vs else [])
    accel = pick_accel(args.accel)
    out = args.out or default_out()
    out.mkdir(parents=True, exist_ok=True)
    if not args.out:
        _point_latest(out)
    if args.overhead:
        doc = run_overhead(cfg, overhead_cells, args.reps, args.ms, args.warmup_ms, accel, out)
        text = overhead_table(doc)
        (out / "overhead.json").write_text(json.dumps(doc, indent=1) + "\n")
        (out / "overhead.txt").write_text(text)
        print(text, end="")
        print(f"tunlab bench: overhead results in {out}")
        return 0 if all("ratio" in r for r in doc["cells"]) else 1

    results = run(cfgs, cells, args.reps, args.ms, args.warmup_ms, accel, out)
    files = write_outputs(results, out, plot=not args.no_plot)
    print()
    print(report.table(results), end="")
    print(f"\ntunlab bench: {len(files)} files in {out} (wall {results.get('wall_s', 0):.0f} s, "
          f"load {results['machine'].get('load_start')} -> {results['machine'].get('load_end', '')})")
    status = 0
    measured = [c for c in results["cells"] if c.get("stats")]
    failed = [c for c in results["cells"] if c.get("error") and not c["error"].startswith("skipped")]
    if not measured:
        print("tunlab bench: nothing was measured", file=sys.stderr)
        status = 1
    if failed:
        print(f"tunlab bench: {len(failed)} cell(s) failed, e.g. {failed[0]['target']} "
              f"{Cell.from_dict(failed[0]).key}: {failed[0]['error']}", file=sys.stderr)
        status = 1
    if args.compare:
        status = max(status, do_compare(results, args.compare, args.threshold, out))
    return status
