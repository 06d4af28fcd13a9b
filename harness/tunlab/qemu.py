"""The direct QEMU backend: the QEMU command line and the QEMU process.

The harness listens on two unix sockets in the run directory and QEMU connects to them as a
client at start-up (COM1: console, COM2: control), so no byte the guest sends is lost and no
port is shared (a guest in record or replay mode: two FIFOs a port, fifo_port.py). QEMU gets
SIGKILL if the harness process dies (PR_SET_PDEATHSIG), and is killed by Machine.kill and
the exit hooks in machine.py otherwise. It runs in a session and process group of its own
(`start_new_session`), so the terminal's Ctrl-C (SIGINT) and Ctrl-\\ reach only the
harness, which then stops the guest itself.
"""

from __future__ import annotations

import ctypes
import fcntl
import functools
import os
import shlex
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from tunlab import qmp
from tunlab.errors import GuestDied, SetupError
from tunlab.fifo_port import FifoPort
from tunlab.machine import (GuestSpec, MonitorUnavailable, ProcessMachine, register_backend,
                            resolve, socket_dir, track)

QEMU = "qemu-system-x86_64"
CONTROL_COPY = "control.raw"  # a guest on FIFOs: what its agent sent, byte for byte
_KVM_GET_API_VERSION = 0xAE00
_KVM_CREATE_VM = 0xAE01
_PR_SET_PDEATHSIG = 1


class StateLoadError(GuestDied):
    """QEMU (or libvirt) reported that it could not load a saved state: the state itself is
    suspect (snapshot.py throws it away). A restore that merely took too long is not this."""


@functools.lru_cache(maxsize=4)
def qemu_version(qemu: str = QEMU) -> str:
    """`qemu --version`'s first line ("QEMU emulator version 7.2.x ..."); "" when it cannot
    be run (bench reports, the snapshot key)."""
    try:
        out = subprocess.run([qemu, "--version"], capture_output=True, text=True, timeout=10).stdout
        return out.splitlines()[0].strip() if out else ""
    except (OSError, subprocess.TimeoutExpired):
        return ""


def _kvm_device_ok() -> bool:
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if fcntl.ioctl(fd, _KVM_GET_API_VERSION) != 12:
            return False
        os.close(fcntl.ioctl(fd, _KVM_CREATE_VM, 0))
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


