"""The tunlab pytest plugin: pick a target, get a booted guest and an open tun device, and
keep per test a console log, an agent log and a pcap that failures point to.

Options (the run configuration, runconfig.OPTIONS): --target, --driver, --backend, --accel,
--image, --smp, --memory; also --tunlab-logs and --conformance-json. Markers:
@pytest.mark.target("linux", ...) runs a test only on those targets;
@pytest.mark.tun_api("bsd") only on targets whose tun speaks that API (targets/). Tests for
another target are deselected, not skipped.

On a target whose guest is a host process (kpi) every test gets a fresh one. A VM guest is
restored per test from a snapshot saved at agent-ready where the target's guests can be
(--fresh auto; snapshot.py); with --fresh reuse one serves many tests, and one that crashed,
hung, broke the protocol or whose test failed is thrown away and the next test gets a fresh
one. Only a target that cannot run on this
machine skips its tests; any other set-up failure is an error.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Iterator

import pytest

from tunlab import conformance, junit, libvirt_daemon, logdirs, snapshot, targets
from tunlab.errors import SettingError, SetupError, TargetUnavailable, TunlabError, UsageError
from tunlab.guest import Guest
from tunlab.packets import LOCAL, PEER
from tunlab.paths import BUILD
from tunlab.runconfig import RunConfig, add_pytest_options, check_settings
from tunlab.tundev import TunDevice

LOGS_KEY = pytest.StashKey[Path]()
GUEST_EXC_KEY = pytest.StashKey[bool]()
FAILED_KEY = pytest.StashKey[bool]()  # a phase of the test failed (JUnit attachments)
CONFIG_KEY = pytest.StashKey[RunConfig]()
REPRO_KEY = pytest.StashKey[bool]()



def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("tunlab")
    add_pytest_options(g)
    g.addoption("--tunlab-logs", type=Path, default=None,
                help="where per-test logs go (default: build/test-logs/<date-time>-<pid>)")
    g.addoption("--shuffle", type=int, default=None, metavar="SEED",
                help="run the tests in a random order drawn from SEED (verdicts must not "
                     "depend on the order)")
    g.addoption("--record", action="store_true", default=False,
                help="VM guests run in QEMU's record mode (TCG only; a guest per test); a "
                     "failing test keeps <logs>/guest/replay.bin for `tunlab replay` "
                     "(never for throughput figures: record mode changes the guest's timing)")
    g.addoption("--conformance-json", type=Path, default=None,
                help="where to write the conformance row summary "
                     "(default: build/conformance/<column>.json)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "target(*names): run only on these tunlab targets")
    config.addinivalue_line("markers", "tun_api(*apis): run only on targets whose tun speaks "
                            "one of these APIs (bsd, linux)")
    config.addinivalue_line("markers", "vm: the test boots guests of its own")
    config.addinivalue_line("markers", "vcpus(n): a VM guest with at least n vCPUs (the "
                            "guest fixture plans one with --smp n when the run's has fewer)")
    try:
        config.stash[CONFIG_KEY] = cfg = RunConfig.from_values(config.getoption)
        check_settings()
        snapshot.keep_count()
        target = targets.get(cfg.target)
        snapshot.resolve_mode(cfg.fresh, target.uses_vm, target.snapshots,
                              bool(config.getoption("record", False)))
    except (UsageError, SettingError) as e:
        raise pytest.UsageError(str(e)) from None
    conformance.register(config)


def run_config(config: pytest.Config) -> RunConfig:
    """The run configuration built from this pytest run's options."""
    return config.stash[CONFIG_KEY]


