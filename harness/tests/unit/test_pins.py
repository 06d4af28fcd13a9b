"""The Linux guest's pinned packages (tunlab.pins) and the cache directory (tunlab.paths):
exactly the pinned version is fetched, a hash mismatch is refused, a version the archive has
dropped is one line naming the pin and the update command, and an update says what changed.
apt is played by functions that copy fake .debs (built with dpkg-deb)."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tunlab import paths, pins
from tunlab.errors import SetupError


def make_deb(tmp: Path, package: str, version: str, files: dict[str, bytes]) -> Path:
    root = tmp / f"root-{package}-{version}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {package}\nVersion: {version}\nArchitecture: amd64\nMaintainer: t <t@t>\n"
        "Description: test\n")
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    out = tmp / f"{package}_{version.replace(':', '%3a')}_amd64.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(root), str(out)],
                   check=True, capture_output=True)
    return out


class FakeApt:
    """apt-get download and apt-get update over a dict of spec -> .deb."""

    def __init__(self, debs: dict[str, Path]) -> None:
        self.debs, self.downloads, self.updates = debs, [], 0

    def download(self, spec: str, into: Path):
        self.downloads.append(spec)
        if spec not in self.debs:
            return False, f"E: Version '{spec.split('=')[1]}' for '{spec.split('=')[0]}' was not found"
        shutil.copy(self.debs[spec], into / self.debs[spec].name)
        return True, ""

    def update(self) -> None:
        self.updates += 1


KERNEL_FILES = {"boot/vmlinuz-6.1.0-9-amd64": b"vmlinuz 9",
                "lib/modules/6.1.0-9-amd64/kernel/drivers/net/tun.ko": b"tun 9",
                "boot/config-6.1.0-9-amd64": b"not used by the image"}
BUSYBOX_FILES = {"bin/busybox": b"busybox 1"}


@pytest.fixture
def world(tmp_path, monkeypatch):
    """Fake .debs, the pins that `update` writes for them, and an empty cache."""
    monkeypatch.setattr(pins, "CACHE", tmp_path / "cache")
    debs = {"linux-image-6.1.0-9-amd64=6.1.99-1":
            make_deb(tmp_path, "linux-image-6.1.0-9-amd64", "6.1.99-1", KERNEL_FILES),
            "busybox-static=1:1.35.0-4": make_deb(tmp_path, "busybox-static", "1:1.35.0-4", BUSYBOX_FILES)}
    apt = FakeApt(debs)
    pinfile = tmp_path / "pins.json"
    monkeypatch.setattr(pins, "PINS", pinfile)
    current = {"linux-image-amd64": ("linux-image-6.1.0-9-amd64", "6.1.99-1"),
               "busybox-static": ("busybox-static", "1:1.35.0-4")}
    log = []
    assert pins.update(pinfile, refresh=False, download=apt.download, resolve=current.__getitem__,
                       log=log.append)
    shutil.rmtree(tmp_path / "cache")  # update keeps the .debs; start from an empty cache
    apt.downloads.clear()
    return {"apt": apt, "pins": pinfile, "debs": debs, "current": current, "tmp": tmp_path, "log": log}


def test_the_repository_pins_every_file_the_image_uses():
    loaded = pins.load()
    assert set(loaded) == {"kernel", "busybox"}
    k, b = loaded["kernel"], loaded["busybox"]
    assert k.package == f"linux-image-{k.release}" and re.fullmatch(r"\d+\.\d+\.\d+-\d+-amd64", k.release)
    assert set(k.files) == {"vmlinuz", "tun"} and set(b.files) == {"busybox"}
    for p in loaded.values():
        assert re.fullmatch(r"[0-9a-f]{64}", p.deb_sha256) and p.deb_size > 0
        assert p.deb.startswith(f"{p.package}_") and p.deb.endswith("_amd64.deb")
        for f in p.files.values():
            assert re.fullmatch(r"[0-9a-f]{64}", f["sha256"])
    assert k.files["vmlinuz"]["path"] == f"boot/vmlinuz-{k.release}"


def test_update_writes_the_pins_and_says_what_they_are(world):
    doc = json.loads(world["pins"].read_text())["pins"]
    assert doc["kernel"]["version"] == "6.1.99-1" and doc["kernel"]["release"] == "6.1.0-9-amd64"
    assert doc["kernel"]["files"]["tun"]["sha256"] == pins.hashlib.sha256(b"tun 9").hexdigest()
    assert doc["busybox"]["deb_sha256"] == pins.sha256_file(world["debs"]["busybox-static=1:1.35.0-4"])
    assert "config" not in json.dumps(doc)  # only what the image uses
    assert "kernel: (no pin) -> linux-image-6.1.0-9-amd64 6.1.99-1" in world["log"]


def test_fetch_downloads_exactly_the_pinned_version_and_unpacks_its_files(world):
    log = []
    pins.fetch(download=world["apt"].download, update=world["apt"].update, log=log.append)
    assert sorted(world["apt"].downloads) == ["busybox-static=1:1.35.0-4", "linux-image-6.1.0-9-amd64=6.1.99-1"]
    release, files = pins.guest_files()
    assert release == "6.1.0-9-amd64"
    assert files["vmlinuz"].read_bytes() == b"vmlinuz 9" and files["busybox"].read_bytes() == b"busybox 1"
    assert not list(files["vmlinuz"].parent.glob("config-*"))
    assert pins.CACHE in files["tun"].parents
    # a second fetch finds everything in place: no download
    world["apt"].downloads.clear()
    pins.fetch(download=world["apt"].download, update=world["apt"].update, log=log.append)
    assert world["apt"].downloads == []


def test_a_changed_file_in_the_cache_is_unpacked_again_from_the_cached_deb(world):
    apt = world["apt"]
    pins.fetch(download=apt.download, update=apt.update, log=lambda _: None)
    _, files = pins.guest_files()
    files["busybox"].write_bytes(b"tampered")
    with pytest.raises(SetupError, match="not in the cache .*does not match its pinned SHA-256.*make deps"):
        pins.guest_files()
    apt.downloads.clear()
    pins.fetch(download=apt.download, update=apt.update, log=lambda _: None)
    assert apt.downloads == []  # the verified .deb was still there
    assert files["busybox"].read_bytes() == b"busybox 1"


def test_a_download_that_differs_from_the_pin_is_refused_and_not_kept(world):
    spec = "busybox-static=1:1.35.0-4"
    other = world["tmp"] / "other"
    other.mkdir()
    world["apt"].debs[spec] = make_deb(other, "busybox-static", "1:1.35.0-4",
                                       {"bin/busybox": b"someone else's busybox"})
    with pytest.raises(SetupError, match=r"refused busybox-static_1%3a1.35.0-4_amd64.deb: its SHA-256 is"):
        pins.fetch(download=world["apt"].download, update=world["apt"].update, log=lambda _: None)
    assert not list((pins.CACHE / "debs").glob("busybox*"))
    with pytest.raises(SetupError):
        pins.guest_files()


def test_a_version_the_archive_dropped_is_one_line_naming_the_pin_and_the_update_command(world):
    apt = world["apt"]
    del apt.debs["linux-image-6.1.0-9-amd64=6.1.99-1"]
    with pytest.raises(SetupError) as e:
        pins.fetch(download=apt.download, update=apt.update, log=lambda _: None)
    msg = str(e.value)
    assert "\n" not in msg
    assert "linux-image-6.1.0-9-amd64=6.1.99-1" in msg and "not in Debian's archive" in msg
    assert "scripts/update-pins.sh" in msg and "was not found" in msg
    assert apt.updates == 1  # stale package lists were refreshed once before giving up


def test_update_says_old_and_new_versions_and_hashes(world):
    apt = world["apt"]
    old = pins.load(world["pins"])
    newer = make_deb(world["tmp"], "linux-image-6.1.0-10-amd64", "6.1.100-1",
                     {"boot/vmlinuz-6.1.0-10-amd64": b"vmlinuz 10",
                      "lib/modules/6.1.0-10-amd64/kernel/drivers/net/tun.ko": b"tun 10"})
    apt.debs["linux-image-6.1.0-10-amd64=6.1.100-1"] = newer
    world["current"]["linux-image-amd64"] = ("linux-image-6.1.0-10-amd64", "6.1.100-1")
    log = []
    assert pins.update(world["pins"], refresh=False, download=apt.download,
                       resolve=world["current"].__getitem__, log=log.append)
    text = "\n".join(log)
    assert "kernel: linux-image-6.1.0-9-amd64 6.1.99-1 -> linux-image-6.1.0-10-amd64 6.1.100-1" in text
    assert f"sha256 {old['kernel'].deb_sha256} -> {pins.sha256_file(newer)}" in text
    assert (f"lib/modules/6.1.0-10-amd64/kernel/drivers/net/tun.ko: sha256 "
            f"{old['kernel'].files['tun']['sha256']} -> {pins.hashlib.sha256(b'tun 10').hexdigest()}") in text
    assert "busybox: busybox-static=1:1.35.0-4 unchanged" in text
    assert pins.load(world["pins"])["kernel"].release == "6.1.0-10-amd64"
    # nothing new: nothing written, and it says so
    log.clear()
    before = world["pins"].read_bytes()
    assert not pins.update(world["pins"], refresh=False, download=apt.download,
                           resolve=world["current"].__getitem__, log=log.append)
    assert world["pins"].read_bytes() == before
    assert all("unchanged" in line for line in log)


def test_update_pins_script_runs_the_update(tmp_path):
    text = (paths.REPO / "scripts" / "update-pins.sh").read_text()
    assert "-m tunlab.pins update" in text
    res = subprocess.run(["sh", str(paths.REPO / "scripts" / "update-pins.sh"), "--help"],
                         capture_output=True, text=True)
    assert res.returncode == 0 and "--no-refresh" in res.stdout


# -- the cache directory -------------------------------------------------------------------------
@pytest.mark.parametrize("env,want", [
    ({"TUNLAB_CACHE": "/c/t", "XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/c/t"),
    ({"XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/x/tunlab"),
    ({"XDG_CACHE_HOME": "relative/ignored", "HOME": "/h"}, "/h/.cache/tunlab"),
    ({"HOME": "/h"}, "/h/.cache/tunlab"),
])
def test_cache_dir_follows_tunlab_cache_then_xdg_then_home(env, want):
    assert paths.cache_dir(env) == Path(want)


def test_the_cache_is_outside_build():
    assert paths.BUILD not in paths.CACHE.parents or "TUNLAB_CACHE" in paths.os.environ
    for mod, attr in (("image_linux", "IMAGES"), ("image_dragonfly", "IMAGES"), ("dragonfly_media", "ISO_CACHE")):
        where = getattr(__import__(f"tunlab.{mod}", fromlist=[attr]), attr)
        assert paths.CACHE in where.parents, (mod, where)


def test_remove_cache_removes_only_tunlabs_parts(tmp_path):
    root = tmp_path / "cache"
    for part in ("debs", "guest/x", "images/linux/k", "dragonfly", "snapshots/k"):
        (root / part).mkdir(parents=True)
        (root / part / "f").write_text("x")
    assert set(paths.remove_cache(root)) == {root / p for p in paths.CACHE_PARTS} | {root}
    assert not root.exists()
    (root / "debs").mkdir(parents=True)
    (root / "mine.txt").write_text("a user's own file where TUNLAB_CACHE points")
    assert paths.remove_cache(root) == [root / "debs"]
    assert (root / "mine.txt").exists()
