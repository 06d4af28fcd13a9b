"""The DragonFly release ISO: which file, which hashes, where it comes from.

The catalog (guest-image/dragonfly/releases.json) names each release's ISO and pins its hashes;
a hash nobody has recorded yet is the string "unknown". An ISO is used only when every pinned
hash of the file matches and at least one is pinned (or it was decompressed from an .iso.bz2
that passed that test). A file with no pinned hash is refused unless the user says
--trust-first-use (TUNLAB_TRUST_FIRST_USE=1 / make ... TRUST_FIRST_USE=1): its MD5 and SHA-256
are then written into the catalog, to be checked against the published md5.txt and committed.

Accepted ISOs live in <cache>/dragonfly/<sha256>.iso (tunlab.paths.CACHE: ~/.cache/tunlab,
outside build/, kept by `make clean`); index.json there remembers which
release each one is, so a filled cache works offline. Downloads go to a temporary name first.
"""

from __future__ import annotations

import bz2
import hashlib
import json
import os
import re
import shutil
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tunlab.errors import SetupError
from tunlab.paths import CACHE, GUEST_IMAGE_DIR

CATALOG = GUEST_IMAGE_DIR / "dragonfly" / "releases.json"
UNKNOWN = "unknown"
DOWNLOAD_TIMEOUT = 15.0  # seconds for the connection and for each read
SIZES = {"6.4.2": ("748 MB", "260 MB")}  # (iso, iso.bz2), for the messages only


class MediaError(SetupError):
    """The ISO is missing, unverifiable or does not match its pinned hashes."""


@dataclass(frozen=True)
class Hashes:
    md5: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Release:
    name: str
    iso: str  # file name of the .iso
    pins: dict[str, str]  # iso_md5, iso_sha256, iso_bz2_md5, iso_bz2_sha256 -> hex or UNKNOWN

    def pinned(self, kind: str) -> dict[str, str]:
        """The known hashes of `kind` ("iso" or "iso_bz2"), as {"md5": hex, "sha256": hex}."""
        out = {}
        for algo in ("md5", "sha256"):
            value = self.pins.get(f"{kind}_{algo}", UNKNOWN)
            if value and value != UNKNOWN:
                out[algo] = value.lower()
        return out


@dataclass(frozen=True)
class Catalog:
    path: Path
    default: str
    mirror: str
    releases: dict[str, Release]

    def release(self, name: str | None) -> Release:
        name = name or self.default
        if name not in self.releases:
            raise MediaError(f"DragonFly release {name!r} is not in {self.path} "
                             f"(known: {', '.join(sorted(self.releases))}); add an entry with its ISO name "
                             f"and hashes set to \"unknown\", then record them (README.md)")
        return self.releases[name]


def load_catalog(path: Path = CATALOG) -> Catalog:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise MediaError(f"cannot read the release catalog {path}: {e}") from None
    releases = {name: Release(name, entry["iso"], {k: v for k, v in entry.items() if k.startswith("iso_")})
                for name, entry in data["releases"].items()}
    mirror = os.environ.get("TUNLAB_DRAGONFLY_MIRROR", data["mirror"])
    return Catalog(path, data["default"], mirror.rstrip("/") + "/", releases)


def record_hashes(catalog: Catalog, release: str, kind: str, hashes: Hashes, how: str) -> None:
    """Write `hashes` of the `kind` file into the catalog (trust on first use)."""
    data = json.loads(catalog.path.read_text())
    entry = data["releases"][release]
    entry[f"{kind}_md5"] = hashes.md5
    entry[f"{kind}_sha256"] = hashes.sha256
    entry["source"] = f"{kind} hashes recorded {time.strftime('%Y-%m-%d')} by {how}"
    tmp = catalog.path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, catalog.path)


def file_hashes(path: Path) -> Hashes:
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            md5.update(chunk)
            sha.update(chunk)
            size += len(chunk)
    return Hashes(md5.hexdigest(), sha.hexdigest(), size)


def check_hashes(what: str, got: Hashes, pinned: dict[str, str]) -> bool:
    """True when some hash is pinned and all pinned ones match; False when none is pinned;
    MediaError on a mismatch."""
    for algo, want in pinned.items():
        have = getattr(got, algo)
        if have != want:
            raise MediaError(f"{what}: {algo.upper()} mismatch: expected {want}, the file has {have} "
                             f"— a corrupt or different file; fetch it again")
    return bool(pinned)


