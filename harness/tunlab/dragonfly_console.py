"""The DragonFly serial dialogue, as helpers named for what they wait for.

The console watcher (console.py) keeps the log and spots panics; it matches whole lines. The
loader's prompts (`OK `, the `\\rBooting in N seconds... ` countdown) never end their line, so
these helpers read the watcher's raw log through a ConsoleCursor (console.py), which strips
ANSI codes and carriage returns and matches anywhere in the text not yet consumed.

The markers printed by the recipe's scripts (guest-image/dragonfly) are defined here too:
  TUNLAB-PHASE-DONE <phase>                       a build phase finished, power-off follows
  TUNLAB-PHASE-FAILED <phase> step=<s> rc=<n>     a build phase failed (output block before it)
  TUNLAB-SESSION-FAILED step=<s> rc=<n>           the session's driver/agent build or kldload failed
  TUNLAB-OUTPUT-BEGIN <s> ... TUNLAB-OUTPUT-END <s>   the failing command's output
"""

from __future__ import annotations

import re
import sys
import time
from typing import Callable, TextIO

from tunlab.console import ConsoleCursor
from tunlab.errors import TunlabError
from tunlab.machine import Machine

MENU = re.compile(r"Booting in \d+ seconds?\.\.\.|Escape to loader prompt")
LOADER_PROMPT = re.compile(r"(?:^|\n)OK ")
KERNEL_BANNER = re.compile(r"The DragonFly Project|DragonFly v\d+\.\d+")
PHASE_END = re.compile(r"TUNLAB-PHASE-(DONE|FAILED) (\S+)(.*)")
SESSION_FAILED = re.compile(r"TUNLAB-SESSION-FAILED step=(\S+) rc=(-?\d+)")
# After a phase's DONE line, any of these means the guest did not power off cleanly.
UNCLEAN_END = re.compile(r"Automatic reboot in \d+ seconds|Rebooting\.\.\.|^panic: |Fatal trap \d+",
                         re.MULTILINE)


class PhaseFailed(TunlabError):
    """An image-build phase failed: its script said so, the guest crashed, hung or did not
    power off cleanly. `kind` is "script", "panic", "timeout", "exit"."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


# -- the loader --------------------------------------------------------------------------------
def wait_for_loader_menu(cur: ConsoleCursor, timeout: float) -> None:
    """The loader menu is up (its countdown or its `9` item was printed)."""
    cur.expect(MENU, timeout, "DragonFly loader menu (`Booting in N seconds...`)")


def escape_to_loader_prompt(cur: ConsoleCursor, timeout: float) -> None:
    """Answer the menu with `9` and wait for the `OK ` prompt."""
    cur.send("9")
    cur.expect(LOADER_PROMPT, timeout, "loader prompt `OK ` after menu item 9")


def run_loader_command(cur: ConsoleCursor, command: str, timeout: float) -> None:
    """Type one loader command and wait for the next `OK ` prompt."""
    cur.send(command + "\r")
    cur.expect(LOADER_PROMPT, timeout, f"loader prompt `OK ` after `{command}`")


def boot_and_wait_for_kernel(cur: ConsoleCursor, timeout: float) -> None:
    """Type `boot` and wait for the kernel's first lines on the serial console."""
    cur.send("boot\r")
    cur.expect(KERNEL_BANNER, timeout, "the DragonFly kernel banner after `boot`")


def boot_live_cd_on_serial_console(cur: ConsoleCursor, menu_timeout: float, step_timeout: float,
                                   kernel_timeout: float) -> None:
    """The live CD's loader does not select a serial kernel console: escape the menu, set
    console=comconsole, boot (as golang/build does, but waiting for each prompt)."""
    wait_for_loader_menu(cur, menu_timeout)
    escape_to_loader_prompt(cur, step_timeout)
    run_loader_command(cur, "set console=comconsole", step_timeout)
    boot_and_wait_for_kernel(cur, kernel_timeout)


