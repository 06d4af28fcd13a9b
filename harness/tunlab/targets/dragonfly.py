"""The dragonfly target: the driver under test (ours, the kernel's stock one, or a given
file) built and loaded in a DragonFly guest under QEMU. Its image needs the DragonFly ISO
once (image_dragonfly.py); each run boots a fresh overlay of it with a session CD carrying
the agent and driver sources, built in the guest (guest-image/dragonfly/tunlab-session.sh)."""

from __future__ import annotations

import argparse
import itertools
import os
import time

from tunlab import image_dragonfly
from tunlab.crash_patterns import DRAGONFLY_CONSOLE
from tunlab.dragonfly_console import explain_session_failure
from tunlab.machine import GuestSpec
from tunlab.paths import BUILD
from tunlab.runconfig import RunConfig
from tunlab.targets.base import Target, driver_choice, register

_plans = itertools.count(1)


class DragonflyTarget(Target):
    name = "dragonfly"
    summary = "the driver under test in a DragonFly guest (needs the DragonFly ISO once)"
    console = DRAGONFLY_CONSOLE
    tun_api = "bsd"
    snapshots = True  # the session's ready state: RAM, devices and its disk overlay

    def unavailable(self, cfg: RunConfig) -> str:
        if cfg.image is not None:
            return ""
        return image_dragonfly.unavailable_reason()

    def guest_spec(self, cfg: RunConfig, accel: str) -> GuestSpec:
        image = cfg.image or image_dragonfly.find_image()
        assert image is not None  # unavailable() said so otherwise
        # a directory per plan: a run plans more than one guest (a vcpus(2) race row's)
        run_root = BUILD / "sessions" / (f"dragonfly-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
                                         f"-{next(_plans)}")
        driver = driver_choice(cfg.driver)
        return image_dragonfly.session_spec(image, run_root, accel,
                                            driver.source.directory if driver.source else None,
                                            driver.driver_id, driver.features)

    def build_image(self, cfg: RunConfig, args: argparse.Namespace) -> int:
        from tunlab.qemu import pick_accel
        return image_dragonfly.cli_build(args.release, args.iso, args.trust_first_use,
                                         pick_accel(cfg.accel), cfg.backend)

    def explain_death(self, console: str) -> str:
        return explain_session_failure(console)


register(DragonflyTarget())
