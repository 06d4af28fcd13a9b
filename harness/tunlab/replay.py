"""Exact replay of a VM guest: QEMU's record/replay (`-icount shift=7,rr=record|replay`).

`--record` (pytest, `tunlab repro --record`) boots each VM guest in record mode: QEMU writes
every non-deterministic input (the serial ports' input, the clock) to `replay.bin` in the
guest's run directory, beside `record.json` (what the guest booted: kernel, initrd, command
line, shape), `console.log` and `control.raw` (every byte the agent sent, qemu.CONTROL_COPY).
Under pytest each test then gets a guest of its own, and a failing test keeps its recording
in `<test logs>/guest/`; a passing test's is deleted.

`tunlab replay DIR` boots the same guest in replay mode from DIR (no agent is talked to:
the control channel's input comes from the recording), reads the console until QEMU ends,
and compares it, and what the agent sent, byte for byte with DIR/console.log and
DIR/control.raw. `--gdb` starts QEMU's gdb stub, waiting (`-S`) on 127.0.0.1:PORT, and
prints the gdb command that attaches.

Record mode runs the guest with an instruction counter instead of real time: slower, and
its timing is not real. It is never used for throughput figures: `tunlab bench` has no
--record (it is refused as an unknown argument), and a pytest run with --record ends with a
line saying its figures are not throughput figures (NOT_THROUGHPUT). TCG only (icount has no
KVM mode); the direct QEMU backend (a recording is ended by QMP `quit`, see end_recording).
Input to a recorded guest is paced (ACK_WINDOW), its vCPU has no RDRAND/RDSEED
(HOST_RANDOM_OFF), and its serial ports are FIFOs, not sockets (qemu.on_fifos; fifo_port.py
says why): each of the three was a way a recording's replay diverged.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import select
import shutil
import time
from pathlib import Path
from typing import Any, Callable

from tunlab.errors import SetupError, UsageError
from tunlab.machine import Drive, GuestSpec
from tunlab.qemu import CONTROL_COPY

NOT_THROUGHPUT = ("tunlab: --record: the guests ran in QEMU's record mode (instruction counting, "
                  "paced input): their timings, and any throughput figure of this run, are not "
                  "throughput figures")
RECORD_FILE = "replay.bin"
META_FILE = "record.json"
IMAGE_DIR = "image"  # a kept recording's kernel and initrd (hard links where possible)
QUIT_TIMEOUT = 10.0  # seconds a recording QEMU gets to write its log and exit


def check_recordable(spec: GuestSpec, accel: str, backend: str) -> None:
    """Raise UsageError, saying why, when `spec`'s guest cannot be recorded."""
    if not spec.kernel and not spec.drives:
        raise UsageError(f"--record: the {spec.target} target runs no VM (record mode is QEMU's)")
    if backend != "qemu":
        raise UsageError(f"--record needs the direct QEMU backend (--backend qemu), not {backend}: "
                         f"a recording's serial ports are FIFOs and it ends with QMP quit")
    if accel != "tcg":
        raise UsageError("--record needs TCG (--accel tcg): QEMU's record mode counts instructions")
    if spec.drives:
        raise UsageError("--record: guests with drives are not supported yet (they need "
                         "QEMU's blkreplay driver)")


