"""`tunlab bench` end to end on the linux target: a tiny matrix in a real guest (with `--vs
kpi`, skipped with targets' reason while kpi cannot run), and the overhead run, whose /init
runs the bare loop program before the agent."""

import csv
import json

import pytest

from tunlab.cli import main as cli_main

pytestmark = [pytest.mark.target("linux"), pytest.mark.vm]


def test_tiny_matrix_writes_every_file(tmp_path, capsys):
    out = tmp_path / "bench"
    status = cli_main(["bench", "--vs", "kpi", "--kinds", "write,read,rtt", "--sizes", "64,9000",
                       "--modes", "plain,header", "--bpf", "off,on", "--reps", "2", "--ms", "100",
                       "--warmup-ms", "50", "--out", str(out)])
    printed = capsys.readouterr()
    assert status == 0, printed.out + printed.err
    doc = json.loads((out / "results.json").read_text())
    assert doc["schema"] == "tunlab-bench/1" and doc["accel"] in ("tcg", "kvm")
    assert doc["qemu"].startswith("QEMU") and doc["git"]["commit"]
    assert doc["targets"][0]["label"] == "linux" and doc["targets"][0]["kernel"].startswith("Linux")
    # the kpi target runs wherever a C compiler does: both sides were measured
    assert doc["skipped"] == [] and [t["label"] for t in doc["targets"]] == ["linux", "kpi"]
    assert len([c for c in doc["cells"] if c["target"] == "kpi"]) == 24
    cells = [c for c in doc["cells"] if c["target"] == "linux"]
    assert len(cells) == 24
    for c in cells:
        assert c["error"] == "" and len(c["samples"]) == 2 and c["warmup"], c
        assert c["stats"]["median_pps"] > 0 and c["stats"]["errors"] == 0, c
        assert c["mtu"] == (9000 if c["size"] == 9000 else 1500)
        if c["bpf"]:
            assert c["stats"]["bpf_read"] > 0
    assert len(list(csv.DictReader(open(out / "cells.csv")))) == len(doc["cells"])
    assert (out / "bench.png").read_bytes()[:4] == b"\x89PNG"
    assert "[cell 24/24]" in printed.err  # the progress line
    assert "write     64  plain  -" in printed.out  # the table

    # the same run as its own baseline: nothing regresses
    assert cli_main(["bench", "--from", str(out / "results.json"), "--compare", str(out / "results.json")]) == 0


def test_overhead_run_reads_the_bare_loop_from_the_console(tmp_path, capsys):
    out = tmp_path / "overhead"
    status = cli_main(["bench", "--overhead", "--overhead-cells", "rtt:64", "--reps", "2", "--ms", "200",
                       "--warmup-ms", "50", "--out", str(out)])
    printed = capsys.readouterr()
    assert status == 0, printed.out + printed.err
    doc = json.loads((out / "overhead.json").read_text())
    cell = doc["cells"][0]
    assert cell["bare_arg"] == "rtt,64,200,reps=2,warmup=50,mtu=1500"
    assert len(cell["bare"]) == 2 and len(cell["agent"]) == 2
    # the same loops with and without the agent around them: the same order of magnitude
    assert 0.5 < cell["ratio"] < 2.0
    assert "rtt/64/plain/-" in printed.out
