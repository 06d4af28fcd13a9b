"""The VM a real libvirt daemon starts from domain_xml is the one qemu_command describes: the
QEMU process libvirt launched (its /proc cmdline) has the spec's CPU model and features,
vCPUs, memory, machine type, icount and drives on the slots QEMU's own `if=ide,index=i`
gives them (on q35, the AHCI port i). The domains start and sit in the firmware (blank
disks); nothing is booted. test_vm_description.py compares the two builders' text; this
checks that libvirt turns its half into the same QEMU."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from tunlab import libvirt_daemon
from tunlab.errors import TargetUnavailable
from tunlab.libvirt_backend import LibvirtMachine
from tunlab.machine import Drive, GuestSpec
from tunlab.qemu import qemu_command

pytestmark = pytest.mark.vm


@pytest.fixture(scope="module")
def daemon() -> Iterator[None]:
    cm = libvirt_daemon.running()
    try:
        cm.__enter__()
    except TargetUnavailable as e:  # libvirt cannot run on this machine; other errors fail
        pytest.skip(str(e))
    yield
    cm.__exit__(None, None, None)


def _values(cmd: list[str], flag: str) -> list[str]:
    return [cmd[i + 1] for i, a in enumerate(cmd) if a == flag]


def _ide_slots(cmd: list[str]) -> list[tuple[str, str]]:
    """(file, slot) of each IDE/AHCI drive of libvirt's command line, in slot order: slot
    "ide.B/U" (bus, unit); the file through -blockdev node names."""
    files, formats = {}, {}
    for b in _values(cmd, "-blockdev"):
        d = json.loads(b)
        if d["driver"] == "file":
            files[d["node-name"]] = d["filename"]
        else:
            formats[d["node-name"]] = files[d["file"]]
    slots = []
    for dev in _values(cmd, "-device"):
        if dev.startswith("{") and json.loads(dev)["driver"] in ("ide-hd", "ide-cd"):
            d = json.loads(dev)
            slots.append((formats[d["drive"]], f"{d['bus']}/{d.get('unit', 0)}"))
    return sorted(slots, key=lambda s: s[1])


def _qemu_slots(spec: GuestSpec) -> list[tuple[str, str]]:
    """Where QEMU's if=ide,index=i puts drive i: on q35 the AHCI port i (ide.i, unit 0), on
    pc bus i//2, unit i%2."""
    q35 = spec.machine == "q35"
    return sorted(((str(d.path), f"ide.{i}/0" if q35 else f"ide.{i // 2}/{i % 2}")
                   for i, d in enumerate(spec.drives)), key=lambda s: s[1])


def _shapes(tmp: Path) -> dict[str, GuestSpec]:
    disk, cd, disk2 = tmp / "disk.img", tmp / "cd.iso", tmp / "disk2.img"
    for f in (disk, disk2):
        f.write_bytes(bytes(1 << 20))
    cd.write_bytes(bytes(2048 * 16))
    drives = (Drive(disk), Drive(cd, media="cdrom", readonly=True))
    return {
        "dragonfly-q35-named-cpu": GuestSpec(target="dragonfly", name="dfly", machine="q35", cpus=2,
                                             memory_mb=320, cpu_model="Nehalem",
                                             cpu_features=("pmu=off",), drives=drives),
        "pc-icount-three-drives": GuestSpec(target="dragonfly", name="pc", cpus=1, memory_mb=256,
                                            icount="shift=7", drives=drives + (Drive(disk2),)),
    }


@pytest.mark.parametrize("shape", ["dragonfly-q35-named-cpu", "pc-icount-three-drives"])
def test_libvirt_starts_the_qemu_that_qemu_command_describes(daemon, tmp_path, shape):
    spec = _shapes(tmp_path)[shape]
    want = qemu_command(spec, "tcg", Path("/c"), Path("/d"))
    m = LibvirtMachine(spec, tmp_path / "run", "tcg")
    try:
        m.start(60)
        assert m.pid is not None, "libvirt's QEMU is not on this host"
        got = Path(f"/proc/{m.pid}/cmdline").read_bytes().decode().split("\0")
    finally:
        m.kill()
    assert _values(got, "-cpu") == _values(want, "-cpu")
    assert [v.split(",")[0] for v in _values(got, "-smp")] == _values(want, "-smp")
    assert _values(got, "-m")[0].split(",")[0] == _values(want, "-m")[0]
    machine = _values(got, "-machine")[0]
    assert machine.startswith({"q35": "pc-q35-", "pc": "pc-i440fx-"}[spec.machine]), machine
    assert _values(got, "-icount") == _values(want, "-icount")
    assert _ide_slots(got) == _qemu_slots(spec)
