"""One description of a VM: the same GuestSpec fed to both builders (qemu.qemu_command and
libvirt_backend.domain_xml) gives the same machine. Each output is read back into one
normalized description (CPU, vCPUs, memory, machine, devices, what it boots, icount, gdb,
the user's options) and the two are compared. Every GuestSpec field is either part of the
VM's shape (VARIANTS: changing it must change both outputs, the same way) or named in
NOT_SHAPE with the reason: a new field that neither lists fails here until a builder
translates it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from tunlab.errors import SetupError
from tunlab.libvirt_backend import domain_xml
from tunlab.machine import DEFAULT_CPU, Drive, GuestSpec, resolve
from tunlab.qemu import qemu_command

QEMU_NS = "{http://libvirt.org/schemas/domain/qemu/1.0}"
CONSOLE, CONTROL = Path("/run/t/console.sock"), Path("/run/t/control.sock")

# GuestSpec fields that are not the VM's shape, and what they are instead.
NOT_SHAPE = {
    "target": "which target's console patterns and logs apply",
    "name": "QEMU's -name; libvirt's domain gets a unique name of its own (domain_name)",
    "program": "the process backend's command, no VM",
    "boot_timeout": "how long the harness waits for the agent",
    "driver": "what the agent's hello must report",
}

DISK = Drive(Path("/img/disk,1.qcow2"), fmt="qcow2")
CDROM = Drive(Path("/img/session.iso"), media="cdrom", readonly=True)
BASE = GuestSpec(target="linux", name="shape", kernel=Path("/img/vmlinux"),
                 initrd=Path("/img/initramfs.cpio"), append="console=ttyS0 panic=-1")

# One changed value per field of the VM's shape (different from BASE's).
VARIANTS: dict[str, Any] = {
    "kernel": Path("/img/other-vmlinux"),
    "initrd": Path("/img/other.cpio"),
    "append": "console=ttyS0 quiet",
    "drives": (DISK, CDROM),
    "memory_mb": 1024,
    "cpus": 2,
    "machine": "q35",
    "cpu_model": "Nehalem",
    "cpu_features": ("pmu=off", "x2apic=on", "vmx=off"),
    "icount": "shift=7,rr=record,rrfile=/run/t/replay.bin",
    "qemu_opts": ("-smbios", "type=1,serial=a&b"),
    "gdb_port": 4444,
}

# Several whole shapes: accelerators, vCPUs, memory, a disk + a CD-ROM, a kernel + initrd.
SHAPES = {
    "linux-tcg-1": BASE,
    "linux-tcg-2-icount": dataclasses.replace(BASE, cpus=2, memory_mb=384, icount=VARIANTS["icount"]),
    "dragonfly-disk-cd": GuestSpec(target="dragonfly", name="d", drives=(DISK, CDROM), machine="q35",
                                   cpus=2, memory_mb=1024),
    "dragonfly-kvm-cpu": GuestSpec(target="dragonfly", name="d", drives=(DISK, CDROM), machine="q35",
                                   cpus=2, memory_mb=2048, cpu_model="Nehalem", cpu_features=("pmu=off",)),
    "everything": dataclasses.replace(BASE, **VARIANTS),
}


def _controller(bus: str, machine: str) -> str:
    """The disk controller a bus name means: on q35, QEMU's if=ide and libvirt's sata are
    both the ICH9 AHCI."""
    return "ahci" if machine == "q35" and bus in ("ide", "sata") else bus


# -- the QEMU command line, read back ---------------------------------------------------------
def _qemu_opts(text: str) -> dict[str, str]:
    """QEMU's key=value,... syntax (a doubled comma is a comma in the value)."""
    parts, cur, i = [], "", 0
    while i < len(text):
        if text[i] == ",":
            if text[i + 1:i + 2] == ",":
                cur += ","
                i += 2
                continue
            parts.append(cur)
            cur = ""
        else:
            cur += text[i]
        i += 1
    parts.append(cur)
    return dict(p.partition("=")[::2] for p in parts)