def parse_md5_list(text: str) -> dict[str, str]:
    """{file name: md5} from an md5.txt in BSD (`MD5 (f) = h`) or GNU (`h  f`) format."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"MD5 \((.+)\) = ([0-9a-fA-F]{32})\s*$", line.strip())
        if m:
            out[m.group(1)] = m.group(2).lower()
            continue
        m = re.match(r"([0-9a-fA-F]{32})\s+\*?(\S+)\s*$", line.strip())
        if m:
            out[m.group(2)] = m.group(1).lower()
    return out


ISO_CACHE = CACHE / "dragonfly"


class IsoCache:
    """<cache>/dragonfly: accepted ISOs named by their SHA-256, and an index by release."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or ISO_CACHE
        self.index_path = self.root / "index.json"

    def _index(self) -> dict[str, dict[str, str]]:
        try:
            return json.loads(self.index_path.read_text())
        except (OSError, ValueError):
            return {}

    def path_for(self, sha256: str) -> Path:
        return self.root / f"{sha256}.iso"

    def lookup(self, release: Release) -> Path | None:
        """The cached ISO of `release`: by its pinned SHA-256, else by the index."""
        sha = release.pinned("iso").get("sha256") or self._index().get(release.name, {}).get("iso_sha256")
        if sha and self.path_for(sha).exists():
            return self.path_for(sha)
        return None

    def insert(self, src: Path, release: Release, hashes: Hashes, how: str, move: bool = False) -> Path:
        """Put an accepted ISO into the cache (hard link, move or copy via a temporary name)."""
        self.root.mkdir(parents=True, exist_ok=True)
        dest = self.path_for(hashes.sha256)
        if not dest.exists():
            tmp = self.root / f".tmp-{os.getpid()}-{dest.name}"
            tmp.unlink(missing_ok=True)
            if move:
                os.replace(src, tmp)
            else:
                try:
                    os.link(src, tmp)
                except OSError:
                    shutil.copyfile(src, tmp)
            os.replace(tmp, dest)
        elif move:
            src.unlink(missing_ok=True)
        index = self._index()
        index[release.name] = {"iso": release.iso, "iso_sha256": hashes.sha256, "iso_md5": hashes.md5,
                               "accepted": how, "when": time.strftime("%Y-%m-%d %H:%M:%S")}
        tmp_index = self.index_path.with_suffix(".tmp")
        tmp_index.write_text(json.dumps(index, indent=2) + "\n")
        os.replace(tmp_index, self.index_path)
        return dest


Log = Callable[[str], None]


def _hash_words(pins: dict[str, str]) -> str:
    return (f"MD5 {pins.get('md5', UNKNOWN)}, SHA-256 {pins.get('sha256', UNKNOWN)}")


def _unverified(what: Path, release: Release, catalog: Catalog, got: Hashes, kind: str) -> MediaError:
    return MediaError(
        f"{what} cannot be verified: {catalog.path.name} has no pinned hash for DragonFly "
        f"{release.name}'s {release.iso}{'.bz2' if kind == 'iso_bz2' else ''} (all \"unknown\").\n"
        f"  this file: MD5 {got.md5}  SHA-256 {got.sha256}  ({got.size} bytes)\n"
        f"  check the MD5 against {catalog.mirror}md5.txt, then accept it once with\n"
        f"    make image GUEST=dragonfly RELEASE={release.name} ISO={what} TRUST_FIRST_USE=1\n"
        f"  (or: PYTHONPATH=harness python3 -m tunlab.image_dragonfly record --release {release.name} "
        f"--iso {what}), which writes both hashes into {catalog.path} — commit that change.")


def accept_file(path: Path, kind: str, release: Release, catalog: Catalog, trust: bool,
                 published_md5: str | None, log: Log) -> tuple[Hashes, str]:
    """Hash `path` and decide whether it may be used; returns (hashes, how it was accepted)."""
    log(f"tunlab: hashing {path} ...")
    got = file_hashes(path)
    pins = release.pinned(kind)
    if published_md5:
        check_hashes(f"{path} (against the published md5.txt)", got, {"md5": published_md5})
    if check_hashes(str(path), got, pins):
        return got, f"{kind} {'+'.join(sorted(pins))} pinned in releases.json"
    if trust:
        record_hashes(catalog, release.name, kind, got, "trust-first-use")
        log(f"tunlab: trust on first use: recorded {kind} MD5 {got.md5} SHA-256 {got.sha256} for "
            f"{release.name} in {catalog.path} — compare the MD5 with {catalog.mirror}md5.txt and commit it")
        return got, "trust-first-use"
    if published_md5:
        return got, f"{kind} md5 matched the published md5.txt"
    raise _unverified(path, release, catalog, got, kind)


def _decompress(src: Path, dest: Path) -> None:
    with bz2.open(src, "rb") as fin, open(dest, "wb") as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)


