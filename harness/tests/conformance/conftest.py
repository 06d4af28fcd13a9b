"""The tun(4) conformance suite: every row of TUN-SPEC.md as a test, through the agent
protocol, so the same tests run on `--target kpi` (our driver over driver/kpi) and on
`--target dragonfly --driver ours|stock`.

    PYTHONPATH=harness python3 -m pytest -q --target kpi harness/tests/conformance

Each test carries @pytest.mark.row("<id>"); the plugin prints the rows x targets summary
after the run (harness/tunlab/conformance.py). Every file marks its tests tun_api("bsd"):
they run on every target whose tun speaks DragonFly's API (kpi, dragonfly), never on linux.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from tunlab.bsd_instruments import Instruments


# A test that is a race (two threads in the driver at once: O6's lost wakeup, L8's
# create/destroy) is marked vcpus(2): on a VM target it runs on a guest with at least two
# vCPUs, so that the threads really run at the same time (the guest pool plans one with
# --smp 2 when the run's guest has fewer, and boots it for the test); on kpi the agent's
# threads are host threads and the marker changes nothing. (The marker is registered by
# the tunlab pytest plugin, whose guest fixture honours it everywhere.)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "mutation: builds mutated copies of the driver and "
                            "runs conformance tests against them (test_mutations.py)")


@pytest.fixture
def k(guest, request: pytest.FixtureRequest) -> Iterator[Instruments]:
    """The agent's instruments; undoes what the test made when it ends, then checks that
    the guest is as clean as the test found it (no unit, interface, node or driver object
    left): a guest that is not is thrown away, so that no test sees another's leftovers."""
    kernel = Instruments(guest, driver=request.config.getoption("driver"))
    before = kernel.kstat()
    try:
        yield kernel
    finally:
        if not guest.broken and guest.machine.alive():
            kernel.cleanup()
            kernel.check_clean(before)


@pytest.fixture
def dev(k):
    """An open unit with LOCAL/PEER, up: what most output and input rows need."""
    return k.open(addr=True)
