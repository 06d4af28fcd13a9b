"""Repro files and the fuzzer on kpi, end to end: a driver with O5 broken fails its
conformance test, the repro.txt it leaves reproduces the failure on that driver, not on
ours, and minimizes; a short fuzz run of our driver is guided by the driver's coverage,
ends with a summary and leaves nothing running; a planted leak is found by a leak repro;
the agent's cov verb counts the driver's edges."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tunlab import repro
from tunlab.paths import REPO
from tunlab.runconfig import RunConfig

pytestmark = [pytest.mark.target("kpi"), pytest.mark.slow]

O5_OLD = """	/* A zero-length read must not eat a packet. */
	if (uio->uio_resid == 0)
		return (0);
"""
W4_OLD = """		/* The whole chain, not just its first mbuf. */
		m_freem(m);"""
W4_NEW = """		/* MUTATION W4: only the first mbuf. */
		m_free(m);"""


def _mutant(where: Path, old: str, new: str) -> Path:
    where.mkdir(parents=True)
    for f in ("if_tun.h", "if_tunvar.h"):
        shutil.copy2(REPO / "driver" / f, where / f)
    text = (REPO / "driver" / "if_tun.c").read_text()
    assert text.count(old) == 1, "driver/if_tun.c changed: update this test's mutation"
    (where / "if_tun.c").write_text(text.replace(old, new))
    return where


def _tunlab(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "harness"))
    return subprocess.run([sys.executable, "-m", "tunlab", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_a_failing_tests_repro_reproduces_on_its_driver_not_on_ours_and_minimizes(tmp_path):
    driver = _mutant(tmp_path / "o5", O5_OLD, "")
    env = dict(os.environ, PYTHONPATH=str(REPO / "harness"))
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "--target", "kpi", "--driver", str(driver), "--tunlab-logs", str(tmp_path / "logs"),
                          "harness/tests/conformance/test_output.py::test_O5_zero_length_read_returns_0_and_keeps_the_packet"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 1, f"the O5 mutant passed its test:\n{res.stdout[-2000:]}"
    assert "tunlab repro" in res.stdout
    files = list((tmp_path / "logs").rglob("repro.txt"))
    assert len(files) == 1, res.stdout[-2000:]
    r = repro.load(files[0])
    assert r.failure == repro.Failure("check") and r.reference == "ours"
    assert r.driver == str(driver) and r.driver_id.startswith("src:")
    assert r.steps[-1].line() == "ioctl h=1 req=FIONREAD" and r.steps[-1].reply == "ok ret=0 value=0"
    out = _tunlab("repro", str(files[0]), "--logs", str(tmp_path / "replays"))
    assert out.returncode == 0 and "REPRODUCED" in out.stdout, out.stdout + out.stderr
    out = _tunlab("repro", str(files[0]), "--driver", "ours", "--logs", str(tmp_path / "replays-ours"))
    assert out.returncode == 1 and "NOT REPRODUCED" in out.stdout, out.stdout + out.stderr
    small = tmp_path / "small.txt"
    out = _tunlab("repro", str(files[0]), "--minimize", "--out", str(small), "--max-runs", "80",
                  "--logs", str(tmp_path / "replays-min"))
    assert out.returncode == 0, out.stdout + out.stderr
    m = repro.load(small)
    assert len(m.steps) < len(r.steps)
    verbs = [s.verb for s in m.steps]
    assert verbs[-1] == "ioctl" and "read" in verbs and "send" in verbs, m.render()
    # and the minimized file still reproduces by itself
    out = _tunlab("repro", str(small), "--logs", str(tmp_path / "replays-small"))
    assert out.returncode == 0 and "REPRODUCED" in out.stdout, out.stdout + out.stderr


def test_a_leak_repro_finds_the_planted_w4_leak_and_not_on_ours(tmp_path):
    driver = _mutant(tmp_path / "w4", W4_OLD, W4_NEW)
    big = "00000063" + "45" * 5000  # header mode, an unknown family, a chain of mbufs (> 2048)
    steps = [repro.Step("open", (), "ok h=1 ifname=tun0"),
             repro.Step("ioctl", (("h", "1"), ("req", "TUNSIFHEAD"), ("value", "1")), "ok ret=0"),
             repro.Step("write", (("h", "1"), ("data", big)), "err EAFNOSUPPORT errno=97")]
    r = repro.Repro(target="kpi", driver=str(driver), failure=repro.Failure("leak", "mbufs"), steps=steps)
    cfg = RunConfig(target="kpi", driver=str(driver))
    rp = repro.Replayer(r, cfg, tmp_path / "replays", None)
    assert rp.reproduces(steps)
    assert rp.last is not None and rp.last.leaked.get("mbufs", 0) > 0
    # the frames as sent, for the agent under gdb (README, "Reproducing a bug")
    frames = (tmp_path / "replays" / "0001-replay" / "requests.tl").read_text().splitlines()
    assert [f.split()[2] for f in frames][:4] == ["hello", "kstat", "open", "ioctl"]
    assert frames[4].startswith("TL1 5 write h=1 data=00000063")
    ours = repro.Replayer(r, cfg.with_(driver="ours"), tmp_path / "replays-ours", None)
    assert not ours.reproduces(steps)
    small = repro.minimize(rp, max_runs=40)
    assert [s.verb for s in small] == ["open", "ioctl", "write"]


def test_a_short_fuzz_run_reports_saves_each_finding_with_its_repro_and_leaves_nothing_running(tmp_path):
    driver = "ours"
    out = _tunlab("fuzz", "--target", "kpi", "--driver", driver, "--duration", "8", "--seed", "3",
                  "--minimize-runs", "10", "--out", str(tmp_path / "fz"), timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    summary = json.loads((tmp_path / "fz" / "summary.json").read_text())
    assert summary["execs"] > 20 and summary["programs"] > 1
    assert "execs/s" in out.stdout and "findings" in out.stdout
    # guided by the driver's edges: the progress line shows them, the corpus holds the
    # programs that added one
    assert summary["guided"] and 0 < summary["edges"] <= summary["edges_total"], summary
    assert " driver edges" in out.stdout and "cov " in out.stdout
    corpus = list((tmp_path / "fz" / "corpus").glob("*.json"))
    assert summary["corpus"] == len(corpus) > 0
    assert len(summary["findings"]) == len({f["title"] for f in summary["findings"]})  # deduplicated
    for f in summary["findings"]:
        d = Path(f["directory"])
        r = repro.load(d / "repro.txt")
        assert r.failure.kind in repro.KINDS and r.driver == driver
        if f["reproduced"]:
            assert len(repro.load(d / "repro.min.txt").steps) <= len(r.steps)
    ps = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True)
    assert ps.stdout.strip() == "", f"left running: {ps.stdout}"


def test_the_san_agents_cov_verb_counts_the_drivers_edges_since_a_reset(tmp_path):
    from tunlab.targets.kpi import agent_binary
    agent = agent_binary(RunConfig(target="kpi", driver="ours"))
    script = "TL1 1 cov op=reset\nTL1 2 cov\nTL1 3 open\nTL1 4 cov\nTL1 5 cov op=reset\nTL1 6 cov\nTL1 7 cov op=x\n"
    res = subprocess.run([str(agent), "--stdio"], input=script, capture_output=True, text=True, timeout=60)
    replies = {int(line.split()[1]): line for line in res.stdout.splitlines() if not line.startswith("TL1 0 ")}
    fields = {i: dict(t.split("=", 1) for t in replies[i].split()[3:]) for i in (1, 2, 4, 6)}
    total = int(fields[1]["total"])
    assert total > 100 and all(int(f["total"]) == total for f in fields.values())
    assert len(fields[2]["map"]) == 2 * ((total + 7) // 8)
    hit_open = int(fields[4]["hit"])
    assert int(fields[2]["hit"]) == 0 < hit_open == bin(int.from_bytes(bytes.fromhex(fields[4]["map"]), "little")).count("1")
    assert int(fields[6]["hit"]) == 0
    assert replies[7].startswith("TL1 7 err EARG")
