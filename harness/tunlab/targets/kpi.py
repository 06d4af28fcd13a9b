"""The kpi target: a DragonFly tun driver (ours by default), compiled unmodified over
driver/kpi and linked into the agent, run as a host process (the "process" backend). Its
console is the agent's stderr, where the emulated kernel and the sanitizers print."""

from __future__ import annotations

import os
from pathlib import Path

from tunlab.crash_patterns import KPI_CONSOLE
from tunlab.errors import SetupError, UsageError
from tunlab.machine import GuestSpec
from tunlab import driver_source
from tunlab.runconfig import RunConfig
from tunlab.targets.base import Target, driver_choice, register


class KpiTarget(Target):
    name = "kpi"
    summary = "a DragonFly tun driver over driver/kpi, inside the agent, as a host process"
    console = KPI_CONSOLE
    tun_api = "bsd"
    uses_vm = False
    emulated_kernel = True

    def check(self, cfg: RunConfig) -> None:
        if cfg.driver == "stock":
            raise UsageError("--driver stock: the kpi target has no stock driver of its own; "
                             "give the path of the if_tun.c to test (e.g. a DragonFly tree's "
                             "sys/net/tun/if_tun.c)")

    def guest_spec(self, cfg: RunConfig, accel: str) -> GuestSpec:
        agent = agent_binary(cfg)
        return GuestSpec(target=self.name, name=agent.name, program=(str(agent), "--stdio"))


def agent_binary(cfg: RunConfig) -> Path:
    """Build (make is incremental) the agent linked with the driver under test over
    driver/kpi (driver_source.build_agent: ours in build/driver, another driver in
    build/driver-<its hash>), with ASan/UBSan unless cfg.sanitizers is off (as benchmarks
    want). TUNLAB_KPI_AGENT names a prebuilt such binary instead (e.g. one built from a
    mutated copy of the driver: its driver= must still match --driver)."""
    other = os.environ.get("TUNLAB_KPI_AGENT")
    if other:
        if not Path(other).is_file():
            raise SetupError(f"TUNLAB_KPI_AGENT={other}: no such file")
        return Path(other)
    source = driver_choice(cfg.driver).source
    assert source is not None  # check() refused "stock"
    return driver_source.build_agent(source, sanitizers=cfg.sanitizers)


register(KpiTarget())
