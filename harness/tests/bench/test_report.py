"""What `tunlab bench` writes, from fake samples: JSON, CSV, PNG, the table, the comparison
and its exit status; the bare program's lines and the overhead table."""

import csv
import io
import json
import random

import pytest

from tunlab import bench, bench_report
from tunlab.bench_stats import Cell, cell_stats, matrix, ratios
from tunlab.cli import main as cli_main
import bare_program


def fake_results(labels=("linux",), scale=None, seed=1, cells=None):
    """A results document as bench.run() builds it, with made-up samples."""
    rnd = random.Random(seed)
    scale = scale or {}
    doc = {"schema": bench.SCHEMA, "created": "2026-01-01T00:00:00+0000",
           "settings": {"reps": 3, "ms": 1000, "warmup_ms": 300},
           "machine": {"hostname": "h", "cores": 2, "load_start": "1.00 1.00 1.00", "load_end": "1.00"},
           "qemu": "QEMU emulator version 7.2", "accel": "tcg", "backend": "qemu",
           "git": {"commit": "abc", "dirty": False},
           "targets": [{"name": lab.split("@")[0], "label": lab, "kernel": "Linux-6.1", "agent": "1.0.0"}
                       for lab in labels],
           "skipped": [], "cells": [], "ratios": []}
    for cell in cells or matrix(sizes=[64, 9000]):
        for lab in labels:
            base = 100000.0 / (1 + cell.size / 1000) * scale.get(lab, 1.0) * (0.7 if cell.bpf else 1.0)
            samples = []
            for _ in range(3):
                pps = base * (1 + rnd.uniform(-0.01, 0.01))
                samples.append({"packets": int(pps), "bytes": int(pps) * cell.size, "ns": 1000000000,
                                "pps": pps, "mbps": pps * cell.size * 8 / 1e6, "errors": 0})
            doc["cells"].append({"target": lab, **cell.as_dict(), "mtu": cell.mtu, "warmup": samples[0],
                                 "samples": samples, "stats": cell_stats(samples), "error": ""})
    if len(labels) == 2:
        doc["ratios"] = ratios(doc, labels[0], labels[1])
    return doc


def test_write_outputs_makes_every_file(tmp_path):
    doc = fake_results()
    files = bench.write_outputs(doc, tmp_path)
    names = sorted(f.name for f in files)
    assert names == ["bench.png", "cells.csv", "results.json", "samples.csv", "table.txt"]
    back = json.loads((tmp_path / "results.json").read_text())
    assert back["schema"] == "tunlab-bench/1" and len(back["cells"]) == 3 * 2 * 2 * 2
    assert all(len(c["samples"]) == 3 for c in back["cells"])
    rows = list(csv.DictReader(open(tmp_path / "cells.csv")))
    assert len(rows) == 24 and rows[0]["kind"] == "write" and float(rows[0]["median_pps"]) > 0
    assert set(bench_report.CELL_COLUMNS) == set(rows[0])
    samples = list(csv.DictReader(open(tmp_path / "samples.csv")))
    assert len(samples) == 24 * 4  # warm-up (rep 0) + 3 samples per cell
    assert {s["rep"] for s in samples} == {"0", "1", "2", "3"}
    png = (tmp_path / "bench.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10000


def test_plot_side_by_side_has_a_ratio_panel(tmp_path):
    doc = fake_results(("linux", "kpi"), scale={"kpi": 2.0})
    bench_report.plot(doc, tmp_path / "b.png")
    assert (tmp_path / "b.png").stat().st_size > 10000


def test_table_lists_every_cell_with_spread_and_ratio():
    doc = fake_results(("linux", "kpi"), scale={"kpi": 2.0})
    text = bench_report.table(doc)
    lines = text.splitlines()
    assert "spread = (max-min)/median" in text
    assert "kpi/linux" in text
    body = [l for l in lines if l.startswith(("write", "read", "rtt"))]
    assert len(body) == 24
    assert body[0].split()[:4] == ["write", "64", "plain", "-"]
    assert all(1.95 < float(l.split("|")[-1]) < 2.05 for l in body)  # kpi/linux per cell


def test_table_shows_a_failed_cell_and_skipped_targets():
    doc = fake_results(cells=[Cell("rtt", 64, "plain", False)])
    doc["cells"][0].update(stats=None, samples=[], error="EIO boom")
    doc["skipped"] = [{"name": "kpi", "reason": "kpi target: not built yet"}]
    text = bench_report.table(doc)
    assert "(EIO boom)" in text and "skipped kpi: kpi target: not built yet" in text


def test_progress_line():
    line = bench_report.progress_line(3, 48, "rtt 64 B plain", 65.0, 125.0)
    assert line == "[cell 3/48] rtt 64 B plain  elapsed 1:05  ETA 2:05"
    assert "ETA ?" in bench_report.progress_line(1, 2, "x", 0.0, None)


def test_progress_prints_one_line_per_cell_off_a_terminal():
    out = io.StringIO()
    p = bench.Progress(2, 100.0, stream=out)
    p.update(1, "a rep 1/2", 25)
    p.update(1, "a done", 25, cell_done=True)
    p.update(2, "b done", 50, cell_done=True)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].startswith("[cell 1/2] a done") and "ETA 0:00" in lines[1]


