"""What `tunlab bench` writes: the terminal table, CSV files, the PNG plot (matplotlib, Agg),
the comparison table, and the progress line. Functions over a results document (bench.py
builds it; its schema is described there)."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any, Iterable

from tunlab.bench_stats import KIND_TITLES, Cell, cells_by_key

CELL_COLUMNS = ["target", "kind", "size", "mode", "bpf", "mtu", "n", "median_pps", "median_mbps",
                "min_pps", "max_pps", "mean_pps", "stdev_pps", "spread", "cv", "errors",
                "median_rtt_us", "error"]
SAMPLE_COLUMNS = ["target", "kind", "size", "mode", "bpf", "rep", "warmup", "pps", "mbps",
                  "packets", "bytes", "ns", "errors", "rtt_avg_ns", "bpf_read", "bpf_drops"]


def _fmt_num(x: float | None, width: int = 10) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-".rjust(width)
    if x >= 100:
        return f"{x:,.0f}".rjust(width)
    return f"{x:.2f}".rjust(width)


def _pct(x: float | None) -> str:
    if x is None or math.isnan(x) or math.isinf(x):
        return "    -"
    return f"{x * 100:4.1f}%"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _cell_rows(results: dict[str, Any]) -> list[Cell]:
    return sorted({Cell.from_dict(c) for c in results.get("cells", [])}, key=lambda c: c.order)


def _labels(results: dict[str, Any]) -> list[str]:
    return [t["label"] for t in results.get("targets", [])]


def table(results: dict[str, Any]) -> str:
    """The readable table: one row per cell; per target median packets/s, spread, cv and
    Mbit/s; with two targets, their ratio."""
    labels = _labels(results)
    by = cells_by_key(results)
    errors = {(c["target"], Cell.from_dict(c).key): c.get("error", "") for c in results.get("cells", [])}
    s = results.get("settings", {})
    head = [f"tunlab bench  {', '.join(_describe_target(t) for t in results.get('targets', []))}"
            f"  accel {results.get('accel', '?')}",
            f"{s.get('reps', '?')} x {s.get('ms', '?')} ms per cell (warm-up {s.get('warmup_ms', '?')} ms); "
            f"figure: median packets/s; spread = (max-min)/median; cv = stdev/mean"]
    for sk in results.get("skipped", []):
        head.append(f"skipped {sk['name']}: {sk['reason']}")
    cols = f"{'kind':<6}{'size':>6}  {'mode':<7}{'bpf':<4}"
    for lab in labels:
        cols += f"| {lab[:12]:>12} pkt/s {'spread':>6} {'cv':>5} {'Mbit/s':>9} "
    if len(labels) == 2:
        cols += f"| {labels[1][:8]}/{labels[0][:8]}"
    lines = head + ["", cols, "-" * len(cols)]
    for cell in _cell_rows(results):
        row = f"{cell.kind:<6}{cell.size:>6}  {cell.mode:<7}{'on' if cell.bpf else '-':<4}"
        meds = []
        for lab in labels:
            c = by.get((lab, cell.key))
            if c:
                st = c["stats"]
                meds.append(st["median_pps"])
                row += (f"| {_fmt_num(st['median_pps'], 18)} {_pct(st['spread']):>6} "
                        f"{_pct(st['cv']):>5} {_fmt_num(st['median_mbps'], 9)} ")
            else:
                meds.append(None)
                why = errors.get((lab, cell.key)) or "not measured"
                row += f"| {('(' + why + ')')[:42]:<42} "
        if len(labels) == 2:
            a, b = meds
            row += f"| {b / a:7.3f}" if a and b else "|       -"
        lines.append(row.rstrip())
    return "\n".join(lines) + "\n"


def _describe_target(t: dict[str, Any]) -> str:
    bits = [t.get("kernel") or "", f"agent {t['agent']}" if t.get("agent") else ""]
    return f"{t['label']} ({', '.join(b for b in bits if b)})"


def compare_table(rows: list[dict[str, Any]], note: str, threshold: float, baseline: str) -> str:
    lines = [f"compared with {baseline} (threshold {threshold * 100:.0f}%; regression = median "
             f"below old*(1-threshold) and [median +/- spread] intervals apart)"]
    if note:
        lines.append(note)
    cols = (f"{'target':<10}{'kind':<6}{'size':>6}  {'mode':<7}{'bpf':<4}{'old pkt/s':>14}"
            f"{'new pkt/s':>14}{'ratio':>8}  {'old spr':>7} {'new spr':>7}  verdict")
    lines += [cols, "-" * len(cols)]
    for r in rows:
        lines.append(f"{r['target'][:9]:<10}{r['kind']:<6}{r['size']:>6}  {r['mode']:<7}"
                     f"{'on' if r['bpf'] else '-':<4}{_fmt_num(r['old_median_pps'], 14)}"
                     f"{_fmt_num(r['new_median_pps'], 14)}{r['ratio']:>8.3f}  "
                     f"{_pct(r['old_spread']):>7} {_pct(r['new_spread']):>7}  {r['verdict']}")
    regressions = sum(r["verdict"] == "REGRESSION" for r in rows)
    lines.append(f"{len(rows)} cells compared, {regressions} regression(s)")
    return "\n".join(lines) + "\n"


def progress_line(i: int, n: int, what: str, elapsed: float, eta: float | None) -> str:
    return f"[cell {i}/{n}] {what}  elapsed {fmt_duration(elapsed)}  ETA {fmt_duration(eta)}"


# -- files -------------------------------------------------------------------------------
def _clean(v: Any) -> Any:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.6g}" if abs(v) < 1e15 else v
    if isinstance(v, bool):
        return int(v)
    return v


def write_cells_csv(results: dict[str, Any], path: Path) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, CELL_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for c in results.get("cells", []):
            row = {**Cell.from_dict(c).as_dict(), "target": c["target"], "mtu": c.get("mtu", ""),
                   "error": c.get("error", ""), **(c.get("stats") or {})}
            w.writerow({k: _clean(row.get(k, "")) for k in CELL_COLUMNS})


def write_samples_csv(results: dict[str, Any], path: Path) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, SAMPLE_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for c in results.get("cells", []):
            base = {**Cell.from_dict(c).as_dict(), "target": c["target"]}
            rows: Iterable[tuple[int, bool, dict[str, Any]]] = (
                ([(0, True, c["warmup"])] if c.get("warmup") else []) +
                [(i + 1, False, s) for i, s in enumerate(c.get("samples", []))])
            for rep, warm, s in rows:
                row = {**base, "rep": rep, "warmup": warm, **s}
                w.writerow({k: _clean(row.get(k, "")) for k in SAMPLE_COLUMNS})


def write_compare_csv(rows: list[dict[str, Any]], path: Path) -> None:
    cols = ["target", "kind", "size", "mode", "bpf", "old_median_pps", "new_median_pps", "ratio",
            "old_spread", "new_spread", "verdict"]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, cols, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: _clean(r.get(k, "")) for k in cols})


def plot(results: dict[str, Any], path: Path) -> None:
    """One panel per kind: median packets/s per size, a bar per (target, mode, bpf) with
    min..max whiskers; with two targets, a last panel of their ratios per cell."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = _labels(results)
    by = cells_by_key(results)
    cells = _cell_rows(results)
    kinds = [k for k in KIND_TITLES if any(c.kind == k for c in cells)]
    sizes = sorted({c.size for c in cells})
    series = sorted({(lab, c.mode, c.bpf) for lab in labels for c in cells},
                    key=lambda s: (labels.index(s[0]), s[1] != "plain", s[2]))
    ratios = results.get("ratios") or []
    npanels = len(kinds) + (1 if ratios else 0)
    fig, axes = plt.subplots(max(npanels, 1), 1, figsize=(10, 3.2 * max(npanels, 1)), squeeze=False)
    width = 0.8 / max(len(series), 1)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, kind in zip(axes[:, 0], kinds):
        for j, (lab, mode, bpf) in enumerate(series):
            xs, ys, lo, hi = [], [], [], []
            for i, size in enumerate(sizes):
                c = by.get((lab, Cell(kind, size, mode, bpf).key))
                if not c:
                    continue
                st = c["stats"]
                xs.append(i + (j - (len(series) - 1) / 2) * width)
                ys.append(st["median_pps"])
                lo.append(st["median_pps"] - st["min_pps"])
                hi.append(st["max_pps"] - st["median_pps"])
            name = f"{lab} {mode}{' +bpf' if bpf else ''}" if len(labels) > 1 else f"{mode}{' +bpf' if bpf else ''}"
            ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, label=name,
                   color=colors[j % len(colors)], hatch="//" if bpf else None, edgecolor="black",
                   linewidth=0.4)
        ax.set_title(KIND_TITLES[kind], fontsize=10)
        ax.set_xticks(range(len(sizes)), [f"{s} B" for s in sizes])
        ax.set_ylabel("packets/s (median)")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7, ncol=min(len(series), 4))
    if ratios:
        ax = axes[-1, 0]
        names = [r["cell"] for r in ratios]
        ax.bar(range(len(ratios)), [r["ratio"] for r in ratios], color="tab:gray")
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_xticks(range(len(ratios)), names, rotation=90, fontsize=6)
        ax.set_ylabel(f"{ratios[0]['b']} / {ratios[0]['a']}")
        ax.set_title("ratio of medians per cell", fontsize=10)
    m = results.get("machine", {})
    fig.suptitle(f"tunlab bench: {', '.join(labels)}; accel {results.get('accel', '?')}; "
                 f"{results.get('created', '')}; host {m.get('hostname', '')}, load {m.get('load_start', '')}",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
