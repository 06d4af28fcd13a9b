"""SMP DragonFly guests without the ISO: the vCPUs of a session guest (the image's hardware,
--smp, and a race row's vcpus(2)) reach the QEMU command line and the libvirt domain, and a
race row's guest is planned apart from the run's (its own overlay and session CD). Whether
the stock driver's lost wakeup (O6) shows on a 2-vCPU guest needs the real image:
`pytest --target dragonfly --driver stock -k O6 harness/tests/conformance`."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from test_image import _fake_image, needs_tools
from tunlab import image_dragonfly as img
from tunlab import targets
from tunlab.libvirt_backend import domain_xml
from tunlab.pytest_plugin import CONFIG_KEY, GuestPool
from tunlab.qemu import qemu_command
from tunlab.runconfig import RunConfig


def _vcpus(spec, accel: str = "tcg") -> tuple[str, str]:
    """The vCPUs as QEMU's -smp and as libvirt's <vcpu> say them."""
    cmd = qemu_command(spec, accel, Path("/r/c"), Path("/r/d"))
    xml = domain_xml(spec, accel, "tunlab-d-1-1-abcdef", Path("/r/c"), Path("/r/d"))
    return cmd[cmd.index("-smp") + 1], xml.split("<vcpu placement='static'>")[1].split("<")[0]


def _pool(cfg: RunConfig) -> GuestPool:
    """A guest pool of a pytest run with `cfg` (only planning is used: nothing boots)."""
    config = SimpleNamespace(stash={CONFIG_KEY: cfg}, getoption=lambda name, default=None: default)
    return GuestPool(config)  # type: ignore[arg-type]


@pytest.fixture
def image(tmp_path, monkeypatch):
    monkeypatch.setattr("tunlab.targets.dragonfly.BUILD", tmp_path / "build")
    return _fake_image(tmp_path)[0]


@needs_tools
def test_the_image_hardware_gives_session_guests_two_vcpus(image):
    assert img.HW.cpus == 2
    spec = targets.plan(RunConfig(target="dragonfly", driver="stock", accel="tcg", image=image)).spec
    assert spec.cpus == 2 and _vcpus(spec) == ("2", "2")


@needs_tools
@pytest.mark.parametrize("accel", ["tcg", "kvm"])
def test_smp_reaches_the_session_command_line_and_domain(image, accel):
    cfg = RunConfig(target="dragonfly", driver="stock", accel="tcg", image=image, smp=3)
    spec = targets.get("dragonfly").guest_spec(cfg, accel)  # plan() refuses kvm without /dev/kvm
    assert _vcpus(targets.plan(cfg).spec) == ("3", "3")
    assert spec.cpus == img.HW.cpus  # the image's own, until --smp is applied by plan()


@needs_tools
def test_a_race_row_on_a_one_vcpu_run_gets_a_two_vcpu_guest_of_its_own(image):
    pool = _pool(RunConfig(target="dragonfly", driver="stock", accel="tcg", image=image, smp=1))
    run, race = pool.plan(), pool.plan(vcpus=2)
    assert _vcpus(run.spec) == ("1", "1") and _vcpus(race.spec) == ("2", "2")
    assert pool.plan(vcpus=2) is race  # planned once
    assert pool.plan() is run and pool.plan(vcpus=1) is run
    # its own overlay and session CD: the run's guest is never disturbed
    assert {d.path for d in run.spec.drives}.isdisjoint(d.path for d in race.spec.drives)
    assert race.spec.drives[0].path.exists() and race.spec.drives[1].path.exists()
    assert race.spec.driver == run.spec.driver == "stock:"


@needs_tools
def test_a_run_with_enough_vcpus_keeps_its_guest_for_the_race_rows(image):
    pool = _pool(RunConfig(target="dragonfly", driver="stock", accel="tcg", image=image))
    assert pool.plan(vcpus=2) is pool.plan()  # the image's two vCPUs: no second guest


def test_the_marker_means_nothing_on_kpi():
    pool = _pool(RunConfig(target="kpi"))
    pool._plan = plan = SimpleNamespace(spec=SimpleNamespace(cpus=1))  # no agent build needed
    assert pool.plan(vcpus=2) is plan
