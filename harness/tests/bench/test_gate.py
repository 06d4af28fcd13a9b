"""The callgrind gate (tunlab.bench_gate): its parsing and rule, and, end to end, that it
catches a deliberately slowed build of a small program (gate_demo.c)."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tunlab import bench_gate

HERE = Path(__file__).parent

CALLGRIND_OUT = """# callgrind format
version: 1
creator: callgrind-3.19.0
cmd: ./gate_demo 2000
events: Ir
summary: 612345
fn=(1) main
5 100
totals: 612345
"""


def test_parse_callgrind_total():
    assert bench_gate.parse_callgrind_total(CALLGRIND_OUT) == 612345
    assert bench_gate.parse_callgrind_total("events: Ir\nsummary: 7\n") == 7
    with pytest.raises(bench_gate.GateError):
        bench_gate.parse_callgrind_total("events: Ir\n")
    with pytest.raises(bench_gate.GateError):
        bench_gate.parse_callgrind_total("events: Dr Ir\ntotals: 5 6\n")


@pytest.mark.parametrize("base,new,verdict", [
    (100.0, 100.0, "ok"), (100.0, 109.9, "ok"), (100.0, 110.1, "REGRESSION"),
    (100.0, 200.0, "REGRESSION"), (100.0, 89.0, "improved")])
def test_verdict(base, new, verdict):
    assert bench_gate.verdict(base, new, 0.10) == verdict


@pytest.fixture(scope="module")
def demo_builds(tmp_path_factory):
    """gate_demo built twice: as it is, and slowed (-DWORK=2: twice the work per packet)."""
    if not shutil.which("valgrind"):
        pytest.skip("valgrind not installed: run `make deps`")
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        pytest.skip("no C compiler")
    d = tmp_path_factory.mktemp("gate")
    builds = {}
    for name, flags in (("normal", []), ("slowed", ["-DWORK=2"])):
        out = d / f"gate_demo-{name}"
        subprocess.run([cc, "-std=c11", "-O1", "-Wall", "-Wextra", "-Werror", *flags, "-o", str(out),
                        str(HERE / "gate_demo.c")], check=True)
        builds[name] = str(out)
    return builds


def gate(*args):
    return bench_gate.main([str(a) for a in args])


def test_gate_passes_the_same_build_and_catches_the_slowed_one(demo_builds, tmp_path, capsys):
    base = tmp_path / "baseline.json"
    assert gate("--baseline", base, "--name", "demo", "--update", "--", demo_builds["normal"], "{n}") == 0
    doc = json.loads(base.read_text())
    recorded = doc["entries"]["demo"]["ir_per_packet"]
    assert doc["schema"] == "tunlab-bench-gate/1" and 50 < recorded < 5000
    assert doc["entries"]["demo"]["method"] == "slope n=2000..4000"

    out = tmp_path / "same.json"
    assert gate("--baseline", base, "--name", "demo", "--json", out, "--", demo_builds["normal"], "{n}") == 0
    same = json.loads(out.read_text())
    assert same["verdict"] == "ok" and same["ratio"] == pytest.approx(1.0, abs=0.001)  # deterministic

    out = tmp_path / "slow.json"
    assert gate("--baseline", base, "--name", "demo", "--json", out, "--", demo_builds["slowed"], "{n}") == 1
    slow = json.loads(out.read_text())
    assert slow["verdict"] == "REGRESSION" and 1.5 < slow["ratio"] < 2.5
    assert "REGRESSION" in capsys.readouterr().out


def test_single_run_counts_packets_from_the_output(demo_builds):
    m = bench_gate.measure([demo_builds["normal"], "3000"])
    assert m["method"] == "total/packets" and m["runs"][0]["packets"] == 3000
    # start-up is included in a single run, so it costs more per packet than the slope
    slope = bench_gate.measure([demo_builds["normal"], "{n}"])
    assert m["ir_per_packet"] > slope["ir_per_packet"]


def test_gate_set_up_errors_exit_2(demo_builds, tmp_path, capsys):
    base = tmp_path / "baseline.json"
    assert gate("--baseline", base, "--name", "missing", "--", demo_builds["normal"], "{n}") == 2
    assert "no entry 'missing'" in capsys.readouterr().err
    gate("--baseline", base, "--name", "demo", "--update", "--", demo_builds["normal"], "{n}")
    # a baseline taken one way is not compared with a figure taken another way
    assert gate("--baseline", base, "--name", "demo", "--", demo_builds["normal"], "3000") == 2
    assert gate("--baseline", base, "--name", "demo", "--", "false") == 2


def test_a_run_that_reports_errors_gives_no_figure(demo_builds, tmp_path, capsys):
    """A fixed-work run whose packets failed (the bare program's errors=) is not measured."""
    script = tmp_path / "errs.sh"
    script.write_text("#!/bin/sh\necho 'TUNLAB-BARE kind=rtt packets=3000 errors=0'\n"
                      "echo 'TUNLAB-BARE kind=rtt packets=0 errors=1'\n")
    script.chmod(0o755)
    with pytest.raises(bench_gate.GateError, match="reported errors"):
        bench_gate.measure([str(script)])
    assert gate("--baseline", tmp_path / "b.json", "--name", "x", "--update", "--", script) == 2
