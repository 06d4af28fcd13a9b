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

needs_iso_tools = pytest.mark.skipif(
    not (shutil.which("qemu-img") and shutil.which("genisoimage") and shutil.which("isoinfo")),
    reason="needs qemu-img, genisoimage and isoinfo: run `make deps`")


def _fake_dragonfly_image(tmp_path: Path) -> Path:
    """An image directory as image_dragonfly makes it (manifest + a disk layer)."""
    image = tmp_path / "images" / "6.4.2-0123"
    layer = tmp_path / "images" / "layers" / "configure-0123"
    layer.mkdir(parents=True)
    image.mkdir(parents=True)
    img.qemu_img_create(layer / "disk.qcow2", None, "1G")
    (image / "manifest.json").write_text(json.dumps({
        "release": "6.4.2", "disk": os.path.relpath(layer / "disk.qcow2", image),
        "hardware": json.loads(json.dumps(img.asdict(img.HW))), "recipe": img.recipe_hash()}))
    return image


def _iso_file(iso: Path, name: str) -> str:
    return subprocess.run(["isoinfo", "-R", "-i", str(iso), "-x", name], capture_output=True,
                          text=True, check=True).stdout


def _iso_listing(iso: Path) -> list[str]:
    return subprocess.run(["isoinfo", "-R", "-f", "-i", str(iso)], capture_output=True, text=True,
                          check=True).stdout.split()


@needs_iso_tools
def test_driver_stock_and_accel_tcg_reach_the_dragonfly_session(tmp_path, monkeypatch):
    monkeypatch.setattr("tunlab.targets.dragonfly.BUILD", tmp_path / "build")
    image = _fake_dragonfly_image(tmp_path)
    plan = targets.plan(RunConfig(target="dragonfly", driver="stock", accel="tcg", image=image))
    assert plan.accel == "tcg" and plan.backend == "qemu" and plan.column == "dragonfly/stock"
    assert "-cpu" not in plan.spec.extra_args  # TCG: qemu_command's own CPU model
    assert plan.spec.driver == "stock:"
    cd = plan.spec.drives[1].path
    conf = _iso_file(cd, "/tunlab-session.conf")
    assert "driver=stock\n" in conf and "driver_id=stock:\n" in conf
    assert not [n for n in _iso_listing(cd) if n.startswith("/driver/")]  # nothing to build


@needs_iso_tools
def test_driver_ours_and_kvm_give_our_sources_and_the_kvm_cpu(tmp_path, monkeypatch):
    monkeypatch.setattr("tunlab.targets.dragonfly.BUILD", tmp_path / "build")
    image = _fake_dragonfly_image(tmp_path)
    cfg = RunConfig(target="dragonfly", driver="ours", accel="kvm", image=image)
    target = targets.get("dragonfly")
    spec = target.guest_spec(cfg, "kvm")  # plan() would refuse kvm where /dev/kvm is unusable
    assert spec.extra_args == ("-cpu", img.HW.kvm_cpu)
    cd = spec.drives[1].path
    want = target.expected_driver(cfg)
    assert want.startswith("ours:") and len(want) == len("ours:") + 12
    assert f"driver=ours\ndriver_id={want}\n" in _iso_file(cd, "/tunlab-session.conf")
    assert _iso_file(cd, "/driver/if_tun.c") == (REPO / "driver" / "if_tun.c").read_text()
    assert "/driver/Makefile" in _iso_listing(cd)


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
