"""The Linux guest's downloaded inputs, pinned: guest-image/linux/pins.json names, for the
kernel and for busybox, the Debian package, its exact version, the SHA-256 of its .deb, and
the SHA-256 of each file the image takes from it. So the image is the same bytes on any
machine and any date, and a Debian point release changes nothing until the pin is updated.

    python3 -m tunlab.pins fetch     download exactly the pinned versions (apt-get download
                                     pkg=version) into the cache, verify, unpack the files used
    python3 -m tunlab.pins update    move the pins to what Debian's archive offers now
                                     (`scripts/update-pins.sh`), saying what changed
    python3 -m tunlab.pins show      the pins and whether the cache holds them

Everything goes to the cache (tunlab.paths.CACHE, outside build/): debs/ holds the verified
.debs, guest/<package>_<version>/ the files the image uses, each checked against its pin.
A download whose hash differs from the pin is deleted and refused.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tunlab.errors import SetupError
from tunlab.paths import CACHE, GUEST_IMAGE_DIR, REPO

PINS = GUEST_IMAGE_DIR / "linux" / "pins.json"
UPDATE_COMMAND = "scripts/update-pins.sh"
# What each pin holds and which file of its package the image takes for each role. A kernel
# package's file names carry its release (6.1.0-57-amd64): {release} stands for it.
ROLES = {
    "kernel": {"follow": "linux-image-amd64",
               "files": {"vmlinuz": "boot/vmlinuz-{release}",
                         "tun": "lib/modules/{release}/kernel/drivers/net/tun.ko"}},
    "busybox": {"follow": "busybox-static", "files": {"busybox": "bin/busybox"}},
}


@dataclass(frozen=True)
class Pin:
    role: str           # "kernel" or "busybox"
    follow: str         # the package `update` follows (a metapackage for the kernel)
    package: str        # the exact package: linux-image-6.1.0-57-amd64
    version: str        # its exact Debian version
    deb: str            # the .deb's file name as apt-get download names it
    deb_sha256: str
    deb_size: int
    files: dict         # role of the file -> {"path": path in the package, "sha256": ...}
    release: str = ""   # the kernel's release string (kernel pin only)

    @property
    def spec(self) -> str:
        return f"{self.package}={self.version}"

    @property
    def unpacked(self) -> Path:
        return guest_dir() / f"{self.package}_{self.version.replace(':', '%3a')}"


def debs_dir() -> Path:
    return CACHE / "debs"


def guest_dir() -> Path:
    return CACHE / "guest"


def load(path: Path | None = None) -> dict[str, Pin]:
    path = path or PINS
    try:
        doc = json.loads(path.read_text())
        pins = {role: Pin(role=role, **entry) for role, entry in doc["pins"].items()}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SetupError(f"{path}: not a readable pins file ({e})") from None
    if set(pins) != set(ROLES):
        raise SetupError(f"{path}: pins for {sorted(pins)}, expected {sorted(ROLES)}")
    return pins


def save(pins: dict[str, Pin], path: Path | None = None) -> None:
    path = path or PINS
    doc = {"comment": "The Linux guest's Debian packages, pinned (harness/tunlab/pins.py). "
                      f"Update with {UPDATE_COMMAND}; never by hand.",
           "pins": {role: {k: v for k, v in vars(p).items() if k != "role" and (v or k != "release")}
                    for role, p in sorted(pins.items())}}
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# -- apt -----------------------------------------------------------------------------------------
def _as_root(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return cmd
    if shutil.which("sudo"):
        return ["sudo", *cmd]
    raise SetupError(f"need root to run: {' '.join(cmd)}")


def apt_update() -> None:
    res = subprocess.run(_as_root(["apt-get", "update", "-q"]), capture_output=True, text=True)
    if res.returncode != 0:
        raise SetupError(f"apt-get update failed: {res.stderr.strip().splitlines()[-1:] or res.returncode}")


def apt_download(spec: str, into: Path) -> tuple[bool, str]:
    """`apt-get download spec` in `into`; (success, apt's last error line)."""
    if not shutil.which("apt-get"):
        return False, "apt-get not found (tunlab's set-up needs Debian or a Debian container)"
    res = subprocess.run(["apt-get", "download", "-q", spec], cwd=into, capture_output=True, text=True)
    errs = [ln for ln in res.stderr.splitlines() if ln.startswith("E:")]
    return res.returncode == 0, (errs[-1] if errs else res.stderr.strip()[-300:])


def not_in_archive(pin: Pin, why: str) -> str:
    where = PINS.relative_to(REPO) if REPO in PINS.parents else PINS
    return (f"the pinned {pin.role} package {pin.spec} ({where}) "
            f"is not in Debian's archive any more ({why}): update the pin with `{UPDATE_COMMAND}` "
            "and commit the new pins.json")


# -- fetch ---------------------------------------------------------------------------------------
def check_unpacked(pin: Pin) -> str:
    """Why the unpacked files of `pin` cannot be used ("" when all match their pins)."""
    for name, f in pin.files.items():
        path = pin.unpacked / f["path"]
        if not path.is_file():
            return f"{path} is missing"
        if sha256_file(path) != f["sha256"]:
            return f"{path} does not match its pinned SHA-256"
    return ""


def fetch_deb(pin: Pin, download=apt_download, update=apt_update, log=print) -> Path:
    """The verified .deb of `pin` in the cache, downloaded if needed."""
    deb = debs_dir() / pin.deb
    if deb.is_file() and sha256_file(deb) == pin.deb_sha256:
        return deb
    debs_dir().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=debs_dir(), prefix=f".download-{os.getpid()}-") as tmp:
        log(f"setup: downloading {pin.spec}")
        ok, why = download(pin.spec, Path(tmp))
        if not ok:  # the package lists may be stale or absent: once more after apt-get update
            update()
            ok, why = download(pin.spec, Path(tmp))
        got = Path(tmp) / pin.deb
        if not ok or not got.is_file():
            raise SetupError(not_in_archive(pin, why or f"no {pin.deb} came back"))
        sha = sha256_file(got)
        if sha != pin.deb_sha256:
            raise SetupError(f"refused {pin.deb}: its SHA-256 is {sha}, the pin "
                             f"({PINS.name}) says {pin.deb_sha256}; not using it")
        os.replace(got, deb)
    return deb


