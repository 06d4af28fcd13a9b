"""A booted guest: a Machine (any backend), its console watcher and its control client.

    with Guest.boot(spec) as g:
        dev = g.open_tun(addr="10.9.0.1/24", peer="10.9.0.2")
        ...

Every wait is bounded; a crash, a silent agent or a dead VM raises with the console tail and
where the logs are. The guest is always stopped on leaving the `with` block.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Callable

from tunlab import process_backend, qemu  # noqa: F401  (register the "process" and "qemu" backends)
from tunlab import libvirt_backend  # noqa: F401  (registers "libvirt"; imports python3-libvirt only when used)
from tunlab.client import AgentClient
from tunlab.console import ConsoleWatcher
from tunlab import logdirs, targets
from tunlab.errors import GuestDied, SetupError, TunlabError
from tunlab.machine import GuestSpec, Machine, MonitorUnavailable, create_machine
from tunlab.paths import LOGS
from tunlab.pcap import PcapWriter
from tunlab.timeouts import Timeouts, for_accel
from tunlab.tundev import TunDevice

# What a hang report asks QEMU's monitor (human-monitor commands), in this order.
HANG_COMMANDS = ("info status", "info cpus", "info registers -a", "x/8i $pc", "info chardev",
                 "info irq")
HANG_OUTPUT_MAX = 256 * 1024  # characters kept of one command's output

CLOCK_SETTLE_TIMEOUT = 20.0  # seconds for the guest's clock source to be final (scaled)


def new_run_dir(kind: str) -> Path:
    """A fresh log directory under build/logs, unique per run, old ones pruned
    (logdirs.py: TUNLAB_KEEP_RUNS, TUNLAB_KEEP_LOGS_MB)."""
    return logdirs.new_run_dir(LOGS, kind)


class Guest:
    def __init__(self, machine: Machine, timeouts: Timeouts) -> None:
        self.machine = machine
        self.spec = machine.spec
        self.timeouts = timeouts
        self.run_dir = machine.run_dir
        self.watcher: ConsoleWatcher | None = None
        self.client: AgentClient | None = None
        self.hello: dict[str, str] = {}
        self.boot_seconds = 0.0   # launch -> agent ready (booted or restored)
        self.restored_from: Path | None = None  # the saved state it started from, if any
        self._broken = ""
        self.pcap: PcapWriter | None = None
        self.ended = ""  # how the guest ended, once stop() has run
        self.devices: dict[int, TunDevice] = {}  # open devices by agent handle
        self.section_dir: Path | None = None  # the current test's log directory

    @classmethod
    def boot(cls, spec: GuestSpec, backend: str = "qemu", accel: str = "tcg",
             run_dir: Path | None = None, echo: Callable[[str], None] | None = None) -> "Guest":
        """Launch the VM and wait until the agent answers `hello`."""
        run_dir = run_dir or new_run_dir(spec.target)
        return cls._launch(create_machine(backend, spec, run_dir, accel), accel, echo)

    @classmethod
    def restore(cls, spec: GuestSpec, state: Path, backend: str = "qemu", accel: str = "tcg",
                run_dir: Path | None = None, echo: Callable[[str], None] | None = None) -> "Guest":
        """Start the VM from a state saved at agent-ready (snapshot.py) instead of booting
        it, and wait until the agent answers `hello` (the caller checks who answered)."""
        run_dir = run_dir or new_run_dir(spec.target)
        machine = create_machine(backend, spec, run_dir, accel)
        restore_from = getattr(machine, "restore_from", None)
        if restore_from is None:
            raise SetupError(f"the {backend} backend cannot start a guest from a saved state")
        restore_from(state)
        return cls._launch(machine, accel, echo, restored_from=state)

    @classmethod
    def _launch(cls, machine: Machine, accel: str, echo: Callable[[str], None] | None,
                restored_from: Path | None = None) -> "Guest":
        guest = cls(machine, for_accel(accel))
        guest.restored_from = restored_from
        try:
            guest._start(echo)
        except BaseException:
            guest.stop()
            raise
        return guest

    def _start(self, echo: Callable[[str], None] | None) -> None:
        t0 = time.monotonic()
        self.machine.start(self.timeouts.connect)
        if self.spec.gdb_port:
            # Printed as soon as the stub listens: gdb may attach while the guest boots.
            hint = (f"tunlab: gdb stub of {self.spec.name} on 127.0.0.1:{self.spec.gdb_port}: "
                    f"{qemu.gdb_command(self.spec)}")
            print(hint, file=sys.__stderr__ or sys.stderr, flush=True)
        self.watcher = ConsoleWatcher(self.machine.console, self.run_dir / "console.log",
                                      targets.get(self.spec.target).console, echo)
        ctl = self.machine.control.fileno()
        self.client = AgentClient(ctl, ctl, self.run_dir / "agent.log", self.timeouts.request,
                                  self.check_alive, where=f"\n(logs: {self.run_dir})",
                                  on_close=self._control_closed, on_timeout=self.hang_report)
        if self.restored_from is not None:
            # The saved agent announced itself to the harness that saved it and waits for a
            # request: the hello below is the first byte on this COM2.
            self.client.note(f"restoring {self.spec.name} from {self.restored_from} "
                             f"({self.machine.describe_exit()})")
        else:
            self._wait_agent_start()
        reply = self.client.request("hello")
        self.hello = dict(reply.fields)
        self._check_driver()
        self.boot_seconds = time.monotonic() - t0
        how = " (restored)" if self.restored_from is not None else ""
        self.client.note(f"agent ready {self.boot_seconds:.2f} s after launch{how}: {reply.line}")

    def _wait_agent_start(self) -> None:
        assert self.client is not None and self.watcher is not None
        self.client.note(f"booting {self.spec.name} ({self.machine.describe_exit()})")
        # The agent announces itself with a log frame once it has opened COM2; anything sent
        # before that could be lost in the UART, so wait for it before saying hello.
        left = (self.spec.boot_timeout * self.timeouts.scale if self.spec.boot_timeout
                else self.timeouts.boot)
        if self.client.read_frame(left) is None:
            self.check_alive()
            self.broken = "agent never started"
            raise GuestDied(f"the guest agent did not start within {left:.0f} s of launch "
                            f"(no frame on COM2)\n{self._explain()}--- console tail ({self.watcher.log_path}) ---\n"
                            f"{self.watcher.tail()}")

    # -- health ---------------------------------------------------------------------------
    @property
    def broken(self) -> str:
        """Why this guest must not be reused ("" while healthy)."""
        return self._broken or (self.client.failed if self.client else "")

    @broken.setter
    def broken(self, why: str) -> None:
        self._broken = why

    def check_alive(self) -> None:
        """Raise if the guest crashed or its VM ended (used by every wait)."""
        assert self.watcher is not None
        try:
            self.watcher.check()
            if not self.machine.alive():
                self.watcher.wait_eof(1.0)
                self.watcher.check()
                raise GuestDied(f"the VM ended unexpectedly: {self.machine.describe_exit()}\n"
                                f"{self._explain()}"
                                f"--- console tail ({self.watcher.log_path}) ---\n{self.watcher.tail()}")
        except TunlabError as e:
            self.broken = self.broken or str(e).splitlines()[0]
            raise

    def _check_driver(self) -> None:
        """The agent says which tun driver it drives; it must be the one the run asked for
        (spec.driver: "name:sha", or "name:" when any hash will do)."""
        want, got = self.spec.driver, self.hello.get("driver", "")
        if not want or got == want or (want.endswith(":") and got.startswith(want)):
            return
        self.broken = "wrong driver"
        raise SetupError(f"the guest runs driver {got or '(not reported)'}, but this run asked "
                         f"for {want}: the guest was built from other sources than the run "
                         f"configuration names (logs: {self.run_dir})")

    def _explain(self) -> str:
        """What the guest's own set-up said went wrong (the target's explain_death), or ""."""
        if self.watcher is None:
            return ""
        why = targets.get(self.spec.target).explain_death("\n".join(self.watcher.lines()))
        return f"{why}\n" if why else ""

    def has_verb(self, verb: str) -> bool:
        """Whether the guest's agent says (hello's caps=) it has this verb."""
        return verb in self.hello.get("caps", "").split(",")

    def settle_clock(self, timeout: float | None = None, poll: float = 0.25) -> str:
        """Wait (up to `timeout` s, default CLOCK_SETTLE_TIMEOUT scaled) until the guest's clock
        source is final, and return it ("" when the agent does not tell: no benchenv verb or no
        clocksource= in it). The Linux guest starts on the provisional tsc-early and switches
        to tsc when the kernel's refined TSC calibration ends, ~2 s after boot: often after
        agent-ready. A snapshot saved before the switch made every restored guest switch clock
        source inside its first test (measured); a benchmark started before it measured its
        first samples on one clock and the rest on another. A provisional source still in use
        at the deadline is returned as it is, said in one line (the run goes on)."""
        if not self.has_verb("benchenv"):
            return ""
        if timeout is None:
            timeout = CLOCK_SETTLE_TIMEOUT * self.timeouts.scale
        deadline = time.monotonic() + timeout
        while True:
            clock = self.agent.request("benchenv").text("clocksource") or ""
            if "early" not in clock.split("-"):
                return clock
            if time.monotonic() > deadline:
                print(f"tunlab: the guest's clock source is still {clock} after {timeout:.0f} s: "
                      f"going on with it (it may switch during what follows)",
                      file=sys.__stderr__ or sys.stderr, flush=True)
                return clock
            time.sleep(poll)

    def hang_report(self) -> str:
        """The agent did not answer in time: ask the VM's QEMU monitor (the direct backend's
        QMP socket, or libvirt's) for its state and every vCPU's registers, write them to
        hang-report.txt in the run's (and the current test's) log directory, and return
        lines for the error message ("" where there is no monitor: a host process)."""
        if not self._alive_quietly():
            return ""
        parts: list[str] = []
        wait = 5.0 * self.timeouts.scale
        for command in HANG_COMMANDS:
            try:
                out = self.machine.monitor(command, wait)
            except MonitorUnavailable as e:
                if not parts:
                    return ""  # no monitor at all
                out = f"(failed: {e})"
            except Exception as e:  # noqa: BLE001 - a report must not hide the timeout
                out = f"(failed: {type(e).__name__}: {e})"
            if len(out) > HANG_OUTPUT_MAX:
                out = out[:HANG_OUTPUT_MAX] + f"\n[tunlab: cut at {HANG_OUTPUT_MAX} characters]"
            parts.append(f"(qemu) {command}\n{out.rstrip()}\n")
        text = (f"tunlab hang report: {self.spec.name}, {time.strftime('%Y-%m-%d %H:%M:%S')}\n\n"
                + "\n".join(parts))
        written = []
        for d in (self.run_dir, self.section_dir):
            if d is not None:
                try:
                    (d / "hang-report.txt").write_text(text)
                    written.append(str(d / "hang-report.txt"))
                except OSError:
                    pass
        rips = re.findall(r"\bRIP=([0-9a-fA-F]+)", text)
        status = re.search(r"VM status: (\S+)", text)
        summary = (f"VM {status.group(1) if status else 'status unknown'}; "
                   + (", ".join(f"vCPU {i} RIP={r}" for i, r in enumerate(rips)) or "no registers"))
        if self.client is not None:
            try:
                self.client.note(f"hang report: {summary} ({', '.join(written) or 'not written'})")
            except TunlabError:
                pass
        where = written[-1] if written else "(could not be written)"
        return f"\nhang report (QEMU state, vCPU registers): {where}\n  {summary}"

    def _control_closed(self) -> None:
        """COM2 ended: the VM is going away. Report that, with how it ended."""
        self.machine.wait_exit(2.0)
        self.check_alive()

    @property
    def agent(self) -> AgentClient:
        assert self.client is not None, "guest not booted"
        return self.client

    # -- per-test logs --------------------------------------------------------------------
    def begin_section(self, directory: Path | None) -> None:
        """Copy the console and agent logs, and record packets, into `directory` from now
        on (one directory per test); None ends the section."""
        assert self.watcher is not None and self.client is not None
        if self.pcap:
            self.pcap.close()
            self.pcap = None
        self.section_dir = directory
        if directory is None:
            self.watcher.begin_section(None)
            self.client.begin_section(None)
            return
        directory.mkdir(parents=True, exist_ok=True)
        self.watcher.begin_section(directory / "console.log")
        self.client.begin_section(directory / "agent.log")
        self.pcap = PcapWriter(directory / "packets.pcap")

    # -- devices --------------------------------------------------------------------------
    def open_tun(self, name: str = "", pi: bool = False, nonblock: bool = False,
                 addr: str = "", peer: str = "", mtu: int = 0, **extra: str | int | bool) -> TunDevice:
        """Open a tun device (`extra`: more of the open verb's arguments); with `addr`, also
        give it that address (and `peer`) and bring it up."""
        args: dict[str, str | int | bool] = {"pi": pi, "nonblock": nonblock, **extra}
        if name:
            args["name"] = name
        reply = self.agent.request("open", **args)
        dev = TunDevice(self, reply.int("h"), reply.text("ifname"), pi)
        self.devices[dev.h] = dev
        if addr:
            dev.configure(addr=addr, peer=peer, mtu=mtu, up=True)
        return dev

    # -- the end --------------------------------------------------------------------------
    def stop(self, clean: bool = True) -> str:
        """Power the guest off cleanly if it is healthy (and `clean`), else kill it. Returns
        how it ended. Idempotent. Tolerates a dead guest, a dead channel and a full disk: the VM is always
        killed and every log closed, even when a step fails or Ctrl-C comes (which then goes
        on up, after the clean-up)."""
        if self.ended:
            return self.ended
        how = "killed"
        # Called while a Ctrl-C unwinds (Guest.boot's clean-up, a `with` block): no poweroff,
        # whose wait could be a whole request timeout on an agent not yet up.
        interrupted = isinstance(sys.exc_info()[1], KeyboardInterrupt)
        try:
            if interrupted:
                how = "killed (interrupted)"
            elif not clean:
                how = "killed (not needed again)"
            elif self._alive_quietly() and not self.broken and self.client is not None:
                how = self._poweroff()
        finally:
            self._release(how)
        return self.ended

    def _alive_quietly(self) -> bool:
        try:
            return self.machine.alive()
        except Exception:  # a backend that cannot tell (a dead libvirt daemon): kill it
            return False

    def _poweroff(self) -> str:
        """Ask the agent to power off and wait for the VM to end; how it ended."""
        assert self.client is not None
        try:
            self.client.request("poweroff", timeout=self.timeouts.request)
            if self.machine.wait_exit(self.timeouts.poweroff):
                if self.watcher:
                    self.watcher.wait_eof(2.0)
                return "powered off" if self.watcher and self.watcher.powered_off else "exited"
            return "killed"
        except (TunlabError, OSError) as e:
            return f"killed after a failed poweroff ({str(e).splitlines()[0] if str(e) else type(e).__name__})"

    def _release(self, how: str) -> None:
        """Kill the VM and close the pcap, the console and the transcript; each step runs
        even when an earlier one fails."""
        self.ended = how
        steps: list[Callable[[], object]] = [self.machine.kill]
        if self.pcap:
            steps.append(self.pcap.close)
        if self.watcher:
            steps.append(self.watcher.close)
        if self.client:
            client = self.client
            steps += [lambda: client.note(f"guest {how}"), client.close]
        for step in steps:
            try:
                step()
            except Exception:  # noqa: BLE001 - clean-up goes on; the VM is already killed
                pass
        self.pcap = None

    def __enter__(self) -> "Guest":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