# -- phases ------------------------------------------------------------------------------------
def output_block(text: str, step: str) -> str:
    """The lines a script printed between TUNLAB-OUTPUT-BEGIN/END <step> (the last such block)."""
    begin, end = f"TUNLAB-OUTPUT-BEGIN {step}", f"TUNLAB-OUTPUT-END {step}"
    start = text.rfind(begin)
    if start < 0:
        return ""
    body = text[start + len(begin):]
    stop = body.find(end)
    return (body if stop < 0 else body[:stop]).strip("\n")


def wait_for_phase_done(cur: ConsoleCursor, phase: str, timeout: float, silence: float,
                        tick: Callable[[], None] | None = None) -> None:
    """Wait for the phase script's DONE line; its FAILED line raises PhaseFailed with the
    failing command's output."""
    while True:
        m = cur.expect(PHASE_END, timeout, f"`TUNLAB-PHASE-DONE {phase}`", tick, silence)
        if m.group(2) != phase:
            continue  # another phase's marker (e.g. echoed config): not ours
        if m.group(1) == "DONE":
            return
        step = re.search(r"step=(\S+)", m.group(3))
        name = step.group(1) if step else "?"
        block = output_block(cur.text, name)
        raise PhaseFailed(f"phase {phase}: the script failed at step {name}{m.group(3).rstrip()}\n"
                          f"--- output of {name} ---\n{block or '(none captured)'}\n"
                          f"--- console log: {cur.watcher.log_path} ---", "script")


def exit_status(machine: Machine) -> int | None:
    """The VM process's exit status when the backend knows it."""
    proc = getattr(machine, "proc", None)
    if proc is not None and proc.poll() is not None:
        return int(proc.returncode)
    m = re.search(r"exit status (-?\d+)", machine.describe_exit())
    return int(m.group(1)) if m else None


def wait_for_clean_power_off(machine: Machine, cur: ConsoleCursor, timeout: float) -> None:
    """After DONE: the VM must end by itself, with status 0, and without a reboot or panic on
    the console (with -no-reboot a panic's reboot also ends QEMU: the console tells them apart)."""
    if not machine.wait_exit(timeout):
        raise PhaseFailed(f"the guest printed DONE but did not power off within {timeout:.0f} s\n"
                          f"{cur.where()}", "timeout")
    cur.watcher.wait_eof(2.0)
    cur.pull()
    cur.watcher.check()
    bad = UNCLEAN_END.search(cur.text, cur.pos)
    if bad:
        raise PhaseFailed(f"the guest did not power off cleanly after DONE: `{bad.group(0)}`\n{cur.where()}",
                          "exit")
    status = exit_status(machine)
    if status != 0:
        raise PhaseFailed(f"the VM ended with {machine.describe_exit()} after DONE (expected status 0)\n"
                          f"{cur.where()}", "exit")


# -- sessions ----------------------------------------------------------------------------------
def explain_session_failure(text: str) -> str | None:
    """When a session's in-guest build or kldload failed, what failed and its output (the
    compiler's or kldload's), from console text; None when the console shows no such failure."""
    hits = list(SESSION_FAILED.finditer(text))
    if not hits:
        return None
    step, rc = hits[-1].group(1), hits[-1].group(2)
    block = output_block(text[:hits[-1].start()], step)
    return f"in-guest {step} failed (exit status {rc}):\n{block or '(no output captured)'}"


# -- progress ----------------------------------------------------------------------------------
class ProgressLine:
    """`[phase] 12m03s  last console line`, redrawn in place on a terminal, else a new line every
    `every` seconds."""

    def __init__(self, out: TextIO = sys.stdout, every: float = 30.0) -> None:
        self.out = out
        self.tty = out.isatty()
        self.every = 1.0 if self.tty else every
        self._last = 0.0
        self._drawn = False

    def update(self, phase: str, elapsed: float, line: str, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.every:
            return
        self._last = now
        m, s = divmod(int(elapsed), 60)
        text = f"tunlab: [{phase}] {m:d}m{s:02d}s  {line[:90]}"
        if self.tty:
            self.out.write("\r\x1b[K" + text)
            self._drawn = True
        else:
            self.out.write(text + "\n")
        self.out.flush()

    def done(self, message: str) -> None:
        if self._drawn:
            self.out.write("\r\x1b[K")
            self._drawn = False
        self.out.write(message + "\n")
        self.out.flush()