def record_spec(spec: GuestSpec, run_dir: Path, accel: str, backend: str = "qemu") -> GuestSpec:
    """`spec` in QEMU's record mode, writing run_dir/replay.bin, and run_dir/record.json
    describing it (for `tunlab replay`)."""
    check_recordable(spec, accel, backend)
    run_dir.mkdir(parents=True, exist_ok=True)
    recorded = dataclasses.replace(spec, icount=_icount("record", run_dir / RECORD_FILE),
                                   append=f"{spec.append} tunlab.ack={ACK_WINDOW}".strip(),
                                   cpu_features=spec.cpu_features + HOST_RANDOM_OFF)
    meta = {"spec": _spec_json(recorded), "accel": accel, "recorded": time.strftime("%Y-%m-%d %H:%M:%S"),
            "started": time.time()}
    (run_dir / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return recorded


# A fixed instruction rate (2^7 ns an instruction): the replay runs the same instructions.
ICOUNT_SHIFT = "7"
# Input paced to the 16550's 16-byte receive FIFO. In record mode QEMU (7.1 on) queues what
# a chardev reads and hands it to the UART only when the vCPU thread next runs
# (icount_account_warp_timer -> replay_async_events), all at once, and the UART's
# can_receive does not count the queue: more than 16 bytes in flight to an idle guest
# overrun the FIFO (LSR OE) and the rest of the line is lost, so a request over 16 bytes
# sent after the guest went idle was never answered. tunlab.ack=16 makes the agent
# acknowledge every 16 bytes it reads (guest-image/linux/init: --ack), and the client sends
# no more than that unacknowledged (client.py: ack_window, from hello's ack=).
ACK_WINDOW = 16
# TCG's RDRAND/RDSEED take host random numbers that the recording does not hold: a guest
# that used them (Linux does, from boot) took other paths in the replay, which stopped with
# "Missing character write event in the replay log". Without them the guest's entropy
# comes from its own (counted, so replayed) execution.
HOST_RANDOM_OFF = ("rdrand=off", "rdseed=off")


def _icount(mode: str, path: Path) -> str:
    return f"shift={ICOUNT_SHIFT},rr={mode},rrfile={path}"


def _spec_json(spec: GuestSpec) -> dict[str, Any]:
    d = dataclasses.asdict(spec)
    for k in ("kernel", "initrd"):
        d[k] = str(d[k]) if d[k] else None
    d["drives"] = [{**x, "path": str(x["path"])} for x in d["drives"]]
    return d


def _spec_from_json(d: dict[str, Any]) -> GuestSpec:
    fields = {f.name for f in dataclasses.fields(GuestSpec)}
    d = {k: v for k, v in d.items() if k in fields}
    for k in ("kernel", "initrd"):
        d[k] = Path(d[k]) if d.get(k) else None
    d["drives"] = tuple(Drive(**{**x, "path": Path(x["path"])}) for x in d.get("drives", ()))
    for k in ("program", "qemu_opts", "cpu_features"):
        if k in d and d[k] is not None:
            d[k] = tuple(d[k])
    return GuestSpec(**d)


def end_recording(qmp_path: Path, wait_exit: Callable[[float], bool]) -> None:
    """Ask a recording QEMU to quit before it is killed: QEMU writes the recording's header
    and its last events only when it exits itself (a SIGKILLed recording cannot be
    replayed). Bounded; whatever fails, the caller kills it next."""
    from tunlab import qmp
    try:
        with qmp.QMPClient(qmp_path, QUIT_TIMEOUT) as monitor:
            monitor.execute("quit")
    except (qmp.QMPError, OSError):
        pass
    wait_exit(QUIT_TIMEOUT)


def finish_recording(run_dir: Path) -> None:
    """Note how long the recorded guest ran (for the replay's time limit and report)."""
    meta_path = run_dir / META_FILE
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        return
    meta["record_seconds"] = round(time.time() - meta.get("started", time.time()), 2)
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")


def after_test(run_dir: Path, keep: bool) -> None:
    """A recorded test has ended (its guest stopped): note the recording's length, and
    delete the recording of a test that passed (they are large)."""
    if not (run_dir / META_FILE).is_file():
        return
    finish_recording(run_dir)
    if not keep:
        (run_dir / RECORD_FILE).unlink(missing_ok=True)
        (run_dir / CONTROL_COPY).unlink(missing_ok=True)
    elif (run_dir / RECORD_FILE).is_file():
        keep_image(run_dir)


def keep_image(run_dir: Path) -> None:
    """Keep the kernel and initrd the recorded guest booted beside its recording (run_dir/
    image/: hard links, copies across file systems), so that rebuilding or pruning the image
    cache leaves the recording replayable; record.json names them relative to run_dir."""
    meta_path = run_dir / META_FILE
    meta = json.loads(meta_path.read_text())
    spec = meta["spec"]
    (run_dir / IMAGE_DIR).mkdir(exist_ok=True)
    for key in ("kernel", "initrd"):
        src = Path(spec[key]) if spec.get(key) else None
        if src is None or not src.is_absolute() or not src.is_file():
            continue
        dst = run_dir / IMAGE_DIR / src.name
        dst.unlink(missing_ok=True)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
        spec[key] = f"{IMAGE_DIR}/{src.name}"
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")


def replay(directory: Path, gdb_port: int | None = None, timeout: float | None = None,
           out: Path | None = None) -> dict[str, Any]:
    """Replay the recording in `directory`; the console goes to `out` (default
    directory/replay-console.log). Returns the figures and whether the console matched."""
    from tunlab.qemu import QemuMachine, gdb_command
    meta_path = directory / META_FILE
    if not meta_path.is_file() or not (directory / RECORD_FILE).is_file():
        raise UsageError(f"{directory}: no recording here (want {META_FILE} and {RECORD_FILE}; "
                         f"record with --record)")
    try:
        meta = json.loads(meta_path.read_text())
        spec = _spec_from_json(meta["spec"])
    except (ValueError, KeyError, TypeError) as e:
        raise UsageError(f"{meta_path}: not a recording's description: {e}") from None
    # a kept recording names its own copy of the image, relative to its directory
    spec = dataclasses.replace(spec, **{k: directory / p for k in ("kernel", "initrd")
                                        if (p := getattr(spec, k)) is not None and not p.is_absolute()})
    for f in (spec.kernel, spec.initrd):
        if f is not None and not f.is_file():
            raise SetupError(f"the recorded guest's {f} is gone: the recording needs the same image")
    # the recording's own -icount, in replay mode (the same shift: the same instructions)
    if "rr=record" not in spec.icount:
        raise UsageError(f"{meta_path}: the recorded guest has no -icount ...rr=record")
    spec = dataclasses.replace(spec, icount=spec.icount.replace("rr=record", "rr=replay"))
    if gdb_port:  # the stub waits (-S) for gdb
        spec = dataclasses.replace(spec, gdb_port=gdb_port, qemu_opts=spec.qemu_opts + ("-S",))
    run_dir = directory / "replay-run"
    console_out = out or directory / "replay-console.log"
    recorded = (directory / "console.log").read_bytes() if (directory / "console.log").exists() else b""
    limit = timeout or max(120.0, 30 * float(meta.get("record_seconds") or 10) + 60)
    if gdb_port and not timeout:  # a person at gdb: an hour unless told otherwise
        limit = max(limit, 3600.0)
    machine = QemuMachine(spec, run_dir, "tcg")
    t0 = time.monotonic()
    got = bytearray()
    try:
        machine.start(30.0)
        if gdb_port:
            print(f"tunlab replay: QEMU waits for gdb; attach with:\n  {gdb_command(spec)}\n"
                  f"(then `continue`; the replay is deterministic, breakpoints and reverse "
                  f"execution apply)", flush=True)
        socks = {machine.console.fileno(): machine.console, machine.control.fileno(): machine.control}
        deadline = time.monotonic() + limit
        while socks and time.monotonic() < deadline:
            r, _, _ = select.select(list(socks), [], [], 0.2)
            for fd in r:
                try:
                    chunk = socks[fd].recv(65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    del socks[fd]
                elif socks[fd] is machine.console:
                    got += chunk
            if not r and not machine.alive():
                break
        timed_out = bool(socks) and machine.alive()
    finally:
        machine.kill()
    seconds = time.monotonic() - t0
    console_out.write_bytes(bytes(got))
    console = _compare(recorded, bytes(got), "")
    control = _compare_control(directory / CONTROL_COPY, run_dir / CONTROL_COPY)
    return {"directory": str(directory),
            "identical": console["identical"] and control.get("control_identical") is not False,
            **console, **control,
            "record_seconds": meta.get("record_seconds"), "replay_seconds": round(seconds, 2),
            "timed_out": timed_out, "console": str(console_out)}


def _compare(recorded: bytes, replayed: bytes, prefix: str) -> dict[str, Any]:
    same = recorded == replayed
    first = next((i for i, (a, b) in enumerate(zip(replayed, recorded)) if a != b),
                 min(len(replayed), len(recorded)))
    return {f"{prefix}identical": same, f"{prefix}recorded_bytes": len(recorded),
            f"{prefix}replayed_bytes": len(replayed),
            f"{prefix}first_difference_at": None if same else first}


def _compare_control(recorded: Path, replayed: Path) -> dict[str, Any]:
    """The agent's bytes in the recording and in the replay (qemu.CONTROL_COPY): the console
    alone would miss a replay whose guest sent other bytes at the same moments. Empty for a
    recording made without the copy; copies cut at fifo_port.COPY_MAX compare as far as both
    go (both stop at the same byte)."""
    if not recorded.is_file():
        return {}
    replayed_bytes = replayed.read_bytes() if replayed.is_file() else b""
    return _compare(recorded.read_bytes(), replayed_bytes, "control_")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("directory", type=Path, help="a recorded guest's directory (record.json, "
                   "replay.bin, console.log): a failing test's <logs>/guest")
    p.add_argument("--gdb", type=int, nargs="?", const=1234, default=None, metavar="PORT",
                   help="start QEMU's gdb stub on 127.0.0.1:PORT (default 1234), waiting, and "
                        "print the attach command")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds the replay may take (default 30x the recording + 60)")


def _verdict(res: dict[str, Any], prefix: str, what: str) -> str:
    def get(key: str) -> Any:
        return res[prefix + key]
    same = "IDENTICAL" if get("identical") else f"DIFFERENT at byte {get('first_difference_at')}"
    return f"{what} {same} ({get('replayed_bytes')} of {get('recorded_bytes')} recorded bytes)"


def main(args: argparse.Namespace) -> int:
    res = replay(args.directory, args.gdb, args.timeout)
    print(json.dumps(res, indent=2))
    parts = [_verdict(res, "", "console")]
    if "control_identical" in res:
        parts.append(_verdict(res, "control_", "control channel"))
    late = " (the replay did not end within its time limit: --timeout)" if res["timed_out"] else ""
    print(f"tunlab replay: {'; '.join(parts)}{late}; replay {res['replay_seconds']} s vs record "
          f"{res['record_seconds']} s")
    return 0 if res["identical"] else 1
