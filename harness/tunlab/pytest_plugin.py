"""The tunlab pytest plugin: pick a target, get a booted guest and an open tun device, and
keep per test a console log, an agent log and a pcap that failures point to.

Options: --target, --image, --backend, --accel, --tunlab-logs. Marker:
@pytest.mark.target("linux", ...) runs a test only on those targets.

One guest serves many tests; a guest that crashed, hung or broke the protocol is thrown away
and the next test gets a fresh one.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Iterator

import pytest

from tunlab import libvirt_daemon, targets
from tunlab.errors import SetupError, TunlabError
from tunlab.guest import Guest
from tunlab.paths import BUILD
from tunlab.qemu import pick_accel
from tunlab.tundev import TunDevice

LOGS_KEY = pytest.StashKey[Path]()
GUEST_EXC_KEY = pytest.StashKey[bool]()

# The addresses of the `tun` fixture: local end in the guest, and its point-to-point peer.
LOCAL = "10.77.0.1"
PEER = "10.77.0.2"


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("tunlab")
    g.addoption("--target", default=os.environ.get("TUNLAB_TARGET", targets.DEFAULT_TARGET),
                choices=targets.TARGETS, help="where the driver under test runs (default: linux)")
    g.addoption("--image", type=Path, default=None,
                help="a prebuilt guest image directory (default: build it, cached)")
    g.addoption("--backend", default="qemu", help="VM backend (default: qemu)")
    g.addoption("--accel", default="auto", choices=("auto", "kvm", "tcg"),
                help="QEMU accelerator (default: auto = KVM when /dev/kvm is usable, else TCG)")
    g.addoption("--tunlab-logs", type=Path, default=None,
                help="where per-test logs go (default: build/test-logs/<date-time>)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "target(*names): run only on these tunlab targets")
    config.addinivalue_line("markers", "vm: the test boots guests of its own")


class GuestPool:
    """Hands out a healthy guest, booting a new one when there is none or the last broke."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.target: str = config.getoption("--target")
        self.backend: str = config.getoption("--backend")
        self.accel = pick_accel(config.getoption("--accel"))
        self.current: Guest | None = None
        self.boots: list[float] = []
        self._plan: targets.TargetPlan | None = None
        self._skip = ""

    def skip_all(self, reason: str) -> None:
        """Every test that needs a guest from this pool is skipped with `reason`."""
        self._skip = reason

    def plan(self) -> targets.TargetPlan:
        if self._skip:
            pytest.skip(self._skip)
        if self._plan is None:
            try:
                self._plan = targets.plan(self.target, self.backend, self.config.getoption("--image"))
            except SetupError as e:
                self._skip = str(e)
                pytest.skip(self._skip)
        return self._plan

    def boot(self) -> Guest:
        p = self.plan()
        guest = Guest.boot(p.spec, backend=p.backend, accel=self.accel)
        self.boots.append(guest.boot_seconds)
        return guest

    def get(self) -> Guest:
        if self.current is not None and (self.current.broken or not self.current.machine.alive()):
            self.current.stop()
            self.current = None
        if self.current is None:
            self.current = self.boot()
        return self.current

    def discard(self) -> None:
        if self.current is not None:
            self.current.stop()
            self.current = None


@pytest.fixture(scope="session")
def guest_pool(request: pytest.FixtureRequest) -> Iterator[GuestPool]:
    pool = GuestPool(request.config)
    # --backend libvirt: use the running libvirt daemon, or a private one for this session.
    daemon = libvirt_daemon.for_backend(pool.backend)
    try:
        daemon.__enter__()
    except SetupError as e:
        pool.skip_all(f"--backend {pool.backend}: {e}")
        yield pool
        return
    try:
        yield pool
        pool.discard()
    finally:
        daemon.__exit__(None, None, None)


@pytest.fixture
def test_logs(request: pytest.FixtureRequest) -> Path:
    """This test's log directory (console.log, agent.log, packets.pcap)."""
    return request.node.stash[LOGS_KEY]


@pytest.fixture
def guest(guest_pool: GuestPool, test_logs: Path, request: pytest.FixtureRequest) -> Iterator[Guest]:
    """A booted guest whose agent answers, shared between tests while it stays healthy."""
    g = guest_pool.get()
    g.begin_section(test_logs)
    g.agent.note(f"=== test {request.node.nodeid}")
    opened_before = set(g.devices)
    try:
        yield g
    finally:
        try:
            if not g.broken and g.machine.alive():
                for h in set(g.devices) - opened_before:
                    g.devices[h].close()
        except TunlabError as e:
            g.broken = f"cleanup after {request.node.nodeid} failed: {e}"
        g.begin_section(None)
        if g.broken or request.node.stash.get(GUEST_EXC_KEY, False):
            guest_pool.discard()


@pytest.fixture
def fresh_guest(guest_pool: GuestPool, test_logs: Path) -> Iterator[Guest]:
    """A guest of this test's own, booted for it and always stopped after it (for tests
    that break their guest on purpose)."""
    p = guest_pool.plan()
    g = Guest.boot(p.spec, backend=p.backend, accel=guest_pool.accel, run_dir=test_logs / "guest")
    try:
        yield g
    finally:
        g.stop()


@pytest.fixture
def tun(guest: Guest) -> Iterator[TunDevice]:
    """An open tun device (no packet information) with address LOCAL, peer PEER, up."""
    dev = guest.open_tun(addr=f"{LOCAL}/32", peer=PEER)
    yield dev


# -- targets, logs and failure reports -------------------------------------------------------
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    target = config.getoption("--target")
    for item in items:
        marker = item.get_closest_marker("target")
        if marker and target not in marker.args:
            item.add_marker(pytest.mark.skip(
                reason=f"for target(s) {', '.join(marker.args)}; this run is --target {target}"))


def _logs_root(config: pytest.Config) -> Path:
    root = config.getoption("--tunlab-logs")
    if root is None:
        root = BUILD / "test-logs" / time.strftime("%Y%m%d-%H%M%S")
        config.option.tunlab_logs = root
    return root


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid)[-150:]
    item.stash[LOGS_KEY] = _logs_root(item.config) / name


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.excinfo is not None and call.excinfo.errisinstance(TunlabError):
        item.stash[GUEST_EXC_KEY] = True  # the guest may be in any state: use a fresh one
    logs = item.stash.get(LOGS_KEY, None)
    if report.failed and logs is not None and logs.exists():
        files = sorted(str(p) for p in logs.rglob("*") if p.is_file())
        report.sections.append(("tunlab logs", "\n".join(files) or str(logs)))
        for f in files:
            item.user_properties.append(("tunlab_log", f))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    config = terminalreporter.config
    root = config.getoption("--tunlab-logs")
    if root is not None and Path(root).exists():
        terminalreporter.write_line(f"tunlab: per-test logs in {root}")
