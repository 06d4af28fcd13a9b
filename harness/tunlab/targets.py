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
        return ("dragonfly target: no DragonFly guest image — it needs the DragonFly ISO "
                "(not downloadable on this machine); see guest-image/dragonfly and run "
                "`make image GUEST=dragonfly` where the ISO can be fetched or is given as ISO=path")
    if target == "kpi":
        return ("kpi target: the agent's kpi backend (agent linked with driver/ over driver/kpi) "
                "is not built yet; see issue 'driver/kpi' — run `make check` once it lands")
    return ""


def plan(target: str, backend: str = "qemu", image: Path | None = None, progress: bool = False) -> TargetPlan:
    """Build (or find cached) what `target` needs and say how to start it."""
    if target not in TARGETS:
        raise SetupError(f"unknown target {target!r}: choose one of {', '.join(TARGETS)}")
    reason = unavailable_reason(target)
    if reason:
        raise SetupError(reason)
    spec = image_linux.from_dir(image) if image else image_linux.build(progress=progress)
    return TargetPlan(target, backend, spec)
