"""The Target interface, its registry, and planning a guest from a run configuration."""

from __future__ import annotations

import argparse
import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from tunlab import driver_source
from tunlab.crash_patterns import ConsolePatterns
from tunlab.driver_source import FEATURES, DriverSource
from tunlab.errors import TargetUnavailable, UsageError
from tunlab.machine import GuestSpec, cpu_fields
from tunlab.runconfig import RunConfig
from tunlab.spec_rows import STOCK_VERSIONS

class Target(ABC):
    """One place the suites can run. Subclasses set the class attributes and implement
    guest_spec; the rest has defaults."""

    name: str
    summary: str               # one line: what runs the tun driver there
    console: ConsolePatterns   # crash lines and prompts on its console
    tun_api: str               # the semantics its tun speaks: "bsd" or "linux" (the suites'
                               # @pytest.mark.tun_api picks tests by it)
    uses_vm = True             # False: a host process (the "process" backend; --backend,
                               # --accel, --smp, --memory, --cpu, --qemu-opts, --gdb do not apply)
    snapshots = False          # its VM guest can be saved at agent-ready and restored per test
                               # (snapshot.py, --fresh)
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
        return driver_choice(cfg.driver).driver_id

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
        return f"{self.name}/{driver_choice(cfg.driver).label}"

    def with_console_shell(self, spec: GuestSpec) -> tuple[GuestSpec, str]:
        """`tunlab console`: the guest with a shell of its own on its console line (COM1),
        and a line saying how to reach it ("" when the target has none)."""
        return spec, ""


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
    if target.uses_vm and cfg.qemu_opts:
        shape["qemu_opts"] = tuple(cfg.qemu_opts)
    if target.uses_vm and cfg.cpu:
        shape.update(cpu_fields(cfg.cpu))
    if target.uses_vm and cfg.gdb:
        shape["gdb_port"] = cfg.gdb
    spec = dataclasses.replace(spec, **shape)
    return TargetPlan(target, cfg, cfg.backend if target.uses_vm else "process", accel, spec)


# -- the driver under test -------------------------------------------------------------------
# The stock DragonFly module of a DragonFly guest is today's: it has every feature, and its
# expectations are TUN-SPEC's newest stock column.
STOCK_FEATURES = frozenset(FEATURES) - {"static_nodes", "premade_units", "poll"}
NEWEST_STOCK = STOCK_VERSIONS[-1]


@dataclass(frozen=True)
class DriverChoice:
    """The driver under test, as --driver names it: `ours`, `stock` (a DragonFly guest's
    own module), a path (an if_tun.c, its directory or a DragonFly tree), or
    `stock-<year>=PATH` (that file is the <year> stock driver: TUN-SPEC's column for that
    year gives the expectations)."""

    label: str                      # the column name: ours, stock, stock-2020, or the path's
    source: DriverSource | None     # None: the guest's own stock module
    version: str | None             # the TUN-SPEC stock column that applies, if any

    @property
    def features(self) -> frozenset[str]:
        return self.source.features if self.source else STOCK_FEATURES

    @property
    def driver_id(self) -> str:
        """What the agent's hello must report as driver= ("stock:" takes any hash)."""
        return self.source.driver_id if self.source else "stock:"

    def describe(self) -> str:
        return self.source.describe() if self.source else "stock (the guest kernel's if_tun.ko)"


def driver_choice(text: str) -> DriverChoice:
    """Parse --driver. Raises UsageError for a malformed value, SetupError for a path that
    holds no driver."""
    if text == "stock":
        return DriverChoice("stock", None, NEWEST_STOCK)
    if text.startswith("stock-"):
        version, sep, path = text[len("stock-"):].partition("=")
        if not sep or version not in STOCK_VERSIONS or not path:
            raise UsageError(f"--driver {text}: write stock-<year>=PATH with a year of "
                             f"TUN-SPEC's stock columns ({', '.join(STOCK_VERSIONS)})")
        return DriverChoice(f"stock-{version}", driver_source.resolve(path), version)
    source = driver_source.resolve(text)
    if source.is_ours:
        return DriverChoice("ours", source, None)
    label = source.directory.name if Path(text).name in ("if_tun.c", "") else Path(text).name
    return DriverChoice(label or str(source.directory), source, None)