def _from_bz2(path: Path, release: Release, catalog: Catalog, cache: IsoCache, trust: bool,
              published_md5: str | None, log: Log, remove_src: bool = False) -> Path:
    """Verify an .iso.bz2, decompress it into the cache and check the ISO's own pins. The
    source is removed (remove_src) only once it was accepted."""
    _, how = accept_file(path, "iso_bz2", release, catalog, trust, published_md5, log)
    cache.root.mkdir(parents=True, exist_ok=True)
    tmp = cache.root / f".tmp-{os.getpid()}-decompress.iso"
    log(f"tunlab: decompressing {path.name} ...")
    try:
        _decompress(path, tmp)
        got = file_hashes(tmp)
        check_hashes(f"{tmp} (decompressed from {path})", got, release.pinned("iso"))
        out = cache.insert(tmp, release, got, f"decompressed from a verified .iso.bz2 ({how})", move=True)
    except (OSError, EOFError, ValueError) as e:
        raise MediaError(f"{path}: cannot decompress: {e}") from None
    finally:
        tmp.unlink(missing_ok=True)
        if remove_src:
            path.unlink(missing_ok=True)
    return out


def _download(url: str, dest: Path, timeout: float, log: Log) -> None:
    log(f"tunlab: downloading {url}")
    t0 = time.monotonic()
    with urllib.request.urlopen(url, timeout=timeout) as resp, open(dest, "wb") as out:
        done, last = 0, t0
        while chunk := resp.read(1 << 20):
            out.write(chunk)
            done += len(chunk)
            if time.monotonic() - last > 10:
                last = time.monotonic()
                log(f"tunlab: {done >> 20} MB in {last - t0:.0f} s")


def _published_md5(catalog: Catalog, name: str, timeout: float) -> str | None:
    try:
        with urllib.request.urlopen(catalog.mirror + "md5.txt", timeout=timeout) as resp:
            return parse_md5_list(resp.read(1 << 20).decode("ascii", "replace")).get(name)
    except (OSError, urllib.error.URLError, ValueError):
        return None


def missing_message(release: Release, catalog: Catalog, cache: IsoCache, tried: str) -> str:
    iso_size, bz2_size = SIZES.get(release.name, ("", ""))
    pins_iso, pins_bz2 = release.pinned("iso"), release.pinned("iso_bz2")
    if pins_iso or pins_bz2:
        hashes = (f"pinned for {release.name}: .iso {_hash_words(pins_iso)}; "
                  f".iso.bz2 {_hash_words(pins_bz2)}")
    else:
        hashes = (f"{release.name} has no pinned hash yet (MD5 unknown, SHA-256 unknown): the first run "
                  f"also needs TRUST_FIRST_USE=1, after you check the file's MD5 against "
                  f"{catalog.mirror}md5.txt; it records both hashes in {catalog.path} (commit them)")
    return (
        f"the DragonFly {release.name} ISO is needed and none is available.\n"
        f"  cache:    no verified {release.iso} in {cache.root}\n"
        f"  download: {tried}\n"
        f"  to fix:   fetch {release.iso}{f' ({iso_size})' if iso_size else ''} or {release.iso}.bz2"
        f"{f' ({bz2_size})' if bz2_size else ''} from {catalog.mirror} where there is network, then\n"
        f"              make image GUEST=dragonfly RELEASE={release.name} ISO=/path/to/{release.iso}\n"
        f"  hashes:   {hashes}")


def acquire_iso(release_name: str | None = None, iso: Path | None = None, trust: bool = False,
                cache: IsoCache | None = None, catalog: Catalog | None = None,
                download: bool = True, log: Log = print) -> tuple[Release, Path]:
    """The verified ISO of a release, from `iso` (an .iso or .iso.bz2), the cache, or a download."""
    catalog = catalog or load_catalog()
    cache = cache or IsoCache()
    release = catalog.release(release_name)
    if iso is not None:
        iso = Path(iso).expanduser()
        if not iso.is_file():
            raise MediaError(f"ISO={iso}: no such file (expected {release.iso} or {release.iso}.bz2)")
        if iso.suffix == ".bz2":
            return release, _from_bz2(iso, release, catalog, cache, trust, None, log)
        got, how = accept_file(iso, "iso", release, catalog, trust, None, log)
        return release, cache.insert(iso, release, got, how)
    hit = cache.lookup(release)
    if hit is not None:
        return release, hit
    if not download:
        raise MediaError(missing_message(release, catalog, cache, "not attempted"))
    url = f"{catalog.mirror}{release.iso}.bz2"
    cache.root.mkdir(parents=True, exist_ok=True)
    part = cache.root / f".download-{os.getpid()}-{release.iso}.bz2.part"
    t0 = time.monotonic()
    try:
        _download(url, part, DOWNLOAD_TIMEOUT, log)
    except (OSError, urllib.error.URLError, ValueError) as e:
        part.unlink(missing_ok=True)
        reason = getattr(e, "reason", e)
        raise MediaError(missing_message(release, catalog, cache,
                                         f"{url} failed after {time.monotonic() - t0:.1f} s: {reason}")) from None
    # Complete: give it a stable name, so that an unverifiable download can be passed as ISO=.
    done = cache.root / f"{release.iso}.bz2"
    os.replace(part, done)
    published = _published_md5(catalog, done.name, DOWNLOAD_TIMEOUT)
    return release, _from_bz2(done, release, catalog, cache, trust, published, log, remove_src=True)
