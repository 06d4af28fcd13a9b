"""The libvirt backend: the same guests as the direct QEMU backend, run as libvirt domains.

The domain XML is generated from the GuestSpec by `domain_xml` (a pure function): COM1
(console) and COM2 (control) are unix sockets that QEMU listens on; the domain is started
PAUSED, the harness connects to both sockets and waits until QEMU has accepted them, and only
then resumes the CPUs, so no console byte is lost. Every domain has a unique name
(tunlab-<spec name>-<pid>-<n>-<random>) and is destroyed and undefined by Machine.kill, which
the exit hooks in machine.py also call. Which libvirt daemon is used (the user's, or a private
one started for the run) is decided in libvirt_daemon.py.

python3-libvirt is imported only when a libvirt machine starts, so the rest of tunlab works
without it.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import re
import secrets
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable, TypeVar
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

from tunlab import libvirt_daemon
from tunlab.errors import GuestDied, SetupError
from tunlab.libvirt_daemon import lv_call
from tunlab.machine import (Drive, GuestSpec, Machine, MonitorUnavailable, register_backend,
                            resolve, socket_dir, track, untrack)
from tunlab.qemu import StateLoadError

_T = TypeVar("_T")


def _within(timeout: float, what: str, call: Callable[[], _T], on_deadline: Callable[[], None]) -> _T:
    """call() under lv_call (signals deferred: a Ctrl-C waits for it), bounded: a watchdog
    thread runs on_deadline() (which must make call() return: abort its job, destroy the
    domain) after `timeout` seconds, and then this raises GuestDied saying so, whatever
    call() returned or raised."""
    fired = threading.Event()

    def fire() -> None:
        fired.set()
        try:
            on_deadline()
        except Exception:  # the domain may be gone already; call() returns either way
            pass
    timer = threading.Timer(timeout, fire)
    timer.daemon = True
    timer.start()
    try:
        result = lv_call(call)
    except Exception:
        if not fired.is_set():
            raise
        result = None
    finally:
        timer.cancel()
    if fired.is_set():
        raise GuestDied(f"{what} within {timeout:.0f} s: stopped it")
    return result  # type: ignore[return-value]


NAMESPACE = "https://tunlab.invalid/libvirt/1"  # of the <tunlab:run> element in <metadata>
QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"
NAME_RE = re.compile(r"^tunlab-.*-(\d+)-(\d+)-[0-9a-f]{6}$")
SERIAL_ALIASES = ("charserial0", "charserial1")  # libvirt's chardev ids for COM1 and COM2
_SUN_PATH_MAX = 107
_CMDLINE_RE = re.compile(r" \\$|^-[a-z]|^[A-Z_]+=\S*( \\)?$|^/\S+qemu")  # the command line in libvirt's log
_counter = itertools.count(1)

# Drive interfaces: libvirt's bus and the device-name prefix QEMU's `if=` maps to.
_BUSES = {"ide": ("ide", "hd"), "virtio": ("virtio", "vd"), "sata": ("sata", "sd")}
_SHUTOFF_REASONS = {0: "unknown", 1: "guest shut down", 2: "destroyed", 3: "crashed", 4: "migrated",
                    5: "saved", 6: "failed to start", 7: "restored from a snapshot", 8: "daemon"}
_STATES = {0: "no state", 1: "running", 2: "blocked", 3: "paused", 4: "shutting down", 5: "shut off",
           6: "crashed", 7: "suspended"}


def domain_name(spec_name: str, pid: int | None = None, n: int | None = None, token: str | None = None) -> str:
    """A name no other run, and no other guest of this run, can have."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", spec_name).strip("-")
    safe = re.sub(r"^tunlab-", "", safe) or "guest"
    pid = os.getpid() if pid is None else pid
    n = next(_counter) if n is None else n
    return f"tunlab-{safe}-{pid}-{n}-{token or secrets.token_hex(3)}"


