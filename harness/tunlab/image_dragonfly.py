"""Builds the DragonFly guest image (guest-image/dragonfly) by an unattended install.

The release ISO comes from dragonfly_media (hash-checked, cached). Three phases then run over
the serial console, each from a small ISO (genisoimage -r) holding pfi.conf, the phase script
and what it needs, which DragonFly's PFI runs at boot:

  install    live CD: partition da0, copy the system, loader.conf/rc.conf/fstab, patch PFI
  kernel     installed system: kernel sources, the tun-less kernel (make nativekernel,
             installkernel DESTLABEL=alt), then default boot = tun-less, kernel.alt = GENERIC
  configure  panic policy, the agent built in the guest, the rc script that prepares each
             session (builds driver/ and the agent from a session CD, kldloads the driver)

Each phase writes a qcow2 layer over the previous one (qemu-img create -b prev -F qcow2) under
<cache>/images/dragonfly/layers/<phase>-<key>/, keyed by the hash of everything that phase
depends on, so a failed or changed phase reruns alone. A phase is accepted only on its DONE
line and a clean exit of the VM. The image directory <cache>/images/dragonfly/<release>-<key>/
holds manifest.json (the layer chain and the fixed virtual hardware). <cache> is
tunlab.paths.CACHE (~/.cache/tunlab; TUNLAB_CACHE moves it), outside build/: `make clean`
keeps the image, `make distclean` removes it.

Sessions (session_spec) boot a fresh overlay of the image with a session CD of the current
driver/ and harness/agent sources.

    python3 -m tunlab.image_dragonfly build [--release R] [--iso PATH] [--trust-first-use]
    python3 -m tunlab.image_dragonfly record --release R --iso PATH
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from tunlab import qemu  # noqa: F401  (registers the "qemu" backend)
from tunlab.console import ConsoleWatcher
from tunlab.cachedir import record_content
from tunlab.crash_patterns import DRAGONFLY_CONSOLE
from tunlab.dragonfly_console import (ConsoleCursor, PhaseFailed, ProgressLine,
                                      boot_live_cd_on_serial_console, wait_for_clean_power_off,
                                      wait_for_phase_done)
from tunlab.dragonfly_media import MediaError, accept_file, acquire_iso, load_catalog
from tunlab.errors import GuestCrash, GuestDied, SetupError, TunlabError
from tunlab.machine import Drive, GuestSpec, Machine, cpu_fields, create_machine
from tunlab.paths import AGENT_DIR, CACHE, GUEST_IMAGE_DIR, REPO

RECIPE = GUEST_IMAGE_DIR / "dragonfly"
IMAGES = CACHE / "images" / "dragonfly"
LAYERS = IMAGES / "layers"
BUILDER_VERSION = "1"
KERNCONF = "TUNLAB_NOTUN"
DRIVER_DIR = REPO / "driver"


@dataclass(frozen=True)
class Hardware:
    """The virtual hardware, fixed for install and every later boot (a changed disk bus or
    CPU breaks the root mount or the kernel): q35's AHCI holds the disk (da0) and the CDs
    (cd0, cd1, ...) in drive order; both COM ports are the machine's 16550s."""

    machine: str = "q35"
    interface: str = "ide"  # on q35: the ICH9 AHCI ports, in drive order
    disk: str = "da0"
    disk_size: str = "20G"
    memory_mb: int = 2048
    cpus: int = 2
    session_memory_mb: int = 1024
    kvm_cpu: str = "Nehalem,pmu=off"  # facts: -cpu host gave #GP in wrmsr under KVM


HW = Hardware()


@dataclass(frozen=True)
class Phase:
    name: str
    script: str
    files: tuple[str, ...]
    budget_s: float      # whole phase, under KVM (TCG: x TCG_FACTOR)
    live_cd: bool = False
    agent: bool = False  # carries harness/agent's sources


PHASES = (
    Phase("install", "phase1-install.sh", ("common.sh",), 1800, live_cd=True),
    Phase("kernel", "phase2-kernel.sh", ("common.sh", "mkkernconf.sh"), 3 * 3600),
    Phase("configure", "phase3-configure.sh", ("common.sh", "tunlab-session.sh", "tunlab.rc"), 1800,
          agent=True),
)
TCG_FACTOR = 6.0
SILENCE_S = 600.0       # no console output for this long (KVM): hung; scripts beat every 60 s
LOADER_S = 180.0        # QEMU start -> loader menu
PROMPT_S = 60.0         # one loader command -> next prompt
KERNEL_S = 120.0        # `boot` -> kernel banner
POWEROFF_S = 300.0      # DONE -> the VM has exited
CONNECT_S = 20.0

