"""The numbers of `tunlab bench`: the matrix of cells, per-cell statistics, ratios between two
runs, and the regression rule. Pure functions over plain data (no guest, no files), so that
they are tested on their own (harness/tests/bench/test_stats.py).

Definitions (also in README.md, "Benchmarks", and `tunlab bench --help`):
- A cell is one (kind, size, mode, bpf) combination; its figure is packets per second (higher
  is better for every kind: for rtt it is round trips per second).
- Per cell and target: N samples, each one timed loop of the agent. median; min; max; mean;
  stdev (sample standard deviation, n-1); spread = (max - min) / median.
- Overhead (`--overhead`): per cell, the median of the tunlab loop's samples / the median of
  the reference loop's (bench_ref.c), taken alternately in one guest; pair_ratios are the
  ratios of neighbouring samples, pair_median their median (steadier than the ratio of the
  medians when the host's load changes during the run).
- Regression (`--compare`): new_median < old_median * (1 - threshold) AND the intervals
  [median * (1 - spread), median * (1 + spread)] of the two runs do not overlap, i.e.
  new_median * (1 + new_spread) < old_median * (1 - old_spread). A drop the spread explains
  is reported as "slower (noise)", not as a regression.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any, Iterable

KINDS = ("write", "read", "rtt")
SIZES = (64, 512, 1400, 9000)
MODES = ("plain", "header")  # linux: IFF_NO_PI / packet information; BSD: TUNSIFHEAD off/on
BPF = (False, True)
DEFAULT_THRESHOLD = 0.10

KIND_TITLES = {
    "write": "write path (program -> stack)",
    "read": "read path (stack -> program)",
    "rtt": "round trip (echo written, reply read)",
}


@dataclass(frozen=True)
class Cell:
    kind: str
    size: int
    mode: str
    bpf: bool

    @property
    def key(self) -> str:
        """A stable name, e.g. rtt/64/plain/bpf or write/1400/header/-."""
        return f"{self.kind}/{self.size}/{self.mode}/{'bpf' if self.bpf else '-'}"

    @property
    def mtu(self) -> int:
        """The interface MTU the cell runs with: 1500, or the packet size when larger."""
        return max(1500, self.size)

    @property
    def order(self) -> tuple[int, int, int, bool]:
        """Sort key: the matrix's order (kinds as in KINDS, then size, mode, listener)."""
        return (KINDS.index(self.kind) if self.kind in KINDS else len(KINDS), self.size,
                MODES.index(self.mode) if self.mode in MODES else len(MODES), self.bpf)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "size": self.size, "mode": self.mode, "bpf": self.bpf}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Cell":
        return cls(str(d["kind"]), int(d["size"]), str(d["mode"]), bool(d["bpf"]))


def matrix(kinds: Iterable[str] = KINDS, sizes: Iterable[int] = SIZES,
           modes: Iterable[str] = MODES, bpf: Iterable[bool] = BPF) -> list[Cell]:
    """Every combination, in the order the run and the table use: by kind, then size, mode,
    listener."""
    kinds, sizes, modes, bpf = list(kinds), list(sizes), list(modes), list(bpf)
    for k in kinds:
        if k not in KINDS:
            raise ValueError(f"unknown kind {k!r} (known: {', '.join(KINDS)})")
    for m in modes:
        if m not in MODES:
            raise ValueError(f"unknown mode {m!r} (known: {', '.join(MODES)})")
    for s in sizes:
        if not 28 <= s <= 65535:
            raise ValueError(f"packet size {s} out of range 28..65535")
    return [Cell(k, s, m, b) for k in kinds for s in sizes for m in modes for b in bpf]


def parse_list(text: str, kind: type = str) -> list[Any]:
    """`a,b,c` -> ['a', 'b', 'c'] (ints with kind=int; on/off/1/0 with kind=bool)."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if kind is bool:
        table = {"on": True, "1": True, "bpf": True, "yes": True, "off": False, "0": False,
                 "no": False, "-": False}
        try:
            return [table[t.lower()] for t in items]
        except KeyError as e:
            raise ValueError(f"bpf: want on/off, not {e.args[0]!r}") from None
    if kind is int:
        try:
            return [int(t) for t in items]
        except ValueError:
            raise ValueError(f"not a list of integers: {text!r}") from None
    return items


# -- statistics --------------------------------------------------------------------------
def summarize(values: list[float]) -> dict[str, float]:
    """median, min, max, mean, stdev (sample, n-1; 0 for one value), spread ((max-min)/median),
    cv (stdev/mean), n. Empty input gives n=0 and NaN figures."""
    n = len(values)
    if n == 0:
        nan = float("nan")
        return {"n": 0, "median": nan, "min": nan, "max": nan, "mean": nan, "stdev": nan,
                "spread": nan, "cv": nan}
    med = statistics.median(values)
    lo, hi = min(values), max(values)
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if n > 1 else 0.0
    return {"n": n, "median": med, "min": lo, "max": hi, "mean": mean, "stdev": sd,
            "spread": (hi - lo) / med if med > 0 else float("inf"),
            "cv": sd / mean if mean > 0 else float("inf")}


def cell_stats(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Statistics of a cell's samples (agent `bench` replies as numbers): packets/s as the
    figure, Mbit/s and errors alongside."""
    pps = summarize([float(s["pps"]) for s in samples])
    mbps = summarize([float(s["mbps"]) for s in samples])
    out: dict[str, Any] = {
        "n": pps["n"], "median_pps": pps["median"], "min_pps": pps["min"], "max_pps": pps["max"],
        "mean_pps": pps["mean"], "stdev_pps": pps["stdev"], "spread": pps["spread"],
        "cv": pps["cv"], "median_mbps": mbps["median"],
        "errors": int(sum(int(s.get("errors", 0)) for s in samples)),
    }
    rtts = [float(s["rtt_avg_ns"]) for s in samples if "rtt_avg_ns" in s]
    if rtts:
        out["median_rtt_us"] = statistics.median(rtts) / 1000
    if any("bpf_read" in s for s in samples):
        out["bpf_read"] = int(sum(int(s.get("bpf_read", 0)) for s in samples))
        out["bpf_drops"] = int(sum(int(s.get("bpf_drops", 0)) for s in samples))
    return out


