"""The bench's numbers: the matrix, per-cell statistics, the regression rule, ratios, the
overhead figures."""

import math

import pytest

from tunlab.bench_stats import (Cell, cell_stats, compare, eta_seconds, judge, matrix,
                                overhead_figures, parse_list, ratios, summarize)


def test_matrix_is_every_combination_in_order():
    cells = matrix()
    assert len(cells) == 3 * 4 * 2 * 2
    assert cells[0] == Cell("write", 64, "plain", False)
    assert cells[1] == Cell("write", 64, "plain", True)
    assert cells[-1] == Cell("rtt", 9000, "header", True)
    assert [c.order for c in cells] == sorted(c.order for c in cells)


def test_matrix_rejects_unknown_names_and_sizes():
    with pytest.raises(ValueError, match="kind"):
        matrix(kinds=["sideways"])
    with pytest.raises(ValueError, match="mode"):
        matrix(modes=["pi"])
    with pytest.raises(ValueError, match="size"):
        matrix(sizes=[20])


def test_cell_mtu_is_raised_for_jumbo_packets_only():
    assert Cell("rtt", 1400, "plain", False).mtu == 1500
    assert Cell("rtt", 9000, "plain", False).mtu == 9000
    assert Cell("rtt", 9000, "header", True).key == "rtt/9000/header/bpf"
    assert Cell.from_dict(Cell("read", 64, "plain", False).as_dict()) == Cell("read", 64, "plain", False)


def test_parse_list():
    assert parse_list("write, rtt") == ["write", "rtt"]
    assert parse_list("64,9000", int) == [64, 9000]
    assert parse_list("off,on", bool) == [False, True]
    with pytest.raises(ValueError):
        parse_list("maybe", bool)
    with pytest.raises(ValueError):
        parse_list("64,big", int)


def test_summarize_defines_spread_and_stdev():
    s = summarize([90.0, 100.0, 110.0, 100.0, 100.0])
    assert s["n"] == 5 and s["median"] == 100.0 and s["min"] == 90.0 and s["max"] == 110.0
    assert s["spread"] == pytest.approx(0.2)  # (max - min) / median
    assert s["stdev"] == pytest.approx(math.sqrt(50.0))  # sample stdev: sum of squares 200 / (5 - 1)
    assert s["cv"] == pytest.approx(math.sqrt(50.0) / 100.0)


def test_summarize_one_and_no_values():
    assert summarize([5.0])["stdev"] == 0.0 and summarize([5.0])["spread"] == 0.0
    empty = summarize([])
    assert empty["n"] == 0 and math.isnan(empty["median"])


def test_cell_stats_from_agent_replies():
    samples = [{"pps": 100.0, "mbps": 1.0, "errors": 0, "rtt_avg_ns": 10000, "bpf_read": 200, "bpf_drops": 0},
               {"pps": 120.0, "mbps": 1.2, "errors": 1, "rtt_avg_ns": 8000, "bpf_read": 240, "bpf_drops": 2},
               {"pps": 110.0, "mbps": 1.1, "errors": 0, "rtt_avg_ns": 9000, "bpf_read": 220, "bpf_drops": 0}]
    st = cell_stats(samples)
    assert st["median_pps"] == 110.0 and st["median_mbps"] == 1.1 and st["errors"] == 1
    assert st["spread"] == pytest.approx(20 / 110)
    assert st["median_rtt_us"] == 9.0
    assert st["bpf_read"] == 660 and st["bpf_drops"] == 2


def stats(median, spread):
    return {"median_pps": median, "spread": spread}