def from_argv(cmd: list[str]) -> dict[str, Any]:
    """The machine a QEMU command line describes. The first option it does not know starts
    "extra" (the user's --qemu-opts, which the libvirt domain carries as qemu:commandline):
    an option a builder adds to only one side therefore shows up as a difference in "extra"."""
    d: dict[str, Any] = {"drives": [], "serials": [], "extra": [], "boot": {}}
    flags = {"-nodefaults", "-no-user-config", "-no-reboot"}
    chardevs: dict[str, str] = {}
    args = cmd[1:]
    i = 0
    while i < len(args):
        a = args[i]
        if a in flags:
            d.setdefault("flags", set()).add(a)
            i += 1
            continue
        v = args[i + 1]
        i += 2
        if a == "-machine":
            opts = _qemu_opts(v)
            d["machine"], d["accel"] = v.split(",")[0], opts["accel"]
        elif a == "-cpu":
            d["cpu"] = (v.split(",")[0], tuple(sorted(v.split(",")[1:])))
        elif a == "-m":
            d["memory_mb"] = int(v)
        elif a == "-smp":
            d["vcpus"] = int(v)
        elif a in ("-name", "-display"):
            pass
        elif a == "-chardev":
            opts = _qemu_opts(v)
            chardevs[opts["id"]] = opts["path"]
        elif a == "-serial":
            d["serials"].append(chardevs[v.removeprefix("chardev:")])
        elif a in ("-kernel", "-initrd", "-append"):
            d["boot"][a[1:]] = v
        elif a == "-drive":
            o = _qemu_opts(v)
            d["drives"].append((o["file"], o["media"], o["format"], o.get("readonly") == "on",
                                _controller(o["if"], d["machine"]), int(o["index"])))
        elif a == "-icount":
            d["icount"] = v
        elif a == "-gdb":
            d["gdb"] = v
        else:
            # everything after the builder's own options is the user's --qemu-opts
            d["extra"] = args[i - 2:]
            break
    return d


# -- the libvirt domain, read back -------------------------------------------------------------
_BUS_PREFIX = {"ide": "hd", "virtio": "vd", "sata": "sd"}
_IGNORED_DEVICES = {("controller", "none"), ("memballoon", "none")}  # QEMU's -nodefaults


def from_xml(xml: str) -> dict[str, Any]:
    """The machine a libvirt domain describes, in from_argv's terms."""
    dom = ET.fromstring(xml)
    d: dict[str, Any] = {"drives": [], "serials": [], "extra": [], "boot": {}}
    d["accel"] = {"kvm": "kvm", "qemu": "tcg"}[dom.get("type")]
    d["machine"] = dom.find("os/type").get("machine")
    for tag in ("kernel", "initrd"):
        if dom.findtext(f"os/{tag}"):
            d["boot"][tag] = dom.findtext(f"os/{tag}")
    if dom.findtext("os/cmdline"):
        d["boot"]["append"] = dom.findtext("os/cmdline")
    assert dom.find("memory").get("unit") == "MiB"
    d["memory_mb"] = int(dom.findtext("memory"))
    d["vcpus"] = int(dom.findtext("vcpu"))
    cpu = dom.find("cpu")
    model = {"host-passthrough": "host", "maximum": "max"}.get(cpu.get("mode")) or cpu.findtext("model")
    feats = [f"{f.get('name')}={'on' if f.get('policy') == 'require' else 'off'}" for f in cpu.findall("feature")]
    feats += [f"{f.tag}={f.get('state')}" for f in dom.find("features") if f.tag != "acpi"]
    d["cpu"] = (model, tuple(sorted(feats)))
    if {dom.findtext(t) for t in ("on_reboot", "on_crash", "on_poweroff")} == {"destroy"}:
        d["flags"] = {"-nodefaults", "-no-user-config", "-no-reboot"}
    for dev in dom.find("devices"):
        if dev.tag == "disk":
            target = dev.find("target")
            bus = target.get("bus")
            letter = "abcdefghijklmnopqrstuvwxyz".index(target.get("dev")[len(_BUS_PREFIX[bus]):])
            index = len(d["drives"])
            assert letter == index, f"{target.get('dev')}: the drive's slot is its place in the spec"
            d["drives"].append((dev.find("source").get("file"), dev.get("device"),
                                dev.find("driver").get("type"), dev.find("readonly") is not None,
                                _controller(bus, d["machine"]), index))
        elif dev.tag == "serial":
            assert dev.find("target").get("type") == "isa-serial"
            d["serials"].append(dev.find("source").get("path"))
        elif (dev.tag, dev.get("model")) not in _IGNORED_DEVICES:
            d.setdefault("other_devices", []).append(dev.tag)
    args = [a.get("value") for a in dom.findall(f"{QEMU_NS}commandline/{QEMU_NS}arg")]
    while args[:1] and args[0] in ("-icount", "-gdb"):
        d[args[0][1:]] = args[1]
        args = args[2:]
    d["extra"] = args
    return d


