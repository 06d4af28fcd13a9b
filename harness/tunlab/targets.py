"""The three places a suite can run (DESIGN.md): how to get each one's guest, or why it
cannot run here and what would make it runnable."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tunlab import image_linux
from tunlab.errors import SetupError
from tunlab.machine import GuestSpec
from tunlab.paths import BUILD, REPO

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
    return ""


def plan(target: str, backend: str = "qemu", image: Path | None = None, progress: bool = False,
         sanitizers: bool = True) -> TargetPlan:
    """Build (or find cached) what `target` needs and say how to start it. On kpi, the
    "guest" is the agent process with our driver over driver/kpi (with ASan/UBSan unless
    `sanitizers` is off, as benchmarks want); the VM backend does not apply."""
    if target not in TARGETS:
        raise SetupError(f"unknown target {target!r}: choose one of {', '.join(TARGETS)}")
    if target == "dragonfly":
        return TargetPlan(target, backend, _dragonfly_spec(image))
    if target == "kpi":
        return TargetPlan(target, "process", kpi_spec(sanitizers))
    reason = unavailable_reason(target)
    if reason:
        raise SetupError(reason)
    spec = image_linux.from_dir(image) if image else image_linux.build(progress=progress)
    return TargetPlan(target, backend, spec)


def kpi_spec(sanitizers: bool = True) -> GuestSpec:
    """Build (make is incremental) the agent linked with driver/if_tun.c over driver/kpi.
    TUNLAB_KPI_AGENT names another such binary instead (e.g. one built from a mutated copy
    of the driver)."""
    name = "tunlab-agent-kpi-san" if sanitizers else "tunlab-agent-kpi"
    other = os.environ.get("TUNLAB_KPI_AGENT")
    if other:
        if not Path(other).exists():
            raise SetupError(f"TUNLAB_KPI_AGENT={other} does not exist")
        return GuestSpec(os="kpi", name=Path(other).name, program=(other, "--stdio"))
    res = subprocess.run(["make", "-s", "-C", str(REPO), "-f", "driver/Makefile.host", "agent-kpi"],
                         capture_output=True, text=True)
    agent = BUILD / "driver" / "agent" / name
    if res.returncode != 0 or not agent.exists():
        raise SetupError(f"building the kpi agent failed (make -f driver/Makefile.host agent-kpi):\n"
                         f"{res.stdout[-3000:]}{res.stderr[-3000:]}")
    return GuestSpec(os="kpi", name=name, program=(str(agent), "--stdio"))


def _dragonfly_spec(image: Path | None) -> GuestSpec:
    """A fresh overlay of the built DragonFly image plus a CD of the current driver and agent
    sources, which the guest builds and loads at boot (image_dragonfly.session_spec)."""
    import time

    from tunlab import image_dragonfly
    from tunlab.qemu import pick_accel
    image = image or image_dragonfly.find_image()
    if image is None:
        raise SetupError(image_dragonfly.unavailable_reason())
    run_root = BUILD / "sessions" / f"dragonfly-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    return image_dragonfly.session_spec(image, run_root, pick_accel())