@pytest.mark.parametrize("old,new,verdict", [
    (stats(100, 0.02), stats(100, 0.02), "ok"),
    (stats(100, 0.02), stats(95, 0.02), "ok"),                 # within the 10% threshold
    (stats(100, 0.02), stats(80, 0.02), "REGRESSION"),         # 80*1.02 < 100*0.98
    (stats(100, 0.15), stats(85, 0.02), "slower (noise)"),     # 85*1.02=86.7 > 100*0.85=85: overlap
    (stats(100, 0.02), stats(85, 0.20), "slower (noise)"),     # the new run's own spread explains it
    (stats(100, 0.02), stats(130, 0.02), "faster"),
    (stats(100, 0.30), stats(120, 0.02), "faster (noise)"),
    (stats(0, 0.0), stats(10, 0.0), "n/a"),
    (stats(float("nan"), 0.0), stats(10, 0.0), "n/a"),
])
def test_judge_regression_rule(old, new, verdict):
    assert judge(old, new, 0.10) == verdict


def test_judge_threshold_is_a_parameter():
    assert judge(stats(100, 0.0), stats(94, 0.0), 0.05) == "REGRESSION"
    assert judge(stats(100, 0.0), stats(94, 0.0), 0.10) == "ok"


def results(label, figures):
    """A results document with cells kind rtt, size from the dict key, given medians."""
    cells = []
    for size, (median, spread) in figures.items():
        cells.append({"target": label, "kind": "rtt", "size": size, "mode": "plain", "bpf": False,
                      "stats": {"median_pps": median, "spread": spread}})
    return {"targets": [{"label": label}], "cells": cells}


def test_compare_matches_cells_by_target_and_key():
    base = results("linux", {64: (100, 0.01), 512: (100, 0.01), 1400: (50, 0.01)})
    new = results("linux", {64: (70, 0.01), 512: (101, 0.01), 9000: (5, 0.01)})
    rows, note = compare(base, new)
    assert note == ""
    assert [(r["size"], r["verdict"]) for r in rows] == [(64, "REGRESSION"), (512, "ok")]
    assert rows[0]["ratio"] == pytest.approx(0.7)


def test_compare_pairs_lone_targets_of_different_names_with_a_note():
    rows, note = compare(results("linux", {64: (100, 0.01)}), results("linux@other", {64: (100, 0.01)}))
    assert len(rows) == 1 and "linux@other" in note


def test_compare_skips_cells_without_stats():
    base = results("linux", {64: (100, 0.01)})
    new = results("linux", {64: (100, 0.01)})
    new["cells"][0]["stats"] = None
    assert compare(base, new)[0] == []


def test_ratios_between_two_targets():
    doc = results("linux", {64: (100, 0.01), 512: (50, 0.01)})
    doc["cells"] += results("kpi", {64: (200, 0.01)})["cells"]
    rows = ratios(doc, "linux", "kpi")
    assert len(rows) == 1 and rows[0]["ratio"] == pytest.approx(2.0) and rows[0]["cell"] == "rtt/64/plain/-"


def test_eta():
    assert eta_seconds(0, 0, 10) is None
    assert eta_seconds(10.0, 2, 10) == pytest.approx(40.0)
    assert eta_seconds(10.0, 10, 10) == 0.0


def _s(pps: float, clock: str = "tsc") -> dict:
    return {"pps": pps, "mbps": pps / 1000, "errors": 0, "clocksource": clock}


def test_overhead_ratio_is_tunlab_median_over_reference_median():
    ref = [_s(100), _s(200), _s(120)]
    ours = [_s(90), _s(150), _s(60)]
    f = overhead_figures(ref, ours)
    assert f["ratio"] == pytest.approx(90 / 120)
    # pairs are taken sample by sample, in the order they ran
    assert f["pair_ratios"] == [0.9, 0.75, 0.5] and f["pair_median"] == 0.75
    assert f["ref_stats"]["median_pps"] == 120 and f["tunlab_stats"]["median_pps"] == 90
    assert f["clocksources"] == ["tsc"]


def test_overhead_names_every_clock_source_its_samples_ran_on():
    f = overhead_figures([_s(100), _s(100, "hpet")], [_s(100), _s(50, "hpet")])
    assert f["clocksources"] == ["hpet", "tsc"]


def test_overhead_without_both_loops_or_a_reference_figure_has_no_ratio():
    assert overhead_figures([], [_s(1)]) == {}
    assert overhead_figures([_s(1)], []) == {}
    assert "ratio" not in overhead_figures([_s(0)], [_s(5)])
