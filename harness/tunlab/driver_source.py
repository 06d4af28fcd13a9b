"""The DragonFly tun driver under test, as the user names it, and the kpi agent built for it.

`resolve()` turns what the user names (``ours``, an ``if_tun.c``, the directory holding it
with its ``if_tun.h`` and ``if_tunvar.h``, or the root of a DragonFly source tree, where the
driver is ``sys/net/tun/``) into a `DriverSource`: its files, the sha256 of their contents
(the same identity the kpi build and the DragonFly session compute), the kernel-interface era
it was written for and its tun features, both read from its source by
``driver/kpi/compat/driver-era.sh`` (the script the kpi build itself uses, so the two never
disagree). `build_agent()` builds the kpi agent linked with that driver into a build
directory of its own, so several drivers can be built and run side by side.

Feature names (TUN-SPEC rows declare which they need; see FEATURES):
``autoclone`` (/dev/tun), ``static_nodes`` (/dev/tunN made at attach, no /dev/tun),
``premade_units`` (tun0-3 made next to /dev/tun), ``if_clone`` (ifconfig tunN create/destroy),
``ifgroup`` (the "tun" interface group), ``kqueue``, ``poll`` (d_poll), ``tungifname``,
``unload`` (module unload), ``tunmru_65535``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tunlab.errors import SetupError
from tunlab.paths import BUILD, REPO

OURS = "ours"
OUR_DRIVER_DIR = REPO / "driver"
ERA_SCRIPT = REPO / "driver" / "kpi" / "compat" / "driver-era.sh"
MAKEFILE = "driver/Makefile.host"
SOURCE_FILES = ("if_tun.c", "if_tun.h", "if_tunvar.h")
TREE_SUBDIR = Path("sys") / "net" / "tun"

ERAS = (2008, 2010, 2018)
FEATURES = {
    "autoclone": "opening /dev/tun creates the lowest free unit (devfs autoclone)",
    "static_nodes": "/dev/tunN nodes exist from attach; no /dev/tun (before devfs)",
    "premade_units": "tun0-tun3 are made at attach next to the /dev/tun autoclone",
    "if_clone": "interface cloning: ifconfig tunN create / destroy",
    "ifgroup": "every unit is in the 'tun' interface group",
    "kqueue": "kevent EVFILT_READ/EVFILT_WRITE (d_kqfilter); poll goes through it",
    "poll": "poll/select readiness through d_poll (no kqueue)",
    "tungifname": "the TUNGIFNAME ioctl",
    "unload": "the module unloads (kldunload); a pseudo-device does not",
    "tunmru_65535": "TUNMRU is 65535 (older drivers: 16384)",
}
AGENT_NAMES = ("tunlab-agent-kpi", "tunlab-agent-kpi-san", "tunlab-bench-bare-kpi")


@dataclass(frozen=True)
class DriverSource:
    """One tun driver: where its sources are, what they hash to, and what they offer."""

    name: str                  # "ours", or the path the user gave
    directory: Path            # holds the three files
    source: Path               # if_tun.c
    header: Path               # if_tun.h
    var_header: Path           # if_tunvar.h
    sha256: str                # of if_tun.c + if_tun.h + if_tunvar.h, concatenated
    era: int                   # 2008, 2010 or 2018 (see driver/kpi/README.md)
    features: frozenset[str]   # names from FEATURES
    debug_sysctl: str          # "net.link.tun.debug", "debug.if_tun_debug" or ""

    @property
    def short_hash(self) -> str:
        """The 12 hex digits reports and build directories use."""
        return self.sha256[:12]

    @property
    def is_ours(self) -> bool:
        return self.name == OURS

    @property
    def driver_id(self) -> str:
        """What the agent's hello reports as driver= for this driver (kpi build)."""
        return f"{'ours' if self.is_ours else 'src'}:{self.short_hash}"

    @property
    def files(self) -> tuple[Path, Path, Path]:
        return (self.source, self.header, self.var_header)

    def has(self, feature: str) -> bool:
        """Whether the driver has `feature` (a FEATURES name; a typo is an error)."""
        if feature not in FEATURES:
            raise KeyError(f"unknown driver feature {feature!r} (known: {', '.join(FEATURES)})")
        return feature in self.features

    def missing(self, needed: tuple[str, ...] | list[str] | frozenset[str]) -> list[str]:
        """The features of `needed` this driver lacks, in order (empty: it has them all)."""
        return [f for f in needed if not self.has(f)]

    def describe(self) -> str:
        """One line for reports and logs."""
        where = "driver/if_tun.c" if self.is_ours else str(self.source)
        feats = ",".join(sorted(self.features)) or "none"
        return f"{self.name} ({where}, sha256 {self.short_hash}, era {self.era}, features {feats})"


