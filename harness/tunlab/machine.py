"""What a guest is made of (GuestSpec) and the one interface every VM backend implements
(Machine): start it, hand over its console and control streams, stop it.

Backends live in their own modules (qemu.py) and are registered by name in BACKENDS.
Every started machine is tracked here, so none outlives the run: an atexit hook and the
SIGTERM/SIGHUP handlers stop whatever is still running.
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable


@dataclass(frozen=True)
class Drive:
    path: Path
    media: str = "disk"  # "disk" or "cdrom"
    fmt: str = "raw"
    readonly: bool = False
    interface: str = "ide"


# The accelerators guests run under, and the CPU model each gives a guest that names none:
# TCG emulates every feature it can ("max"); KVM hands over the host's CPU as it is ("host").
DEFAULT_CPU = {"tcg": "max", "kvm": "host"}


@dataclass(frozen=True)
class GuestSpec:
    """Everything needed to boot one guest, independent of the VM backend.

    The VM's shape (the CPU, vCPUs, memory, machine type, devices, what it boots, icount, the
    gdb stub and the user's extra QEMU options) is described here and only here: the QEMU
    command line (qemu.qemu_command) and the libvirt domain (libvirt_backend.domain_xml) are
    both translations of it, after `resolve` has filled in the accelerator's defaults
    (harness/tests/unit/test_vm_description.py checks that they agree, field by field)."""

    target: str  # the target (targets/) whose guest this is: its console patterns, its logs
    name: str
    kernel: Path | None = None
    initrd: Path | None = None
    append: str = ""
    drives: tuple[Drive, ...] = ()    # in order: IDE index i is bus i//2, unit i%2
    memory_mb: int = 256
    cpus: int = 1
    machine: str = "pc"
    cpu_model: str = ""               # QEMU's CPU model ("Nehalem"); "": the accelerator's (DEFAULT_CPU)
    cpu_features: tuple[str, ...] = ()  # CPU properties, "name=on" or "name=off" ("pmu=off")
    icount: str = ""                  # QEMU's -icount value ("shift=7,rr=record,rrfile=F"); "": real time
    qemu_opts: tuple[str, ...] = ()   # the user's extra QEMU arguments (--qemu-opts), last
    gdb_port: int | None = None       # QEMU's gdb stub on 127.0.0.1:<port> (--gdb)
    program: tuple[str, ...] = ()  # process backend: the command that is the "guest"
    boot_timeout: float | None = None  # launch -> agent ready under TCG; None: timeouts' "boot"
    driver: str = ""  # what hello's driver= must say ("name:sha"; "name:" any sha; "": unchecked)


CPU_FEATURE_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*=(on|off)$")  # QEMU's, lower case
# Drive interfaces both backends attach by themselves (QEMU 7.2's if=scsi needs a controller
# that -nodefaults leaves out; there is no if=sata: q35's AHCI is if=ide)
DRIVE_INTERFACES = ("ide", "virtio")


def cpu_fields(cpu: str) -> dict[str, Any]:
    """A QEMU -cpu value ("Nehalem,pmu=off") as GuestSpec's cpu_model and cpu_features."""
    model, *features = cpu.split(",")
    return {"cpu_model": model, "cpu_features": tuple(features)}


def resolve(spec: GuestSpec, accel: str) -> GuestSpec:
    """`spec` as `accel` ("kvm" or "tcg") runs it: the one place where the accelerator's
    defaults are decided (its CPU model). Both VM backends translate what this returns.
    Raises SetupError for an accelerator or a shape they cannot express."""
    from tunlab.errors import SetupError
    if accel not in DEFAULT_CPU:
        raise SetupError(f"unknown accelerator {accel!r}: use {' or '.join(DEFAULT_CPU)}")
    if spec.cpus < 1 or spec.memory_mb < 1:
        raise SetupError(f"guest {spec.name}: {spec.cpus} vCPUs and {spec.memory_mb} MiB: "
                         f"both must be at least 1")
    bad = [f for f in spec.cpu_features if not CPU_FEATURE_RE.match(f)]
    if bad:
        raise SetupError(f"guest {spec.name}: CPU feature {bad[0]!r}: write name=on or name=off")
    for d in spec.drives:
        if d.interface not in DRIVE_INTERFACES or d.media not in ("disk", "cdrom"):
            raise SetupError(f"drive {d.path}: {d.interface} {d.media}: use interface "
                             f"{' or '.join(DRIVE_INTERFACES)}, media disk or cdrom")
    model = spec.cpu_model or DEFAULT_CPU[accel]
    if "," in model or "=" in model:
        raise SetupError(f"guest {spec.name}: CPU model {model!r}: give its properties as "
                         f"cpu_features, not in the model's name")
    return dataclasses.replace(spec, cpu_model=model)


class Machine(ABC):
    """A running VM. Its console (COM1) and control channel (COM2) are stream sockets."""

    spec: GuestSpec
    run_dir: Path
    console: socket.socket
    control: socket.socket

    @abstractmethod
    def start(self, connect_timeout: float) -> None:
        """Launch the VM and connect both serial channels."""

    @abstractmethod
    def alive(self) -> bool:
        """Whether the VM is still running."""

    @abstractmethod
    def wait_exit(self, timeout: float) -> bool:
        """Wait for the VM to end on its own; True when it has."""

    @abstractmethod
    def kill(self) -> None:
        """End the VM now and release everything it holds (idempotent)."""

    @abstractmethod
    def describe_exit(self) -> str:
        """How the VM ended (exit status, the backend's own log tail), for failure messages."""

    def monitor(self, command: str, timeout: float = 5.0) -> str:
        """Run a QEMU human-monitor command (`info registers -a`) on the running VM and
        return its output. Raises MonitorUnavailable where the backend has no monitor."""
        raise MonitorUnavailable(f"the {type(self).__name__} backend has no QEMU monitor")


