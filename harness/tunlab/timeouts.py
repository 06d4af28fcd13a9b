"""Bounded waits, scaled for the accelerator: every wait in tunlab comes from here.

The base figures are for TCG on a loaded 2-core machine (a Linux guest's agent answers in
2.4-5.5 s there); KVM halves them; TUNLAB_TIMEOUT_SCALE multiplies them all (e.g. 3 on a slow
CI runner).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

BASE = {
    "boot": 60.0,         # QEMU launched -> agent answers hello (a spec may ask for more)
    "connect": 10.0,      # QEMU launched -> its serial chardevs connected
    "request": 10.0,      # one ordinary request -> its reply
    "poweroff": 20.0,     # poweroff request -> QEMU exits
    "crash_report": 10.0, # panic triggered -> reported
}


@dataclass(frozen=True)
class Timeouts:
    scale: float

    def __getattr__(self, name: str) -> float:
        try:
            return BASE[name] * self.scale
        except KeyError:
            raise AttributeError(name) from None


def for_accel(accel: str) -> Timeouts:
    scale = 0.5 if accel == "kvm" else 1.0
    try:
        scale *= float(os.environ.get("TUNLAB_TIMEOUT_SCALE", "1"))
    except ValueError:
        raise SystemExit("TUNLAB_TIMEOUT_SCALE must be a number") from None
    return Timeouts(scale)
