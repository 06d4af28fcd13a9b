"""The pytest plugin as a user meets it: a failing test names its console log, agent log
and pcap, and JUnit XML carries them."""

from pathlib import Path

import pytest

from tunlab.paths import CACHE

pytest_plugins = ["pytester"]
pytestmark = [pytest.mark.target("linux"), pytest.mark.vm]

FAILING = '''
from tunlab import checks
from tunlab.packets import LOCAL, PEER

def test_fails_after_traffic(tun):
    checks.icmp_echo_roundtrip(tun, LOCAL, PEER)
    assert tun.info().int("mtu") == 1234, "deliberate failure"
'''


def test_failure_output_points_to_the_logs(pytester, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    # pytester gives the run a HOME of its own: keep the cache (pinned guest packages) ours
    monkeypatch.setenv("TUNLAB_CACHE", str(CACHE))  # read before pytester moved HOME
    pytester.makepyfile(test_user=FAILING)
    xml = tmp_path / "junit.xml"
    logs = tmp_path / "logs"
    result = pytester.runpytest_subprocess("-p", "tunlab.pytest_plugin", "--target", "linux",
                                           f"--tunlab-logs={logs}", f"--junitxml={xml}")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "deliberate failure" in out
    assert "tunlab logs" in out
    for name in ("console.log", "agent.log", "packets.pcap"):
        assert name in out
        assert list(logs.rglob(name)), f"no {name} written"
    agent_log = next(logs.rglob("agent.log")).read_text()
    assert ">> TL1" in agent_log and "ifinfo" in agent_log
    junit = xml.read_text()
    assert 'name="tunlab_log"' in junit and "packets.pcap" in junit
