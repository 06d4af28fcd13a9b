"""A cache directory's entries (the image cache's, the snapshots'): each is written in a
.tmp-<pid>-* directory and renamed into place, so readers never see half of one. Here: sweeping
the temporary directories no live process owns, and removing an entry without a reader seeing
half of it."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from tunlab.machine import pid_running

TMP = re.compile(r"^\.tmp-(\d+)-")


def sweep_tmp(parent: Path) -> list[Path]:
    """Remove build directories (.tmp-<pid>-*) that no running process owns."""
    swept = []
    for d in parent.glob(".tmp-*"):
        m = TMP.match(d.name)
        if m and int(m.group(1)) != os.getpid() and pid_running(int(m.group(1))):
            continue  # a build going on in another process
        shutil.rmtree(d, ignore_errors=True)
        swept.append(d)
    return swept


def discard(directory: Path) -> None:
    """Remove a cache entry (moved aside first, so no reader sees half of it)."""
    aside = directory.parent / f".tmp-{os.getpid()}-stale-{directory.name}"
    try:
        os.rename(directory, aside)
    except OSError:
        aside = directory
    shutil.rmtree(aside, ignore_errors=True)


# -- a built file's content identity -------------------------------------------------------------
# Some built files differ from build to build though what they hold does not (genisoimage puts
# the build time in an ISO). Their builder records beside them a hash of what went in
# (<file>.content: that hash and the file's own SHA-256); content_id() gives that hash for as
# long as the file is the one it was recorded for, else the file's own SHA-256.
CONTENT_SUFFIX = ".content"


def record_content(path: Path, content: str) -> None:
    """Note that the file `path` was built from `content` (a hash of its inputs)."""
    from tunlab.pins import sha256_file
    side = path.with_name(path.name + CONTENT_SUFFIX)
    side.write_text(json.dumps({"content": content, "sha256": sha256_file(path)}) + "\n")


def content_id(path: Path, file_sha256: str) -> dict[str, str]:
    """What identifies the file `path` (whose SHA-256 is `file_sha256`) in a cache key: the
    recorded content hash while the file is the one recorded, else its SHA-256."""
    try:
        side = json.loads(path.with_name(path.name + CONTENT_SUFFIX).read_text())
        if isinstance(side, dict) and side.get("sha256") == file_sha256 and side.get("content"):
            return {"content": str(side["content"])}
    except (OSError, ValueError):
        pass
    return {"sha256": file_sha256}