def _cli(*args):
    return cli_main(["bench", *map(str, args)])


def test_compare_exit_status(tmp_path, capsys):
    base = tmp_path / "base.json"
    same = tmp_path / "same.json"
    slow = tmp_path / "slow.json"
    base.write_text(json.dumps(fake_results(seed=1)))
    same.write_text(json.dumps(fake_results(seed=2)))
    slow_doc = fake_results(seed=3, scale={"linux": 0.8})
    slow.write_text(json.dumps(slow_doc))
    assert _cli("--from", same, "--compare", base) == 0
    out = capsys.readouterr().out
    assert "24 cells compared, 0 regression(s)" in out
    assert _cli("--from", slow, "--compare", base, "--out", tmp_path / "o") == 1
    out = capsys.readouterr().out
    assert "REGRESSION" in out and "24 cells compared, 24 regression(s)" in out
    assert (tmp_path / "o" / "compare.csv").exists() and (tmp_path / "o" / "bench.png").exists()
    # a looser threshold lets the same 20% drop pass
    assert _cli("--from", slow, "--compare", base, "--threshold", "0.25") == 0


def test_compare_refuses_a_file_that_is_not_a_bench_result(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema": "something-else"}))
    good = tmp_path / "good.json"
    good.write_text(json.dumps(fake_results()))
    assert _cli("--from", good, "--compare", bad) == 2  # a bad input file is a usage error
    assert "not a tunlab bench results.json" in capsys.readouterr().err


def test_bad_arguments_exit_2(capsys):
    assert _cli("--kinds", "sideways") == 2
    assert _cli("--reps", "0") == 2
    assert _cli("--threshold", "10") == 2
    assert _cli("--overhead", "--overhead-cells", "rtt") == 2


# -- the overhead run's pieces ------------------------------------------------------------
def test_bare_arg_matches_bench_bare_c():
    assert bare_program.bare_arg(Cell("rtt", 64, "plain", False), 1000, 5, 300) == \
        "rtt,64,1000,reps=5,warmup=300,mtu=1500"
    assert bare_program.bare_arg(Cell("write", 9000, "header", True), 500, 3, 0) == \
        "write,9000,500,reps=3,warmup=0,mtu=9000,pi,bpf"


def test_parse_bare_lines_from_a_console_log():
    log = ("[    1.0] tun: Universal TUN/TAP device driver\n"
           "TUNLAB-BARE kind=rtt size=64 mode=plain bpf=0 rep=0 warmup=1 packets=10 bytes=640 ns=300 pps=5.000 mbps=1.000 errors=0\n"
           "TUNLAB-BARE kind=rtt size=64 mode=plain bpf=0 rep=1 warmup=0 packets=20 bytes=1280 ns=1000 pps=20.000 mbps=2.000 errors=0\r\n"
           "TUNLAB-BARE kind=rtt size=64 mode=plain bpf=0 rep=2 warmup=0 packets=22 bytes=1408 ns=1000 pps=22.000 mbps=2.200 errors=0\n"
           "TUNLAB-BARE done reps=2\ntunlab-init: starting agent on /dev/ttyS1\n")
    samples, err = bare_program.parse_bare_lines(log)
    assert err == "" and [s["pps"] for s in samples] == [20.0, 22.0] and samples[0]["kind"] == "rtt"
    samples, err = bare_program.parse_bare_lines("TUNLAB-BARE error step=open errno=ENOENT msg=-\n")
    assert samples == [] and err.startswith("error step=open")
    assert "did not finish" in bare_program.parse_bare_lines("nothing\n")[1]


def test_parse_overhead_cells():
    assert bench.parse_overhead_cells("rtt:64,write:1400:header") == [
        Cell("rtt", 64, "plain", False), Cell("write", 1400, "header", False)]
    with pytest.raises(ValueError):
        bench.parse_overhead_cells("rtt")
    with pytest.raises(ValueError, match="no bpf"):
        bench.parse_overhead_cells("write:1400:header:bpf")
    with pytest.raises(ValueError):
        bench.parse_overhead_cells("rtt:64:pi")


def test_overhead_table():
    from tunlab.bench_stats import overhead_figures
    ref = [{"pps": 100.0, "mbps": 1.0, "clocksource": "tsc"}, {"pps": 102.0, "mbps": 1.0, "clocksource": "tsc"}]
    ours = [{"pps": 98.0, "mbps": 1.0, "clocksource": "tsc"}, {"pps": 99.0, "mbps": 1.0, "clocksource": "hpet"}]
    doc = {"settings": {"reps": 2, "ms": 100}, "accel": "tcg", "target": "linux",
           "machine": {"load_start": "1"}, "env_start": {"clocksource": "tsc"}, "env_end": {"clocksource": "hpet"},
           "cells": [{**Cell("rtt", 64, "plain", False).as_dict(), **overhead_figures(ref, ours), "error": ""},
                     {**Cell("read", 64, "plain", False).as_dict(), "error": "boom"}]}
    text = bench.overhead_table(doc)
    assert "0.975" in text and "(boom)" in text
    assert "clock sources hpet,tsc!" in text and "changed during the run: tsc -> hpet" in text


def test_table_warns_when_the_clock_source_changed():
    doc = fake_results(cells=[Cell("rtt", 64, "plain", False)])
    doc["targets"][0]["env_start"] = {"clocksource": "tsc"}
    assert "linux: clock source tsc" in bench_report.table(doc)
    doc["cells"][0]["samples"][1]["clocksource"] = "hpet"
    assert "WARNING: linux's clock source changed during the run: tsc -> hpet" in bench_report.table(doc)


def test_table_says_when_the_agent_names_no_clock_source():
    # the kpi agent leaves clocksource= out of its replies: the table says so, with no warning
    doc = fake_results(labels=("kpi",), cells=[Cell("rtt", 64, "plain", False)])
    doc["targets"][0]["env_start"] = {"cpu": "x"}
    text = bench_report.table(doc)
    assert f"kpi: clock source {bench_report.NO_CLOCK}" in text and "WARNING" not in text
    over = {"settings": {"reps": 1, "ms": 100}, "accel": "none", "target": "kpi", "machine": {"load_start": "1"},
            "env_start": {"cpu": "x"}, "env_end": {"cpu": "x"}, "cells": []}
    text = bench.overhead_table(over)
    assert f"clock source {bench_report.NO_CLOCK}" in text and "changed during the run" not in text


def test_overhead_on_an_agent_without_the_reference_loop_is_a_setup_error(monkeypatch, tmp_path):
    # a stale image's agent (no benchenv, so no loop=ref) is the run's setup, not bad usage
    from types import MethodType, SimpleNamespace

    from tunlab.errors import SetupError
    from tunlab.guest import Guest
    from tunlab.runconfig import RunConfig

    stopped = []

    def start(self, log_dir):
        self.guest = SimpleNamespace(hello={"caps": "hello,bench"}, stop=lambda: stopped.append(1))
        self.guest.has_verb = MethodType(Guest.has_verb, self.guest)

    monkeypatch.setattr(bench.Side, "start", start)
    with pytest.raises(SetupError, match="no reference loop"):
        bench.run_overhead(RunConfig(), [Cell("rtt", 64, "plain", False)], 1, 10, 0, "tcg", tmp_path,
                           say=lambda _: None)
    assert stopped == [1]