def _drive_xml(i: int, d: Drive, seen: dict[str, int], machine: str = "pc") -> str:
    bus, prefix = _BUSES[d.interface]  # machine.resolve checked the interface and media
    # QEMU's `index=i` on IDE is bus i//2, unit i%2: hda, hdb, hdc, hdd name the same slots.
    # Other buses are numbered in the order their drives appear.
    by_index = bus == "ide"
    if by_index and machine.startswith("q35"):
        # q35 has no IDE: QEMU's if=ide,index=i is the ICH9 AHCI's port i, libvirt's sata unit i
        bus, prefix = _BUSES["sata"]
    k = i if by_index else seen.get(prefix, 0)
    seen[prefix] = k + 1
    dev = prefix + "abcdefghijklmnopqrstuvwxyz"[k]
    lines = [f"    <disk type='file' device='{d.media}'>",
             f"      <driver name='qemu' type={quoteattr(d.fmt)}/>",
             f"      <source file={quoteattr(str(d.path))}/>",
             f"      <target dev='{dev}' bus='{bus}'/>"]
    if d.readonly:
        lines.append("      <readonly/>")
    lines.append("    </disk>")
    return "\n".join(lines)


def _serial_xml(port: int, path: Path) -> str:
    return (f"    <serial type='unix'>\n"
            f"      <source mode='bind' path={quoteattr(str(path))}/>\n"
            f"      <target type='isa-serial' port='{port}'><model name='isa-serial'/></target>\n"
            f"    </serial>")


def absolute_paths(spec: GuestSpec) -> GuestSpec:
    """The spec with its files as absolute paths: libvirt's QEMU does not run in our directory."""
    def ab(p: Path | None) -> Path | None:
        return p if p is None else Path(os.path.abspath(p))
    return dataclasses.replace(spec, kernel=ab(spec.kernel), initrd=ab(spec.initrd),
                               drives=tuple(dataclasses.replace(d, path=ab(d.path)) for d in spec.drives))


# CPU models that are a libvirt mode of their own; any other is a named model.
_CPU_MODES = {"host": "host-passthrough", "max": "maximum"}
# CPU properties libvirt writes as a hypervisor feature (<features>), not a CPU feature.
_HV_FEATURES = ("pmu",)


def _cpu_xml(spec: GuestSpec) -> tuple[str, list[str]]:
    """The <cpu> element of a resolved spec, and the <features> children its CPU properties
    need (QEMU's pmu=off is libvirt's <pmu state='off'/>)."""
    features, hv = [], []
    for f in spec.cpu_features:
        name, _, value = f.partition("=")
        if name in _HV_FEATURES:
            hv.append(f"<{name} state='{value}'/>")
        else:
            policy = "require" if value == "on" else "disable"
            features.append(f"    <feature policy='{policy}' name={quoteattr(name)}/>")
    mode = _CPU_MODES.get(spec.cpu_model)
    if mode:
        head = f"<cpu mode='{mode}' check='none'>"
    else:
        head = ("<cpu mode='custom' match='exact' check='none'>\n"
                f"    <model fallback='forbid'>{escape(spec.cpu_model)}</model>")
    if not features and mode:
        return head.replace(">", "/>", 1), hv
    return "\n".join([head] + features + ["  </cpu>"]), hv


