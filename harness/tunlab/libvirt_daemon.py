"""Which libvirt daemon the libvirt backend talks to, and a private one when none answers.

In order: TUNLAB_LIBVIRT_URI, used as it is; else the running system daemon (when root) or
the user's session daemon (otherwise), if its socket answers; else a PRIVATE daemon started
for the run and stopped after it (`running()`, used by the pytest plugin and the CLI; or, for
other callers, started on first use and stopped at exit).

The private daemon is libvirtd in *session* mode with every directory it uses (config,
sockets, state, QEMU logs) in a fresh /tmp/tunlab-libvirtd-XXXX: it shares nothing with a
system libvirt, changes nothing under /etc or /var, and needs no libvirt-qemu user. Run as
root, libvirtd would insist on being the system daemon, so it is started in a user namespace
that maps one ordinary uid to root (util-linux's `unshare --map-user`): libvirt sees an
ordinary user, while the files it and QEMU open (the kernel, images, /dev/kvm, the run
directory) are accessed as root's, as with the direct backend. It also gets a pid namespace
of its own, whose first process (REAPER) reaps the daemonized QEMUs: if the harness dies,
even by SIGKILL, the namespace goes and every QEMU in it with it. QEMU's output goes to a
plain log file (stdio_handler = "file"), so no virtlogd runs. The QEMU capabilities libvirt
probes before its first domain (about 4 s here) are kept under build/libvirt/ for the next.
(Not as root, libvirtd runs as the user, in session mode, without the namespaces.)

The directory is made in /tmp whatever TMPDIR says (machine.socket_dir): libvirt's socket
paths under it must fit a unix socket address (107 bytes).

Stopping destroys and undefines every domain in it, ends libvirtd (SIGTERM, then SIGKILL),
kills the processes recorded in its `pids` file (the daemon; through it, QEMU) and removes the
directory. The next start also cleans up the directory of a private daemon whose harness was
killed: only a directory that is this user's own (not a link; owner checked), and only the
processes it recorded, each by pid and start time (a reused pid is left alone); never a
process found by a substring of its command line.

Ctrl-C while libvirt's C code runs would surface as SystemError (the interrupt is raised in
libvirt's error callback): `signals_deferred` holds SIGINT/SIGTERM/SIGHUP over each call, so
the KeyboardInterrupt comes right after it, where the clean-up paths see it.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, ContextManager, Iterator, TypeVar

from tunlab.errors import SetupError, TargetUnavailable
from tunlab.machine import (pid_running, processes_where, socket_dir, stale_socket_dirs,
                            start_time)
from tunlab.paths import BUILD
from tunlab.timeouts import for_accel

ENV_URI = "TUNLAB_LIBVIRT_URI"
LIBVIRTD = "/usr/sbin/libvirtd"
PREFIX = "tunlab-libvirtd-"
CAPS_CACHE = BUILD / "libvirt" / "qemu-capabilities"
LAST_LOG = BUILD / "libvirt" / "last-libvirtd.log"  # the last private daemon's log
INNER_UID = 1000  # who libvirtd is inside its user namespace (root outside it)
START_TIMEOUT = 60.0  # s, libvirtd launched -> it answers (scaled like every tunlab wait)
INSTALL_HINT = ("run `make deps` (installs libvirt-daemon, libvirt-daemon-driver-qemu, "
                "libvirt-clients and python3-libvirt)")

QEMU_CONF = """\
# tunlab's private libvirt daemon: QEMU's output goes to a plain file, no virtlogd.
stdio_handler = "file"
"""
LIBVIRTD_CONF = """\
# tunlab's private libvirt daemon: only its unix sockets, warnings and errors to its log.
log_outputs = "3:stderr"
"""
# The first process of the private daemon's pid namespace: starts libvirtd, passes SIGTERM on,
# reaps every orphan (QEMU is daemonized), and exits with libvirtd; the kernel then kills
# whatever is left in the namespace.
REAPER = """\
import os, signal, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGTERM))
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    try:
        p, status = os.waitpid(-1, 0)
    except ChildProcessError:
        sys.exit(1)
    except InterruptedError:
        continue
    if p == pid:
        sys.exit(min(abs(os.waitstatus_to_exitcode(status)), 255))
