"""Every capture of a kpi conformance run decodes in tcpdump (and tshark where installed):
no undecodable frame, in any framing (plain, header mode, link-layer mode). The run is a
pytest of its own over harness/tests/conformance (TUNLAB_ROUNDTRIPS=2000 keeps O6 short);
TUNLAB_CAPTURE_RUN=DIR checks the captures of an earlier run's --tunlab-logs DIR instead."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tunlab.paths import REPO
from tunlab.pcap_check import survey

pytestmark = [pytest.mark.target("kpi"), pytest.mark.slow]


def _conformance_run(out: Path) -> Path:
    given = os.environ.get("TUNLAB_CAPTURE_RUN")
    if given:
        return Path(given)
    logs = out / "logs"
    env = dict(os.environ, PYTHONPATH=str(REPO / "harness"), TUNLAB_ROUNDTRIPS="2000")
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "--target", "kpi", "--tunlab-logs", str(logs),
                          f"--conformance-json={out / 'rows.json'}", "-m", "not mutation",
                          str(REPO / "harness" / "tests" / "conformance")],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    assert res.returncode == 0, f"the conformance run failed:\n{res.stdout[-3000:]}{res.stderr[-2000:]}"
    return logs


@pytest.mark.skipif(not shutil.which("tcpdump"), reason="tcpdump is not installed (apt-get install tcpdump)")
def test_every_capture_of_a_conformance_run_decodes(tmp_path, capsys):
    root = _conformance_run(tmp_path)
    s = survey(root)
    with capsys.disabled():
        print("\n" + s.table())
    assert s.files >= 30, f"only {s.files} captures under {root}"
    assert not s.problems, "\n".join(s.problems)
    assert s.total("undecodable") == 0
    for framing in ("raw", "header", "link"):
        assert s.counts.get(framing, {}).get("decoded", 0) > 0, f"no {framing} frame decoded:\n{s.table()}"
