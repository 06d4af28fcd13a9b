"""The Target interface, its registry, and planning a guest from a run configuration."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from tunlab.crash_patterns import ConsolePatterns
from tunlab.errors import TargetUnavailable, UsageError
from tunlab.machine import GuestSpec
from tunlab.runconfig import RunConfig

DEFAULT_TARGET = "linux"


class Target(ABC):
    """One place the suites can run. Subclasses set the class attributes and implement
    guest_spec; the rest has defaults."""

    name: str
    summary: str               # one line: what runs the tun driver there
    console: ConsolePatterns   # crash lines and prompts on its console
    tun_api: str               # the semantics its tun speaks: "bsd" or "linux" (the suites'
                               # @pytest.mark.tun_api picks tests by it)
    uses_vm = True             # False: a host process (the "process" backend; --backend,
                               # --accel, --smp, --memory do not apply)
    boots_bare_loop = False    # its image runs the bare bench loop at boot (bench --overhead)
    emulated_kernel = False    # the kernel is driver/kpi's emulation: exact counters, and
                               # counts a real kernel does not export (mbuf allocations)

    def unavailable(self, cfg: RunConfig) -> str:
        """Why this target cannot run on this machine ("" when it can), with what would make
        it runnable. Only this makes tests skip."""
        return ""

    def check(self, cfg: RunConfig) -> None:
        """Raise UsageError when `cfg` asks for something this target cannot do (a driver it
        cannot run)."""

    @abstractmethod
    def guest_spec(self, cfg: RunConfig, accel: str) -> GuestSpec:
        """Build (or find cached) what a guest needs and describe it. Raises SetupError when
        a build fails."""

    def expected_driver(self, cfg: RunConfig) -> str:
        """What the agent's hello must report as driver= ("name:sha", or "name:" when the
        hash cannot be known in advance)."""
        return expected_driver_id(cfg.driver)

    def explain_death(self, console: str) -> str:
        """What the guest's own set-up said went wrong before it died, from its console
        text, or ""."""
        return ""

    def build_image(self, cfg: RunConfig, args: argparse.Namespace) -> int:
        """`tunlab image`: build (or find cached) what this target's guests boot, and say
        what it is."""
        spec = plan(cfg).spec
        for name in ("kernel", "initrd", "append", "program"):
            if getattr(spec, name):
                print(f"{name:<8}{getattr(spec, name)}")
        return 0

    def column(self, cfg: RunConfig) -> str:
        """The name of this run's column in the conformance table."""
        return f"{self.name}/{driver_label(cfg.driver)}"


@dataclass(frozen=True)
class TargetPlan:
    target: Target
    config: RunConfig
    backend: str   # the Machine backend that starts the guest
    accel: str     # resolved: "kvm" or "tcg" ("none" for a host process)
    spec: GuestSpec

    @property
    def column(self) -> str:
        return self.target.column(self.config)


_REGISTRY: dict[str, Target] = {}


def register(target: Target) -> Target:
    _REGISTRY[target.name] = target
    return target


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def get(name: str) -> Target:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UsageError(f"unknown target {name!r}: choose one of {', '.join(_REGISTRY)}") from None


def unavailable_reason(cfg: RunConfig) -> str:
    return get(cfg.target).unavailable(cfg)


def plan(cfg: RunConfig) -> TargetPlan:
    """Build what `cfg`'s target needs and say how to start its guest. Raises
    TargetUnavailable when the target cannot run here, UsageError for an impossible
    configuration, SetupError when a build fails."""
    from tunlab.qemu import pick_accel
    target = get(cfg.target)
    target.check(cfg)
    reason = target.unavailable(cfg)
    if reason:
        raise TargetUnavailable(reason)
    accel = pick_accel(cfg.accel) if target.uses_vm else "none"
    spec = target.guest_spec(cfg, accel)
    shape: dict[str, object] = {"target": target.name, "driver": target.expected_driver(cfg)}
    if target.uses_vm and cfg.smp:
        shape["cpus"] = cfg.smp
    if target.uses_vm and cfg.memory:
        shape["memory_mb"] = cfg.memory
    spec = dataclasses.replace(spec, **shape)
    return TargetPlan(target, cfg, cfg.backend if target.uses_vm else "process", accel, spec)


# -- the driver under test -------------------------------------------------------------------
REPO_DRIVER = Path(__file__).resolve().parents[3] / "driver"
DRIVER_FILES = ("if_tun.c", "if_tun.h", "if_tunvar.h")


def driver_label(driver: str) -> str:
    """A short name for a driver in a column or a report."""
    return driver if driver in ("ours", "stock") else Path(driver).name or driver


def source_sha(directory: Path) -> str:
    """The driver's identity: the first 12 hex digits of the sha256 of its if_tun.c,
    if_tun.h and if_tunvar.h, concatenated (the files that exist). The kpi build and the
    DragonFly session compute the same (driver/Makefile.host, tunlab-session.sh)."""
    h = hashlib.sha256()
    for name in DRIVER_FILES:
        f = directory / name
        if f.exists():
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


def driver_dir(driver: str) -> Path:
    """The directory holding the if_tun.c of `driver` (ours, or a path to the file or its
    directory)."""
    if driver == "ours":
        return REPO_DRIVER
    p = Path(driver)
    return p.parent if p.suffix == ".c" else p


def expected_driver_id(driver: str) -> str:
    if driver == "stock":
        return "stock:"
    return f"{'ours' if driver == 'ours' else 'src'}:{source_sha(driver_dir(driver))}"
