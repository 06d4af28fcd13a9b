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
    head += clock_notes(results)
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


NO_CLOCK = "not reported by the agent (kpi: a host process, with no guest clock to tell of)"


def clock_name(env: dict[str, Any]) -> str:
    """The clock source a benchenv reply or a sample names; NO_CLOCK where it names none."""
    return str(env.get("clocksource") or NO_CLOCK)


def clock_notes(results: dict[str, Any]) -> list[str]:
    """One line per target: the guest's clock source, and a warning when it was not the same
    throughout (a clock source the kernel gives up mid-run changes what a clock read costs).
    An agent that names none (kpi, or one without benchenv) gets a line saying so."""
    lines = []
    for t in results.get("targets", []):
        seen = [t.get("env_start", {}).get("clocksource")]
        seen += [s.get("clocksource") for c in results.get("cells", []) if c.get("target") == t.get("label")
                 for s in [c.get("warmup") or {}] + c.get("samples", [])]
        seen.append(t.get("env_end", {}).get("clocksource"))
        names = list(dict.fromkeys(str(x) for x in seen if x))
        if len(names) > 1:
            lines.append(f"WARNING: {t['label']}'s clock source changed during the run: {' -> '.join(names)}")
        else:
            lines.append(f"{t['label']}: clock source {names[0] if names else NO_CLOCK}")
    return lines


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


# what a cell's figure counts, per kind (a round trip is one echo written and its reply read)
UNITS = {"write": "packets/s", "read": "packets/s", "rtt": "round trips/s"}
TARGET_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
CELL_GAP = 0.6      # between the variants of one size
SIZE_GAP = 1.2      # between sizes


def _variant_label(mode: str, bpf: bool) -> str:
    return f"{mode}\n+bpf" if bpf else mode


def plot_layout(results: dict[str, Any]) -> dict[str, Any]:
    """Where plot() puts every bar: per kind, the x position of each cell's bar per target
    (the targets of a cell side by side, touching; cells of one size together), the tick
    per cell and the label per size. Returned for the tests."""
    labels = _labels(results)
    cells = _cell_rows(results)
    kinds = [k for k in KIND_TITLES if any(c.kind == k for c in cells)]
    sizes = sorted({c.size for c in cells})
    variants = sorted({(c.mode, c.bpf) for c in cells}, key=lambda v: (v[0] != "plain", v[1]))
    width = 0.8 / max(len(labels), 1)
    x, ticks, groups = {}, [], []
    pos = 0.0
    for size in sizes:
        first = pos
        for mode, bpf in variants:
            ticks.append((pos, _variant_label(mode, bpf)))
            for t, lab in enumerate(labels):
                x[(lab, size, mode, bpf)] = pos + (t - (len(labels) - 1) / 2) * width
            pos += 1 + CELL_GAP
        groups.append(((first + pos - 1 - CELL_GAP) / 2, f"{size} B"))
        pos += SIZE_GAP - CELL_GAP
    return {"labels": labels, "kinds": kinds, "sizes": sizes, "variants": variants, "width": width,
            "x": x, "ticks": ticks, "groups": groups}


