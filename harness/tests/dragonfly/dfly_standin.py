"""A stand-in for a DragonFly VM: a Machine whose console is a socket pair driven by a script
thread that plays DragonFly's loader, kernel and PFI output and reacts to what the harness
types. No QEMU. The texts follow DRAGONFLY-GUEST.md (dloader's menu format and countdown,
the `OK ` prompt, kernel and panic lines)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Callable

from tunlab.machine import GuestSpec, Machine


class Side:
    """The guest's end of the console: what a script uses to talk and listen."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.received = b""

    def send(self, text: str) -> None:
        self.sock.sendall(text.encode())

    def lines(self, *lines: str) -> None:
        for line in lines:
            self.send(line + "\r\n")

    def expect(self, data: bytes, timeout: float = 10.0) -> bool:
        """Wait until the harness has typed `data` (anywhere in what it sent so far)."""
        deadline = time.monotonic() + timeout
        self.sock.settimeout(0.05)
        while data not in self.received:
            if time.monotonic() > deadline:
                return False
            try:
                chunk = self.sock.recv(4096)
            except socket.timeout:
                continue
            if not chunk:
                return False
            self.received += chunk
        self.received = self.received.split(data, 1)[1]
        return True


Script = Callable[[Side], int]  # returns the VM's exit status


class FakeMachine(Machine):
    """Runs `script` against the console when started; the VM 'exits' when the script returns."""

    started: list["FakeMachine"] = []

    def __init__(self, spec: GuestSpec, run_dir: Path, accel: str, script: Script) -> None:
        self.spec = spec
        self.run_dir = run_dir
        self.accel = accel
        self.script = script
        self.status: int | None = None
        self.error: BaseException | None = None
        self._done = threading.Event()

    def start(self, connect_timeout: float) -> None:
        self.console, guest_console = socket.socketpair()
        self.control, self._guest_control = socket.socketpair()
        FakeMachine.started.append(self)

        def run() -> None:
            try:
                self.status = self.script(Side(guest_console))
            except BaseException as e:  # noqa: BLE001 (reported through the test)
                self.error = e
                self.status = 99
            finally:
                try:
                    guest_console.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                guest_console.close()
                self._done.set()
        threading.Thread(target=run, daemon=True).start()

    def alive(self) -> bool:
        return not self._done.is_set()

    def wait_exit(self, timeout: float) -> bool:
        return self._done.wait(timeout)

    def kill(self) -> None:
        if not self._done.is_set():
            self.status = -9
            self._done.set()
        self._guest_control.close()

    def describe_exit(self) -> str:
        return "still running" if self.status is None and not self._done.is_set() else f"exit status {self.status}"


def factory_for(scripts: dict[str, Script]) -> Callable[[str, GuestSpec, Path, str], Machine]:
    """A machine factory choosing the script by the guest's name (tunlab-dfly-<phase>)."""
    def make(backend: str, spec: GuestSpec, run_dir: Path, accel: str) -> Machine:
        return FakeMachine(spec, run_dir, accel, scripts[spec.name.rsplit("-", 1)[-1]])
    return make


# -- DragonFly's side of the dialogue --------------------------------------------------------
ESC = "\x1b"
LOGO = [" ,--,           |           ,--, ", " |   `-,       ,^,       ,-'   | "]


def loader_menu(side: Side, alt: bool = False) -> None:
    side.lines("", "BTX loader 1.00  BTX version is 1.02", "Consoles: internal video/keyboard  serial port",
               "BIOS drive C: is disk0", "BIOS 639kB/2096128kB available memory", "",
               "DragonFly boot loader, Revision 1.1")
    items = [("1", "Boot DragonFly [kernel]"), ("2", "Boot DragonFly in Safe Mode"),
             ("3", "Boot DragonFly without AHCI driver"), ("4", "Boot DragonFly without ACPI driver"),
             ("9", "Escape to loader prompt (also ESC)")]
    if alt:
        items.append(("a", "Boot Backup kernel kernel.alt"))
    items += [("r", "Boot DragonFly to a rescue ramdisk"), ("s", "Boot DragonFly in single user mode"),
              ("v", "Boot DragonFly with verbose logging"), ("R", "Reboot")]
    for i, (key, text) in enumerate(items):
        logo = LOGO[i % len(LOGO)]
        side.send(f" {key}. {text:<38.38s} |  {ESC}[31m{logo}{ESC}[37m\n")


def countdown_until_typed(side: Side, key: bytes, seconds: int = 10) -> bool:
    """The menu's countdown (`\\rBooting in N seconds... `), stopped by `key`; False when it ran out."""
    for left in range(seconds, 0, -1):
        side.send(f"\rBooting in {left} second{'s' if left != 1 else ''}... ")
        if side.expect(key, timeout=0.3):
            return True
    return False


def kernel_boot(side: Side, ident: str = "X86_64_GENERIC") -> None:
    side.lines("", "Copyright (c) 2003-2023 The DragonFly Project.",
               "Copyright (c) 1992-2003 The FreeBSD Project.",
               f"DragonFly v6.4.2-RELEASE #0: Tue Jun 20 2023  root@builder:/usr/obj/usr/src/sys/{ident}",
               "TSC clocksource at 2000000000 Hz", "CPU: QEMU Virtual CPU version 2.5+",
               "real memory  = 2147483648 (2048 MB)", "sio0: <16550A-compatible COM port> port 0x3f8-0x3ff irq 4",
               "sio1: <16550A-compatible COM port> port 0x2f8-0x2ff irq 3",
               "da0 at ahci0 bus 0 target 0 lun 0", "cd0 at ahci0 bus 0 target 1 lun 0",
               "Mounting root from hammer2:da0s1d")


def live_cd_to_kernel(side: Side) -> int | None:
    """Plays the live CD's loader up to the kernel; None when the harness answered correctly,
    else the exit status of a VM that booted without a serial console (and so said no more)."""
    loader_menu(side)
    if not countdown_until_typed(side, b"9"):
        return 0  # booted on the video console: nothing more on COM1
    side.send("\n\nType '?' for a list of commands, 'help' for more detailed help.\nOK ")
    if not side.expect(b"set console=comconsole\r"):
        return 1
    side.send("set console=comconsole\r\nOK ")
    if not side.expect(b"boot\r"):
        return 1
    side.send("boot\r\n")
    kernel_boot(side)
    return None


def pfi_phase(side: Side, phase: str, steps: tuple[str, ...] = ("fdisk", "newfs"),
              after_done: tuple[str, ...] = ("Syncing disks... done", "Uptime: 3m12s",
                                             "Powering system off via ACPI")) -> None:
    side.lines("Starting pfi.", f"tunlab-{phase}: starting")
    for s in steps:
        side.lines(f"tunlab-{phase}: step {s}: ...", f"tunlab-{phase}: step {s} ok")
    side.lines(f"TUNLAB-PHASE-DONE {phase}")
    side.lines(*after_done)


def panic_lines(side: Side, reboot: bool = True) -> None:
    side.lines("panic: vm_fault: fault on nofault entry, addr: 0xdeadc000", "cpuid = 0",
               "Trace beginning at frame 0xfffff800276ff9c8",
               "panic() at panic+0x236 0xffffffff805f8666",
               "vm_fault() at vm_fault+0x1234 0xffffffff80871234",
               "Debugger(\"panic\")")
    if reboot:
        side.lines("Automatic reboot in 15 seconds - press a key on the console to abort",
                   "Rebooting...")