class GuestPool:
    """Hands out a healthy guest: with --fresh restore (auto, where the target's guests can be
    saved) every test gets one restored from a snapshot (snapshot.py); with boot, one booted
    for it; with reuse, one guest serves tests until it breaks or a test fails."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.cfg = run_config(config)
        self.target = targets.get(self.cfg.target)
        self.current: Guest | None = None
        self.boots: list[float] = []
        self.powered_off_restored = False  # one restored guest per run is powered off (stop)
        self._plan: targets.TargetPlan | None = None
        self._vcpu_plans: dict[int, targets.TargetPlan] = {}  # guests of vcpus(N) tests
        self._skip = ""
        self._error: SetupError | None = None
        self.record = bool(config.getoption("record", False))
        # --fresh as it applies here (checked in pytest_configure): restore, boot or reuse
        self.fresh = snapshot.resolve_mode(self.cfg.fresh, self.target.uses_vm,
                                           self.target.snapshots, self.record)
        self._snapshots: snapshot.Snapshots | None = None

    @property
    def accel(self) -> str:
        return self.plan().accel

    @property
    def fresh_per_test(self) -> bool:
        # --record: a guest per test, so that a failing test's recording is its own
        return self.fresh != "reuse" or self.record

    def skip_all(self, reason: str) -> None:
        """Every test that needs a guest from this pool is skipped with `reason` (the
        target cannot run on this machine)."""
        self._skip = reason

    def plan(self, vcpus: int = 0) -> targets.TargetPlan:
        """The run's plan; for a test that needs `vcpus` vCPUs (@pytest.mark.vcpus) and a
        VM guest with fewer, the same with --smp `vcpus`."""
        if self._skip:
            pytest.skip(self._skip)
        if self._error is not None:
            raise self._error  # the same set-up error for every test, without rebuilding
        if self._plan is None:
            try:
                self._plan = targets.plan(self.cfg)
            except TargetUnavailable as e:
                self._skip = str(e)
                pytest.skip(self._skip)
            except SetupError as e:
                self._error = e
                raise
        if self.target.uses_vm and vcpus > self._plan.spec.cpus:
            if vcpus not in self._vcpu_plans:
                self._vcpu_plans[vcpus] = targets.plan(self.cfg.with_(smp=vcpus))
            return self._vcpu_plans[vcpus]
        return self._plan

    def boot(self, run_dir: Path | None = None, vcpus: int = 0) -> Guest:
        p = self.plan(vcpus)
        spec = p.spec
        if self.record and p.target.uses_vm:
            from tunlab import replay  # QEMU record mode (issue 15)
            run_dir = run_dir or logdirs.new_run_dir(BUILD / "logs", p.spec.target)
            spec = replay.record_spec(spec, run_dir, p.accel, p.backend)
        if self.fresh == "restore" and p is self._plan:  # a vcpus(N) test's guest boots
            if self._snapshots is None:
                self._snapshots = snapshot.Snapshots(spec, p.backend, p.accel)
            guest = self._snapshots.guest(run_dir)
        else:
            guest = Guest.boot(spec, backend=p.backend, accel=p.accel, run_dir=run_dir)
        self.boots.append(guest.boot_seconds)
        return guest

    def get(self, test_logs: Path, vcpus: int = 0) -> Guest:
        if self.current is not None and (self.current.broken or not self.current.machine.alive()
                                         or self.current.spec.cpus != self.plan(vcpus).spec.cpus):
            self.discard()
        if self.current is None:
            # A guest of the test's own keeps its whole-guest logs beside the test's.
            self.current = self.boot(test_logs / "guest" if self.fresh_per_test else None, vcpus)
        return self.current

    def discard(self) -> None:
        if self.current is not None:
            self.stop(self.current)
            self.current = None

    def stop(self, guest: Guest) -> None:
        """Stop a guest after its test: a booted one is powered off; a restored one is
        killed (it is never used again, and its state came from a guest that booted and
        answered), all but the run's first healthy one: that one is powered off through the
        agent, so that a run restoring every guest (--fresh auto on VM targets) still goes
        through the agent's and the guest's shutdown path once (a poweroff that hangs or
        fails shows in its log, as it does for booted guests)."""
        clean = guest.restored_from is None
        if not clean and not self.powered_off_restored and not guest.broken:
            clean = self.powered_off_restored = True
        guest.stop(clean=clean)


@pytest.fixture(scope="session")
def guest_pool(request: pytest.FixtureRequest) -> Iterator[GuestPool]:
    pool = GuestPool(request.config)
    # --backend libvirt: use the running libvirt daemon, or a private one for this session.
    daemon = libvirt_daemon.for_backend(pool.cfg.backend if pool.target.uses_vm else "")
    try:
        daemon.__enter__()
    except TargetUnavailable as e:
        pool.skip_all(f"--backend {pool.cfg.backend}: {e}")
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
    marker = request.node.get_closest_marker("vcpus")  # the race rows: vcpus(2)
    g = guest_pool.get(test_logs, int(marker.args[0]) if marker else 0)
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
        if (g.broken or guest_pool.fresh_per_test
                or request.node.stash.get(GUEST_EXC_KEY, False)):
            guest_pool.discard()


@pytest.fixture
def fresh_guest(guest_pool: GuestPool, test_logs: Path) -> Iterator[Guest]:
    """A guest of this test's own, booted for it and always stopped after it (for tests
    that break their guest on purpose)."""
    g = guest_pool.boot(run_dir=test_logs / "guest")
    try:
        yield g
    finally:
        guest_pool.stop(g)


@pytest.fixture
def tun(guest: Guest) -> Iterator[TunDevice]:
    """An open tun device (no packet information) with address LOCAL, peer PEER, up."""
    dev = guest.open_tun(addr=f"{LOCAL}/32", peer=PEER)
    yield dev


# -- targets, logs and failure reports -------------------------------------------------------
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the tests that are for other targets or another tun API."""
    cfg = run_config(config)
    target = targets.get(cfg.target)
    keep, drop = [], []
    for item in items:
        on = item.get_closest_marker("target")
        api = item.get_closest_marker("tun_api")
        if (on and cfg.target not in on.args) or (api and target.tun_api not in api.args):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
    seed = config.getoption("shuffle")
    if seed is not None:
        random.Random(seed).shuffle(keep)
    items[:] = keep


