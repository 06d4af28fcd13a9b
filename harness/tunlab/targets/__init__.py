"""Where a suite runs. Each target is one module of this package that subclasses Target and
registers itself (as the VM backends do in machine.py): what its guests run, the console
patterns that mean a crash, how to plan a guest from a run configuration, why it cannot run
on this machine, and how to explain a guest that died. Nothing outside these modules tests a
target's name.

    cfg = RunConfig(target="kpi", driver="ours")
    plan = targets.plan(cfg)          # builds what is missing, or raises
    with Guest.boot(plan.spec, backend=plan.backend, accel=plan.accel) as g: ...

Adding a target: docs/architecture.md.
"""

from __future__ import annotations

from tunlab.targets.base import (DriverChoice, Target, TargetPlan, driver_choice,
                                 get, names, plan, register, unavailable_reason)
# Register the three targets, in the order --help lists them.
from tunlab.targets import linux  # noqa: F401,E402,I001
from tunlab.targets import kpi  # noqa: F401,E402
from tunlab.targets import dragonfly  # noqa: F401,E402

__all__ = ["DriverChoice", "Target", "TargetPlan", "driver_choice", "get", "names",
           "plan", "register", "unavailable_reason"]
