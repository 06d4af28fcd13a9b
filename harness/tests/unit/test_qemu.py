"""The QEMU command line and the machine bookkeeping, without starting QEMU."""

from pathlib import Path

from tunlab.machine import Drive, GuestSpec
from tunlab.qemu import qemu_command


def test_command_line_has_two_serial_ports_and_nothing_else():
    spec = GuestSpec(target="linux", name="t", kernel=Path("/k"), initrd=Path("/i"), append="console=ttyS0")
    cmd = qemu_command(spec, "tcg", Path("/r/console.sock"), Path("/r/control.sock"))
    joined = " ".join(cmd)
    assert "-nodefaults" in cmd and "-no-reboot" in cmd
    assert "accel=tcg" in joined and "-cpu max" in joined
    assert cmd.count("-serial") == 2
    # COM1 is the console, COM2 the control channel, in that order.
    assert joined.index("path=/r/console.sock") < joined.index("path=/r/control.sock")
    assert cmd[cmd.index("-kernel") + 1] == "/k" and cmd[cmd.index("-append") + 1] == "console=ttyS0"
    assert "-netdev" not in cmd and "-nic" not in cmd  # no network unless asked


def test_drives_are_attached_in_a_fixed_order():
    spec = GuestSpec(target="dragonfly", name="d", drives=(
        Drive(Path("/disk.qcow2"), fmt="qcow2"), Drive(Path("/a.iso"), media="cdrom", readonly=True)))
    cmd = qemu_command(spec, "kvm", Path("/c"), Path("/d"))
    drives = [cmd[i + 1] for i, a in enumerate(cmd) if a == "-drive"]
    assert drives[0].startswith("file=/disk.qcow2,format=qcow2,media=disk") and "index=0" in drives[0]
    assert "media=cdrom" in drives[1] and "index=1" in drives[1] and "readonly=on" in drives[1]
    assert "-cpu host" in " ".join(cmd)
