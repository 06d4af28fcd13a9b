"""A booted guest: a Machine (any backend), its console watcher and its control client.

    with Guest.boot(spec) as g:
        dev = g.open_tun(addr="10.9.0.1/24", peer="10.9.0.2")
        ...

Every wait is bounded; a crash, a silent agent or a dead VM raises with the console tail and
where the logs are. The guest is always stopped on leaving the `with` block.
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path
from typing import Callable

from tunlab import process_backend, qemu  # noqa: F401  (register the "process" and "qemu" backends)
from tunlab import libvirt_backend  # noqa: F401  (registers "libvirt"; imports python3-libvirt only when used)
from tunlab.client import AgentClient
from tunlab.console import ConsoleWatcher
from tunlab.errors import GuestDied, TunlabError
from tunlab.machine import GuestSpec, Machine, create_machine
from tunlab.paths import LOGS
from tunlab.pcap import PcapWriter
from tunlab.timeouts import Timeouts, for_accel
from tunlab.tundev import TunDevice

_counter = itertools.count(1)


def new_run_dir(kind: str) -> Path:
    """A fresh log directory: build/logs/<date-time>-<pid>-<n>-<kind>."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = LOGS / f"{stamp}-{os.getpid()}-{next(_counter)}-{kind}"
    path.mkdir(parents=True, exist_ok=True)
    return path


class Guest:
    def __init__(self, machine: Machine, timeouts: Timeouts) -> None:
        self.machine = machine
        self.spec = machine.spec
        self.timeouts = timeouts
        self.run_dir = machine.run_dir
        self.watcher: ConsoleWatcher | None = None
        self.client: AgentClient | None = None
        self.hello: dict[str, str] = {}
        self.boot_seconds = 0.0
        self._broken = ""
        self.pcap: PcapWriter | None = None
        self.ended = ""  # how the guest ended, once stop() has run
        self.devices: dict[int, TunDevice] = {}  # open devices by agent handle

    @classmethod
    def boot(cls, spec: GuestSpec, backend: str = "qemu", accel: str = "tcg",
             run_dir: Path | None = None, echo: Callable[[str], None] | None = None) -> "Guest":
        """Launch the VM and wait until the agent answers `hello`."""
        run_dir = run_dir or new_run_dir(spec.os)
        guest = cls(create_machine(backend, spec, run_dir, accel), for_accel(accel))
        try:
            guest._start(echo)
        except BaseException:
            guest.stop()
            raise
        return guest

    def _start(self, echo: Callable[[str], None] | None) -> None:
        t0 = time.monotonic()
        self.machine.start(self.timeouts.connect)
        self.watcher = ConsoleWatcher(self.machine.console, self.run_dir / "console.log", self.spec.os, echo)
        ctl = self.machine.control.fileno()
        self.client = AgentClient(ctl, ctl, self.run_dir / "agent.log", self.timeouts.request,
                                  self.check_alive, where=f"\n(logs: {self.run_dir})",
                                  on_close=self._control_closed)
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
        reply = self.client.request("hello")
        self.hello = dict(reply.fields)
        self.boot_seconds = time.monotonic() - t0
        self.client.note(f"agent ready {self.boot_seconds:.2f} s after launch: {reply.line}")

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

    def _explain(self) -> str:
        """What the guest's own set-up said went wrong (DragonFly: the in-guest build or
        kldload output between its sentinel lines), or ""."""
        if self.spec.os != "dragonfly" or self.watcher is None:
            return ""
        from tunlab.dragonfly_console import explain_session_failure
        why = explain_session_failure("\n".join(self.watcher.lines()))
        return f"{why}\n" if why else ""

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
                 addr: str = "", peer: str = "", mtu: int = 0) -> TunDevice:
        """Open a tun device; with `addr`, also give it that address (and `peer`) and bring
        it up."""
        args: dict[str, str | int | bool] = {"pi": pi, "nonblock": nonblock}
        if name:
            args["name"] = name
        reply = self.agent.request("open", **args)
        dev = TunDevice(self, reply.int("h"), reply.text("ifname"), pi)
        self.devices[dev.h] = dev
        if addr:
            dev.configure(addr=addr, peer=peer, mtu=mtu, up=True)
        return dev

    # -- the end --------------------------------------------------------------------------
    def stop(self) -> str:
        """Power the guest off cleanly if it is healthy, else kill it. Returns how it ended.
        Idempotent."""
        if self.ended:
            return self.ended
        how = "killed"
        if self.machine.alive() and not self.broken and self.client is not None:
            try:
                self.client.request("poweroff", timeout=self.timeouts.request)
                if self.machine.wait_exit(self.timeouts.poweroff):
                    if self.watcher:
                        self.watcher.wait_eof(2.0)
                    how = "powered off" if self.watcher and self.watcher.powered_off else "exited"
            except TunlabError as e:
                how = f"killed after a failed poweroff ({str(e).splitlines()[0]})"
        self.machine.kill()
        if self.pcap:
            self.pcap.close()
            self.pcap = None
        if self.watcher:
            self.watcher.close()
        if self.client:
            self.client.note(f"guest {how}")
            self.client.close()
        self.ended = how
        return how

    def __enter__(self) -> "Guest":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
