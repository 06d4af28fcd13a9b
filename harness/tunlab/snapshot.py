"""Snapshots: a guest saved once at agent-ready and restored for every test, instead of booted.

A snapshot is made from a guest booted as usual: once its agent has answered hello (nothing
is half-read on COM2) and its clock source is final (settle_clock), the VM is stopped and its
whole state written to a file (the direct backend: QMP `migrate` to `exec:cat > FILE`;
libvirt: virDomainSave). Writable drives (the
DragonFly session's qcow2 overlay) are copied beside it while the VM is stopped, and every
restore gets a copy of its own. A restore starts the same VM from that state, with fresh
serial sockets, and asks the agent `hello` again: the reply must be the one saved with the
snapshot (same agent, OS, driver, features), else the snapshot is thrown away, the test's
guest is booted instead and the next one rebuilds the snapshot, saying so in one line (a
restore that timed out boots too, but keeps the snapshot: see Snapshots._failed).

Snapshots live under <cache>/snapshots/<key>/, key = a hash of everything the saved state
depends on: the GuestSpec (every field, via dataclasses.asdict, less the per-run ones in
PER_RUN) with each file replaced by the SHA-256 of its contents (kernel, initrd, drives: the
agent and the driver are inside them), the backend, the accelerator, the QEMU version and
FORMAT. A changed input makes another key, so an old snapshot is never used for it; old ones
are pruned (TUNLAB_KEEP_SNAPSHOTS, default 4). A snapshot is written in a .tmp-<pid>-*
directory and renamed into place, so a concurrent run never sees half of one.

`--fresh` (runconfig): auto (restore where the target's guests can be saved, else what the
target did before), restore, boot (a fresh boot per test), reuse (one guest while healthy).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from tunlab import pins
from tunlab.errors import SettingError, TunlabError, UsageError
from tunlab.guest import Guest, new_run_dir
from tunlab.cachedir import content_id, discard, sweep_tmp
from tunlab.machine import GuestSpec
from tunlab.paths import CACHE
from tunlab.qemu import StateLoadError, qemu_version

FORMAT = "2"   # 2: saved qcow2 copies name their backing file by an absolute path
SNAPSHOTS = CACHE / "snapshots"
STATE = "state.bin"
META = "meta.json"
PER_RUN = ("name", "gdb_port")   # GuestSpec fields that do not change what is saved
MODES = ("auto", "restore", "boot", "reuse")
ENV_KEEP = "TUNLAB_KEEP_SNAPSHOTS"
SAVE_TIMEOUT = 120.0   # seconds to write one state (scaled by the guest's timeouts)


class SnapshotError(TunlabError):
    """A snapshot could not be made or restored (the caller boots instead)."""


def _say(line: str) -> None:
    print(line, file=sys.__stderr__ or sys.stderr, flush=True)


# -- what a run does: --fresh ------------------------------------------------------------------
def resolve_mode(mode: str, uses_vm: bool, snapshots: bool, record: bool) -> str:
    """--fresh as it applies to a target: "restore", "boot" or "reuse". A target whose guest
    is a host process gets a fresh one per test ("boot") whatever is asked; --record boots
    (a recording starts at the boot). Raises UsageError for what cannot be done."""
    if mode not in MODES:
        raise UsageError(f"--fresh {mode}: choose one of {', '.join(MODES)}")
    if not uses_vm:
        if mode == "restore":
            raise UsageError("--fresh restore: this target's guest is a host process (no VM "
                             "to save); it gets a fresh one per test anyway")
        return "boot"
    if mode == "restore" and not snapshots:
        raise UsageError("--fresh restore: this target's guests cannot be saved and restored")
    if mode == "restore" and record:
        raise UsageError("--fresh restore cannot go with --record: a recording starts at the "
                         "boot (use --fresh boot or auto)")
    if mode == "auto":
        return "restore" if snapshots and not record else ("boot" if record else "reuse")
    return mode


# -- the key -----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=64)
def _content_hash(path: str, dev: int, ino: int, size: int, mtime_ns: int) -> str:
    return pins.sha256_file(Path(path))


def file_hash(path: Path) -> str:
    """The SHA-256 of a file's contents (remembered while it keeps its inode, size and
    modification time, so that a 65 MB kernel is read once per process)."""
    st = path.stat()
    return _content_hash(str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _with_file_hashes(value: Any) -> Any:
    """A GuestSpec's asdict() with every path replaced by its file's content hash (a path
    names where a file is this run, not what is in it)."""
    if isinstance(value, Path):
        # A file whose builder recorded what went into it (the DragonFly session CD, whose
        # bytes change with each build) is keyed by that (cachedir.content_id).
        return content_id(value, file_hash(value)) if value.is_file() else {"missing": str(value)}
    if isinstance(value, dict):
        return {k: _with_file_hashes(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_with_file_hashes(v) for v in value]
    return value


def key_inputs(spec: GuestSpec, backend: str, accel: str) -> dict[str, Any]:
    """Everything a saved state depends on (JSON-able). asdict covers GuestSpec fields added
    later without a change here; its Path values are still Paths, hashed here."""
    fields = dataclasses.asdict(spec)
    for name in PER_RUN:
        fields.pop(name, None)
    return {"format": FORMAT, "spec": _with_file_hashes(fields), "backend": backend,
            "accel": accel, "qemu": qemu_version()}


def key_of(inputs: dict[str, Any]) -> str:
    blob = json.dumps(inputs, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


# -- qcow2 copies -------------------------------------------------------------------------------
QEMU_IMG_TIMEOUT = 60.0


def _qemu_img(*args: str) -> str:
    cmd = ["qemu-img", *args]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=QEMU_IMG_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SnapshotError(f"{' '.join(cmd)}: {_first_line(e)}") from None
    if res.returncode != 0:
        raise SnapshotError(f"{' '.join(cmd)}: {_first_line(RuntimeError(res.stderr))}")
    return res.stdout


def absolute_backing(copy: Path, original: Path) -> None:
    """A copy of the qcow2 overlay `original` names its backing file as the original does,
    and the DragonFly overlays name theirs relative to their own directory
    (image_dragonfly.qemu_img_create): from another directory the copy could not open its
    base. Point the copy at the base's absolute path (-u: only the header changes). -U: the
    original may still be open in a stopped QEMU."""
    info = json.loads(_qemu_img("info", "-U", "--output=json", str(original)))
    backing = info.get("full-backing-filename") or info.get("backing-filename")
    if not backing:
        return
    base = Path(backing)
    if not base.is_absolute():
        base = original.parent / base
    fmt = info.get("backing-filename-format") or "qcow2"
    _qemu_img("rebase", "-u", "-F", fmt, "-b", str(base.resolve()), str(copy))


# -- one snapshot on disk ----------------------------------------------------------------------
@dataclass(frozen=True)
class Snapshot:
    directory: Path
    key: str
    hello: dict[str, str]           # what the agent answered when it was saved
    drives: dict[int, str]          # drive index -> the saved copy's file name

    @property
    def state(self) -> Path:
        return self.directory / STATE

    def spec_for(self, spec: GuestSpec, run_dir: Path) -> GuestSpec:
        """`spec` with each writable drive replaced by a fresh copy of the saved one in
        `run_dir` (a restored guest writes to its own copy)."""
        drives = list(spec.drives)
        for i, name in self.drives.items():
            copy = run_dir / f"snapshot-{name}"
            run_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.directory / name, copy)
            if drives[i].fmt == "qcow2":  # the saved copy names its base absolutely; checked
                absolute_backing(copy, self.directory / name)
            drives[i] = dataclasses.replace(drives[i], path=copy)
        return dataclasses.replace(spec, drives=tuple(drives))


def load(directory: Path) -> Snapshot | None:
    """The snapshot in `directory`, or None when there is none or it is incomplete."""
    try:
        meta = json.loads((directory / META).read_text())
        size = (directory / STATE).stat().st_size
        if meta.get("format") != FORMAT or size != meta.get("state_size"):
            return None
        drives = {int(i): str(n) for i, n in meta.get("drives", {}).items()}
        if not all((directory / n).is_file() for n in drives.values()):
            return None
        return Snapshot(directory, directory.name, dict(meta["hello"]), drives)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def keep_count() -> int:
    text = os.environ.get(ENV_KEEP, "").strip()
    if not text:
        return 4
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 1:
        raise SettingError(f"{ENV_KEEP}={text[:40]!r}: give a whole number of snapshots to keep (1 or more)")
    return n


def prune(root: Path, keep: int, protect: Path | None = None) -> list[Path]:
    """Remove all but the `keep` most recently used snapshots (and `protect`)."""
    found = sorted((d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")),
                   key=lambda d: (d / META).stat().st_mtime if (d / META).exists() else 0,
                   reverse=True) if root.is_dir() else []
    gone = [d for d in found[keep:] if d != protect]
    for d in gone:
        discard(d)
    return gone


def save(guest: Guest, key: str, inputs: dict[str, Any], root: Path = SNAPSHOTS) -> Snapshot:
    """Save a guest whose agent has just answered hello as the snapshot `key` (the guest is
    stopped and killed). Written in a temporary directory and renamed into place; when a
    concurrent run got there first, its snapshot is the one returned."""
    save_state = getattr(guest.machine, "save_state", None)
    if save_state is None:
        raise SnapshotError(f"the {type(guest.machine).__name__} backend cannot save a guest")
    root.mkdir(parents=True, exist_ok=True)
    sweep_tmp(root)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".tmp-{os.getpid()}-"))
    try:
        guest.broken = "saved as a snapshot"  # stopped for good: stop() kills it
        save_state(tmp / STATE, SAVE_TIMEOUT * guest.timeouts.scale)
        drives = {}
        for i, d in enumerate(guest.spec.drives):
            if not d.readonly and d.media == "disk":
                name = f"drive{i}.{d.fmt}"
                shutil.copyfile(d.path, tmp / name)  # the VM is stopped: the file is settled
                if d.fmt == "qcow2":
                    absolute_backing(tmp / name, d.path)
                drives[i] = name
        guest.stop()
        meta = {"format": FORMAT, "key": key, "hello": guest.hello, "drives": drives,
                "state_size": (tmp / STATE).stat().st_size, "saved": time.strftime("%Y-%m-%d %H:%M:%S"),
                "from": str(guest.run_dir), "inputs": inputs}
        (tmp / META).write_text(json.dumps(meta, indent=2, default=str) + "\n")
        final = root / key
        try:
            os.rename(tmp, final)
        except OSError:
            if load(final) is None:
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    snap = load(root / key)
    if snap is None:
        raise SnapshotError(f"the snapshot {root / key} was not complete after saving it")
    prune(root, keep_count(), protect=snap.directory)
    return snap


def verify(guest: Guest, snap: Snapshot) -> None:
    """The restored agent must be the one that was saved: its hello, field by field."""
    if guest.hello != snap.hello:
        diff = sorted(k for k in set(guest.hello) | set(snap.hello)
                      if guest.hello.get(k) != snap.hello.get(k))
        raise SnapshotError("the restored agent's hello differs from the saved one in "
                            + ", ".join(f"{k}={guest.hello.get(k, '(none)')} (saved "
                                        f"{snap.hello.get(k, '(none)')})" for k in diff))


# -- handing out guests ------------------------------------------------------------------------
class Snapshots:
    """Fresh guests for one plan (spec, backend, accelerator): restored from its snapshot,
    which is made on first use; a restore that fails is a boot instead (said in one line),
    and the snapshot is rebuilt for the next guest. After two failed restores in a run the
    rest of the run boots."""

    MAX_FAILURES = 2

    def __init__(self, spec: GuestSpec, backend: str, accel: str, root: Path = SNAPSHOTS,
                 say: Callable[[str], None] = _say) -> None:
        self.spec, self.backend, self.accel, self.root, self.say = spec, backend, accel, root, say
        self.inputs = key_inputs(spec, backend, accel)
        self.key = key_of(self.inputs)
        self.snap: Snapshot | None = None
        self.failures = 0
        self.off = ""   # why this run no longer restores

    def ensure(self) -> Snapshot:
        """The snapshot for this plan, made now (one boot) when there is none."""
        if self.snap is None:
            self.snap = load(self.root / self.key)
        if self.snap is None:
            t0 = time.monotonic()
            # A failed boot is the run's error, as it is without snapshots; a failed save is
            # a SnapshotError (the caller boots instead).
            guest = Guest.boot(self.spec, backend=self.backend, accel=self.accel,
                               run_dir=new_run_dir(f"snapshot-{self.spec.target}"))
            try:
                guest.settle_clock()
                self.snap = save(guest, self.key, self.inputs, self.root)
            except (TunlabError, OSError) as e:
                if isinstance(e, SnapshotError):
                    raise
                raise SnapshotError(f"saving the guest failed: {_first_line(e)} "
                                    f"(logs: {guest.run_dir})") from e
            finally:
                guest.stop()
            mb = self.snap.state.stat().st_size / 1e6
            self.say(f"tunlab: saved the {self.spec.target} guest at agent-ready ({mb:.0f} MB, "
                     f"{time.monotonic() - t0:.1f} s) as {self.snap.directory} (logs: {guest.run_dir})")
        os.utime(self.snap.directory / META)  # most recently used: pruned last
        return self.snap

    def restore(self, run_dir: Path | None = None) -> Guest:
        """A guest restored from the snapshot (no fallback: errors go to the caller)."""
        snap = self.ensure()
        run_dir = run_dir or new_run_dir(self.spec.target)
        spec = snap.spec_for(self.spec, run_dir)
        guest = Guest.restore(spec, snap.state, backend=self.backend, accel=self.accel, run_dir=run_dir)
        try:
            verify(guest, snap)
        except BaseException:
            guest.broken = "not the saved guest"
            guest.stop()
            raise
        return guest

    def guest(self, run_dir: Path | None = None) -> Guest:
        """A fresh guest: restored, or booted when saving or restoring fails or is off."""
        if not self.off:
            try:
                return self.restore(run_dir)
            except SnapshotError as e:
                self._failed(e, run_dir)
            except (TunlabError, OSError) as e:
                if self.snap is None:
                    raise  # the boot that makes the snapshot failed: as any boot failure
                self._failed(e, run_dir)
        return Guest.boot(self.spec, backend=self.backend, accel=self.accel, run_dir=run_dir)

    def _failed(self, e: BaseException, run_dir: Path | None) -> None:
        """Say in one line that this guest is booted instead, or that the rest of the run
        boots after MAX_FAILURES. The snapshot is thrown away (the next guest rebuilds it)
        only when it is shown to be bad: the restored agent is not the saved one, its copy
        cannot be made (SnapshotError), or QEMU/libvirt reported that the state does not load
        (StateLoadError). A timeout says more about the machine's load than about the
        snapshot, which other runs share: it is kept."""
        self.failures += 1
        why = _first_line(e)
        where = self.snap.directory if self.snap else self.root / self.key
        bad = isinstance(e, (SnapshotError, StateLoadError))
        if bad:
            if self.snap is not None:
                discard(self.snap.directory)
            self.snap = None
        if self.failures >= self.MAX_FAILURES:
            self.off = why
            self.say(f"tunlab: restoring {where} failed again ({why}): booting every guest "
                     f"for the rest of this run")
        else:
            then = "the next one rebuilds the snapshot" if bad else "the snapshot is kept"
            self.say(f"tunlab: restoring {where} failed ({why}): booting this guest instead; {then}")
        if run_dir is not None and run_dir.exists():
            try:  # the failed restore's logs stay beside the booted guest's
                run_dir.rename(run_dir.with_name(run_dir.name + "-restore-failed"))
            except OSError:
                pass


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
