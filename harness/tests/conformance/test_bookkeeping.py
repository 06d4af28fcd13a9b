"""The row bookkeeping the suite relies on (harness/tunlab/conformance.py): a test that checks
a part of a row the stock driver shares (`row(..., stock="same")`) is not an expected failure
against the stock driver, and a --collect-only run leaves the last summary alone."""

import json
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

# harness-only (no guest): run with the fast kpi tier, so a dragonfly run is all guest tests
pytestmark = pytest.mark.target("kpi")

ROW_TESTS = '''
import pytest

@pytest.mark.row("O6")
def test_o6_lost_wakeup():
    assert False, "lost wakeup"

@pytest.mark.row("O6", stock="same")
def test_o6_eagain():
    pass
'''


def _run(pytester, monkeypatch, *args):
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    pytester.makepyfile(test_rows=ROW_TESTS)
    out = pytester.path / "summary.json"
    result = pytester.runpytest_subprocess("-p", "tunlab.pytest_plugin", "-p", "tunlab.conformance",
                                           f"--conformance-json={out}", *args)
    return result, out


def test_a_part_the_stock_driver_shares_is_not_an_expected_failure(pytester, monkeypatch):
    result, out = _run(pytester, monkeypatch, "--target", "dragonfly", "--driver", "stock")
    outcomes = result.parseoutcomes()
    assert outcomes.get("xfailed") == 1 and outcomes.get("passed") == 1, outcomes
    assert json.loads(out.read_text())["rows"]["O6"] == "expected failure"
    assert result.ret == 0


def test_collect_only_writes_no_summary(pytester, monkeypatch):
    result, out = _run(pytester, monkeypatch, "--target", "kpi", "--collect-only")
    assert result.ret == 0 and not out.exists()
