"""The conformance bookkeeping: row markers, strict expected failures against the stock
driver, the rows x targets summary and its JSON."""

import json
from pathlib import Path

from tunlab.conformance import merge

pytest_plugins = ["pytester"]

ROW_TESTS = '''
import pytest

@pytest.mark.row("W1")
def test_w1():
    pass

@pytest.mark.row("W3")
def test_w3_ok():
    pass

@pytest.mark.row("W4")
def test_w4_fails():
    assert False, "chain leaked"

@pytest.mark.row("L1")
def test_l1():
    pytest.skip("needs a devfs listing")
'''


# A row where the stock driver shares one part (stock="same") and differs in another.
SHARED_PART_TESTS = '''
import pytest

@pytest.mark.row("O6")
def test_o6_lost_wakeup():
    assert False, "lost wakeup"

@pytest.mark.row("O6", stock="same")
def test_o6_eagain():
    pass
'''


def _run_raw(pytester, monkeypatch, *args, tests=ROW_TESTS):
    """Runs `tests` with the plugins; returns the result and where the summary JSON goes."""
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    pytester.makepyfile(test_rows=tests)
    out = pytester.path / "summary.json"
    result = pytester.runpytest_subprocess("-p", "tunlab.pytest_plugin", f"--conformance-json={out}",
                                           *args)
    return result, out


def _run(pytester, monkeypatch, *args):
    result, out = _run_raw(pytester, monkeypatch, *args)
    return result, json.loads(out.read_text())


def test_our_driver_column(pytester, monkeypatch):
    result, data = _run(pytester, monkeypatch, "--target", "kpi")
    assert data["column"] == "kpi/ours"
    rows = data["rows"]
    assert rows["W1"] == "pass" and rows["W3"] == "pass" and rows["W4"] == "fail"
    assert rows["L1"] == "skip: needs a devfs listing"
    assert rows["K1"] == "no test"
    text = result.stdout.str()
    assert "TUN-SPEC conformance" in text and "[1] needs a devfs listing" in text
    assert result.ret != 0  # W4 failed


def test_stock_driver_rows_that_differ_must_fail(pytester, monkeypatch):
    result, data = _run(pytester, monkeypatch, "--target", "dragonfly", "--driver", "stock")
    rows = data["rows"]
    assert data["column"] == "dragonfly/stock"
    assert rows["W4"] == "expected failure"   # stock differs and fails: as expected
    assert rows["W3"] == "unexpected pass"    # stock differs but passed: reported
    assert rows["W1"] == "pass"               # stock behaves like ours
    assert result.ret != 0                    # the unexpected pass fails the run


def test_merge_puts_columns_side_by_side(tmp_path):
    a = tmp_path / "a.json"
    b = tmp_path / "b.json"
    a.write_text(json.dumps({"column": "kpi/ours", "rows": {"W1": "pass"}}))
    b.write_text(json.dumps({"column": "dragonfly/ours", "rows": {"W1": "skip: no ISO"}}))
    table = merge([a, b])
    w1 = next(line for line in table.splitlines() if line.startswith("W1"))
    assert "pass" in w1 and "skip [1]" in w1
    assert "[1] no ISO" in table


def test_a_part_the_stock_driver_shares_is_not_an_expected_failure(pytester, monkeypatch):
    result, out = _run_raw(pytester, monkeypatch, "--target", "dragonfly", "--driver", "stock",
                           tests=SHARED_PART_TESTS)
    outcomes = result.parseoutcomes()
    assert outcomes.get("xfailed") == 1 and outcomes.get("passed") == 1, outcomes
    assert json.loads(out.read_text())["rows"]["O6"] == "expected failure"
    assert result.ret == 0


def test_collect_only_writes_no_summary(pytester, monkeypatch):
    result, out = _run_raw(pytester, monkeypatch, "--target", "kpi", "--collect-only")
    assert result.ret == 0 and not out.exists()