"""
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Endpoint:
    """A libvirt daemon to use: its URI, where it writes each domain's QEMU log (None when
    not known or not on this host), and whether tunlab started it."""

    uri: str
    log_dir: Path | None
    private: bool = False
    base: Path | None = None  # a private daemon's directory (its `pids` file)


_lv: ModuleType | None = None


def libvirt_module() -> ModuleType:
    """python3-libvirt, imported on first use (a clear SetupError when it is missing)."""
    global _lv
    if _lv is None:
        try:
            import libvirt
        except ImportError:
            raise SetupError(f"the libvirt backend needs python3-libvirt: {INSTALL_HINT}") from None
        # libvirt prints every error to stderr by default; tunlab reports them itself.
        libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
        _lv = libvirt
    return _lv


# -- finding a running daemon ----------------------------------------------------------------
def _answers(path: Path) -> bool:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2.0)
    try:
        s.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        s.close()


def log_dir_for(uri: str) -> Path | None:
    """Where the daemon behind `uri` keeps <domain>.log, when it is a local qemu one."""
    u = urllib.parse.urlsplit(uri)
    if u.hostname or not u.scheme.startswith("qemu") or "socket=" in u.query:
        return None
    if u.path == "/system":
        return Path("/var/log/libvirt/qemu")
    if u.path == "/session":
        cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(cache) / "libvirt" / "qemu" / "log"
    return None


def find_running() -> Endpoint | None:
    """TUNLAB_LIBVIRT_URI, or the system (root) / session (others) daemon when it answers."""
    uri = os.environ.get(ENV_URI, "").strip()
    if uri:
        return Endpoint(uri, log_dir_for(uri))
    if os.geteuid() == 0:
        uri, run = "qemu:///system", Path("/run/libvirt")
    else:
        runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
        uri, run = "qemu:///session", Path(runtime) / "libvirt"
    if any(_answers(run / s) for s in ("virtqemud-sock", "libvirt-sock")):
        return Endpoint(uri, log_dir_for(uri))
    return None


# -- the private daemon ----------------------------------------------------------------------
def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _children(pid: int) -> list[int]:
    return processes_where(1, pid)


_T = TypeVar("_T")
_DEFERRED = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP while libvirt's C code runs (main thread only); a
    signal that came meanwhile is delivered when the block ends. A KeyboardInterrupt that
    still surfaces as SystemError (raised inside a libvirt callback) is turned back into one."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
    try:
        yield
    except SystemError as e:
        if isinstance(e.__cause__ or e.__context__, KeyboardInterrupt):
            raise KeyboardInterrupt("interrupted in a libvirt call") from None
        raise
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def lv_call(fn: Callable[..., _T], *args: Any) -> _T:
    """fn(*args) with signals deferred (see signals_deferred)."""
    with signals_deferred():
        return fn(*args)


def record_pid(base: Path, pid: int) -> None:
    """Note in `base`'s pids file a process the private daemon started (pid and start time),
    for stop() and for the sweep after a killed harness."""
    started = start_time(pid)
    if started:
        with open(base / "pids", "a") as f:
            f.write(f"{pid} {started}\n")


def recorded(base: Path) -> list[tuple[int, str]]:
    try:
        rows = (base / "pids").read_text().split("\n")
    except OSError:
        return []
    out = []
    for row in rows:
        parts = row.split()
        if len(parts) == 2 and parts[0].isdigit():
            out.append((int(parts[0]), parts[1]))
    return out


def kill_recorded(base: Path, timeout: float = 10.0) -> list[int]:
    """SIGKILL the processes recorded in `base`'s pids file that still run with the recorded
    start time (a pid reused by another process is left alone); wait until they are gone."""
    pids = [pid for pid, started in recorded(base) if pid_running(pid) and start_time(pid) == started]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + timeout
    while any(pid_running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return pids


def users_of(base: Path) -> list[int]:
    """Processes (not this one) whose command line or environment names `base`. For
    diagnostics and tests only: nothing is ever killed on this evidence."""
    needle = str(base).encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        for what in ("cmdline", "environ"):
            try:
                with open(f"/proc/{entry.name}/{what}", "rb") as f:
                    if needle in f.read():
                        found.append(int(entry.name))
                        break
            except OSError:
                continue
    return found


def sweep_stale_dirs() -> list[Path]:
    """Clean up private daemons whose harness died without stopping them: this user's own
    directories only (machine.stale_socket_dirs), and only the processes they recorded."""
    swept = stale_socket_dirs(PREFIX)
    for d in swept:
        kill_recorded(d)
        shutil.rmtree(d, ignore_errors=True)
    return swept


class PrivateDaemon:
    """A libvirtd of tunlab's own (see the module's doc). Use as a context manager, or
    start() and stop() (idempotent)."""

    def __init__(self) -> None:
        self.base: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.endpoint: Endpoint | None = None

    @property
    def log_path(self) -> Path | None:
        return self.base / "libvirtd.log" if self.base else None

    def _log_tail(self) -> str:
        try:
            assert self.log_path is not None
            return "\n".join(self.log_path.read_text(errors="replace").strip().splitlines()[-10:])
        except (OSError, AssertionError):
            return ""

    def start(self, timeout: float | None = None) -> Endpoint:
        lv = libvirt_module()
        if not os.access(LIBVIRTD, os.X_OK):
            raise SetupError(f"{LIBVIRTD} not found: {INSTALL_HINT}")
        as_root = os.geteuid() == 0
        if as_root and not shutil.which("unshare"):
            raise SetupError("the private libvirt daemon needs `unshare` (util-linux)")
        if as_root:
            why = userns_refused()
            if why:
                raise TargetUnavailable(  # this machine, not the set-up: the one skip
                    f"no libvirt daemon answers, and a private one cannot be started here: it "
                    f"needs a user namespace, which this machine refuses ({why}; a chroot or "
                    f"some containers do); set {ENV_URI} to a running libvirt, e.g. qemu:///system")
        timeout = timeout if timeout is not None else START_TIMEOUT * for_accel("tcg").scale
        sweep_stale_dirs()
        base = self.base = socket_dir(PREFIX)  # with its owner file, for the sweep
        caps = base / "cache" / "libvirt" / "qemu" / "cache" / "capabilities"
        for d in ("config/libvirt", "data", "home", caps.relative_to(base)):
            (base / d).mkdir(parents=True)
        (base / "runtime").mkdir(mode=0o700)
        (base / "config" / "libvirt" / "qemu.conf").write_text(QEMU_CONF)
        (base / "libvirtd.conf").write_text(LIBVIRTD_CONF)
        for f in CAPS_CACHE.glob("*.xml"):
            shutil.copy(f, caps / f.name)
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C", "HOME": str(base / "home"),
               "XDG_CONFIG_HOME": str(base / "config"), "XDG_CACHE_HOME": str(base / "cache"),
               "XDG_RUNTIME_DIR": str(base / "runtime"), "XDG_DATA_HOME": str(base / "data")}
        cmd = [LIBVIRTD, "--config", str(base / "libvirtd.conf")]
        if as_root:
            # A user namespace (libvirt sees an ordinary user), and a pid namespace, so that
            # when the harness dies (unshare gets SIGKILL, --kill-child passes it on) libvirtd
            # and every QEMU it started die with it.
            cmd = ["unshare", "--user", f"--map-user={INNER_UID}", f"--map-group={INNER_UID}",
                   "--pid", "--fork", "--mount-proc", "--kill-child", "--",
                   sys.executable, "-c", REAPER] + cmd
        with open(base / "libvirtd.log", "wb") as log:
            self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
                                         start_new_session=True)  # Ctrl-C reaches only the harness
        record_pid(base, self.proc.pid)
        uri = f"qemu+unix:///session?socket={base / 'runtime' / 'libvirt' / 'libvirt-sock'}"
        try:
            conn = self._open(lv, uri, time.monotonic() + timeout)
            try:
                # Have libvirt probe QEMU now rather than at the first boot, and keep the result.
                lv_call(conn.getDomainCapabilities, None, "x86_64", None, "qemu", 0)
            finally:
                lv_call(conn.close)
        except BaseException:
            self.stop()
            raise
        try:
            CAPS_CACHE.mkdir(parents=True, exist_ok=True)
            for f in caps.glob("*.xml"):
                shutil.copy(f, CAPS_CACHE / f.name)
        except OSError:
            pass
        self.endpoint = Endpoint(uri, base / "cache" / "libvirt" / "qemu" / "log", private=True, base=base)
        return self.endpoint

    def _open(self, lv: ModuleType, uri: str, deadline: float) -> Any:
        assert self.proc is not None
        while True:
            if self.proc.poll() is not None:
                raise SetupError(f"the private libvirt daemon exited at start-up (status "
                                 f"{self.proc.returncode}):\n{self._log_tail()}")
            try:
                return lv_call(lv.open, uri)
            except lv.libvirtError as e:
                err = e.get_error_message()
            if time.monotonic() > deadline:
                raise SetupError(f"the private libvirt daemon did not answer at {uri}: {err}\n"
                                 f"{self._log_tail()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None and self.endpoint is not None:
            forget_connection(self.endpoint.uri)
            try:
                destroy_all(self.endpoint.uri)
            except Exception:  # a broken daemon: the kills below still clean up
                pass
        if self.proc is not None:
            if self.proc.poll() is None:
                # unshare ignores SIGTERM: ask the reaper below it, which asks libvirtd.
                for pid in [self.proc.pid] + _children(self.proc.pid):
                    try:
                        os.kill(pid, signal.SIGTERM)
                    except ProcessLookupError:
                        pass
                try:
                    self.proc.wait(15)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None
        if self.base is not None:
            kill_recorded(self.base)
            try:  # the daemon's own log outlives its directory: the last one is kept
                shutil.copy(self.base / "libvirtd.log", LAST_LOG)
            except OSError:
                pass
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None
        self.endpoint = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def __enter__(self) -> Endpoint:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def destroy_all(uri: str) -> list[str]:
    """Destroy and undefine every domain of the daemon at `uri` (for private daemons only)."""
    lv = libvirt_module()
    conn = lv.open(uri)
    names = []
    try:
        for dom in conn.listAllDomains(0):
            names.append(dom.name())
            for step in (dom.destroy, dom.undefine):
                try:
                    step()
                except lv.libvirtError:
                    pass
    finally:
        conn.close()
    return names


# -- the daemon this process uses ------------------------------------------------------------
_lock = threading.RLock()
_active: Endpoint | None = None
_conns: dict[str, Any] = {}


def endpoint() -> Endpoint:
    """The daemon to use: the one `running()` set up; else a running one; else a private one
    started now and stopped when the process exits."""
    global _active
    with _lock:
        if _active is None:
            ep = find_running()
            if ep is None:
                daemon = PrivateDaemon()
                ep = daemon.start()
                atexit.register(daemon.stop)
            _active = ep
        return _active


def connection() -> Any:
    """An open connection (libvirt.virConnect) to endpoint(), shared by this process."""
    lv = libvirt_module()
    ep = endpoint()
    with _lock:
        conn = _conns.get(ep.uri)
        if conn is not None:
            try:
                if conn.isAlive():
                    return conn
            except lv.libvirtError:
                pass
        try:
            conn = lv.open(ep.uri)
        except lv.libvirtError as e:
            how = f"(from {ENV_URI})" if os.environ.get(ENV_URI) else ""
            raise SetupError(f"cannot connect to libvirt at {ep.uri} {how}: {e.get_error_message()}") from None
        _conns[ep.uri] = conn
        return conn


def forget_connection(uri: str) -> None:
    with _lock:
        conn = _conns.pop(uri, None)
    if conn is not None:
        try:
            conn.close()
        except Exception:
            pass


@contextmanager
def running() -> Iterator[Endpoint]:
    """Use a running libvirt daemon for the block, or start a private one and stop it after
    (with every domain and process it started). Nested uses share the outer one's."""
    global _active
    daemon: PrivateDaemon | None = None
    with _lock:
        outer = _active
        if outer is None:
            ep = find_running()
            if ep is None:
                daemon = PrivateDaemon()
                ep = daemon.start()
            _active = ep
        ep = _active
    try:
        yield ep
    finally:
        if outer is None:
            with _lock:
                _active = None
            forget_connection(ep.uri)
            if daemon is not None:
                daemon.stop()


def userns_refused() -> str:
    """Why a user namespace mapping a uid to root cannot be made here ("" when it can)."""
    try:
        res = subprocess.run(["unshare", "--user", f"--map-user={INNER_UID}",
                              f"--map-group={INNER_UID}", "true"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return str(e)
    return "" if res.returncode == 0 else (res.stderr.strip() or f"unshare exited {res.returncode}")


def for_backend(backend: str) -> ContextManager[Endpoint | None]:
    """`running()` when `backend` is libvirt, else nothing."""
    return running() if backend == "libvirt" else nullcontext()
