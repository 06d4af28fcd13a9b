"""Targets and the run configuration: every option reaches the guest, the guest's driver is
checked against the one asked for, and a new target is one registered class."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tunlab import image_dragonfly as img
from tunlab import targets
from tunlab.errors import SetupError, TargetUnavailable, UsageError
from tunlab.guest import Guest
from tunlab.machine import GuestSpec
from tunlab.paths import REPO
from tunlab.runconfig import RunConfig

def test_a_path_to_another_driver_is_its_source_hash(tmp_path):
    for name in ("if_tun.c", "if_tun.h", "if_tunvar.h"):
        shutil.copy2(REPO / "driver" / name, tmp_path / name)
    a = targets.driver_choice(str(tmp_path)).driver_id
    assert a == targets.driver_choice(str(tmp_path / "if_tun.c")).driver_id
    assert a.startswith("src:") and a != targets.driver_choice("ours").driver_id
    with open(tmp_path / "if_tunvar.h", "a") as f:
        f.write("/* changed */\n")
    assert targets.driver_choice(str(tmp_path)).driver_id != a


def _fake_agent(tmp_path: Path, driver: str) -> GuestSpec:
    """A stand-in agent that announces itself and answers hello naming `driver`."""
    script = tmp_path / "fake_agent.py"
    script.write_text(
        "import sys, time\n"
        "print('TL1 0 log msg=ready', flush=True)\n"
        "line = sys.stdin.readline()\n"
        f"print('TL1 ' + line.split()[1] + ' ok proto=1 driver={driver}', flush=True)\n"
        "time.sleep(30)\n")
    return GuestSpec(target="kpi", name="fake", program=(sys.executable, str(script)),
                     driver="ours:0123456789ab")


def test_a_guest_running_another_driver_is_a_setup_error_naming_both(tmp_path):
    with pytest.raises(SetupError) as e:
        Guest.boot(_fake_agent(tmp_path, "src:ba9876543210"), backend="process", run_dir=tmp_path)
    assert "src:ba9876543210" in str(e.value) and "ours:0123456789ab" in str(e.value)


def test_the_driver_asked_for_boots(tmp_path):
    g = Guest.boot(_fake_agent(tmp_path, "ours:0123456789ab"), backend="process", run_dir=tmp_path)
    try:
        assert g.hello["driver"] == "ours:0123456789ab" and not g.broken
    finally:
        g.stop()


@pytest.mark.parametrize("cfg,why", [
    (RunConfig(target="bogus"), "unknown target 'bogus'"),
    (RunConfig(target="kpi", backend="bogus"), "unknown VM backend 'bogus'"),
])
def test_unknown_names_are_usage_errors(cfg, why):
    with pytest.raises(UsageError, match=why):
        cfg.validate()


@pytest.mark.parametrize("cfg,why", [
    (RunConfig(target="kpi", driver="stock"), "give the path"),
    (RunConfig(target="linux", driver="stock"), "Linux kernel's own tun"),
])
def test_a_driver_the_target_cannot_run_is_a_usage_error(cfg, why):
    with pytest.raises(UsageError, match=why):
        targets.plan(cfg)


def test_dragonfly_without_an_image_is_unavailable_with_the_command(tmp_path, monkeypatch):
    monkeypatch.setattr(img, "IMAGES", tmp_path / "none")
    with pytest.raises(TargetUnavailable, match="make image GUEST=dragonfly"):
        targets.plan(RunConfig(target="dragonfly"))


STANDIN = '''
"""A fourth target for the test: the kpi agent under another name."""
from tunlab import image_dragonfly as img
from tunlab import targets
from tunlab.crash_patterns import KPI_CONSOLE
from tunlab.machine import GuestSpec
from tunlab.targets import kpi


class StandIn(targets.Target):
    name = "standin"
    summary = "the kpi agent, registered as a new target"
    console = KPI_CONSOLE
    tun_api = "bsd"
    uses_vm = False

    def guest_spec(self, cfg, accel):
        agent = kpi.agent_binary(cfg)
        return GuestSpec(target=self.name, name="standin", program=(str(agent), "--stdio"))


targets.register(StandIn())
'''


def test_a_fourth_target_is_one_registered_class(tmp_path):
    (tmp_path / "standin_target.py").write_text(STANDIN)
    out = tmp_path / "rows.json"
    env = dict(os.environ, PYTHONPATH=f"{REPO / 'harness'}:{tmp_path}")
    env.pop("TUNLAB_TARGET", None)
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "standin_target",
         "--target", "standin", "--tunlab-logs", str(tmp_path / "logs"), f"--conformance-json={out}",
         str(REPO / "harness/tests/conformance/test_ioctl.py"), "-k", "I1_"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0 and "1 passed" in res.stdout, res.stdout[-3000:] + res.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["column"] == "standin/ours" and data["rows"]["I1"] == "pass"
    # its guest's logs are the new target's
    assert list((tmp_path / "logs").rglob("guest/agent.log"))
