"""The bench plot (bench_report.figure): the targets' bars of a cell side by side, a legend
that covers no panel, whiskers that are the samples' min..max and say so, readable ratio
labels, round trips/s on the round-trip panel."""

import pytest

pytest.importorskip("matplotlib")

from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.text import Annotation  # noqa: E402

from tunlab import bench_report  # noqa: E402
from tunlab.bench_stats import Cell, matrix  # noqa: E402

from test_report import fake_results  # noqa: E402


@pytest.fixture(scope="module")
def vs():
    doc = fake_results(("linux", "kpi"), scale={"kpi": 2.0}, cells=matrix())
    fig = bench_report.figure(doc)
    fig.canvas.draw()
    yield doc, fig
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_the_targets_of_a_cell_touch_and_cells_do_not_overlap():
    doc = fake_results(("linux", "kpi"), cells=matrix())
    lay = bench_report.plot_layout(doc)
    w = lay["width"]
    for size in lay["sizes"]:
        for mode, bpf in lay["variants"]:
            assert lay["x"][("kpi", size, mode, bpf)] - lay["x"][("linux", size, mode, bpf)] == pytest.approx(w)
    spans = sorted((x - w / 2, x + w / 2) for x in lay["x"].values())
    assert all(a[1] <= b[0] + 1e-9 for a, b in zip(spans, spans[1:]))
    assert [t for _, t in lay["ticks"][:4]] == ["plain", "plain\n+bpf", "header", "header\n+bpf"]
    assert [g for _, g in lay["groups"]] == ["64 B", "512 B", "1400 B", "9000 B"]


def test_bars_are_placed_where_the_layout_says(vs):
    doc, fig = vs
    lay = bench_report.plot_layout(doc)
    ax = next(a for a in fig.axes if a.get_label() == "write")
    xs = sorted(round(p.get_x() + p.get_width() / 2, 6) for p in ax.patches)
    want = sorted(round(x, 6) for (lab, size, mode, bpf), x in lay["x"].items())
    assert xs == want


def _legend_clear(fig):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    assert len(fig.legends) == 1
    legend = fig.legends[0].get_window_extent(renderer)
    # nothing of a panel under it: its bars, its title, its labels
    assert all(not legend.overlaps(ax.get_tightbbox(renderer)) for ax in fig.axes)
    assert all(ax.get_legend() is None for ax in fig.axes)
    fig_box = fig.bbox
    assert legend.y1 <= fig_box.y1 and legend.x0 >= fig_box.x0 and legend.x1 <= fig_box.x1


def test_the_legend_covers_no_panel(vs):
    _legend_clear(vs[1])


def test_a_longer_legend_still_covers_no_panel():
    doc = fake_results(("kpi@ours", "kpi@stock-2010"), cells=matrix(sizes=[64, 1400]))
    doc["cells"][0].update(stats=None, samples=[], error="ENXIO")   # a fifth legend entry
    _legend_clear(bench_report.figure(doc))


def test_whiskers_are_the_samples_min_to_max_and_the_figure_says_so(vs):
    doc, fig = vs
    ax = next(a for a in fig.axes if a.get_label() == "read")
    segs = [s for c in ax.collections if isinstance(c, LineCollection) for s in c.get_segments()]
    st = next(c for c in doc["cells"] if c["target"] == "kpi" and
              Cell.from_dict(c).key == Cell("read", 512, "header", True).key)["stats"]
    ys = [c["pps"] for c in next(c for c in doc["cells"] if c["target"] == "kpi" and
                                 Cell.from_dict(c).key == Cell("read", 512, "header", True).key)["samples"]]
    assert (st["min_pps"], st["max_pps"]) == (min(ys), max(ys))
    assert any(s[0][1] == pytest.approx(min(ys)) and s[1][1] == pytest.approx(max(ys)) for s in segs)
    texts = " ".join(t.get_text() for t in fig.texts)
    assert "the median of 3 samples" in texts and "whiskers: the smallest to the largest sample" in texts


def test_labels_are_level_and_readable_and_rtt_counts_round_trips(vs):
    _, fig = vs
    for ax in fig.axes:
        for label in ax.get_xticklabels():
            if label.get_visible() and label.get_text():
                assert label.get_rotation() == 0 and label.get_fontsize() >= 8, label
    by = {ax.get_label(): ax for ax in fig.axes}
    assert by["rtt"].get_ylabel() == "round trips/s (median)"
    assert by["write"].get_ylabel() == by["read"].get_ylabel() == "packets/s (median)"
    assert by["rtt ratio"].get_ylabel() == "ratio"
    assert "ratio kpi / linux of the medians" in [t.get_text() for t in fig.legends[0].get_texts()]
    ratio_texts = [t.get_text() for t in by["rtt ratio"].texts if isinstance(t, Annotation)]
    assert len(ratio_texts) == 16 and all(1.9 < float(t) < 2.1 for t in ratio_texts)
    sizes = [t.get_text() for t in by["rtt ratio"].texts if not isinstance(t, Annotation)]
    assert sizes == ["64 B", "512 B", "1400 B", "9000 B"]


def test_one_target_has_no_ratio_strip(tmp_path):
    doc = fake_results(("linux",), cells=matrix(sizes=[64]))
    fig = bench_report.figure(doc)
    assert [ax.get_label() for ax in fig.axes] == ["write", "read", "rtt"]
    bench_report.plot(doc, tmp_path / "b.png")
    assert (tmp_path / "b.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_failed_cell_is_marked_and_the_legend_says_what_the_mark_is():
    doc = fake_results(("linux", "kpi"), cells=matrix(sizes=[64]))
    bad = next(c for c in doc["cells"] if c["target"] == "kpi" and Cell.from_dict(c).key == Cell("read", 64, "plain", True).key)
    bad.update(stats=None, samples=[], error="ENXIO")
    fig = bench_report.figure(doc)
    by = {ax.get_label(): ax for ax in fig.axes}
    marks = [t for t in by["read"].texts if t.get_gid() == "failed"]
    lay = bench_report.plot_layout(doc)
    assert [m.get_position()[0] for m in marks] == [lay["x"][("kpi", 64, "plain", True)]]
    assert not [t for t in by["write"].texts if t.get_gid() == "failed"]
    assert any("the cell failed" in t.get_text() for t in fig.legends[0].get_texts())