def plot(results: dict[str, Any], path: Path) -> None:
    """The PNG of figure()."""
    import matplotlib.pyplot as plt
    fig = figure(results)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def figure(results: dict[str, Any]) -> Any:
    """One panel per kind: for each size, each mode/listener cell, a bar per target side by
    side (the median of the samples; whiskers from the smallest to the largest sample); with
    two targets, a strip under each panel with their ratio per cell. One legend for the
    figure, above the panels, and a line saying what bars and whiskers are."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.transforms import blended_transform_factory

    lay = plot_layout(results)
    labels, kinds = lay["labels"], lay["kinds"]
    by = cells_by_key(results)
    ratios = {r["cell"]: r for r in results.get("ratios") or []}
    two = len(labels) == 2 and bool(ratios)
    fig = plt.figure(figsize=(11, len(kinds) * (4.6 if two else 3.6) + 1.6))
    outer = fig.add_gridspec(max(len(kinds), 1), 1, hspace=0.42 if two else 0.36)
    s = results.get("settings", {})
    n, ms = s.get("reps", "?"), s.get("ms", "?")
    any_failed = False
    for i, kind in enumerate(kinds):
        if two:
            inner = outer[i].subgridspec(2, 1, height_ratios=[3.0, 1.0], hspace=0.06)
            ax = fig.add_subplot(inner[0])
            rax = fig.add_subplot(inner[1], sharex=ax)
        else:
            ax, rax = fig.add_subplot(outer[i]), None
        ax.set_label(kind)
        if rax is not None:
            rax.set_label(f"{kind} ratio")
        failed: list[float] = []
        for t, lab in enumerate(labels):
            xs, ys, lo, hi, hatches = [], [], [], [], []
            for size in lay["sizes"]:
                for mode, bpf in lay["variants"]:
                    c = by.get((lab, Cell(kind, size, mode, bpf).key))
                    if not c or not c.get("stats"):
                        failed.append(lay["x"][(lab, size, mode, bpf)])
                        continue
                    st = c["stats"]
                    xs.append(lay["x"][(lab, size, mode, bpf)])
                    ys.append(st["median_pps"])
                    lo.append(st["median_pps"] - st["min_pps"])
                    hi.append(st["max_pps"] - st["median_pps"])
                    hatches.append("///" if bpf else "")
            bars = ax.bar(xs, ys, lay["width"], yerr=[lo, hi], capsize=2.5, color=TARGET_COLORS[t % 4],
                          edgecolor="black", linewidth=0.5, error_kw={"elinewidth": 1.0})
            for bar, h in zip(bars, hatches):
                bar.set_hatch(h)
        for x in failed:
            ax.text(x, 0, "\u00d7", ha="center", va="bottom", color="#c00000", fontsize=12,
                    fontweight="bold", gid="failed")
        any_failed = any_failed or bool(failed)
        ax.set_title(KIND_TITLES[kind], fontsize=11, loc="left")
        ax.set_ylabel(f"{UNITS[kind]} (median)", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        ax.ticklabel_format(axis="y", style="plain")
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        bottom = rax or ax
        bottom.set_xticks([p for p, _ in lay["ticks"]], [t for _, t in lay["ticks"]], fontsize=9)
        if rax is not None:
            plt.setp(ax.get_xticklabels(), visible=False)
            for size in lay["sizes"]:
                for mode, bpf in lay["variants"]:
                    r = ratios.get(Cell(kind, size, mode, bpf).key)
                    if not r:
                        continue
                    x = sum(lay["x"][(lab, size, mode, bpf)] for lab in labels) / 2
                    rax.bar([x], [r["ratio"]], 0.8, color="0.6", edgecolor="black", linewidth=0.5)
                    rax.annotate(f"{r['ratio']:.2f}", (x, r["ratio"]), xytext=(0, 2),
                                 textcoords="offset points", ha="center", va="bottom", fontsize=8)
            rax.axhline(1.0, color="black", linewidth=0.8)
            top = max([r["ratio"] for r in ratios.values()] + [1.0])
            rax.set_ylim(0, top * 1.3)
            rax.set_ylabel("ratio", fontsize=9)
            rax.grid(axis="y", alpha=0.3)
        trans = blended_transform_factory(bottom.transData, bottom.transAxes)
        for x, text in lay["groups"]:
            bottom.text(x, -0.62 if rax is not None else -0.17, text, transform=trans, ha="center",
                        va="top", fontsize=10, fontweight="bold")
    handles = [Patch(facecolor=TARGET_COLORS[t % 4], edgecolor="black", label=lab) for t, lab in enumerate(labels)]
    handles.append(Patch(facecolor="white", edgecolor="black", hatch="///", label="with a bpf listener"))
    if two:
        handles.append(Patch(facecolor="0.6", edgecolor="black", label=f"ratio {labels[1]} / {labels[0]} of the medians"))
    if any_failed:
        handles.append(Line2D([], [], color="#c00000", marker="x", linestyle="", markeredgewidth=2,
                              label="no figure: the cell failed (table.txt says why)"))
    m = results.get("machine", {})
    fig.suptitle(f"tunlab bench: {', '.join(labels)}; accel {results.get('accel', '?')}; "
                 f"{results.get('created', '')}; host {m.get('hostname', '')}, load {m.get('load_start', '')}",
                 fontsize=10, y=1 - 0.12 / fig.get_figheight())
    fig.text(0.5, 1 - 0.38 / fig.get_figheight(), f"bar: the median of {n} samples of {ms} ms; whiskers: the smallest to the "
             f"largest sample", ha="center", va="top", fontsize=9)
    ncol = len(handles) if len(handles) <= 4 else 3
    fig.legend(handles=handles, loc="upper center", ncol=ncol, fontsize=9,
               bbox_to_anchor=(0.5, 1 - 0.58 / fig.get_figheight()), frameon=False)
    legend_rows = -(-len(handles) // ncol)
    top = 1 - (0.9 + 0.25 * legend_rows) / fig.get_figheight()
    fig.subplots_adjust(left=0.09, right=0.98, top=top, bottom=0.9 / fig.get_figheight())
    return fig
