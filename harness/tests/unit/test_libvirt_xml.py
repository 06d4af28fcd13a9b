"""The libvirt domain XML generated from a GuestSpec (no libvirt daemon, no python3-libvirt)."""

import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from tunlab.errors import SetupError
from tunlab.libvirt_backend import NAME_RE, NAMESPACE, absolute_paths, domain_name, domain_xml
from tunlab.machine import BACKENDS, Drive, GuestSpec

QEMU_NS = "{http://libvirt.org/schemas/domain/qemu/1.0}"
LINUX = GuestSpec(target="linux", name="tunlab-linux-abc", kernel=Path("/img/vmlinux"),
                  initrd=Path("/img/initramfs.cpio"), append="console=ttyS0 panic=-1", memory_mb=384, cpus=2)


def _xml(spec: GuestSpec = LINUX, accel: str = "tcg", **kw) -> ET.Element:
    return ET.fromstring(domain_xml(spec, accel, "tunlab-x-1-1-abcdef", Path("/run/d/console.sock"),
                                    Path("/run/d/control.sock"), **kw))


def test_the_backend_is_registered():
    assert "libvirt" in BACKENDS and "qemu" in BACKENDS


def test_tcg_is_a_qemu_domain_with_the_maximum_cpu():
    d = _xml(accel="tcg")
    assert d.get("type") == "qemu"
    assert d.find("cpu").get("mode") == "maximum"


def test_kvm_is_a_kvm_domain_with_the_host_cpu():
    d = _xml(accel="kvm")
    assert d.get("type") == "kvm"
    assert d.find("cpu").get("mode") == "host-passthrough"


def test_unknown_accelerator_is_refused():
    with pytest.raises(SetupError, match="accelerator"):
        _xml(accel="hvf")


def test_kernel_boot_memory_and_vcpus_come_from_the_spec():
    d = _xml()
    assert d.findtext("name") == "tunlab-x-1-1-abcdef"
    assert d.find("memory").get("unit") == "MiB" and d.findtext("memory") == "384"
    assert d.findtext("vcpu") == "2"
    os_ = d.find("os")
    assert os_.find("type").get("machine") == "pc" and os_.findtext("type") == "hvm"
    assert os_.findtext("kernel") == "/img/vmlinux"
    assert os_.findtext("initrd") == "/img/initramfs.cpio"
    assert os_.findtext("cmdline") == "console=ttyS0 panic=-1"
    assert os_.find("boot") is None  # the kernel is booted directly
    assert d.find("features/acpi") is not None  # the guest powers off through ACPI


def test_reboot_and_crash_end_the_domain_like_no_reboot():
    d = _xml()
    assert d.findtext("on_poweroff") == "destroy"
    assert d.findtext("on_reboot") == "destroy"
    assert d.findtext("on_crash") == "destroy"


def test_two_serial_ports_console_first_as_unix_sockets():
    serials = _xml().findall("devices/serial")
    assert len(serials) == 2
    for port, (s, path) in enumerate(zip(serials, ("/run/d/console.sock", "/run/d/control.sock"))):
        assert s.get("type") == "unix"
        assert s.find("source").get("mode") == "bind"  # QEMU listens; the harness connects
        assert s.find("source").get("path") == path
        assert s.find("target").get("port") == str(port)
        assert s.find("target").get("type") == "isa-serial"


def test_no_network_unless_asked():
    assert _xml().find("devices/interface") is None
    iface = _xml(network="user").find("devices/interface")
    assert iface.get("type") == "user"
    with pytest.raises(SetupError):
        _xml(network="bridge")


def test_no_extra_devices():
    devices = _xml().find("devices")
    assert devices.find("memballoon").get("model") == "none"
    assert devices.find("controller[@type='usb']").get("model") == "none"
    assert devices.find("disk") is None and devices.find("graphics") is None


def test_drives_in_fixed_order_with_boot_from_disk_then_cdrom():
    spec = GuestSpec(target="dragonfly", name="d", drives=(
        Drive(Path("/disk.qcow2"), fmt="qcow2"),
        Drive(Path("/a.iso"), media="cdrom", readonly=True),
        Drive(Path("/src.iso"), media="cdrom", readonly=True)))
    d = _xml(spec)
    disks = d.findall("devices/disk")
    assert [x.find("source").get("file") for x in disks] == ["/disk.qcow2", "/a.iso", "/src.iso"]
    assert [x.get("device") for x in disks] == ["disk", "cdrom", "cdrom"]
    # QEMU's if=ide,index=0,1,2 are hda, hdb, hdc.
    assert [x.find("target").get("dev") for x in disks] == ["hda", "hdb", "hdc"]
    assert all(x.find("target").get("bus") == "ide" for x in disks)
    assert disks[0].find("driver").get("type") == "qcow2" and disks[0].find("readonly") is None
    assert disks[1].find("driver").get("type") == "raw" and disks[1].find("readonly") is not None
    assert [b.get("dev") for b in d.findall("os/boot")] == ["hd", "cdrom"]
    assert d.find("os/kernel") is None