def extract(deb: Path, members: list[str], into: Path) -> None:
    """Extract `members` (paths without ./) from a .deb's data into `into`."""
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    want = set(members)
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            for m in tar:
                name = m.name[2:] if m.name.startswith("./") else m.name
                if name in want and m.isfile():
                    out = into / name
                    out.parent.mkdir(parents=True, exist_ok=True)
                    src = tar.extractfile(m)
                    out.write_bytes(src.read())
                    want.discard(name)
    finally:
        proc.stdout.close()
        proc.wait()
    if want:
        raise SetupError(f"{deb.name} has no {', '.join(sorted(want))}")


def fetch(pins: dict[str, Pin] | None = None, download=apt_download, update=apt_update,
          log=print) -> dict[str, Pin]:
    """Make the cache hold every pin's verified files; returns the pins."""
    pins = pins or load()
    for pin in pins.values():
        if not check_unpacked(pin):
            continue
        deb = fetch_deb(pin, download, update, log)
        guest_dir().mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=guest_dir(), prefix=f".tmp-{os.getpid()}-"))
        try:
            extract(deb, [f["path"] for f in pin.files.values()], tmp)
            for f in pin.files.values():
                sha = sha256_file(tmp / f["path"])
                if sha != f["sha256"]:
                    raise SetupError(f"{f['path']} in {pin.deb} has SHA-256 {sha}, the pin says "
                                     f"{f['sha256']}; not using it")
            shutil.rmtree(pin.unpacked, ignore_errors=True)
            os.rename(tmp, pin.unpacked)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        log(f"setup: {pin.spec} verified and unpacked in {pin.unpacked}")
    return pins


def guest_files(pins: dict[str, Pin] | None = None) -> tuple[str, dict[str, Path]]:
    """(kernel release, {file role: path}) of the pinned guest files, checked against the
    pins; a missing or changed file is a SetupError that says to run `make deps`."""
    pins = pins or load()
    files = {}
    for pin in pins.values():
        why = check_unpacked(pin)
        if why:
            raise SetupError(f"the pinned guest package {pin.spec} is not in the cache ({why}): "
                             "run `make deps`")
        files.update({name: pin.unpacked / f["path"] for name, f in pin.files.items()})
    return pins["kernel"].release, files


