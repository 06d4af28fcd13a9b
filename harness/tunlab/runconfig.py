"""One run configuration: which target, VM backend, accelerator, driver under test, image
and VM shape a run uses. It is built once, from pytest's options (pytest_plugin.py) or the
command line (cli.py), both registering the same options from OPTIONS, and passed down whole
to the target that plans the guest (targets/).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from tunlab.errors import UsageError
from tunlab.machine import CPU_FEATURE_RE, cpu_fields


@dataclass(frozen=True)
class Option:
    flag: str
    help: str
    default: Any = None
    type: Callable[[str], Any] | None = None
    choices: tuple[str, ...] | None = None
    env: str = ""  # an environment variable that gives the default
    nargs: str | None = None   # "?": the flag alone means `const`
    const: Any = None
    metavar: str | None = None

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
        for name in ("nargs", "const", "metavar"):
            if getattr(self, name) is not None:
                kw[name] = getattr(self, name)
        return kw


def _whole(text: str, low: int, high: int | None, what: str) -> int:
    """An option's whole number from `low` to `high` (None: no upper bound)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < low or (high is not None and n > high):
        raise argparse.ArgumentTypeError(f"{n} is not {what}")
    return n


def _positive(text: str) -> int:
    return _whole(text, 1, None, "a positive number")


GDB_PORT = 1234  # --gdb without a port: QEMU's and gdb's usual one

# QEMU options that --qemu-opts may not give: tunlab sets them itself (the serial ports are its
# channels, -kernel/-append/-name/-machine come from the guest's image), or they would stop
# the guest from booting on its own (-S: the boot wait is bounded; a stopped guest never
# answers) or take the terminal.
QEMU_OPTS_REFUSED = {
    "-serial": "COM1 and COM2 are tunlab's console and control channel",
    "-chardev": "the serial ports' chardevs are tunlab's",
    "-kernel": "the guest's kernel comes from its image (--image)",
    "-initrd": "the guest's initrd comes from its image (--image)",
    "-append": "the kernel command line comes from the guest's image",
    "-name": "tunlab names its guests",
    "-S": "the guest must boot on its own (the boot wait is bounded); --gdb attaches "
          "gdb to a running guest",
    "-daemonize": "tunlab runs QEMU as its child",
    "-nographic": "it puts a serial port and the monitor on tunlab's stdio",
    "-monitor": "tunlab has the monitor (QMP) already; use `:monitor` in tunlab console",
    "-qmp": "tunlab has the QMP socket",
    "-m": "use --memory",
    "-smp": "use --smp",
    "-gdb": "use --gdb [PORT]",
    "-s": "use --gdb [PORT]",
    "-cpu": "use --cpu MODEL[,feature=on|off] (QEMU keeps the last -cpu: one given here "
            "would replace the guest's described CPU behind the snapshot key's back)",
}


def parse_qemu_opts(text: str) -> tuple[str, ...]:
    """--qemu-opts: extra QEMU arguments as one string, split as a shell would (shlex). The
    first word must be an option (`-x`); options tunlab sets itself are refused, saying why.
    Raises argparse.ArgumentTypeError (a one-line usage error)."""
    try:
        words = tuple(shlex.split(text))
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{text!r}: {e} (quote as in a shell)") from None
    if words and not words[0].startswith("-"):
        raise argparse.ArgumentTypeError(f"{text!r}: QEMU options start with '-' "
                                         f"(e.g. --qemu-opts '-icount shift=auto')")
    for w in words:
        refused = QEMU_OPTS_REFUSED.get("-" + w.lstrip("-")) if w.startswith("-") else None
        if refused:
            raise argparse.ArgumentTypeError(f"{w} is not allowed in --qemu-opts: {refused}")
    return words


_CPU_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def parse_cpu(text: str) -> str:
    """--cpu: a QEMU CPU model and its feature switches, `MODEL[,name=on|off...]` (the form
    both backends translate: GuestSpec.cpu_model and cpu_features)."""
    fields = cpu_fields(text)
    model, features = fields["cpu_model"], fields["cpu_features"]
    if not _CPU_MODEL.fullmatch(model):
        raise argparse.ArgumentTypeError(f"{text!r}: want MODEL[,feature=on|off...], e.g. "
                                         f"Nehalem,pmu=off or max (qemu-system-x86_64 -cpu help)")
    bad = [f for f in features if not CPU_FEATURE_RE.match(f)]
    if bad:
        raise argparse.ArgumentTypeError(f"{text!r}: {bad[0]!r} is not a feature switch "
                                         f"name=on or name=off (lower case, as QEMU names them)")
    return text


def parse_port(text: str) -> int:
    """--gdb PORT: a TCP port number from 1 to 65535."""
    return _whole(text, 1, 65535, "a port number (1 to 65535)")