class MonitorUnavailable(Exception):
    """The machine has no QEMU monitor to ask (a host process, a locked-down libvirt)."""


class ProcessMachine(Machine):
    """A Machine that is one local process (QEMU, or the kpi agent): the process-handling
    half that those backends share."""

    proc: "subprocess.Popen[bytes] | None" = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_exit(self, timeout: float) -> bool:
        if self.proc is None:
            return True
        try:
            self.proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def kill(self) -> None:
        """SIGKILL the process and its process group (the backends start it in a group of
        its own, so helpers it started go too); tolerates a process already gone."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            try:
                if os.getpgid(proc.pid) == proc.pid:
                    os.killpg(proc.pid, signal.SIGKILL)
                else:
                    proc.kill()
            except (ProcessLookupError, PermissionError):
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # unkillable (stuck in the kernel): leave it
                pass
        if proc is not None and proc.poll() is not None:
            kill_orphans(proc.pid)
        untrack(self)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None


def proc_stat(pid: int | str) -> list[str]:
    """The fields of /proc/PID/stat after the command name (state, ppid, pgrp, ...; field
    22 of the file, the start time, is index 19), or [] when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def start_time(pid: int) -> str:
    """A process's start time (/proc/PID/stat field 22): tells a reused pid apart."""
    fields = proc_stat(pid)
    return fields[19] if len(fields) > 19 else ""


def pid_running(pid: int) -> bool:
    """Alive and not a zombie (an exited child of an init that does not reap is one)."""
    fields = proc_stat(pid)
    return bool(fields) and fields[0] != "Z"


def processes_where(field: int, value: int) -> list[int]:
    """Running processes whose stat field `field` (1: ppid, 2: pgrp) is `value`."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = proc_stat(entry.name)
            if len(fields) > field and fields[field] == str(value) and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def kill_orphans(pgid: int, timeout: float = 5.0) -> list[int]:
    """SIGKILL what is left of the process group a backend started (its leader, pid `pgid`,
    has ended and been reaped), and wait until it is gone. While the group has members its
    number cannot name another process's group; if a process `pgid` exists again, the number
    was reused and nothing is killed."""
    members = processes_where(2, pgid)
    if not members or pgid in members:
        return []
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return []
    deadline = time.monotonic() + timeout
    while any(pid_running(p) for p in members) and time.monotonic() < deadline:
        time.sleep(0.02)
    return members


OWNER_FILE = "owner"  # in a socket_dir: "<pid> <start time>" of the process that made it


def socket_dir(prefix: str) -> Path:
    """A new private directory (mode 0700) for unix sockets. A socket's path has at most 107
    bytes, so it is made in /tmp whatever TMPDIR says (a long TMPDIR broke the libvirt
    backend), and in TMPDIR only when /tmp cannot be written. Its `owner` file names this
    process (pid and start time); the directories of `prefix` whose owner is gone (a
    harness that was SIGKILLed cleans up nothing) are removed first."""
    for d in stale_socket_dirs(prefix):
        shutil.rmtree(d, ignore_errors=True)
    d = Path(tempfile.mkdtemp(prefix=prefix, dir=socket_base()))
    (d / OWNER_FILE).write_text(f"{os.getpid()} {start_time(os.getpid())}\n")
    return d


def stale_socket_dirs(prefix: str) -> list[Path]:
    """socket_dir's directories of `prefix` whose owner process has ended: this user's own
    (a real directory and owner file, both owned by this user), never another's."""
    stale = []
    me = os.geteuid()
    for d in socket_base().glob(prefix + "*"):
        try:
            st, owner = os.lstat(d), os.lstat(d / OWNER_FILE)
            pid, started = (d / OWNER_FILE).read_text().split()
        except (OSError, ValueError):
            continue
        if not (stat.S_ISDIR(st.st_mode) and st.st_uid == me and stat.S_ISREG(owner.st_mode)
                and owner.st_uid == me):
            continue
        if pid.isdigit() and start_time(int(pid)) != started:
            stale.append(d)
    return stale


def socket_base() -> Path:
    """Where socket_dir makes its directories."""
    return Path("/tmp") if os.access("/tmp", os.W_OK | os.X_OK) else Path(tempfile.gettempdir())


_live: set[Machine] = set()
_live_lock = threading.Lock()


def track(machine: Machine) -> None:
    with _live_lock:
        _live.add(machine)


def untrack(machine: Machine) -> None:
    with _live_lock:
        _live.discard(machine)


def kill_all() -> None:
    with _live_lock:
        machines = list(_live)
    for m in machines:
        m.kill()


def _on_signal(signum: int, _frame: object) -> None:
    kill_all()
    # Let the run unwind (pytest's and the CLI's finally blocks) as on Ctrl-C.
    raise KeyboardInterrupt(f"signal {signum}")


atexit.register(kill_all)
if threading.current_thread() is threading.main_thread():
    for _sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(_sig, _on_signal)


BackendFactory = Callable[[GuestSpec, Path, str], Machine]
BACKENDS: dict[str, BackendFactory] = {}


def register_backend(name: str, factory: BackendFactory) -> None:
    BACKENDS[name] = factory


def create_machine(backend: str, spec: GuestSpec, run_dir: Path, accel: str) -> Machine:
    if backend not in BACKENDS:
        raise ValueError(f"unknown VM backend {backend!r} (known: {', '.join(sorted(BACKENDS))})")
    return BACKENDS[backend](spec, run_dir, accel)
