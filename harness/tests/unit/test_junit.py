"""JUnit XML as CI servers read it (kpi target, no VM): a failing test case carries one
[[ATTACHMENT|path]] line per log file in <system-out>, every file named exists; a test of a
TUN-SPEC row carries a `row` property, failing or not; a passing test has no attachments."""

from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

pytest_plugins = ["pytester"]

TESTS = '''
import pytest

@pytest.mark.row("W1")
def test_row_fails(guest):
    guest.agent.request("nop")
    assert False, "deliberate failure"

@pytest.mark.row("W3")
def test_row_passes(guest):
    guest.agent.request("nop")

def test_plain_fails_in_teardown(request, guest):
    request.addfinalizer(lambda: (_ for _ in ()).throw(RuntimeError("teardown broke")))
'''


@pytest.mark.parametrize("logging", ["no", "system-out"])
def test_attachments_and_row_properties(pytester, monkeypatch, tmp_path, logging):
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    pytester.makepyfile(test_junit_user=TESTS)
    xml = tmp_path / "junit.xml"
    result = pytester.runpytest_subprocess("-p", "tunlab.pytest_plugin", "--target", "kpi",
                                           f"--tunlab-logs={tmp_path / 'logs'}", f"--junitxml={xml}",
                                           "-o", f"junit_logging={logging}")
    result.assert_outcomes(failed=1, passed=2, errors=1)
    cases = {c.get("name"): c for c in ET.parse(xml).getroot().iter("testcase")}

    def props(case):
        return [(p.get("name"), p.get("value")) for p in case.iter("property")]

    def attachments(case):
        text = "".join(s.text or "" for s in case.iter("system-out"))
        return [ln[len("[[ATTACHMENT|"):-2] for ln in text.splitlines()
                if ln.startswith("[[ATTACHMENT|") and ln.endswith("]]")]

    failing = cases["test_row_fails"]
    assert ("row", "W1") in props(failing)
    files = attachments(failing)
    names = {Path(f).name for f in files}
    assert {"console.log", "agent.log"} <= names, files
    assert all(Path(f).is_absolute() and Path(f).is_file() for f in files)
    assert len(failing.findall("system-out")) == 1

    passing = cases["test_row_passes"]
    assert ("row", "W3") in props(passing) and attachments(passing) == []

    # A teardown error is a failure of the test case too: its logs are attached.
    broken = [c for name, c in cases.items() if name == "test_plain_fails_in_teardown"]
    assert broken and any("agent.log" in " ".join(attachments(c)) for c in broken)
    assert not any(n == "row" for c in broken for n, _ in props(c))
