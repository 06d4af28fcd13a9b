"""The ISO's hash checks, trust on first use, the hash-keyed cache and the download path, with
small fake files and a local HTTP server (no network)."""

import bz2
import hashlib
import http.server
import json
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from tunlab import dragonfly_media as media
from tunlab.dragonfly_media import IsoCache, MediaError, acquire_iso, load_catalog, parse_md5_list

ISO_BYTES = b"DragonFly live CD stand-in\n" * 4000
ISO_NAME = "dfly-x86_64-9.9.9_REL.iso"


def _md5(b):
    return hashlib.md5(b).hexdigest()


def _sha(b):
    return hashlib.sha256(b).hexdigest()


def _catalog(tmp_path, mirror="http://127.0.0.1:9/", **pins):
    entry = {"iso": ISO_NAME, "iso_md5": "unknown", "iso_sha256": "unknown",
             "iso_bz2_md5": "unknown", "iso_bz2_sha256": "unknown"}
    entry.update(pins)
    path = tmp_path / "releases.json"
    path.write_text(json.dumps({"default": "9.9.9", "mirror": mirror, "releases": {"9.9.9": entry}}))
    return path


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.delenv("TUNLAB_DRAGONFLY_MIRROR", raising=False)
    iso = tmp_path / ISO_NAME
    iso.write_bytes(ISO_BYTES)
    return tmp_path, iso, IsoCache(tmp_path / "cache")


def _quiet(_):
    pass


def test_the_repositorys_catalog_is_explicit_about_what_is_unknown():
    cat = load_catalog()
    assert cat.default == "6.4.2" and cat.release(None).iso == "dfly-x86_64-6.4.2_REL.iso"
    data = json.loads(cat.path.read_text())
    for rel in data["releases"].values():
        for key in ("iso_md5", "iso_sha256", "iso_bz2_md5", "iso_bz2_sha256"):
            assert rel[key] == "unknown" or len(rel[key]) in (32, 64), key  # never empty or null
    # The one MD5 known from DRAGONFLY-GUEST.md (golang/build's pin of the 6.4.0 .iso.bz2):
    assert cat.release("6.4.0").pinned("iso_bz2") == {"md5": "5dbf894d9120664a675030c475f25040"}
    assert cat.release("6.4.2").pinned("iso") == {}


def test_pinned_md5_accepts_and_caches_by_sha256(env):
    tmp, iso, cache = env
    cat = load_catalog(_catalog(tmp, iso_md5=_md5(ISO_BYTES)))
    rel, path = acquire_iso(None, iso, catalog=cat, cache=cache, log=_quiet)
    assert path == cache.root / f"{_sha(ISO_BYTES)}.iso" and path.read_bytes() == ISO_BYTES
    iso.unlink()
    # Offline, no ISO given: found in the cache through the index.
    assert acquire_iso(None, None, catalog=cat, cache=cache, download=False, log=_quiet)[1] == path


def test_mismatch_is_refused(env):
    tmp, iso, cache = env
    cat = load_catalog(_catalog(tmp, iso_sha256="0" * 64))
    with pytest.raises(MediaError, match="SHA256 mismatch"):
        acquire_iso(None, iso, catalog=cat, cache=cache, log=_quiet)
    assert not cache.root.exists() or not list(cache.root.glob("*.iso"))


def test_unpinned_iso_is_refused_without_trust(env):
    tmp, iso, cache = env
    cat = load_catalog(_catalog(tmp))
    with pytest.raises(MediaError) as e:
        acquire_iso(None, iso, catalog=cat, cache=cache, log=_quiet)
    msg = str(e.value)
    assert _md5(ISO_BYTES) in msg and _sha(ISO_BYTES) in msg  # what to compare with md5.txt
    assert "TRUST_FIRST_USE=1" in msg and "md5.txt" in msg and "record" in msg
    assert json.loads(cat.path.read_text())["releases"]["9.9.9"]["iso_sha256"] == "unknown"


def test_trust_first_use_records_both_hashes(env):
    tmp, iso, cache = env
    cat = load_catalog(_catalog(tmp))
    acquire_iso(None, iso, trust=True, catalog=cat, cache=cache, log=_quiet)
    entry = json.loads(cat.path.read_text())["releases"]["9.9.9"]
    assert entry["iso_md5"] == _md5(ISO_BYTES) and entry["iso_sha256"] == _sha(ISO_BYTES)
    assert "trust-first-use" in entry["source"]
    # From now on the pin is enforced: another file is refused.
    other = tmp / "other.iso"
    other.write_bytes(b"not it")
    with pytest.raises(MediaError, match="mismatch"):
        acquire_iso(None, other, catalog=load_catalog(cat.path), cache=cache, log=_quiet)


