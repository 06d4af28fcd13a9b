"""`tunlab bench` end to end on the linux target: a tiny matrix in a real guest (with `--vs
kpi`), and the overhead run (the tunlab loops against the reference loops in one guest)."""

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


def test_overhead_run_alternates_the_reference_and_tunlab_loops(tmp_path, capsys):
    out = tmp_path / "overhead"
    status = cli_main(["bench", "--overhead", "--overhead-cells", "rtt:64,read:1400", "--reps", "2",
                       "--ms", "200", "--warmup-ms", "50", "--out", str(out)])
    printed = capsys.readouterr()
    assert status == 0, printed.out + printed.err
    doc = json.loads((out / "overhead.json").read_text())
    assert doc["schema"] == "tunlab-bench-overhead/2" and doc["target"] == "linux"
    # what can change a figure is recorded: the guest's clock source and its kernel's tsc lines
    env = doc["env_start"]
    assert env["clocksource"] in env["clocksources"].split(",")
    assert any("tsc" in line for line in env["clock_log"]) and env["cpu"]
    for cell in doc["cells"]:
        assert cell["error"] == "" and len(cell["ref"]) == 2 and len(cell["tunlab"]) == 2, cell
        for s in cell["ref"] + cell["tunlab"]:
            assert s["packets"] > 0 and s["errors"] == 0 and s["clocksource"] == env["clocksource"], s
        assert "rtt_avg_ns" not in cell["ref"][0]  # the reference loop times nothing per packet
        assert cell["ratio"] > 0 and len(cell["pair_ratios"]) == 2
    assert "rtt/64/plain/-" in printed.out and "read/1400/plain/-" in printed.out