# -- update --------------------------------------------------------------------------------------
def candidate(follow: str) -> tuple[str, str]:
    """(package, version) apt would install now for `follow`, following a kernel metapackage
    to the versioned package it depends on."""
    pkg = follow
    deps = subprocess.run(["apt-cache", "depends", follow], capture_output=True, text=True).stdout
    for line in deps.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "Depends:" and parts[1].startswith("linux-image-") \
                and parts[1][len("linux-image-"):][:1].isdigit():
            pkg = parts[1]
            break
    policy = subprocess.run(["apt-cache", "policy", pkg], capture_output=True, text=True).stdout
    ver = next((ln.split()[1] for ln in policy.splitlines() if ln.strip().startswith("Candidate:")), "")
    if not ver or ver == "(none)":
        raise SetupError(f"apt knows no candidate version of {pkg} (following {follow})")
    return pkg, ver


def pin_from_deb(role: str, package: str, version: str, deb: Path, workdir: Path) -> Pin:
    """A pin for a downloaded .deb: its hash, and the hashes of the files the image uses."""
    release = package[len("linux-image-"):] if role == "kernel" else ""
    paths = {name: p.format(release=release) for name, p in ROLES[role]["files"].items()}
    extract(deb, list(paths.values()), workdir)
    return Pin(role=role, follow=ROLES[role]["follow"], package=package, version=version,
               deb=deb.name, deb_sha256=sha256_file(deb), deb_size=deb.stat().st_size,
               files={n: {"path": p, "sha256": sha256_file(workdir / p)} for n, p in paths.items()},
               release=release)


def describe_change(old: Pin | None, new: Pin) -> list[str]:
    """Lines saying what moved from `old` to `new` (one 'unchanged' line when nothing did)."""
    if old == new:
        return [f"{new.role}: {new.spec} unchanged"]
    was = f"{old.package} {old.version}" if old else "(no pin)"
    lines = [f"{new.role}: {was} -> {new.package} {new.version}",
             f"  {new.deb}: sha256 {old.deb_sha256 if old else '-'} -> {new.deb_sha256}"]
    for name, f in new.files.items():
        o = old.files.get(name) if old else None
        lines.append(f"  {f['path']}: sha256 {o['sha256'] if o else '-'} -> {f['sha256']}")
    return lines


def update(path: Path | None = None, refresh: bool = True, download=apt_download, resolve=candidate,
           log=print) -> bool:
    """Pin what Debian's archive offers now; returns whether the pins changed."""
    path = path or PINS
    try:
        old = load(path)
    except SetupError:
        old = {}
    if refresh:
        apt_update()
    new = {}
    with tempfile.TemporaryDirectory(prefix="tunlab-pins-") as tmp:
        for role, spec in ROLES.items():
            package, version = resolve(spec["follow"])
            d = Path(tmp) / role
            d.mkdir()
            ok, why = download(f"{package}={version}", d)
            debs = list(d.glob("*.deb"))
            if not ok or len(debs) != 1:
                raise SetupError(f"apt-get download {package}={version} failed: {why}")
            new[role] = pin_from_deb(role, package, version, debs[0], d / "files")
            # keep the verified .deb: the next fetch needs no download
            debs_dir().mkdir(parents=True, exist_ok=True)
            shutil.copyfile(debs[0], debs_dir() / debs[0].name)
    for role in ROLES:
        for line in describe_change(old.get(role), new[role]):
            log(line)
    changed = new != old
    if changed:
        save(new, path)
        log(f"wrote {path}: rebuild the image (`make image`), re-record the bench baselines "
            "if they depend on the guest, and commit the file")
    return changed


def show(pins: dict[str, Pin], log=print) -> None:
    for pin in pins.values():
        why = check_unpacked(pin)
        log(f"{pin.role}: {pin.spec}  deb sha256 {pin.deb_sha256}  "
            f"{'cached in ' + str(pin.unpacked) if not why else 'not cached (' + why + ')'}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m tunlab.pins", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=f"cache: {CACHE} (TUNLAB_CACHE or XDG_CACHE_HOME moves it)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("fetch", help="download and verify exactly the pinned packages (make deps)")
    u = sub.add_parser("update", help="pin what Debian's archive offers now; say what changed")
    u.add_argument("--no-refresh", action="store_true", help="skip apt-get update")
    sub.add_parser("show", help="the pins and whether the cache holds them")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "fetch":
            fetch()
            print(f"setup: pinned guest packages present in {guest_dir()}")
        elif args.cmd == "update":
            update(refresh=not args.no_refresh)
        else:
            show(load())
    except SetupError as e:
        print(f"setup: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