MachineFactory = Callable[[str, GuestSpec, Path, str], Machine]
Log = Callable[[str], None]


def scale(accel: str) -> float:
    s = 1.0 if accel == "kvm" else TCG_FACTOR
    try:
        return s * float(os.environ.get("TUNLAB_TIMEOUT_SCALE", "1"))
    except ValueError:
        raise SetupError("TUNLAB_TIMEOUT_SCALE must be a number") from None


# -- inputs and keys ---------------------------------------------------------------------------
def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def source_files(root: Path, skip: tuple[str, ...] = ()) -> list[Path]:
    """The files of a source tree to ship to the guest (no build outputs, no VCS files)."""
    out = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if any(part in skip or part.startswith(".") for part in rel.parts):
            continue
        if p.is_file() and p.suffix not in (".o", ".ko", ".a", ".so", ".pyc"):
            out.append(p)
    return out


def tree_hash(root: Path, skip: tuple[str, ...] = ()) -> str:
    h = hashlib.sha256()
    for p in source_files(root, skip):
        h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def phase_conf(phase: Phase, hw: Hardware = HW) -> str:
    text = (RECIPE / "phase.conf.in").read_text()
    jobs = str(max(1, hw.cpus))
    for k, v in {"PHASE": phase.name, "DISK": hw.disk, "CLEAN_CD": "cd2", "KERNCONF": KERNCONF,
                 "JOBS": jobs}.items():
        text = text.replace(f"@{k}@", v)
    return text


def layer_key(previous: str, phase: Phase, hw: Hardware = HW) -> str:
    """Everything a phase's result depends on. The agent's sources are not part of it: the
    image's agent is a fallback, each session builds the current one from its CD."""
    parts = {"builder": BUILDER_VERSION, "previous": previous, "phase": phase.name,
             "hardware": asdict(hw), "conf": phase_conf(phase, hw),
             "pfi": (RECIPE / "pfi.conf.in").read_text(),
             "script": _sha((RECIPE / phase.script).read_bytes()),
             "files": {f: _sha((RECIPE / f).read_bytes()) for f in phase.files}}
    return _sha(json.dumps(parts, sort_keys=True).encode())


def recipe_hash(hw: Hardware = HW) -> str:
    """The hash of the whole recipe (without the ISO): finds a built image without the ISO."""
    return layer_key("recipe", Phase("all", "phase1-install.sh",
                                     tuple(sorted({f for p in PHASES for f in (p.script, *p.files)})), 0), hw)


# -- tools -------------------------------------------------------------------------------------
def require_tools(need_bsd_agent: bool = True) -> None:
    missing = [t for t in ("qemu-img", "genisoimage", qemu.QEMU) if not shutil.which(t)]
    if missing:
        raise SetupError(f"missing {', '.join(missing)}: run `make deps` "
                         "(installs qemu-utils, genisoimage, qemu-system-x86)")
    if need_bsd_agent and not (AGENT_DIR / "backend_bsd.c").exists():
        raise SetupError(f"{AGENT_DIR / 'backend_bsd.c'} does not exist: the agent's BSD backend "
                         "(built in the guest with `make BACKEND=bsd`) is needed for the image")