def domain_xml(spec: GuestSpec, accel: str, name: str, console_path: Path, control_path: Path,
               network: str | None = None, metadata: dict[str, str] | None = None) -> str:
    """The libvirt domain XML for a guest: a translation of its GuestSpec as `accel` runs it
    (machine.resolve), as qemu.qemu_command is. `accel` is "kvm" or "tcg" (as picked by
    qemu.pick_accel); `network` is None (no interface: the default, as with the QEMU backend)
    or "user" (user-mode networking)."""
    spec = resolve(spec, accel)
    if network not in (None, "user"):
        raise SetupError(f"unknown network {network!r}: use None or 'user'")
    dtype = "kvm" if accel == "kvm" else "qemu"
    cpu, hv_features = _cpu_xml(spec)
    os_lines = [f"    <type arch='x86_64' machine={quoteattr(spec.machine)}>hvm</type>"]
    if spec.kernel:
        os_lines.append(f"    <kernel>{escape(str(spec.kernel))}</kernel>")
    if spec.initrd:
        os_lines.append(f"    <initrd>{escape(str(spec.initrd))}</initrd>")
    if spec.append:
        os_lines.append(f"    <cmdline>{escape(spec.append)}</cmdline>")
    if not spec.kernel and spec.drives:
        # QEMU's default boot order: the first hard disk, then a CD-ROM.
        os_lines += ["    <boot dev='hd'/>", "    <boot dev='cdrom'/>"]
    seen: dict[str, int] = {}
    devices = [_drive_xml(i, d, seen, spec.machine) for i, d in enumerate(spec.drives)]
    devices += [_serial_xml(0, console_path), _serial_xml(1, control_path)]
    if network == "user":
        devices.append("    <interface type='user'><model type='virtio'/></interface>")
    devices += ["    <controller type='usb' model='none'/>", "    <memballoon model='none'/>"]
    meta = ""
    if metadata:
        attrs = " ".join(f"{k}={quoteattr(v)}" for k, v in sorted(metadata.items()))
        meta = f"  <metadata>\n    <tunlab:run xmlns:tunlab='{NAMESPACE}' {attrs}/>\n  </metadata>\n"
    qemu_args = ""
    # What libvirt has no element for, in the direct backend's order: icount, the gdb stub
    # (--gdb) and the user's --qemu-opts (libvirt keeps the monitor: no -qmp here).
    extra = ["-icount", spec.icount] if spec.icount else []
    if spec.gdb_port:
        extra += ["-gdb", f"tcp:127.0.0.1:{int(spec.gdb_port)}"]
    extra += list(spec.qemu_opts)
    if extra:
        args = "\n".join(f"    <qemu:arg value={quoteattr(a)}/>" for a in extra)
        qemu_args = f"  <qemu:commandline>\n{args}\n  </qemu:commandline>\n"
    return (
        f"<domain type='{dtype}' xmlns:qemu='{QEMU_NS}'>\n"
        f"  <name>{escape(name)}</name>\n"
        f"{meta}"
        f"  <memory unit='MiB'>{int(spec.memory_mb)}</memory>\n"
        f"  <vcpu placement='static'>{int(spec.cpus)}</vcpu>\n"
        f"  <os>\n" + "\n".join(os_lines) + "\n  </os>\n"
        f"  <features><acpi/>{''.join(hv_features)}</features>\n"
        f"  {cpu}\n"
        f"  <clock offset='utc'/>\n"
        # QEMU's -no-reboot: a reboot (panic=-1) or a crash ends the domain.
        f"  <on_poweroff>destroy</on_poweroff>\n"
        f"  <on_reboot>destroy</on_reboot>\n"
        f"  <on_crash>destroy</on_crash>\n"
        f"  <devices>\n" + "\n".join(devices) + "\n  </devices>\n"
        f"{qemu_args}"
        f"</domain>\n")


def restore_xml(saved: str, serial_paths: tuple[Path, Path], spec: GuestSpec,
                metadata: dict[str, str]) -> str:
    """A saved domain's XML (virDomainSaveImageGetXMLDesc) as another guest restores it: the
    serial ports' sockets (COM1, COM2 in order), the disks' files (the spec's drives, in
    order) and the <tunlab:run> metadata are this guest's. The name and UUID stay the saved
    ones (libvirt refuses others), so one daemon runs one restore of a snapshot at a time."""
    ET.register_namespace("qemu", QEMU_NS)
    ET.register_namespace("tunlab", NAMESPACE)
    root = ET.fromstring(saved)
    serials = root.findall("./devices/serial/source")
    if len(serials) < 2:
        raise SetupError("the saved domain's XML has fewer than two serial ports")
    for src, path in zip(serials, serial_paths):
        src.set("path", str(path))
    for disk, drive in zip(root.findall("./devices/disk"), spec.drives):
        src = disk.find("source")
        if src is not None:
            src.set("file", str(drive.path))
    run = root.find(f"./metadata/{{{NAMESPACE}}}run")
    if run is not None:
        for k, v in metadata.items():
            run.set(k, v)
    return ET.tostring(root, encoding="unicode")


def qemu_pid(name: str) -> int | None:
    """The pid of the QEMU process running domain `name` on this host (None when there is none
    here: it ended, or the daemon is on another host)."""
    needle = f"guest={name},".encode()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                if needle in f.read():
                    return int(entry.name)
        except OSError:
            continue
    return None