def _logs_root(config: pytest.Config) -> Path:
    root = config.getoption("--tunlab-logs")
    if root is None:
        root = logdirs.new_run_dir(BUILD / "test-logs")  # unique per run; old runs pruned
        config.option.tunlab_logs = root
    return root


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid)[-150:]
    item.stash[LOGS_KEY] = _logs_root(item.config) / name
    junit.row_properties(item)  # JUnit: the TUN-SPEC row(s) the test checks


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.excinfo is not None and call.excinfo.errisinstance(TunlabError):
        item.stash[GUEST_EXC_KEY] = True  # the guest may be in any state: use a fresh one
    logs = item.stash.get(LOGS_KEY, None)
    if report.failed:
        item.stash[FAILED_KEY] = True
    if report.when == "teardown" and item.stash.get(FAILED_KEY, False) and logs is not None:
        junit.attach_logs(item, report, logs)  # [[ATTACHMENT|...]] lines in <system-out>
    if report.failed and logs is not None and logs.exists():
        files = sorted(str(p) for p in logs.rglob("*") if p.is_file())
        report.sections.append(("tunlab logs", "\n".join(files) or str(logs)))
        for f in files:
            item.user_properties.append(("tunlab_log", f))
    if report.when == "teardown" and logs is not None and item.config.getoption("record", False):
        from tunlab import replay
        replay.after_test(logs / "guest", keep=report.failed or item.stash.get(REPRO_KEY, False))
    if report.failed and logs is not None and not item.stash.get(REPRO_KEY, False):
        item.stash[REPRO_KEY] = True  # the first failing phase's requests (issue 15)
        from tunlab import repro
        path = repro.write_for_test(item, call, logs, run_config(item.config))
        if path is not None:
            report.sections.append(("tunlab repro", f"{path}\nreplay: tunlab repro {path} "
                                    f"[--target T] [--driver D] [--minimize]"))
            item.user_properties.append(("tunlab_repro", str(path)))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    config = terminalreporter.config
    root = config.getoption("--tunlab-logs")
    if root is not None and Path(root).exists():
        terminalreporter.write_line(f"tunlab: per-test logs in {root}")
    if config.getoption("record", False):
        from tunlab import replay
        terminalreporter.write_line(replay.NOT_THROUGHPUT)