# Every option that picks what runs. The target's choices are checked in RunConfig.validate
# (an environment default is not checked by argparse).
OPTIONS = (
    Option("--target", "where the driver under test runs: linux (Linux's tun in a QEMU guest), "
           "kpi (a DragonFly driver over driver/kpi in a host process), dragonfly (a DragonFly "
           "guest) (default: linux; env TUNLAB_TARGET)", default="linux", env="TUNLAB_TARGET"),
    Option("--driver", "the tun driver under test on the BSD targets: ours (driver/if_tun.c, the "
           "default), stock (the DragonFly kernel's own; dragonfly target), a path to an "
           "if_tun.c, its directory, or a DragonFly source tree, or stock-<year>=PATH (that file "
           "is the <year> stock driver: TUN-SPEC's column for it gives the expectations; "
           "env TUNLAB_DRIVER)", default="ours",
           env="TUNLAB_DRIVER"),
    Option("--backend", "VM backend: qemu or libvirt (default: qemu)", default="qemu"),
    Option("--accel", "QEMU accelerator: auto (KVM when /dev/kvm really works, else TCG), kvm, "
           "tcg (default: auto; env TUNLAB_ACCEL)", default="auto", choices=("auto", "kvm", "tcg"),
           env="TUNLAB_ACCEL"),
    Option("--image", "a prebuilt guest image directory (default: build it, cached)", type=Path),
    Option("--smp", "vCPUs of VM guests (default: the target's; tests marked vcpus(N), the "
           "race rows, get a guest with at least N)", type=_positive),
    Option("--memory", "memory of VM guests in MiB (default: the target's)", type=_positive),
    Option("--qemu-opts", "extra QEMU arguments for VM guests, one string split as a shell "
           "would, given with '=' (--qemu-opts='-icount shift=auto'); through libvirt they go to the domain's "
           "<qemu:commandline> (env TUNLAB_QEMU_OPTS)", default="", type=parse_qemu_opts,
           env="TUNLAB_QEMU_OPTS", metavar="'OPTS'"),
    Option("--cpu", "the vCPU of VM guests, QEMU's model and feature switches "
           "(MODEL[,feature=on|off...], e.g. Nehalem,pmu=off) (default: the target's; TCG: max, "
           "KVM: host; DragonFly under KVM: Nehalem,pmu=off)", type=parse_cpu, metavar="MODEL"),
    Option("--gdb", f"start VM guests with QEMU's gdb stub on 127.0.0.1:PORT (default port "
           f"{GDB_PORT}); the guest boots at once and the gdb command to attach is printed. "
           f"gdb attached stops the guest (continue or detach lets it go on); requests "
           f"time out meanwhile: raise TUNLAB_TIMEOUT_SCALE", type=parse_port, nargs="?", const=GDB_PORT, metavar="PORT"),
    Option("--fresh", "a guest per test, or one for many: auto (restore where the target's VM "
           "guests can be saved, else as the target does), restore (from a snapshot saved at "
           "agent-ready, made once per image/driver/VM shape), boot, reuse (one VM guest while "
           "healthy) (default: auto; env TUNLAB_FRESH)", default="auto",
           choices=("auto", "restore", "boot", "reuse"), env="TUNLAB_FRESH"),
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
    qemu_opts: tuple[str, ...] = ()   # parsed (parse_qemu_opts); a string is parsed here too
    cpu: str | None = None            # --cpu MODEL[,feature=on|off...] (parse_cpu)
    gdb: int | None = None            # the gdb stub's port on VM guests
    fresh: str = "auto"               # --fresh: restore, boot or reuse guests (snapshot.py)
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
        if isinstance(self.qemu_opts, str) or self.qemu_opts is None:
            try:
                object.__setattr__(self, "qemu_opts", parse_qemu_opts(self.qemu_opts or ""))
            except argparse.ArgumentTypeError as e:
                raise UsageError(f"--qemu-opts: {e}") from None
        if self.cpu is not None:
            try:
                parse_cpu(self.cpu)
            except argparse.ArgumentTypeError as e:
                raise UsageError(f"--cpu: {e}") from None
        return self

    def with_(self, **changes: Any) -> "RunConfig":
        return replace(self, **changes).validate()


def _absolute_driver(value: str) -> str:
    """--driver's value with a path in it made absolute (ours, stock, a path, stock-<year>=PATH)."""
    name, eq, path = value.partition("=")
    if eq and name.startswith("stock-"):
        return f"{name}={Path(path).expanduser().absolute()}"
    return str(Path(value).expanduser().absolute()) if Path(value).expanduser().exists() else value


def to_argv(cfg: RunConfig, skip: tuple[str, ...] = ()) -> list[str]:
    """The options (OPTIONS' flags) that give `cfg` again to a child tunlab or pytest, less
    the flags in `skip`; paths made absolute (the child may run in another directory)."""
    argv: list[str] = []
    for o in OPTIONS:
        value = getattr(cfg, o.dest)
        if o.flag in skip or value is None or value == ():
            continue
        if isinstance(value, Path):
            value = value.expanduser().absolute()
        elif o.dest == "driver":
            value = _absolute_driver(value)
        elif o.dest == "qemu_opts":
            value = shlex.join(value)
        argv.append(f"{o.flag}={value}")
    return argv


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
