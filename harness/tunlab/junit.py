"""JUnit XML extras for CI servers (pytest_plugin.py calls these): a failing test case
gets one `[[ATTACHMENT|/absolute/path]]` line per log file in its <system-out> (the
convention of Jenkins' JUnit Attachments plugin and GitLab's test reports), and every test
of a TUN-SPEC row gets a `row` property (beside pytest's own `tunlab_log` properties).

pytest's junitxml plugin has no public call for <system-out>: with junit_logging set to
write captured output there, the lines go in as a captured-output section (so there is one
<system-out>); otherwise they are added to the test case's node directly, through the
junitxml plugin's node reporter (pytest 7's `_pytest.junitxml.xml_key`). A pytest without
either leaves JUnit as it is (harness/tests/unit/test_junit.py would then fail).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

ATTACHMENT = "[[ATTACHMENT|{}]]"
_SYSTEM_OUT_MODES = ("system-out", "out-err", "all")


def row_properties(item: pytest.Item) -> None:
    """A `row` user property for each @pytest.mark.row the test carries."""
    for mark in item.iter_markers("row"):
        if mark.args:
            prop = ("row", str(mark.args[0]))
            if prop not in item.user_properties:
                item.user_properties.append(prop)


def attachment_lines(logs: Path) -> str:
    """One attachment line per file under a test's log directory (absolute paths)."""
    if not logs.exists():
        return ""
    files = sorted(p.resolve() for p in logs.rglob("*") if p.is_file())
    return "".join(ATTACHMENT.format(f) + "\n" for f in files)


def _logxml(config: pytest.Config) -> Any:
    try:
        from _pytest.junitxml import xml_key
    except ImportError:
        return None
    return config.stash.get(xml_key, None)


def attach_logs(item: pytest.Item, report: pytest.TestReport, logs: Path) -> None:
    """Called with a failing test's teardown report (its logs are complete then): put the
    attachment lines where JUnit's <system-out> gets them."""
    text = attachment_lines(logs)
    xml = _logxml(item.config)
    if not text or xml is None:
        return
    if getattr(xml, "logging", "no") in _SYSTEM_OUT_MODES:
        report.sections.append(("Captured stdout teardown", text))
        return
    try:
        reporter = xml.node_reporter(report)
        node = ET.Element("system-out")
        node.text = text
        reporter.append(node)
    except AttributeError:  # another pytest's junitxml
        return