def _owned(pid: int) -> bool:
    """The process runs as this user (so this run may stop it)."""
    try:
        return os.stat(f"/proc/{pid}").st_uid == os.geteuid()
    except OSError:
        return False


_swept: set[str] = set()  # daemons (URIs) already swept by this process


def sweep_stale(conn: Any) -> list[str]:
    """Destroy and undefine the domains earlier tunlab runs on this host left behind (their
    harness process was killed before its exit hooks ran); returns their names. A domain is
    recognised by its name and its <tunlab:run> metadata, whose process must be gone."""
    lv = libvirt_daemon.libvirt_module()
    host = socket.gethostname()
    gone = []
    for dom in conn.listAllDomains(0):
        name = dom.name()
        if not NAME_RE.match(name):
            continue
        try:
            meta = ET.fromstring(dom.metadata(lv.VIR_DOMAIN_METADATA_ELEMENT, NAMESPACE, 0))
            pid = int(meta.get("pid", ""))
        except (lv.libvirtError, ET.ParseError, ValueError):
            continue
        if meta.get("host") != host or libvirt_daemon.start_time(pid) == meta.get("started"):
            continue  # another host's, or its run is still going
        for step in (dom.destroy, dom.undefine):
            try:
                step()
            except lv.libvirtError:
                pass
        gone.append(name)
    return gone


