"""Bounded waits, scaled for the accelerator: every wait in tunlab comes from here.

The base figures are for TCG on a loaded 2-core machine (a Linux guest's agent answers in
2.4-5.5 s there); KVM halves them; TUNLAB_TIMEOUT_SCALE multiplies them all (e.g. 3 on a slow
CI runner). It must be a finite number from SCALE_MIN to SCALE_MAX (0.1 to 100): 0, negative,
`inf` and `nan` would turn every bound off or make every wait fail, and are refused with a
one-line SettingError.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from tunlab.errors import SettingError

ENV_SCALE = "TUNLAB_TIMEOUT_SCALE"
SCALE_MIN = 0.1
SCALE_MAX = 100.0

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


def parse_scale(text: str) -> float:
    """TUNLAB_TIMEOUT_SCALE's value as a number, or a one-line SettingError."""
    shown = repr(text[:40])
    try:
        value = float(text)
    except ValueError:
        raise SettingError(f"{ENV_SCALE}={shown} is not a number: give one from "
                           f"{SCALE_MIN:g} to {SCALE_MAX:g} (e.g. 3 on a slow machine)") from None
    if not math.isfinite(value) or not SCALE_MIN <= value <= SCALE_MAX:
        raise SettingError(f"{ENV_SCALE}={shown} is out of range: give a number from "
                           f"{SCALE_MIN:g} to {SCALE_MAX:g} (every wait is multiplied by it)")
    return value


def env_scale() -> float:
    """The scale from the environment (1 when unset or empty)."""
    text = os.environ.get(ENV_SCALE, "").strip()
    return parse_scale(text) if text else 1.0


def for_accel(accel: str) -> Timeouts:
    return Timeouts((0.5 if accel == "kvm" else 1.0) * env_scale())
