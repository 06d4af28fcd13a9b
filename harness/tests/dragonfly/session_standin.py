"""Running the image's guest scripts on the host: the per-session script
(guest-image/dragonfly/tunlab-session.sh) and phase steps (common.sh), with stand-ins for
DragonFly's commands: executables in a stubs directory put first on PATH, which log their calls
to $STUBLOG, and shell functions for the power-off commands."""

from __future__ import annotations

import subprocess
import textwrap
import time
from pathlib import Path

from tunlab.image_dragonfly import RECIPE


def write_stubs(directory: Path, stubs: dict[str, str]) -> Path:
    """Writes each stub (name -> script text) as an executable in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in stubs.items():
        (directory / name).write_text(text)
        (directory / name).chmod(0o755)
    return directory


def run_session_script(env: dict[str, str], timeout: float = 60) -> tuple[subprocess.CompletedProcess[str], str]:
    """Runs tunlab-session.sh with `env` (which names STUBLOG); returns its result and the stub
    log, after waiting briefly for the agent's start in the background (the nohup stub)."""
    res = subprocess.run(["sh", str(RECIPE / "tunlab-session.sh")], capture_output=True, text=True,
                         env=env, timeout=timeout)
    stublog = Path(env["STUBLOG"])
    deadline = time.monotonic() + 5
    while res.returncode == 0 and "nohup" not in (stublog.read_text() if stublog.exists() else ""):
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    return res, stublog.read_text() if stublog.exists() else ""


def run_phase_steps(tmp: Path, body: str, env: dict[str, str] | None = None,
                    stubs: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Runs `body` after sourcing common.sh as phase `test` (logs in `tmp`), with `stubs` first
    on PATH and shutdown/halt/sleep replaced by functions (nothing reaches the host's)."""
    script = tmp / "t.sh"
    path = f"PATH={stubs}:$PATH\n" if stubs else ""
    script.write_text(textwrap.dedent(f"""\
        PHASE=test
        TUNLAB_LOGDIR={tmp}
        HEARTBEAT=5
        . {RECIPE / 'common.sh'}
        """) + path + textwrap.dedent("""\
        shutdown() { echo "FAKE-SHUTDOWN $*"; }
        halt() { echo "FAKE-HALT $*"; }
        sleep() { :; }
        [ "$(command -v shutdown)" = shutdown ] || exit 97
        """) + body)
    return subprocess.run(["sh", str(script)], capture_output=True, text=True, env=env, timeout=timeout)