def describe_both(spec: GuestSpec, accel: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return (from_argv(qemu_command(spec, accel, CONSOLE, CONTROL)),
            from_xml(domain_xml(spec, accel, "tunlab-shape-1-1-abcdef", CONSOLE, CONTROL)))


# -- the tests ---------------------------------------------------------------------------------
def test_every_field_is_either_shape_or_said_not_to_be():
    fields = {f.name for f in dataclasses.fields(GuestSpec)}
    unaccounted = fields - set(VARIANTS) - set(NOT_SHAPE)
    assert not unaccounted, (f"GuestSpec fields {sorted(unaccounted)}: add them to VARIANTS (and "
                             f"to both builders) or to NOT_SHAPE with the reason")
    assert not (set(VARIANTS) | set(NOT_SHAPE)) - fields  # no stale names either


@pytest.mark.parametrize("accel", ["tcg", "kvm"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_both_builders_describe_the_same_machine(shape, accel):
    argv, xml = describe_both(SHAPES[shape], accel)
    assert argv == xml
    assert argv["accel"] == accel and argv["serials"] == [str(CONSOLE), str(CONTROL)]
    assert "other_devices" not in xml  # nothing attached that QEMU's command line lacks


@pytest.mark.parametrize("field", sorted(VARIANTS))
def test_each_shape_field_reaches_both_builders(field):
    """Changing one field changes both descriptions, and they still agree."""
    changed = dataclasses.replace(BASE, **{field: VARIANTS[field]})
    for accel in ("tcg", "kvm"):
        base_argv, base_xml = describe_both(BASE, accel)
        argv, xml = describe_both(changed, accel)
        assert argv == xml, f"{field}: the QEMU command line and the domain differ"
        assert argv != base_argv, f"{field}: neither builder changes the machine it describes"


@pytest.mark.parametrize("accel", sorted(DEFAULT_CPU))
def test_the_accelerator_default_cpu_is_decided_in_resolve(accel):
    assert resolve(BASE, accel).cpu_model == DEFAULT_CPU[accel]
    assert resolve(dataclasses.replace(BASE, cpu_model="Nehalem"), accel).cpu_model == "Nehalem"
    argv, xml = describe_both(BASE, accel)
    assert argv["cpu"] == xml["cpu"] == (DEFAULT_CPU[accel], ())


def test_a_cpu_named_once_on_the_command_line():
    # the old override relied on QEMU keeping the last -cpu of two
    cmd = qemu_command(SHAPES["dragonfly-kvm-cpu"], "kvm", CONSOLE, CONTROL)
    assert [cmd[i + 1] for i, a in enumerate(cmd) if a == "-cpu"] == ["Nehalem,pmu=off"]


def test_a_comma_in_a_drive_path_is_escaped_for_qemu():
    cmd = qemu_command(dataclasses.replace(BASE, drives=(DISK,)), "tcg", CONSOLE, CONTROL)
    assert cmd[cmd.index("-drive") + 1].startswith("file=/img/disk,,1.qcow2,format=qcow2,")


@pytest.mark.parametrize("bad, why", [
    (dict(cpu_features=("+pmu",)), "name=on or name=off"),
    (dict(cpu_model="Nehalem,pmu=off"), "cpu_features"),
    (dict(cpus=0), "at least 1"),
    (dict(drives=(Drive(Path("/s.img"), interface="scsi"),)), "use interface ide or virtio"),
    (dict(drives=(Drive(Path("/s.img"), interface="sata"),)), "use interface ide or virtio"),
    (dict(drives=(Drive(Path("/f.img"), media="floppy"),)), "media disk or cdrom"),
])
def test_a_shape_the_builders_cannot_express_is_refused(bad, why):
    spec = dataclasses.replace(BASE, **bad)
    for build in (lambda: qemu_command(spec, "tcg", CONSOLE, CONTROL),
                  lambda: domain_xml(spec, "tcg", "tunlab-x-1-1-abcdef", CONSOLE, CONTROL)):
        with pytest.raises(SetupError, match=why):
            build()
    with pytest.raises(SetupError, match="accelerator"):
        resolve(BASE, "hvf")