def test_virtio_drives_are_named_in_their_own_order():
    spec = GuestSpec(target="linux", name="v", drives=(
        Drive(Path("/a.img"), interface="virtio"), Drive(Path("/b.iso"), media="cdrom"),
        Drive(Path("/c.img"), interface="virtio")))
    devs = [x.find("target").get("dev") for x in _xml(spec).findall("devices/disk")]
    assert devs == ["vda", "hdb", "vdb"]


def test_ide_drives_on_q35_are_the_ahci_ports_in_spec_order():
    # q35 has no IDE: QEMU puts if=ide,index=i on the ICH9 AHCI's port i, libvirt's sata unit i
    spec = GuestSpec(target="dragonfly", name="q", machine="q35", drives=(
        Drive(Path("/d.qcow2"), fmt="qcow2"), Drive(Path("/a.iso"), media="cdrom"), Drive(Path("/b.iso"), media="cdrom")))
    targets = [x.find("target") for x in _xml(spec).findall("devices/disk")]
    assert [(t.get("dev"), t.get("bus")) for t in targets] == [("sda", "sata"), ("sdb", "sata"), ("sdc", "sata")]


def test_unsupported_drive_interface_is_named():
    spec = GuestSpec(target="linux", name="f", drives=(Drive(Path("/f.img"), interface="floppy"),))
    with pytest.raises(SetupError, match="floppy"):
        _xml(spec)


def test_special_characters_are_escaped():
    spec = GuestSpec(target="linux", name="e", kernel=Path("/a&b/<k>"), append="x='1' y=\"2\" & z<3")
    d = _xml(spec)
    assert d.findtext("os/kernel") == "/a&b/<k>"
    assert d.findtext("os/cmdline") == "x='1' y=\"2\" & z<3"


def test_icount_goes_to_qemu_commandline():
    spec = GuestSpec(target="linux", name="q", kernel=Path("/k"), icount="shift=auto")
    args = [a.get("value") for a in _xml(spec).findall(f"{QEMU_NS}commandline/{QEMU_NS}arg")]
    assert args == ["-icount", "shift=auto"]
    assert _xml().find(f"{QEMU_NS}commandline") is None


def test_metadata_identifies_the_run():
    run = _xml(metadata={"host": "h", "pid": "42", "started": "7"}).find(f"metadata/{{{NAMESPACE}}}run")
    assert run.get("host") == "h" and run.get("pid") == "42" and run.get("started") == "7"


def test_domain_names_are_unique_and_recognisable():
    names = {domain_name("tunlab-linux-abc") for _ in range(50)}
    assert len(names) == 50
    for n in names:
        assert NAME_RE.match(n) and n.startswith("tunlab-linux-abc-")
    assert domain_name("my guest/1", pid=7, n=3, token="abcdef") == "tunlab-my-guest-1-7-3-abcdef"


@pytest.mark.skipif(not (shutil.which("virt-xml-validate") and shutil.which("xmllint")),
                    reason="libvirt's schema check needs virt-xml-validate (libvirt-clients) and "
                           "xmllint (libxml2-utils): run `make deps`")
@pytest.mark.parametrize("accel", ["tcg", "kvm"])
def test_libvirt_accepts_the_xml(tmp_path, accel):
    specs = [LINUX, GuestSpec(target="dragonfly", name="d", icount="shift=auto", drives=(
        Drive(Path("/disk.qcow2"), fmt="qcow2"), Drive(Path("/a.iso"), media="cdrom", readonly=True))),
             GuestSpec(target="dragonfly", name="d", machine="q35", cpu_model="Nehalem",
                       cpu_features=("pmu=off", "x2apic=on"), drives=(Drive(Path("/disk.qcow2"), fmt="qcow2"),
                                                                     Drive(Path("/a.iso"), media="cdrom")))]
    for i, spec in enumerate(specs):
        f = tmp_path / f"{i}.xml"
        f.write_text(domain_xml(spec, accel, "tunlab-x-1-1-abcdef", Path("/r/c.sock"), Path("/r/d.sock"),
                                network="user", metadata={"host": "h", "pid": "1", "started": "2"}))
        res = subprocess.run(["virt-xml-validate", str(f), "domain"], capture_output=True, text=True)
        assert res.returncode == 0, res.stdout + res.stderr


def test_without_python3_libvirt_only_the_libvirt_backend_fails_clearly(monkeypatch):
    from tunlab import libvirt_daemon
    monkeypatch.setattr(libvirt_daemon, "_lv", None)
    monkeypatch.setitem(sys.modules, "libvirt", None)  # makes `import libvirt` fail
    with pytest.raises(SetupError, match="python3-libvirt"):
        libvirt_daemon.libvirt_module()


def test_relative_paths_are_made_absolute(monkeypatch, tmp_path):
    # libvirt's QEMU does not start in the harness's directory (an --image given relative).
    monkeypatch.chdir(tmp_path)
    spec = absolute_paths(GuestSpec(target="linux", name="r", kernel=Path("img/k"), initrd=Path("/abs/i"),
                                    drives=(Drive(Path("d.img")),)))
    assert spec.kernel == tmp_path / "img/k" and spec.initrd == Path("/abs/i")
    assert spec.drives[0].path == tmp_path / "d.img"
    assert absolute_paths(GuestSpec(target="linux", name="n")).kernel is None