@functools.lru_cache(maxsize=1)
def kvm_usable() -> bool:
    """True when QEMU can really run a KVM guest here. A /dev/kvm that opens is not enough:
    in some sandboxes QEMU aborts setting up the vCPU (e.g. "failed to set MSR"), so start a
    paused KVM machine and see that it stays up."""
    if not _kvm_device_ok() or not shutil.which(QEMU):
        return False
    probe = subprocess.Popen([QEMU, "-machine", "pc,accel=kvm", "-cpu", "host", "-nodefaults",
                              "-display", "none", "-S", "-monitor", "none", "-serial", "none"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent,
                             start_new_session=True)
    try:
        probe.wait(timeout=1.5)
        return False  # it ended by itself: KVM does not work
    except subprocess.TimeoutExpired:
        return True
    finally:
        if probe.poll() is None:
            probe.kill()
            probe.wait()


def pick_accel(requested: str = "auto") -> str:
    """`auto`: KVM when usable, else TCG. TUNLAB_ACCEL overrides `auto`."""
    if requested == "auto":
        requested = os.environ.get("TUNLAB_ACCEL", "auto")
    if requested == "auto":
        return "kvm" if kvm_usable() else "tcg"
    if requested not in ("kvm", "tcg"):
        raise SetupError(f"unknown accelerator {requested!r}: use auto, kvm or tcg")
    if requested == "kvm" and not kvm_usable():
        raise SetupError("--accel kvm asked for, but /dev/kvm is missing or unusable")
    return requested


def qemu_command(spec: GuestSpec, accel: str, console_path: Path, control_path: Path,
                 qmp_path: Path | None = None) -> list[str]:
    """The QEMU command line for a guest: a translation of its GuestSpec as `accel` runs it
    (machine.resolve), as libvirt_backend.domain_xml is. COM1 and COM2 are the first two ISA
    serial ports (ttyS0/ttyS1 on Linux, sio0/sio1 on DragonFly); nothing else is attached by
    default. `qmp_path`: a QMP socket QEMU listens on (for hang reports and `:monitor`); the
    gdb stub (spec.gdb_port) listens on 127.0.0.1 only; the user's --qemu-opts come last.
    A guest in record or replay mode has its ports on FIFOs (fifo_port.py says why): the two
    paths are then the FIFOs' common prefix."""
    spec = resolve(spec, accel)
    chardev = "pipe" if on_fifos(spec) else "socket"
    cmd = [
        QEMU,
        "-name", spec.name,
        "-machine", f"{spec.machine},accel={accel}",
        "-cpu", ",".join((spec.cpu_model,) + spec.cpu_features),
        "-m", str(spec.memory_mb),
        "-smp", str(spec.cpus),
        "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
        "-chardev", f"{chardev},id=com1,path={console_path}",
        "-serial", "chardev:com1",
        "-chardev", f"{chardev},id=com2,path={control_path}",
        "-serial", "chardev:com2",
    ]
    if spec.kernel:
        cmd += ["-kernel", str(spec.kernel)]
    if spec.initrd:
        cmd += ["-initrd", str(spec.initrd)]
    if spec.append:
        cmd += ["-append", spec.append]
    for i, d in enumerate(spec.drives):
        # QEMU's option syntax: a comma in a value is written twice
        path = str(d.path).replace(",", ",,")
        opts = f"file={path},format={d.fmt},media={d.media},if={d.interface},index={i}"
        if d.readonly:
            opts += ",readonly=on"
        cmd += ["-drive", opts]
    if spec.icount:
        cmd += ["-icount", spec.icount]
    if qmp_path is not None:
        cmd += ["-qmp", f"unix:{qmp_path},server=on,wait=off"]
    if spec.gdb_port:
        cmd += ["-gdb", f"tcp:127.0.0.1:{int(spec.gdb_port)}"]
    cmd += list(spec.qemu_opts)
    return cmd


def on_fifos(spec: GuestSpec) -> bool:
    """Whether the guest runs in QEMU's record or replay mode, whose serial ports are on FIFOs
    (fifo_port.py): a chardev write that fails is retried at a moment the recording misses."""
    return "rr=" in spec.icount


def gdb_command(spec: GuestSpec) -> str:
    """The command that attaches gdb to a guest's gdb stub (with the kernel's symbols where
    the image has a vmlinux), or "" without --gdb."""
    if not spec.gdb_port:
        return ""
    cmd = ["gdb"]
    if spec.kernel is not None and spec.kernel.name.startswith("vmlinux"):
        cmd.append(str(spec.kernel))
    cmd += ["-ex", f"target remote 127.0.0.1:{int(spec.gdb_port)}"]
    return shlex.join(cmd)


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class QemuMachine(ProcessMachine):
    def __init__(self, spec: GuestSpec, run_dir: Path, accel: str) -> None:
        self.spec = spec
        self.run_dir = run_dir
        self.accel = accel
        self.proc: subprocess.Popen[bytes] | None = None
        self.stderr_path = run_dir / "qemu.log"
        self.command: list[str] = []
        self.sock_dir: Path | None = None   # holds the QMP socket while QEMU runs
        self.qmp_path: Path | None = None
        self.incoming: Path | None = None   # a saved state to start from (restore_from)
        self._incoming_fds: tuple[int, ...] = ()
        self.fifos: list[FifoPort] = []     # the serial ports in record/replay mode

    def start(self, connect_timeout: float) -> None:
        if not shutil.which(QEMU):
            raise SetupError(f"{QEMU} not found: run `make deps` (installs qemu-system-x86)")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        # Unix socket paths are limited to 108 bytes: keep them short, outside the run dir.
        self.sock_dir = sock_dir = socket_dir("tunlab-q-")  # not "tunlab-": libvirt's are tunlab-l*
        self.qmp_path = sock_dir / "qmp.sock"
        listeners = {}
        if on_fifos(self.spec):
            # the control channel's bytes are kept: a replay must send the same (replay.py)
            self.fifos = [FifoPort(sock_dir / "console"),
                          FifoPort(sock_dir / "control", self.run_dir / CONTROL_COPY)]
            paths = [f.path for f in self.fifos]
        else:
            for name in ("console", "control"):
                path = sock_dir / f"{name}.sock"
                srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                srv.bind(str(path))
                srv.listen(1)
                listeners[name] = (srv, path)
            paths = [path for _, path in listeners.values()]
        self.command = qemu_command(self.spec, self.accel, paths[0], paths[1], self.qmp_path)
        self.command += self._incoming_args()
        (self.run_dir / "qemu.cmdline").write_text(shlex.join(self.command) + "\n")
        try:
            with open(self.stderr_path, "wb") as err:
                self.proc = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=err,
                                             stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
                                             start_new_session=True, pass_fds=self._incoming_fds)
            track(self)
            self._close_incoming()
            if self.fifos:
                deadline = time.monotonic() + connect_timeout
                self.console, self.control = (
                    f.connect(self.alive, deadline, self.describe_exit) for f in self.fifos)
            else:
                # QEMU connects the chardevs in command-line order: console first.
                self.console = self._accept(listeners["console"][0], connect_timeout)
                self.control = self._accept(listeners["control"][0], connect_timeout)
            if self.incoming:
                # loading a guest's RAM under load takes longer than connecting: 3 x the bound
                self._wait_loaded(3 * connect_timeout)
        except BaseException:
            self.kill()
            raise
        finally:
            self._close_incoming()
            for srv, path in listeners.values():
                srv.close()
                path.unlink(missing_ok=True)

    def kill(self) -> None:
        if "rr=record" in self.spec.icount and self.alive() and self.qmp_path is not None:
            from tunlab import replay  # a recording is complete only when QEMU exits itself
            replay.end_recording(self.qmp_path, self.wait_exit)
        super().kill()
        for f in self.fifos:
            f.close()
        self.fifos = []
        if self.sock_dir is not None:
            shutil.rmtree(self.sock_dir, ignore_errors=True)
            self.sock_dir = None

    def monitor(self, command: str, timeout: float = 5.0) -> str:
        """A human-monitor command through the QMP socket (QEMU serves one client at a time:
        nothing else of tunlab's holds it)."""
        if self.qmp_path is None or not self.alive():
            raise MonitorUnavailable("QEMU is not running")
        try:
            return qmp.hmp(self.qmp_path, command, timeout)
        except qmp.QMPError as e:
            raise MonitorUnavailable(str(e)) from None

    # -- snapshots (snapshot.py) -----------------------------------------------------------
    def restore_from(self, state: Path) -> None:
        """Start (the next start()) from a state save_state wrote instead of booting. The
        command line is the one the state was saved from, so that the devices match; QEMU
        runs the guest as soon as the state is loaded (no -S) and exits if it cannot load it."""
        self.incoming = state

    def _incoming_args(self) -> list[str]:
        """-incoming fd:N, the state file open on N: QEMU reads it itself (QEMU 7.2 has no
        file: URI, and exec:cat costs a process and a pipe; measured slower)."""
        self._close_incoming()
        if not self.incoming:
            return []
        fd = os.open(self.incoming, os.O_RDONLY | os.O_CLOEXEC)
        self._incoming_fds = (fd,)
        return ["-incoming", f"fd:{fd}"]

    def _close_incoming(self) -> None:
        for fd in self._incoming_fds:
            os.close(fd)
        self._incoming_fds = ()

    def _wait_loaded(self, timeout: float) -> None:
        """Wait until QEMU has loaded the saved state and runs the guest: a byte sent to a
        UART before its saved registers are loaded would be overwritten by them."""
        assert self.qmp_path is not None
        deadline = time.monotonic() + timeout
        status = "no monitor yet"
        resumed = False
        while True:
            if not self.alive():
                raise StateLoadError(f"QEMU could not load the saved state {self.incoming}: "
                                     f"{self.describe_exit()}")
            try:
                with qmp.QMPClient(self.qmp_path, max(0.1, deadline - time.monotonic())) as q:
                    while True:
                        status = q.execute("query-status").get("status", "")
                        if status == "running":
                            return
                        if status == "paused":  # saved stopped (save_state): run it now
                            if not resumed:  # once; the deadline below still bounds the wait
                                q.execute("cont")
                                resumed = True
                        elif status not in ("inmigrate", "prelaunch"):
                            raise StateLoadError(f"QEMU is {status!r} after loading the saved "
                                                 f"state {self.incoming}, not running (see "
                                                 f"{self.stderr_path})")
                        if time.monotonic() > deadline:
                            break
                        time.sleep(0.005)
            except qmp.QMPError as e:
                status = str(e)
            if time.monotonic() > deadline:
                raise GuestDied(f"QEMU did not load the saved state {self.incoming} within "
                                f"{timeout:.0f} s ({status}; see {self.stderr_path})")
            time.sleep(0.01)

    def save_state(self, path: Path, timeout: float) -> None:
        """Stop the guest and write its whole state (RAM, devices, the UARTs' registers) to
        `path` (QMP migrate to a file). QEMU stays, stopped, until killed."""
        if self.qmp_path is None or not self.alive():
            raise GuestDied("QEMU is not running: nothing to save")
        deadline = time.monotonic() + timeout
        try:
            with qmp.QMPClient(self.qmp_path, timeout) as q:
                q.execute("stop")
                q.execute("migrate", {"uri": f"exec:cat > {shlex.quote(str(path))}"})
                while True:
                    state = q.execute("query-migrate", timeout=max(0.1, deadline - time.monotonic()))
                    status = state.get("status", "") if isinstance(state, dict) else ""
                    if status == "completed":
                        return
                    if status in ("failed", "cancelled"):
                        raise GuestDied(f"QEMU could not save the guest's state to {path}: "
                                        f"{state.get('error-desc', status)}")
                    if time.monotonic() > deadline:
                        raise GuestDied(f"QEMU did not save the guest's state within "
                                        f"{timeout:.0f} s (migration {status or 'not started'})")
                    time.sleep(0.01)
        except qmp.QMPError as e:
            raise GuestDied(f"saving the guest's state: {e}") from None

    def _accept(self, srv: socket.socket, timeout: float) -> socket.socket:
        deadline = time.monotonic() + timeout
        srv.settimeout(0.1)
        while True:
            try:
                conn, _ = srv.accept()
                conn.setblocking(True)
                return conn
            except socket.timeout:
                pass
            if not self.alive():
                raise GuestDied(f"QEMU exited at start-up: {self.describe_exit()}")
            if time.monotonic() > deadline:
                raise GuestDied(f"QEMU did not connect its serial ports within {timeout:.0f} s "
                                f"(see {self.stderr_path})")

    def describe_exit(self) -> str:
        status = "not started" if self.proc is None else (
            "still running" if self.proc.poll() is None else f"exit status {self.proc.returncode}")
        try:
            tail = self.stderr_path.read_text(errors="replace").strip().splitlines()[-5:]
        except OSError:
            tail = []
        return status + (": " + " | ".join(tail) if tail else "") + f" (QEMU log: {self.stderr_path})"


register_backend("qemu", QemuMachine)
