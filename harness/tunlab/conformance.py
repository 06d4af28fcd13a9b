"""The conformance suite's bookkeeping: tests name their TUN-SPEC row with
@pytest.mark.row("W4"); against the stock driver the rows where stock differs are strict
expected failures; after a run, a rows x targets summary is printed and written as JSON.
A test that checks only a part of such a row that the stock driver shares says so with
@pytest.mark.row("O6", stock="same") and is not expected to fail.

`tunlab conformance-summary FILE...` merges the JSON of several runs (kpi, dragonfly/ours,
dragonfly/stock) into one table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from tunlab import safetext
from tunlab.errors import SetupError, UsageError

from tunlab.driver_source import FEATURES
from tunlab.paths import BUILD, REPO
from tunlab.runconfig import RunConfig, to_argv
from tunlab.spec_rows import BY_ID, ROWS, needs
from tunlab.targets import DriverChoice, driver_choice

# When one row has several tests, the cell shows the worst of their outcomes; an expected
# failure outranks a pass (a row's stock-only difference shows even when its other tests,
# marked stock="same", pass).
_RANK = ["fail", "unexpected pass", "expected failure", "pass", "n/a", "skip"]


def register(config: pytest.Config) -> None:
    """Called by the tunlab plugin (pytest_plugin.py), which registers all the options."""
    config.addinivalue_line("markers", "row(id, stock='same'?): the TUN-SPEC.md row this test "
                            "checks (stock='same': a part of it the stock driver shares)")
    config.pluginmanager.register(Conformance(config), "tunlab-conformance")


def column(config: pytest.Config) -> str:
    from tunlab import targets
    from tunlab.pytest_plugin import run_config
    cfg = run_config(config)
    return targets.get(cfg.target).column(cfg)


def expectation(row_id: str, driver: DriverChoice, shared: bool = False) -> pytest.MarkDecorator | None:
    """What a row's test must do on `driver`: nothing special (pass), n/a (a skip saying
    why: a feature the row needs is missing, or TUN-SPEC's column for that stock version
    says n/a), or fail (a strict expected failure: TUN-SPEC's column says that stock version
    differs; `shared`: the test checks a part of the row every stock version shares)."""
    row = BY_ID[row_id]
    missing = [f for f in needs(row_id) if f not in driver.features]
    if missing:
        return pytest.mark.skip(reason=f"n/a: the driver has no {', '.join(missing)} "
                                       f"({'; '.join(FEATURES[f] for f in missing)})")
    if driver.version is None:
        return None
    if row.na(driver.version):
        return pytest.mark.skip(reason=f"n/a: TUN-SPEC {row_id}, {driver.version}: "
                                       f"{row.note(driver.version)}")
    if row.differs(driver.version) and not shared:
        return pytest.mark.xfail(strict=True, reason=f"TUN-SPEC {row_id}, {driver.version}: "
                                                     f"{row.note(driver.version)}")
    return None


def _outcome(report: pytest.TestReport) -> str | None:
    if hasattr(report, "wasxfail"):
        return "expected failure" if report.skipped else "unexpected pass"
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        return reason if reason.startswith("n/a: ") else "skip: " + reason
    if report.failed:
        return "unexpected pass" if "XPASS(strict)" in str(report.longrepr) else "fail"
    return "pass" if report.when == "call" else None


def cell(outcomes: list[str]) -> str:
    """The worst outcome of a row's tests (skips keep their reason)."""
    if not outcomes:
        return "no test"
    return min(outcomes, key=lambda o: _RANK.index(o.split(":")[0]))


def render(columns: dict[str, dict[str, str]]) -> str:
    """A text table: one line per row, one column per run, the row's title last; the
    reasons of skips and n/a cells listed below it."""
    names = list(columns)
    width = max([18] + [len(n) + 2 for n in names])
    lines = ["row  " + "".join(n.ljust(width) for n in names) + "title"]
    reasons: dict[str, int] = {}
    for row in ROWS:
        cells = []
        for n in names:
            c = columns[n].get(row.id, "no test")
            kind, sep, why = c.partition(": ")
            if sep and kind in ("skip", "n/a"):
                c = f"{kind} [{reasons.setdefault(why, len(reasons) + 1)}]"
            cells.append(c.ljust(width))
        lines.append(f"{row.id:<5}" + "".join(cells) + row.title)
    for reason, idx in reasons.items():
        lines.append(f"[{idx}] {reason}")
    return "\n".join(lines)