# -- comparing ---------------------------------------------------------------------------
def judge(old: dict[str, Any], new: dict[str, Any], threshold: float = DEFAULT_THRESHOLD) -> str:
    """The verdict on one cell, from two cell_stats: "REGRESSION", "slower (noise)", "ok",
    "faster (noise)", "faster", or "n/a" when either side has no figure. The rule is this
    module's docstring's."""
    om, nm = old.get("median_pps"), new.get("median_pps")
    if not om or not nm or any(math.isnan(x) for x in (om, nm)) or om <= 0:
        return "n/a"
    osp, nsp = old.get("spread", 0.0) or 0.0, new.get("spread", 0.0) or 0.0
    if nm < om * (1 - threshold):
        return "REGRESSION" if nm * (1 + nsp) < om * (1 - osp) else "slower (noise)"
    if nm > om * (1 + threshold):
        return "faster" if nm * (1 - nsp) > om * (1 + osp) else "faster (noise)"
    return "ok"


def cells_by_key(results: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(target label, cell key) -> the cell's record, for the cells of a results document
    that have statistics."""
    out = {}
    for c in results.get("cells", []):
        if c.get("stats"):
            out[(c["target"], Cell.from_dict(c).key)] = c
    return out


def compare(baseline: dict[str, Any], new: dict[str, Any],
            threshold: float = DEFAULT_THRESHOLD) -> tuple[list[dict[str, Any]], str]:
    """Rows comparing every cell both results documents measured (matched by target label and
    cell), and a note on how targets were matched ("" when by name). When the two share no
    target but each has exactly one, those two are compared (e.g. a baseline taken on
    linux against a run of another build labelled differently)."""
    old, cur = cells_by_key(baseline), cells_by_key(new)
    old_t = sorted({t for t, _ in old})
    new_t = sorted({t for t, _ in cur})
    note = ""
    mapping = {t: t for t in new_t if t in old_t}
    if not mapping and len(old_t) == 1 and len(new_t) == 1:
        mapping = {new_t[0]: old_t[0]}
        note = f"baseline target {old_t[0]!r} compared with this run's {new_t[0]!r}"
    rows = []
    for (t, key), c in sorted(cur.items(), key=lambda kv: (kv[0][0], Cell.from_dict(kv[1]).order)):
        if t not in mapping or (mapping[t], key) not in old:
            continue
        o = old[(mapping[t], key)]
        os_, ns_ = o["stats"], c["stats"]
        rows.append({"target": t, "cell": key, **Cell.from_dict(c).as_dict(),
                     "old_median_pps": os_["median_pps"], "new_median_pps": ns_["median_pps"],
                     "old_spread": os_["spread"], "new_spread": ns_["spread"],
                     "ratio": ns_["median_pps"] / os_["median_pps"] if os_["median_pps"] else float("nan"),
                     "verdict": judge(os_, ns_, threshold)})
    return rows, note


def ratios(results: dict[str, Any], a: str, b: str) -> list[dict[str, Any]]:
    """Per cell, b's median over a's (targets by label), for side-by-side runs."""
    by = cells_by_key(results)
    rows = []
    for c in sorted({Cell.from_dict(r) for r in results.get("cells", [])}, key=lambda c: c.order):
        ca, cb = by.get((a, c.key)), by.get((b, c.key))
        if ca and cb and ca["stats"]["median_pps"]:
            rows.append({"cell": c.key, **c.as_dict(), "a": a, "b": b,
                         "ratio": cb["stats"]["median_pps"] / ca["stats"]["median_pps"]})
    return rows


def overhead_figures(ref: list[dict[str, Any]], tunlab: list[dict[str, Any]]) -> dict[str, Any]:
    """Statistics of both loops' samples and the ratio of their medians; pair_ratios are the
    ratios of the samples taken next to each other (their spread shows what load did)."""
    if not ref or not tunlab:
        return {}
    rs, ts = cell_stats(ref), cell_stats(tunlab)
    if not rs["median_pps"]:
        return {"ref_stats": rs, "tunlab_stats": ts}
    pairs = [t["pps"] / r["pps"] for r, t in zip(ref, tunlab) if r.get("pps")]
    clocks = sorted({str(x.get("clocksource", "?")) for x in ref + tunlab})
    return {"ref_stats": rs, "tunlab_stats": ts, "ratio": ts["median_pps"] / rs["median_pps"],
            "pair_ratios": [round(x, 4) for x in pairs],
            "pair_median": statistics.median(pairs) if pairs else math.nan, "clocksources": clocks}


def eta_seconds(elapsed: float, done_units: float, total_units: float) -> float | None:
    """Time left, assuming the rest goes at the pace so far (None before any progress)."""
    if done_units <= 0 or elapsed <= 0:
        return None
    return max(0.0, elapsed / done_units * (total_units - done_units))
