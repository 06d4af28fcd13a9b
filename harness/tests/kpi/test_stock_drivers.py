"""The stock DragonFly tun drivers of TUN-SPEC (2008, 2010, 2020), extracted from DragonFly's
history into a temporary directory, built unmodified over driver/kpi (each with its era's
kpi layer) and driven through the agent. Needs TUNLAB_DFLY_SRC: a DragonFly git directory
(a clone or a bare mirror, e.g. of github.com/lileding/DragonFlyBSD); skipped otherwise.
No DragonFly source is kept in this repository."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from tunlab import driver_source as ds

STOCK = [  # name, commit (TUN-SPEC "The stock drivers the suite also runs"), era, features
    ("stock-2008", "895c1f8508", 2008, {"static_nodes", "poll"}),
    ("stock-2010", "0c52fa62cb", 2010, {"autoclone", "premade_units", "kqueue"}),
    ("stock-2020", "f875a8eec7", 2018, {"autoclone", "if_clone", "ifgroup", "kqueue",
                                        "tungifname", "unload", "tunmru_65535"}),
]
FIRST_UNIT = {"stock-2008": "tun0", "stock-2010": "tun4", "stock-2020": "tun0"}


def dfly_src() -> Path:
    src = os.environ.get("TUNLAB_DFLY_SRC", "")
    if not src:
        pytest.skip("TUNLAB_DFLY_SRC is not set: point it at a DragonFly git directory "
                    "(e.g. a clone of https://github.com/lileding/DragonFlyBSD) to build the "
                    "stock drivers of TUN-SPEC over the kpi")
    res = subprocess.run(["git", "-C", src, "rev-parse", "--git-dir"], capture_output=True,
                         text=True)
    if res.returncode != 0:
        pytest.skip(f"TUNLAB_DFLY_SRC={src} is not a git directory ({res.stderr.strip()})")
    return Path(src)


def git_blob(src: Path, commit: str, name: str) -> bytes:
    return subprocess.run(["git", "-C", str(src), "show", f"{commit}:sys/net/tun/{name}"],
                          capture_output=True, check=True).stdout


def git_blob_id(src: Path, commit: str, name: str) -> str:
    return subprocess.run(["git", "-C", str(src), "rev-parse", f"{commit}:sys/net/tun/{name}"],
                          capture_output=True, check=True, text=True).stdout.strip()


def blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@pytest.mark.parametrize("name,commit,era,features", STOCK, ids=[s[0] for s in STOCK])
def test_stock_driver_builds_unmodified_and_runs(tmp_path: Path, name: str, commit: str,
                                                 era: int, features: set[str]) -> None:
    src = dfly_src()
    drv = tmp_path / name
    drv.mkdir()
    for f in ds.SOURCE_FILES:
        (drv / f).write_bytes(git_blob(src, commit, f))

    driver = ds.resolve(drv)
    assert driver.era == era
    assert driver.features == features
    agent = ds.build_agent(driver, build_root=tmp_path / "build")

    # the files the build read are DragonFly's, byte for byte (no patching)
    for f in ds.SOURCE_FILES:
        built = (drv / f).read_bytes()
        assert blob_id(built) == git_blob_id(src, commit, f), f"{f} differs from {commit}"

    hello = "TL1 1 hello\nTL1 2 open\nTL1 3 write h=1 data=\nTL1 4 close h=1\n"
    res = subprocess.run([str(agent), "--stdio"], input=hello, capture_output=True, text=True,
                         timeout=60)
    replies = [line for line in res.stdout.splitlines() if line.startswith("TL1 ") and
               not line.startswith("TL1 0 ")]
    assert len(replies) == 4, res.stdout + res.stderr
    assert f"driver=src:{driver.short_hash}" in replies[0]
    said = dict(t.split("=", 1) for t in replies[0].split()[3:] if "=" in t)
    assert set(said["features"].split(",")) == features   # what the build baked in
    assert replies[1].startswith("TL1 2 ok ") and f"ifname={FIRST_UNIT[name]}" in replies[1], \
        replies[1]
    assert replies[2] == "TL1 3 ok n=0", replies[2]
    assert replies[3] == "TL1 4 ok", replies[3]
