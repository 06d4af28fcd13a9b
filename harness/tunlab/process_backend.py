"""The `process` backend: a "guest" that is a program on the host, for the kpi target (the
agent linked with our driver over driver/kpi). The agent speaks the control protocol on its
stdin/stdout; its stderr, where the kpi kernel prints (kprintf, panics, sanitizer reports),
is the console. Everything above the Machine interface (console watcher, control client,
per-test logs) is the same as for a VM.
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from tunlab.errors import GuestDied, SetupError
from tunlab.machine import GuestSpec, ProcessMachine, register_backend, track
from tunlab.qemu import _die_with_parent


class HostProgram(ProcessMachine):
    def __init__(self, spec: GuestSpec, run_dir: Path, accel: str) -> None:
        if not spec.program:
            raise SetupError(f"guest {spec.name} names no program for the process backend")
        self.spec = spec
        self.run_dir = run_dir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, connect_timeout: float) -> None:
        program = Path(self.spec.program[0])
        if not program.exists():
            raise SetupError(f"{program} does not exist: build it first (see README)")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "command").write_text(" ".join(self.spec.program) + "\n")
        self.control, ctl_child = socket.socketpair()
        self.console, con_child = socket.socketpair()
        try:
            self.proc = subprocess.Popen(list(self.spec.program), stdin=ctl_child, stdout=ctl_child,
                                         stderr=con_child, cwd=self.run_dir, preexec_fn=_die_with_parent,
                                         start_new_session=True)  # Ctrl-C reaches only the harness
        except OSError as e:
            raise GuestDied(f"could not start {program}: {e}") from None
        finally:
            ctl_child.close()
            con_child.close()
        track(self)

    def describe_exit(self) -> str:
        if self.proc is None:
            return "not started"
        rc = self.proc.poll()
        if rc is None:
            return f"{self.spec.program[0]} still running (pid {self.proc.pid})"
        how = f"killed by signal {-rc}" if rc < 0 else f"exit status {rc}"
        return f"{self.spec.program[0]} ended: {how} (its stderr is the console log)"


register_backend("process", HostProgram)
