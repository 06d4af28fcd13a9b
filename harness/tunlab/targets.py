"""The three places a suite can run (DESIGN.md): how to get each one's guest, or why it
cannot run here and what would make it runnable."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tunlab import image_linux
from tunlab.errors import SetupError
from tunlab.machine import GuestSpec

TARGETS = ("linux", "kpi", "dragonfly")
DEFAULT_TARGET = "linux"


@dataclass(frozen=True)
class TargetPlan:
    target: str
    backend: str  # VM backend (or "process" for kpi)
    spec: GuestSpec


def unavailable_reason(target: str) -> str:
    """Why `target` cannot run on this machine ("" when it can), with the command that
    would make it runnable."""
    if target == "dragonfly":
        from tunlab import image_dragonfly
        return image_dragonfly.unavailable_reason()
    if target == "kpi":
        return ("kpi target: the agent's kpi backend (agent linked with driver/ over driver/kpi) "
                "is not built yet; see issue 'driver/kpi' — run `make check` once it lands")
    return ""


def plan(target: str, backend: str = "qemu", image: Path | None = None, progress: bool = False) -> TargetPlan:
    """Build (or find cached) what `target` needs and say how to start it."""
    if target not in TARGETS:
        raise SetupError(f"unknown target {target!r}: choose one of {', '.join(TARGETS)}")
    if target == "dragonfly":
        return TargetPlan(target, backend, _dragonfly_spec(image))
    reason = unavailable_reason(target)
    if reason:
        raise SetupError(reason)
    spec = image_linux.from_dir(image) if image else image_linux.build(progress=progress)
    return TargetPlan(target, backend, spec)


def _dragonfly_spec(image: Path | None) -> GuestSpec:
    """A fresh overlay of the built DragonFly image plus a CD of the current driver and agent
    sources, which the guest builds and loads at boot (image_dragonfly.session_spec)."""
    import os
    import time

    from tunlab import image_dragonfly
    from tunlab.paths import BUILD
    from tunlab.qemu import pick_accel
    image = image or image_dragonfly.find_image()
    if image is None:
        raise SetupError(image_dragonfly.unavailable_reason())
    run_root = BUILD / "sessions" / f"dragonfly-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    return image_dragonfly.session_spec(image, run_root, pick_accel())
