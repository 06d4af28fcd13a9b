"""Where the repository's sources, the build outputs and the cache are.

BUILD (build/, or TUNLAB_BUILD) holds what a run makes and `make clean` removes: the agent,
driver builds, logs, test logs, bench results. CACHE holds what is slow to get and keyed by
content, kept by `make clean` and removed by `make distclean`: the pinned guest .debs and the
files unpacked from them, the DragonFly ISOs, and the built guest images. CACHE is
$TUNLAB_CACHE, else $XDG_CACHE_HOME/tunlab, else ~/.cache/tunlab.

`python3 -m tunlab.paths cache` prints CACHE; `python3 -m tunlab.paths remove-cache` removes
what tunlab keeps there (only its own subdirectories, then the directory if that left it empty).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("TUNLAB_BUILD", REPO / "build"))
AGENT_DIR = REPO / "harness" / "agent"
GUEST_IMAGE_DIR = REPO / "guest-image"
LOGS = BUILD / "logs"

# What tunlab keeps in the cache (remove-cache removes exactly these).
CACHE_PARTS = ("debs", "guest", "images", "dragonfly", "snapshots")


def cache_dir(environ: dict | os._Environ = os.environ) -> Path:
    """$TUNLAB_CACHE, else $XDG_CACHE_HOME/tunlab (an absolute one, as the XDG spec says),
    else ~/.cache/tunlab; build/cache when there is no home directory to put it in."""
    own = environ.get("TUNLAB_CACHE")
    if own:
        return Path(own).absolute()
    xdg = environ.get("XDG_CACHE_HOME")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "tunlab"
    home = environ.get("HOME")
    if not home:
        try:
            home = str(Path.home())
        except (RuntimeError, KeyError):
            return BUILD / "cache"
    return Path(home) / ".cache" / "tunlab"


CACHE = cache_dir()


def remove_cache(root: Path | None = None) -> list[Path]:
    """Remove tunlab's parts of the cache; returns what was removed."""
    root = root or CACHE
    removed = []
    for part in CACHE_PARTS:
        p = root / part
        if p.exists():
            shutil.rmtree(p)
            removed.append(p)
    try:
        root.rmdir()  # only when nothing else is there
        removed.append(root)
    except OSError:
        pass
    return removed


def main(argv: list[str]) -> int:
    if argv == ["cache"]:
        print(CACHE)
    elif argv == ["remove-cache"]:
        gone = remove_cache()
        print(f"removed {', '.join(map(str, gone))}" if gone else f"nothing of tunlab's in {CACHE}")
    else:
        print("usage: python3 -m tunlab.paths cache|remove-cache", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