class Conformance:
    """Collects each row-marked test's outcome during a run."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.row_of: dict[str, str] = {}  # test node id -> row id
        self.results: dict[str, list[str]] = {}
        self.logs: dict[str, str] = {}  # test node id -> its log directory
        self.test_outcomes: dict[str, list[str]] = {}  # test node id -> its phases' outcomes
        self.interrupted = False

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        driver = self.driver()
        for item in items:
            marker = item.get_closest_marker("row")
            if not marker:
                continue
            row_id = marker.args[0]
            if row_id not in BY_ID:
                raise pytest.UsageError(f"{item.nodeid}: unknown TUN-SPEC row {row_id!r}")
            self.row_of[item.nodeid] = row_id
            expect = expectation(row_id, driver, shared=marker.kwargs.get("stock") == "same")
            if expect:
                item.add_marker(expect)

    def driver(self) -> DriverChoice:
        from tunlab.pytest_plugin import run_config
        return driver_choice(run_config(self.config).driver)

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        from tunlab.pytest_plugin import LOGS_KEY  # set by the plugin's own (tryfirst) hook
        logs = item.stash.get(LOGS_KEY, None)
        if item.nodeid in self.row_of and logs is not None:
            self.logs[item.nodeid] = str(Path(logs).absolute())

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        row_id = self.row_of.get(report.nodeid)
        outcome = _outcome(report)
        if row_id and outcome:
            self.results.setdefault(row_id, []).append(outcome)
            self.test_outcomes.setdefault(report.nodeid, []).append(outcome)

    def tests(self) -> dict[str, list[dict[str, str]]]:
        """Per row, its tests: node id, outcome (cell()) and log directory ("" if none), for
        the HTML report (tunlab/report.py) to link each cell to its logs and capture."""
        out: dict[str, list[dict[str, str]]] = {}
        for nodeid, outcomes in self.test_outcomes.items():
            out.setdefault(self.row_of[nodeid], []).append(
                {"test": nodeid, "outcome": cell(outcomes), "logs": self.logs.get(nodeid, "")})
        return out

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.results:
            return  # nothing ran (--collect-only, --fixtures, every row deselected)
        col = column(self.config)
        cells = {row.id: cell(self.results.get(row.id, [])) for row in ROWS}
        terminalreporter.section("TUN-SPEC conformance")
        terminalreporter.write_line(render({col: cells}))
        # The default file stands for the whole suite: a partial run (-k, a file, an
        # interrupted run) writes it only where --conformance-json says.
        path = self.config.getoption("conformance_json")
        complete = all(self.results.get(row.id) for row in ROWS) and not self.interrupted
        if path is None and complete:
            path = BUILD / "conformance" / f"{col.replace('/', '-')}.json"
        if path is None:
            terminalreporter.write_line("(a partial run: no JSON written; --conformance-json "
                                        "FILE writes it anyway)")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"column": col, "complete": complete, "rows": cells,
                                    "tests": self.tests()}, indent=2) + "\n")
        terminalreporter.write_line(f"(JSON: {path})")

    def pytest_keyboard_interrupt(self) -> None:
        self.interrupted = True


def load_file(f: Path) -> dict:
    """A conformance JSON file whole: column, rows, complete, and (since the HTML report)
    tests (UsageError naming a file that is not one)."""
    try:
        data = json.loads(f.read_text())
        column, rows = data["column"], data["rows"]
        if not isinstance(column, str) or not isinstance(rows, dict):
            raise TypeError("column is not a name or rows not a table")
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise UsageError(f"{f}: not a conformance summary ({e})") from None
    return data


def load(files: list[Path]) -> dict[str, dict[str, str]]:
    """The columns of conformance JSON files (UsageError naming a file that is not one)."""
    return {data["column"]: data["rows"] for data in map(load_file, files)}


def merge(files: list[Path]) -> str:
    return render(load(files))


# -- several drivers, and a baseline ------------------------------------------------------------
SUITE = REPO / "harness" / "tests" / "conformance"


def run_suite(cfg: RunConfig, driver: str, out: Path, extra: list[str] | None = None,
              say: Callable[[str], None] = print) -> tuple[str, dict[str, str]]:
    """The conformance suite on one driver, in a pytest of its own with `cfg`'s other run
    options (--cpu, --smp, ...): its column's name and row cells, as the run's JSON says.
    Its output goes to out/<label>.log."""
    target = cfg.target
    out.mkdir(parents=True, exist_ok=True)
    label = driver_choice(driver).label
    json_path, log = out / f"{label}.json", out / f"{label}.log"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--target", target,
           "--driver", driver, *to_argv(cfg, skip=("--target", "--driver")), "-m", "not mutation",
           f"--conformance-json={json_path}", "--tunlab-logs", str(out / f"{label}-logs"),
           str(SUITE), *(extra or [])]
    say(f"tunlab conformance: {target}/{label}: running the suite ({log})")
    env = dict(os.environ, PYTHONPATH=str(REPO / "harness"))
    with open(log, "w") as f:
        res = subprocess.run(cmd, cwd=REPO, env=env, stdout=f, stderr=subprocess.STDOUT)
    if not json_path.exists():
        raise SetupError(f"the suite on driver {driver} wrote no row summary (pytest exit "
                         f"{res.returncode}); see {log}:\n{safetext.quote(log.read_text(errors='replace'), 3000)}")
    data = load_file(json_path)
    return data["column"], data["rows"]


def verdict(cell: str) -> str:
    """A cell as a plain verdict of the driver, whatever was expected of it."""
    kind = cell.split(":")[0]
    return {"pass": "pass", "unexpected pass": "pass", "fail": "fail",
            "expected failure": "fail"}.get(kind, "n/a")


def compare(baseline: dict[str, str], new: dict[str, str]) -> dict[str, list[str]]:
    """Rows fixed, broken and unchanged from `baseline` to `new` (rows n/a on either side
    are unchanged)."""
    out: dict[str, list[str]] = {"fixed": [], "broke": [], "unchanged": []}
    for row in ROWS:
        a, b = verdict(baseline.get(row.id, "no test")), verdict(new.get(row.id, "no test"))
        key = ("fixed" if (a, b) == ("fail", "pass") else
               "broke" if (a, b) == ("pass", "fail") else "unchanged")
        out[key].append(row.id)
    return out


def unexpected(column: dict[str, str]) -> list[str]:
    """Rows whose cell is not what this driver's expectations say (a failure, or an
    unexpected pass of a row a stock version is known to fail)."""
    return [r for r, c in column.items() if c.split(":")[0] in ("fail", "unexpected pass")]
