"""One run configuration: which target, VM backend, accelerator, driver under test, image
and VM shape a run uses. It is built once, from pytest's options (pytest_plugin.py) or the
command line (cli.py), both registering the same options from OPTIONS, and passed down whole
to the target that plans the guest (targets/).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from tunlab.errors import UsageError


@dataclass(frozen=True)
class Option:
    flag: str
    help: str
    default: Any = None
    type: Callable[[str], Any] | None = None
    choices: tuple[str, ...] | None = None
    env: str = ""  # an environment variable that gives the default

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")

    def kwargs(self) -> dict[str, Any]:
        default = (os.environ.get(self.env) or self.default) if self.env else self.default
        kw: dict[str, Any] = {"default": default, "help": self.help, "dest": self.dest}
        if self.type is not None:
            kw["type"] = self.type
        if self.choices is not None:
            kw["choices"] = self.choices
        return kw


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{n} is not a positive number")
    return n


# Every option that picks what runs. The target's choices are checked in RunConfig.validate
# (an environment default is not checked by argparse).
OPTIONS = (
    Option("--target", "where the driver under test runs: linux (Linux's tun in a QEMU guest), "
           "kpi (a DragonFly driver over driver/kpi in a host process), dragonfly (a DragonFly "
           "guest) (default: linux; env TUNLAB_TARGET)", default="linux", env="TUNLAB_TARGET"),
    Option("--driver", "the tun driver under test on the BSD targets: ours (driver/if_tun.c, the "
           "default), stock (the DragonFly kernel's own; dragonfly target), or a path to an "
           "if_tun.c, its directory, or a DragonFly source tree", default="ours",
           env="TUNLAB_DRIVER"),
    Option("--backend", "VM backend: qemu or libvirt (default: qemu)", default="qemu"),
    Option("--accel", "QEMU accelerator: auto (KVM when /dev/kvm really works, else TCG), kvm, "
           "tcg (default: auto; env TUNLAB_ACCEL)", default="auto", choices=("auto", "kvm", "tcg"),
           env="TUNLAB_ACCEL"),
    Option("--image", "a prebuilt guest image directory (default: build it, cached)", type=Path),
    Option("--smp", "vCPUs of VM guests (default: the target's)", type=_positive),
    Option("--memory", "memory of VM guests in MiB (default: the target's)", type=_positive),
)


@dataclass(frozen=True)
class RunConfig:
    target: str = "linux"
    driver: str = "ours"
    backend: str = "qemu"
    accel: str = "auto"        # as asked; targets resolve "auto" (qemu.pick_accel)
    image: Path | None = None
    smp: int | None = None
    memory: int | None = None
    sanitizers: bool = True    # kpi: ASan/UBSan build (benchmarks turn it off)
    progress: bool = False     # print progress of long builds

    @classmethod
    def from_values(cls, get: Callable[[str], Any], **extra: Any) -> "RunConfig":
        """From any option store: `get(dest)` returns an option's value."""
        cfg = cls(**{o.dest: get(o.dest) for o in OPTIONS}, **extra)
        return cfg.validate()

    @classmethod
    def from_args(cls, args: argparse.Namespace, **extra: Any) -> "RunConfig":
        return cls.from_values(lambda dest: getattr(args, dest), **extra)

    def validate(self) -> "RunConfig":
        from tunlab import targets
        from tunlab.machine import BACKENDS
        if self.target not in targets.names():
            raise UsageError(f"unknown target {self.target!r}: choose one of "
                             f"{', '.join(targets.names())}")
        if self.backend not in BACKENDS:
            raise UsageError(f"unknown VM backend {self.backend!r}: choose one of "
                             f"{', '.join(sorted(b for b in BACKENDS if b != 'process'))}")
        return self

    def with_(self, **changes: Any) -> "RunConfig":
        return replace(self, **changes).validate()


def check_settings() -> None:
    """Read every setting that comes from the environment now, so that a bad one is one
    line (SettingError) before anything starts, not an error in the middle of a run."""
    from tunlab import boundedlog, logdirs, timeouts
    timeouts.env_scale()
    boundedlog.console_log_max()
    boundedlog.agent_log_max()
    logdirs.keep_runs()
    logdirs.keep_bytes()


def add_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup,
                  skip: tuple[str, ...] = ()) -> None:
    """Register OPTIONS on an argparse parser (the CLI's subcommands)."""
    for o in OPTIONS:
        if o.flag not in skip:
            parser.add_argument(o.flag, **o.kwargs())


def add_pytest_options(group: Any) -> None:
    """Register OPTIONS in pytest's option group (its addoption takes argparse's keywords)."""
    for o in OPTIONS:
        group.addoption(o.flag, **o.kwargs())