def make_iso(stage: Path, out: Path, label: str) -> Path:
    res = subprocess.run(["genisoimage", "-r", "-quiet", "-V", label, "-o", str(out), str(stage)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise SetupError(f"genisoimage failed for {out}:\n{res.stderr.strip()}")
    return out


def qemu_img_create(disk: Path, backing: Path | None, size: str = HW.disk_size) -> None:
    cmd = ["qemu-img", "create", "-q", "-f", "qcow2"]
    if backing is not None:
        # Relative to the new file's directory, so that a restored cache keeps working.
        cmd += ["-b", os.path.relpath(backing, disk.parent), "-F", "qcow2", str(disk)]
    else:
        cmd += [str(disk), size]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise SetupError(f"qemu-img create failed: {res.stderr.strip()} ({' '.join(cmd)})")


def _copy_sources(src: Path, dest: Path, skip: tuple[str, ...] = ()) -> None:
    for p in source_files(src, skip):
        target = dest / p.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(p, target)


def build_phase_iso(phase: Phase, out_dir: Path, hw: Hardware = HW) -> Path:
    """The phase's CD: pfi.conf, the script, phase.conf, the files it needs (and the agent)."""
    stage = out_dir / f"{phase.name}-iso"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    (stage / "pfi.conf").write_text((RECIPE / "pfi.conf.in").read_text().replace("@SCRIPT@", phase.script))
    (stage / "phase.conf").write_text(phase_conf(phase, hw))
    for f in (phase.script, *phase.files):
        shutil.copy2(RECIPE / f, stage / Path(f).name)
        (stage / Path(f).name).chmod(0o755)
    if phase.agent:
        _copy_sources(AGENT_DIR, stage / "agent")
    iso = make_iso(stage, out_dir / f"{phase.name}.iso", f"TUNLAB_{phase.name.upper()}")
    shutil.rmtree(stage, ignore_errors=True)
    return iso


def vm_shape(accel: str, memory_mb: int, hw: Hardware = HW) -> dict[str, Any]:
    """The GuestSpec fields of a DragonFly guest on `hw` under `accel`: its machine, vCPUs,
    memory, and under KVM the named CPU model kvm_cpu (a QEMU -cpu value: model and
    properties); under TCG the accelerator's default CPU (machine.resolve)."""
    shape: dict[str, Any] = {"machine": hw.machine, "cpus": hw.cpus, "memory_mb": memory_mb,
                             "boot_timeout": SESSION_BOOT_TIMEOUT}
    if accel == "kvm":
        shape.update(cpu_fields(hw.kvm_cpu))
    return shape


def phase_spec(phase: Phase, disk: Path, phase_iso: Path, dfly_iso: Path, accel: str,
               hw: Hardware = HW) -> GuestSpec:
    """Drives in a fixed order (never -cdrom, which reorders CDs): the disk, then for the
    install phase the live CD (cd0), the phase CD (cd1) and a clean copy of the live CD (cd2);
    later phases boot the disk with the phase CD as cd0."""
    drives = [Drive(disk, fmt="qcow2", interface=hw.interface)]
    cd = dict(media="cdrom", readonly=True, interface=hw.interface)
    if phase.live_cd:
        drives += [Drive(dfly_iso, **cd), Drive(phase_iso, **cd), Drive(dfly_iso, **cd)]
    else:
        drives += [Drive(phase_iso, **cd)]
    return GuestSpec(target="dragonfly", name=f"tunlab-dfly-{phase.name}", drives=tuple(drives),
                     **vm_shape(accel, hw.memory_mb, hw))


# -- running a phase ---------------------------------------------------------------------------
def run_phase(phase: Phase, spec: GuestSpec, run_dir: Path, accel: str, backend: str = "qemu",
              factory: MachineFactory = create_machine, progress: ProgressLine | None = None,
              timing: float | None = None) -> float:
    """Boot one phase's VM and wait for its DONE line and clean exit; returns the seconds it
    took. Raises PhaseFailed (script failure, panic, hang, unclean exit) naming the console log."""
    k = timing if timing is not None else scale(accel)
    run_dir.mkdir(parents=True, exist_ok=True)
    machine = factory(backend, spec, run_dir, accel)
    t0 = time.monotonic()
    watcher: ConsoleWatcher | None = None
    cur: ConsoleCursor | None = None
    try:
        machine.start(CONNECT_S * max(1.0, k / TCG_FACTOR))
        watcher = ConsoleWatcher(machine.console, run_dir / "console.log", DRAGONFLY_CONSOLE)
        cur = ConsoleCursor(watcher, machine.alive)
        c = cur

        def tick() -> None:
            if progress:
                progress.update(phase.name, time.monotonic() - t0, c.last_line())

        if phase.live_cd:
            boot_live_cd_on_serial_console(cur, LOADER_S * k, PROMPT_S * k, KERNEL_S * k)
        wait_for_phase_done(cur, phase.name, phase.budget_s * k, SILENCE_S * k, tick)
        wait_for_clean_power_off(machine, cur, POWEROFF_S * k)
        return time.monotonic() - t0
    except GuestCrash as e:
        raise PhaseFailed(f"phase {phase.name}: {e}", "panic") from None
    except GuestDied as e:
        raise PhaseFailed(f"phase {phase.name}: {e}", "timeout") from None
    finally:
        machine.kill()
        if cur:
            cur.close()
        if watcher:
            watcher.close()
        ctl = getattr(machine, "control", None)
        if ctl is not None:
            ctl.close()


def _layer_dir(phase: Phase, key: str) -> Path:
    return LAYERS / f"{phase.name}-{key[:16]}"


def build_layers(dfly_iso: Path, iso_sha256: str, accel: str, backend: str = "qemu",
                 factory: MachineFactory = create_machine, log: Log = print,
                 progress: ProgressLine | None = None, hw: Hardware = HW) -> list[dict[str, str]]:
    """Run (or find cached) every phase; returns the layer chain, base first."""
    previous, backing = f"iso:{iso_sha256}", None
    chain = []
    for phase in PHASES:
        key = layer_key(previous, phase, hw)
        layer = _layer_dir(phase, key)
        if (layer / "phase.json").exists():
            log(f"tunlab: phase {phase.name}: cached ({layer})")
        else:
            _build_layer(phase, key, layer, backing, dfly_iso, accel, backend, factory, log, progress, hw)
        chain.append({"phase": phase.name, "key": key, "dir": str(layer)})
        previous, backing = key, layer / "disk.qcow2"
    return chain


def _build_layer(phase: Phase, key: str, layer: Path, backing: Path | None, dfly_iso: Path, accel: str,
                 backend: str, factory: MachineFactory, log: Log, progress: ProgressLine | None,
                 hw: Hardware) -> None:
    LAYERS.mkdir(parents=True, exist_ok=True)
    for attempt in (1, 2):
        tmp = Path(tempfile.mkdtemp(dir=LAYERS, prefix=f".tmp-{phase.name}-"))
        disk = tmp / "disk.qcow2"
        qemu_img_create(disk, backing, hw.disk_size)
        iso = build_phase_iso(phase, tmp, hw)
        spec = phase_spec(phase, disk, iso, dfly_iso, accel, hw)
        run_dir = tmp / "run"
        log(f"tunlab: phase {phase.name}: booting (attempt {attempt}; console log {run_dir / 'console.log'})")
        try:
            took = run_phase(phase, spec, run_dir, accel, backend, factory, progress)
        except PhaseFailed as e:
            if progress:
                progress.done(f"tunlab: phase {phase.name} failed ({e.kind})")
            keep = LAYERS / f"failed-{phase.name}-{time.strftime('%Y%m%d-%H%M%S')}-{attempt}"
            (tmp / "disk.qcow2").unlink(missing_ok=True)  # keep the logs, not the half-written disk
            iso.unlink(missing_ok=True)
            os.rename(tmp, keep)
            if e.kind == "timeout" and attempt == 1:
                log(f"tunlab: phase {phase.name}: {str(e).splitlines()[0]} — retrying once "
                    f"(logs of this attempt: {keep})")
                continue
            raise PhaseFailed(str(e).replace(str(tmp), str(keep)) +
                              f"\n(kept for inspection: {keep})", e.kind) from None
        if progress:
            progress.done(f"tunlab: phase {phase.name} done in {took / 60:.1f} min")
        iso.unlink()
        (tmp / "phase.json").write_text(json.dumps(
            {"phase": phase.name, "key": key, "seconds": round(took), "accel": accel,
             "backing": str(backing) if backing else None,
             "when": time.strftime("%Y-%m-%d %H:%M:%S")}, indent=2) + "\n")
        if layer.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            os.rename(tmp, layer)
        return


# -- the image ---------------------------------------------------------------------------------
def build(release: str | None = None, iso: Path | None = None, trust: bool = False, accel: str = "tcg",
          backend: str = "qemu", factory: MachineFactory = create_machine, log: Log = print,
          progress: ProgressLine | None = None) -> Path:
    """Build (or find cached) the DragonFly image; returns its directory. The ISO comes first:
    without it nothing else matters, and the tools are checked once it is in hand."""
    try:
        rel, iso_path = acquire_iso(release, iso, trust, log=log)
    except MediaError as e:
        if not (AGENT_DIR / "backend_bsd.c").exists():
            raise MediaError(f"{e}\n  also:     {AGENT_DIR / 'backend_bsd.c'} does not exist yet: the image "
                             "builds the agent in the guest with `make BACKEND=bsd`") from None
        raise
    require_tools(need_bsd_agent=True)
    iso_sha = iso_path.stem  # the cache names accepted ISOs by their SHA-256
    chain = build_layers(iso_path, iso_sha, accel, backend, factory, log, progress)
    out = IMAGES / f"{rel.name}-{chain[-1]['key'][:16]}"
    manifest = {"release": rel.name, "iso": rel.iso, "iso_sha256": iso_sha,
                "recipe": recipe_hash(), "disk": os.path.relpath(Path(chain[-1]["dir"]) / "disk.qcow2", out),
                "layers": chain, "hardware": asdict(HW), "kernels": {"kernel": KERNCONF,
                                                                      "kernel.alt": "X86_64_GENERIC"},
                "agent_sources": tree_hash(AGENT_DIR), "when": time.strftime("%Y-%m-%d %H:%M:%S")}
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    log(f"tunlab: DragonFly {rel.name} image ready: {out}")
    return out


def load_manifest(image_dir: Path) -> dict:
    path = image_dir / "manifest.json"
    if not path.exists():
        raise SetupError(f"{image_dir} is not a tunlab DragonFly image (no manifest.json); "
                         "build one with `make image GUEST=dragonfly`")
    return json.loads(path.read_text())


def find_image(release: str | None = None) -> Path | None:
    """The newest built image of `release` made with the current recipe (no ISO needed)."""
    release = release or load_catalog().default
    want, found = recipe_hash(), []
    for m in IMAGES.glob("*/manifest.json"):
        try:
            meta = json.loads(m.read_text())
        except ValueError:
            continue
        if meta.get("release") == release and meta.get("recipe") == want and \
                (m.parent / meta["disk"]).exists():
            found.append((m.stat().st_mtime, m.parent))
    return max(found)[1] if found else None


def unavailable_reason(release: str | None = None) -> str:
    if find_image(release):
        return ""
    rel = release or load_catalog().default
    return (f"dragonfly target: no DragonFly {rel} image built with the current recipe in {IMAGES} — "
            f"build it with `make image GUEST=dragonfly` (needs the DragonFly ISO: give it as "
            f"ISO=/path/to/dfly-x86_64-{rel}_REL.iso where it cannot be downloaded; see "
            f"guest-image/dragonfly/README.md)")


# -- sessions ----------------------------------------------------------------------------------
def build_session_iso(out_dir: Path, driver_src: Path | None, driver_id: str,
                      features: frozenset[str] | None = None) -> Path:
    """A CD with the current agent sources, the driver under test and tunlab-session.conf
    (read by the image's tunlab-session.sh at boot). `driver_src`: the directory of the
    if_tun.c to build and load (built with driver/Makefile), or None for the kernel's stock
    module. `driver_id`: what the agent's hello reports as driver= (tunlab-session.sh passes
    it on; for stock it appends the hash of /usr/src's sources itself). `features`: the
    driver's (driver_source.FEATURES), passed to the agent; None: all of them."""
    stage = out_dir / "session-iso"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    _copy_sources(AGENT_DIR, stage / "agent")
    (stage / "driver").mkdir()
    if driver_src is not None:
        shutil.copy2(DRIVER_DIR / "Makefile", stage / "driver" / "Makefile")
        for name in ("if_tun.c", "if_tun.h", "if_tunvar.h"):
            if (driver_src / name).exists():
                shutil.copy2(driver_src / name, stage / "driver" / name)
    sources = _sha((tree_hash(stage / "agent") + tree_hash(stage / "driver")).encode())[:16]
    load = "ours" if driver_src is not None else "stock"
    feats = ",".join(sorted(features)) if features is not None else "all"
    (stage / "tunlab-session.conf").write_text(
        f"driver={load}\ndriver_id={driver_id}\nfeatures={feats or 'none'}\n"
        f"sources_hash={sources}\n")
    iso = make_iso(stage, out_dir / "session.iso", "TUNLAB_SESSION")
    # The ISO's bytes change with every build (genisoimage's timestamps); the snapshot key
    # takes what is on it instead (cachedir.content_id).
    record_content(iso, tree_hash(stage))
    shutil.rmtree(stage, ignore_errors=True)
    return iso


# Launch -> agent ready for a session, under TCG: DragonFly's boot plus building the agent and
# the driver in the guest (GuestSpec's default is sized for the Linux guest's seconds).
SESSION_BOOT_TIMEOUT = 900.0


def session_spec(image_dir: Path, run_root: Path, accel: str, driver_src: Path | None,
                 driver_id: str, features: frozenset[str] | None = None) -> GuestSpec:
    """A guest for one test session: a fresh qcow2 overlay of the image (the image itself is
    never written) and the session CD with the driver under test (build_session_iso); the
    CPU follows `accel` (vm_shape)."""
    meta = load_manifest(image_dir)
    hw = Hardware(**meta["hardware"])
    run_root.mkdir(parents=True, exist_ok=True)
    overlay = run_root / "disk.qcow2"
    overlay.unlink(missing_ok=True)
    qemu_img_create(overlay, (image_dir / meta["disk"]).resolve(), hw.disk_size)
    iso = build_session_iso(run_root, driver_src, driver_id, features)
    drives = (Drive(overlay, fmt="qcow2", interface=hw.interface),
              Drive(iso, media="cdrom", readonly=True, interface=hw.interface))
    return GuestSpec(target="dragonfly", name=f"tunlab-dfly-{meta['release']}", drives=drives,
                     **vm_shape(accel, hw.session_memory_mb, hw))


# -- command line ------------------------------------------------------------------------------
def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "yes", "true", "on")


def cli_build(release: str | None, iso: str | None, trust: bool, accel: str, backend: str) -> int:
    release = release or os.environ.get("RELEASE") or None
    iso = iso or os.environ.get("TUNLAB_DRAGONFLY_ISO") or os.environ.get("ISO") or None
    trust = trust or _env_flag("TUNLAB_TRUST_FIRST_USE") or _env_flag("TRUST_FIRST_USE")
    progress = ProgressLine()
    t0 = time.monotonic()
    try:
        out = build(release, Path(iso) if iso else None, trust, accel, backend, progress=progress)
    except TunlabError as e:
        print(f"tunlab image: {e}", file=sys.stderr)
        print(f"tunlab image: failed after {time.monotonic() - t0:.1f} s", file=sys.stderr)
        return 1
    meta = load_manifest(out)
    print(f"image   {out}\ndisk    {(out / meta['disk']).resolve()}\nrelease {meta['release']}")
    return 0


def cli_record(release: str | None, iso: str) -> int:
    """Record an ISO's (or .iso.bz2's) hashes in releases.json, trusting it: the documented way
    for the first user with the file."""
    catalog = load_catalog()
    rel = catalog.release(release)
    path = Path(iso)
    kind = "iso_bz2" if path.suffix == ".bz2" else "iso"
    try:
        got, how = accept_file(path, kind, rel, catalog, True, None, print)
    except (MediaError, OSError) as e:
        print(f"tunlab record: {e}", file=sys.stderr)
        return 1
    print(f"{rel.name} {kind}: MD5 {got.md5} SHA-256 {got.sha256} ({how}) in {catalog.path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from tunlab.qemu import pick_accel
    p = argparse.ArgumentParser(prog="python3 -m tunlab.image_dragonfly")
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build (or find cached) the DragonFly image")
    b.add_argument("--release")
    b.add_argument("--iso", help="a local dfly-x86_64-<release>_REL.iso or .iso.bz2")
    b.add_argument("--trust-first-use", action="store_true",
                   help="accept an ISO with no pinned hash and record its hashes in releases.json")
    b.add_argument("--accel", default="auto", choices=("auto", "kvm", "tcg"))
    b.add_argument("--backend", default="qemu")
    r = sub.add_parser("record", help="record an ISO's hashes in releases.json (trust on first use)")
    r.add_argument("--release")
    r.add_argument("--iso", required=True)
    a = p.parse_args(argv)
    if a.cmd == "record":
        return cli_record(a.release, a.iso)
    try:
        accel = pick_accel(a.accel)
    except SetupError as e:
        print(f"tunlab image: {e}", file=sys.stderr)
        return 1
    return cli_build(a.release, a.iso, a.trust_first_use, accel, a.backend)


if __name__ == "__main__":
    sys.exit(main())
