"""The linux target: Linux's own tun in a QEMU guest built offline from Debian packages
(image_linux.py). It proves the VM path anywhere and is the benchmarks' reference peer."""

from __future__ import annotations

import dataclasses

from tunlab import image_linux
from tunlab.crash_patterns import LINUX_CONSOLE
from tunlab.errors import UsageError
from tunlab.machine import GuestSpec
from tunlab.runconfig import RunConfig
from tunlab.targets.base import Target, register


class LinuxTarget(Target):
    name = "linux"
    summary = "Linux's own tun in a Debian-kernel + busybox QEMU guest"
    console = LINUX_CONSOLE
    tun_api = "linux"
    snapshots = True

    def check(self, cfg: RunConfig) -> None:
        if cfg.driver != "ours":
            raise UsageError(f"--driver {cfg.driver}: the linux target runs the Linux kernel's "
                             f"own tun; --driver applies to the kpi and dragonfly targets")

    def guest_spec(self, cfg: RunConfig, accel: str) -> GuestSpec:
        return image_linux.from_dir(cfg.image) if cfg.image else image_linux.build(cfg.progress)

    def expected_driver(self, cfg: RunConfig) -> str:
        return "linux-tun"

    def column(self, cfg: RunConfig) -> str:
        return self.name

    def with_console_shell(self, spec: GuestSpec) -> tuple[GuestSpec, str]:
        # guest-image/linux/init starts a busybox shell on ttyS0 for tunlab.shell=1.
        return (dataclasses.replace(spec, append=f"{spec.append} tunlab.shell=1".strip()),
                "a busybox shell (root) runs on the console: `:console` types into it")


register(LinuxTarget())