def test_bz2_verified_by_its_md5_is_decompressed_into_the_cache(env):
    tmp, _, cache = env
    packed = bz2.compress(ISO_BYTES)
    src = tmp / f"{ISO_NAME}.bz2"
    src.write_bytes(packed)
    cat = load_catalog(_catalog(tmp, iso_bz2_md5=_md5(packed)))
    _, path = acquire_iso(None, src, catalog=cat, cache=cache, log=_quiet)
    assert path.name == f"{_sha(ISO_BYTES)}.iso" and path.read_bytes() == ISO_BYTES
    assert src.exists()  # a user's own file is never removed
    index = json.loads(cache.index_path.read_text())["9.9.9"]
    assert index["iso_sha256"] == _sha(ISO_BYTES) and "bz2" in index["accepted"]


def test_missing_iso_fails_fast_with_what_to_do(env):
    tmp, _, cache = env
    port = _closed_port()
    cat = load_catalog(_catalog(tmp, mirror=f"http://127.0.0.1:{port}/iso-images/"))
    t0 = time.monotonic()
    with pytest.raises(MediaError) as e:
        acquire_iso(None, None, catalog=cat, cache=cache, log=_quiet)
    assert time.monotonic() - t0 < 5
    msg = str(e.value)
    assert f"http://127.0.0.1:{port}/iso-images/{ISO_NAME}.bz2 failed" in msg
    assert f"make image GUEST=dragonfly RELEASE=9.9.9 ISO=/path/to/{ISO_NAME}" in msg
    assert "MD5 unknown, SHA-256 unknown" in msg
    assert not list(cache.root.glob(".download-*"))  # no partial file left behind


def test_nonexistent_iso_path_is_named(env):
    tmp, _, cache = env
    with pytest.raises(MediaError, match="ISO=/nonexistent/x.iso: no such file"):
        acquire_iso(None, Path("/nonexistent/x.iso"), catalog=load_catalog(_catalog(tmp)), cache=cache)


def test_unknown_release_is_named(env):
    tmp, iso, cache = env
    with pytest.raises(MediaError, match="'1.0.0' is not in"):
        acquire_iso("1.0.0", iso, catalog=load_catalog(_catalog(tmp)), cache=cache)


def test_download_checked_against_the_published_md5(env, monkeypatch):
    tmp, _, cache = env
    packed = bz2.compress(ISO_BYTES)
    root = tmp / "www" / "iso-images"
    root.mkdir(parents=True)
    (root / f"{ISO_NAME}.bz2").write_bytes(packed)
    (root / "md5.txt").write_text(f"MD5 ({ISO_NAME}.bz2) = {_md5(packed)}\n")
    server = _serve(tmp / "www")
    try:
        cat = load_catalog(_catalog(tmp, mirror=f"http://127.0.0.1:{server.server_port}/iso-images/"))
        _, path = acquire_iso(None, None, catalog=cat, cache=cache, log=_quiet)
        assert path.read_bytes() == ISO_BYTES
        assert not list(cache.root.glob("*.bz2*"))  # the download is gone once accepted
        # A corrupted mirror copy no longer matches what md5.txt publishes.
        (root / "md5.txt").write_text(f"{'1' * 32}  {ISO_NAME}.bz2\n")
        shutil.rmtree(cache.root)
        with pytest.raises(MediaError, match="published md5.txt"):
            acquire_iso(None, None, catalog=cat, cache=cache, log=_quiet)
    finally:
        server.shutdown()


def test_md5_lists_in_both_formats():
    text = ("MD5 (dfly-x86_64-6.4.2_REL.iso) = 0123456789ABCDEF0123456789abcdef\n"
            "fedcba9876543210fedcba9876543210  dfly-x86_64-6.4.2_REL.iso.bz2\n"
            "garbage line\n")
    assert parse_md5_list(text) == {"dfly-x86_64-6.4.2_REL.iso": "0123456789abcdef0123456789abcdef",
                                    "dfly-x86_64-6.4.2_REL.iso.bz2": "fedcba9876543210fedcba9876543210"}


def test_mirror_can_be_overridden_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNLAB_DRAGONFLY_MIRROR", "http://127.0.0.1:1/x")
    assert load_catalog(_catalog(tmp_path)).mirror == "http://127.0.0.1:1/x/"
    assert media.DOWNLOAD_TIMEOUT <= 30  # a dead mirror fails within seconds, never hangs


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _serve(root: Path) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(root), **kw)

        def log_message(self, *a):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