def resolve(spec: str | os.PathLike[str]) -> DriverSource:
    """The driver `spec` names: "ours", an if_tun.c, its directory, or a DragonFly tree.

    Raises SetupError for a path that does not exist, holds no if_tun.c, lacks if_tun.h or
    if_tunvar.h next to it, or whose era cannot be read."""
    text = os.fspath(spec)
    if text == OURS:
        return _load(OURS, OUR_DRIVER_DIR)
    if text == "stock" or text.startswith("stock-"):
        raise SetupError(f"driver {text!r}: name the stock driver by the path of its if_tun.c "
                         "(or its directory, or a DragonFly source tree) on the kpi target")
    path = Path(text).expanduser()
    if not path.exists():
        raise SetupError(f"driver {text}: no such file or directory")
    if path.is_file():
        if path.name != "if_tun.c":
            raise SetupError(f"driver {text}: a file must be an if_tun.c (or give its directory)")
        return _load(text, path.resolve().parent)
    if (path / "if_tun.c").is_file():
        return _load(text, path.resolve())
    if (path / TREE_SUBDIR / "if_tun.c").is_file():
        return _load(text, (path / TREE_SUBDIR).resolve())
    raise SetupError(f"driver {text}: holds no if_tun.c (looked in {path} and "
                     f"{path / TREE_SUBDIR})")


def source_hash(directory: Path) -> str:
    """sha256 of the directory's if_tun.c, if_tun.h and if_tunvar.h concatenated (the files
    that exist), as driver/Makefile.host and the DragonFly session compute it."""
    h = hashlib.sha256()
    for name in SOURCE_FILES:
        f = directory / name
        if f.is_file():
            h.update(f.read_bytes())
    return h.hexdigest()


def detect(source: Path) -> tuple[int, frozenset[str], str]:
    """(era, features, debug sysctl) of an if_tun.c, read by driver-era.sh."""
    try:
        res = subprocess.run(["sh", str(ERA_SCRIPT), str(source)], capture_output=True,
                             text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SetupError(f"{ERA_SCRIPT}: could not run it on {source}: {e}") from e
    facts = dict(line.split("=", 1) for line in res.stdout.splitlines() if "=" in line)
    if res.returncode != 0 or facts.get("era", "") not in {str(e) for e in ERAS}:
        raise SetupError(f"{source}: cannot tell its kernel-interface era "
                         f"({ERA_SCRIPT.name} said: {(res.stderr or res.stdout).strip()})")
    features = frozenset(f for f in facts.get("features", "").split(",") if f)
    unknown = features - FEATURES.keys()
    if unknown:
        raise SetupError(f"{ERA_SCRIPT.name} reported unknown features {sorted(unknown)}")
    return int(facts["era"]), features, facts.get("debug_sysctl", "")


def _load(name: str, directory: Path) -> DriverSource:
    missing = [f for f in SOURCE_FILES if not (directory / f).is_file()]
    if "if_tun.c" in missing:
        raise SetupError(f"driver {name}: no if_tun.c in {directory}")
    if missing:
        raise SetupError(f"driver {name}: {directory} has if_tun.c but not "
                         f"{' or '.join(missing)}, which the driver includes from its directory")
    source = directory / "if_tun.c"
    era, features, debug_sysctl = detect(source)
    return DriverSource(name=name, directory=directory, source=source,
                        header=directory / "if_tun.h", var_header=directory / "if_tunvar.h",
                        sha256=source_hash(directory), era=era, features=features,
                        debug_sysctl=debug_sysctl)


def build_dir(driver: DriverSource, build_root: Path | None = None) -> Path:
    """Where the kpi build of `driver` goes: build/driver for ours (what make check uses),
    build/driver-<short hash> for any other driver."""
    root = build_root if build_root is not None else BUILD
    return root / "driver" if driver.is_ours else root / f"driver-{driver.short_hash}"


def build_agent(driver: DriverSource, *, sanitizers: bool = False,
                build_root: Path | None = None, timeout: float = 600.0) -> Path:
    """Build (incrementally) the kpi agent linked with `driver` and return its path:
    <build dir>/agent/tunlab-agent-kpi (tunlab-agent-kpi-san with sanitizers). The driver is
    compiled unmodified; its era's kpi layer is chosen from its source by the build."""
    build = build_dir(driver, build_root)
    agent = build / "agent" / AGENT_NAMES[1 if sanitizers else 0]
    cmd = ["make", "-s", "-C", str(REPO), "-f", MAKEFILE, f"BUILD={build}",
           f"DRIVER_SRC={driver.source}"]
    if not driver.is_ours:
        cmd.append("DRIVER_NAME=src")
    cmd.append(str(agent))
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise SetupError(f"building the kpi agent for {driver.describe()} took over "
                         f"{timeout:.0f} s ({' '.join(cmd)})") from e
    if res.returncode != 0 or not agent.is_file():
        raise SetupError(f"building the kpi agent for {driver.describe()} failed "
                         f"({' '.join(cmd)}):\n{res.stdout[-3000:]}{res.stderr[-3000:]}")
    return agent