class LibvirtMachine(Machine):
    def __init__(self, spec: GuestSpec, run_dir: Path, accel: str) -> None:
        self.spec = spec
        self.run_dir = run_dir
        self.accel = accel
        self.name = domain_name(spec.name)
        self.dom: Any = None  # libvirt.virDomain while defined
        self.endpoint: libvirt_daemon.Endpoint | None = None
        self.log_copy = run_dir / "qemu.log"  # as with the direct backend
        self._pid: int | None = None
        self._final = ""  # the state it ended in, kept once the domain is undefined
        self._tmp_dir: Path | None = None
        self.incoming: Path | None = None  # a saved state to start from (restore_from)

    # -- start ----------------------------------------------------------------------------
    def _socket_dir(self) -> Path:
        """Where QEMU's serial sockets go: the run directory, or a short directory of their
        own when its path is too long for a unix socket address."""
        if len(str(self.run_dir / "console.sock")) <= _SUN_PATH_MAX:
            return self.run_dir
        self._tmp_dir = socket_dir("tunlab-lv-")
        return self._tmp_dir

    def start(self, connect_timeout: float) -> None:
        lv = libvirt_daemon.libvirt_module()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        track(self)
        try:
            self.endpoint = ep = libvirt_daemon.endpoint()
            conn = libvirt_daemon.connection()
            if ep.uri not in _swept:
                _swept.add(ep.uri)
                sweep_stale(conn)
            sock_dir = self._socket_dir()
            paths = (sock_dir / "console.sock", sock_dir / "control.sock")
            for p in paths:
                p.unlink(missing_ok=True)
            meta = {"host": socket.gethostname(), "pid": str(os.getpid()),
                    "started": libvirt_daemon.start_time(os.getpid()), "run_dir": str(self.run_dir)}
            deadline = time.monotonic() + max(connect_timeout, 30.0)
            try:
                if self.incoming is not None:
                    self._restore_paused(conn, paths, meta, 3 * connect_timeout)
                else:
                    xml = domain_xml(absolute_paths(self.spec), self.accel, self.name, *paths,
                                     metadata=meta)
                    (self.run_dir / "domain.xml").write_text(xml)
                    self.dom = lv_call(conn.defineXML, xml)
                    lv_call(self.dom.createWithFlags, lv.VIR_DOMAIN_START_PAUSED)
            except lv.libvirtError as e:
                raise GuestDied(f"libvirt could not start domain {self.name} ({ep.uri}): "
                                f"{e.get_error_message()}{self._log_hint()}") from None
            self._pid = qemu_pid(self.name)
            if self._pid and ep.private and ep.base is not None and _owned(self._pid):
                libvirt_daemon.record_pid(ep.base, self._pid)  # the sweep may stop it
            self.console = self._connect(paths[0], deadline)
            self.control = self._connect(paths[1], deadline)
            self._wait_accepted(deadline)
            try:
                lv_call(self.dom.resume)
            except lv.libvirtError as e:
                raise GuestDied(f"libvirt could not resume domain {self.name}: {e.get_error_message()}"
                                f"{self._log_hint()}") from None
        except BaseException:
            self.kill()
            raise

    # -- snapshots (snapshot.py) -----------------------------------------------------------
    def restore_from(self, state: Path) -> None:
        """Start (the next start()) from a state save_state wrote (virDomainRestore)."""
        self.incoming = state

    def save_state(self, path: Path, timeout: float) -> None:
        """Write the guest's whole state to `path` (virDomainSave: the domain stops), within
        `timeout` seconds: then the save is aborted (and the domain destroyed if that fails)."""
        lv = libvirt_daemon.libvirt_module()
        dom = self.dom
        if dom is None:
            raise GuestDied("the domain is not running: nothing to save")

        def abort() -> None:
            try:
                dom.abortJob()
            except lv.libvirtError:
                dom.destroy()
        try:
            _within(timeout, f"libvirt did not save domain {self.name} to {path}",
                    lambda: dom.save(str(path)), abort)
        except lv.libvirtError as e:
            raise GuestDied(f"libvirt could not save domain {self.name} to {path}: "
                            f"{e.get_error_message()}{self._log_hint()}") from None

    def _restore_paused(self, conn: Any, paths: tuple[Path, Path], meta: dict[str, str],
                        timeout: float) -> None:
        """Restore the saved domain, paused, as this machine: the saved image's XML with this
        run's name, serial sockets, drives and metadata (the rest must not change: libvirt
        checks that the devices match the saved ones)."""
        lv = libvirt_daemon.libvirt_module()
        saved = lv_call(conn.saveImageGetXMLDesc, str(self.incoming), 0)
        xml = restore_xml(saved, paths, absolute_paths(self.spec), meta)
        name = ET.fromstring(xml).findtext("name")
        self.name = name or self.name
        (self.run_dir / "domain.xml").write_text(xml)
        def restore() -> Any:  # one call: a Ctrl-C between the two would lose the domain
            conn.restoreFlags(str(self.incoming), xml, lv.VIR_DOMAIN_SAVE_PAUSED)
            return conn.lookupByName(self.name)

        def destroy() -> None:  # the domain being restored: ends the restore
            conn.lookupByName(self.name).destroy()
        try:
            self.dom = _within(timeout, f"libvirt did not restore domain {self.name} from "
                                        f"{self.incoming}", restore, destroy)
        except lv.libvirtError as e:  # libvirt says the state does not load
            raise StateLoadError(f"libvirt could not restore domain {self.name} from "
                                 f"{self.incoming}: {e.get_error_message()}{self._log_hint()}") from None

    def _connect(self, path: Path, deadline: float) -> socket.socket:
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(str(path))
                return s
            except OSError as e:
                s.close()
                err = e
            if not self.alive():
                raise GuestDied(f"the domain ended at start-up: {self.describe_exit()}")
            if time.monotonic() > deadline:
                raise GuestDied(f"could not connect to the domain's serial socket {path}: {err}"
                                f"{self._log_hint()}")
            time.sleep(0.02)

    def _wait_accepted(self, deadline: float) -> None:
        """Wait until QEMU has accepted both serial connections (query-chardev), so that
        nothing the guest writes after the resume is dropped. Without the right to send
        monitor commands (a locked-down daemon), go on: the window is a few microseconds."""
        try:
            import libvirt_qemu  # type: ignore[import-not-found]
        except ImportError:
            return
        lv = libvirt_daemon.libvirt_module()
        while True:
            try:
                out = libvirt_qemu.qemuMonitorCommand(self.dom, '{"execute":"query-chardev"}', 0)
            except lv.libvirtError:
                return
            chardevs = {c.get("label"): c.get("filename", "") for c in json.loads(out).get("return", [])}
            if all(a in chardevs and not chardevs[a].startswith("disconnected:") for a in SERIAL_ALIASES):
                return
            if time.monotonic() > deadline:
                raise GuestDied(f"QEMU did not accept the serial connections of {self.name}: {chardevs}")
            time.sleep(0.002)

    # -- state ----------------------------------------------------------------------------
    def alive(self) -> bool:
        if self.dom is None:
            return False
        try:
            return bool(lv_call(self.dom.isActive))
        except Exception:  # libvirtError: the domain or the daemon is gone
            return False

    def wait_exit(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.alive():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    @property
    def pid(self) -> int | None:
        """The QEMU process's pid (on this host)."""
        return self._pid

    def monitor(self, command: str, timeout: float = 5.0) -> str:
        """A human-monitor command through libvirt (virDomainQemuMonitorCommand, HMP); a
        daemon that refuses it (no python3-libvirt-qemu, a locked-down libvirt) makes it
        unavailable. libvirt bounds the call itself (its monitor timeout)."""
        try:
            import libvirt_qemu  # type: ignore[import-not-found]
        except ImportError:
            raise MonitorUnavailable("python3-libvirt's libvirt_qemu module is missing") from None
        if self.dom is None:
            raise MonitorUnavailable("the domain is not running")
        lv = libvirt_daemon.libvirt_module()
        try:
            return str(lv_call(libvirt_qemu.qemuMonitorCommand, self.dom, command,
                               libvirt_qemu.VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP))
        except lv.libvirtError as e:
            raise MonitorUnavailable(f"libvirt: {e.get_error_message()}") from None

    def _state(self) -> str:
        if self.dom is None:
            return self._final or "not started"
        try:
            state, reason = self.dom.state()
        except Exception as e:
            return f"unknown ({str(e).strip()})"
        text = _STATES.get(state, f"state {state}")
        if state == 5:
            text += f" ({_SHUTOFF_REASONS.get(reason, f'reason {reason}')})"
        return text

    def kill(self) -> None:
        dom = self.dom
        if dom is not None:
            try:
                if lv_call(dom.isActive):
                    lv_call(dom.destroy)
            except Exception:  # libvirtError: already gone, or the daemon is
                pass
            self._final = self._state()
            self.dom = None
            self._save_log()
            try:
                lv_call(dom.undefine)
            except Exception:
                pass
        if self._tmp_dir is not None:
            shutil.rmtree(self._tmp_dir, ignore_errors=True)
            self._tmp_dir = None
        untrack(self)

    # -- logs -----------------------------------------------------------------------------
    @property
    def libvirt_log(self) -> Path | None:
        """libvirt's log of this domain's QEMU (/var/log/libvirt/qemu/<name>.log for the
        system daemon)."""
        if self.endpoint is None or self.endpoint.log_dir is None:
            return None
        return self.endpoint.log_dir / f"{self.name}.log"

    def _save_log(self) -> None:
        """Keep libvirt's QEMU log with the run's other logs (a private daemon's goes away)."""
        src = self.libvirt_log
        try:
            if src is not None and src.exists():
                shutil.copyfile(src, self.log_copy)
        except OSError:
            pass

    def _log_hint(self) -> str:
        tail = self._log_tail()
        where = self.libvirt_log or "its libvirt log"
        return (f"\n--- QEMU log tail ({where}) ---\n" + "\n".join(tail)) if tail else f" (see {where})"

    def _log_tail(self, n: int = 5) -> list[str]:
        """The last lines of the QEMU log, less the command line libvirt writes first."""
        for p in (self.libvirt_log, self.log_copy):
            try:
                if p is not None and p.exists():
                    lines = p.read_text(errors="replace").strip().splitlines()
                    return [ln for ln in lines if not _CMDLINE_RE.search(ln)][-n:]
            except OSError:
                continue
        return []

    def describe_exit(self) -> str:
        tail = self._log_tail()
        log = self.log_copy if self.dom is None and self.log_copy.exists() else self.libvirt_log
        return (f"libvirt domain {self.name}: {self._state()}" + (": " + " | ".join(tail) if tail else "")
                + f" (QEMU log: {log or 'not on this host'})")


register_backend("libvirt", LibvirtMachine)
