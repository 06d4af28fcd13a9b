"""The `tunlab` command line (python3 -m tunlab, with PYTHONPATH=harness; the Makefile does
this for you)."""

from __future__ import annotations

import argparse
import time
import sys
from pathlib import Path

from tunlab import libvirt_daemon
from tunlab import run as run_mod
from tunlab import targets
from tunlab.errors import SettingError, TunlabError, UsageError
from tunlab.paths import BUILD
from tunlab.runconfig import RunConfig, add_arguments, check_settings


def _config(args: argparse.Namespace) -> RunConfig:
    return RunConfig.from_args(args, progress=True)


def cmd_image(args: argparse.Namespace) -> int:
    cfg = _config(args)
    return targets.get(cfg.target).build_image(cfg, args)


def cmd_run(args: argparse.Namespace) -> int:
    every = args.target is None
    cfg = _config(argparse.Namespace(**{**vars(args), "target": args.target or "kpi"}))
    return run_mod.main(cfg, every_target=every)


def cmd_console(args: argparse.Namespace) -> int:
    from tunlab import console_cmd
    return console_cmd.main(args, _config(args))


def cmd_timing(args: argparse.Namespace) -> int:
    """Boot- and restore-to-agent-ready, the control round trip, suite wall times (timing.py)."""
    from tunlab import timing
    return timing.main(args, _config(args))


def cmd_bench(args: argparse.Namespace) -> int:
    from tunlab import bench
    return bench.main(args)


def cmd_conformance(args: argparse.Namespace) -> int:
    """The conformance suite on several drivers side by side, or a driver against a
    baseline."""
    from tunlab import conformance as conf
    drivers = args.driver or ["ours"]
    cfg = RunConfig.from_args(argparse.Namespace(**{**vars(args), "driver": drivers[0]}))
    runs = ([args.baseline] if args.baseline else []) + drivers  # the baseline first
    for d in runs:
        targets.get(cfg.target).check(cfg.with_(driver=d))
        targets.driver_choice(d)  # a bad path is an error before anything runs
    out = args.out or BUILD / "conformance" / time.strftime("%Y%m%d-%H%M%S")
    t0 = time.monotonic()
    columns, status = dict(conf.run_suite(cfg, d, out) for d in runs), 0
    print(conf.render(columns))
    wall = time.monotonic() - t0
    if args.baseline:
        base = columns.pop(next(iter(columns)))
        for name, rows in columns.items():
            diff = conf.compare(base, rows)
            print(f"\n{name} against the baseline {args.baseline}:")
            for key in ("fixed", "broke"):
                print(f"  {key}: {', '.join(diff[key]) or '-'}")
            print(f"  unchanged: {len(diff['unchanged'])} rows")
            status = 1 if diff["broke"] else status
    else:
        for name, rows in columns.items():
            bad = conf.unexpected(rows)
            print(f"{name}: {len(bad)} unexpected result(s){': ' + ', '.join(bad) if bad else ''}")
            status = 1 if bad else status
    print(f"tunlab conformance: {len(columns) + bool(args.baseline)} run(s) in {wall:.0f} s; "
          f"logs and JSON in {out}")
    return status


def cmd_conformance_summary(args: argparse.Namespace) -> int:
    from tunlab.conformance import merge
    print(merge(args.files))
    return 0


def _add_repro_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """repro, fuzz and replay (issue 15: repro.py, fuzz.py, replay.py)."""
    from tunlab import fuzz, replay, repro
    p = sub.add_parser("repro", help="replay a repro file (a failing test's or a fuzz "
                       "finding's) on any target; say whether the failure reproduces; --minimize")
    add_arguments(p, skip=("--target", "--driver"))
    p.add_argument("--target", default=None, help="replay on this target (default: the file's)")
    p.add_argument("--driver", default=None, help="replay with this driver (default: the file's)")
    repro.add_arguments(p)
    p.set_defaults(fn=lambda a: repro.main(
        a, RunConfig.from_args(argparse.Namespace(**{**vars(a), "target": a.target or "kpi",
                                                     "driver": a.driver or "ours"})),
        a.target is not None, a.driver is not None))
    p = sub.add_parser("fuzz", help="generate programs over the agent's verbs against a target "
                       "and driver; crashes, sanitizer reports, hangs, leaks and agent deaths "
                       "are findings, saved with minimized repro files")
    add_arguments(p)
    fuzz.add_arguments(p)
    p.set_defaults(fn=lambda a: fuzz.main(a, _config(a)))
    p = sub.add_parser("replay", help="replay a QEMU recording (--record) and compare the "
                       "console byte for byte; --gdb waits for a debugger")
    replay.add_arguments(p)
    p.set_defaults(fn=replay.main)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tunlab", description="Test and benchmark tun(4) drivers in QEMU guests.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("image", help="build (or find cached) what a target's guests boot")
    p.add_argument("--release", help="dragonfly: release (default: releases.json's, env RELEASE)")
    p.add_argument("--iso", help="dragonfly: a local ISO or .iso.bz2 (env ISO)")
    p.add_argument("--trust-first-use", action="store_true",
                   help="dragonfly: accept an ISO with no pinned hash, recording its hashes "
                        "(env TRUST_FIRST_USE=1)")
    add_arguments(p)
    p.set_defaults(fn=cmd_image)
    p = sub.add_parser("run", help="the main job: on every target that can run here (or the "
                       "one --target names), boot its guest with the driver under test, run a "
                       "short session (and on kpi the whole conformance suite), print a report")
    add_arguments(p, skip=("--target",))
    p.add_argument("--target", default=None, help="only this target (default: every target; "
                   "those that cannot run here say why)")
    p.set_defaults(fn=cmd_run)
    p = sub.add_parser("console", help="boot a guest (any target); show its console and give an "
                       "agent prompt (help per verb, Tab completion, history; :console types "
                       "on a VM guest's console line, :monitor asks QEMU); requests from a "
                       "file or a pipe run in batch mode (exit status 1 when one failed)")
    add_arguments(p)
    from tunlab import console_cmd
    console_cmd.add_arguments(p)
    p.set_defaults(fn=cmd_console)
    p = sub.add_parser("timing", help="measure boot-to-agent-ready, restore-to-agent-ready "
                       "from a snapshot (interleaved; --fresh boot: boots only), the control "
                       "round trip, and with --suite the suite's wall time, fresh guests vs reuse")
    add_arguments(p)
    from tunlab import timing
    timing.add_arguments(p)
    p.set_defaults(fn=cmd_timing)
    p = sub.add_parser("bench", help="the throughput matrix (write/read/rtt x sizes x modes x bpf), "
                       "files, plots, --vs and --compare")
    add_arguments(p)
    from tunlab import bench as bench_mod
    bench_mod.add_arguments(p)
    p.set_defaults(fn=cmd_bench)
    p = sub.add_parser("conformance", help="the TUN-SPEC conformance suite on one or more drivers "
                       "side by side (a rows x drivers table), or against --baseline")
    add_arguments(p, skip=("--driver",))
    p.add_argument("--driver", action="append",
                   help="a driver under test (repeat for several; default: ours): ours, stock, "
                        "a path, or stock-<year>=PATH")
    p.add_argument("--baseline", metavar="DRIVER",
                   help="also run the suite on DRIVER and print, row by row, what the driver "
                        "under test fixed and broke; exit 1 when it broke a row")
    p.add_argument("--out", type=Path, help="where the logs and JSON go "
                   "(default: build/conformance/<date-time>)")
    p.set_defaults(fn=cmd_conformance)
    p = sub.add_parser("conformance-summary",
                       help="merge the row summaries of conformance runs into one rows x targets table")
    p.add_argument("files", nargs="+", type=Path, help="JSON files (default place: build/conformance/)")
    p.set_defaults(fn=cmd_conformance_summary)
    p = sub.add_parser("report", help="one self-contained HTML page (build/report/index.html): "
                       "the conformance rows x targets x drivers with each cell's logs and "
                       "capture, the bench plot, the run's provenance")
    from tunlab import report as report_mod
    report_mod.add_arguments(p)
    p.set_defaults(fn=report_mod.main)
    _add_repro_commands(sub)
    args = parser.parse_args(argv)
    backend = "libvirt" if getattr(args, "compare_backends", False) else getattr(args, "backend", "")
    try:
        check_settings()
        with libvirt_daemon.for_backend(backend):  # a private libvirt daemon when none runs
            return int(args.fn(args))
    except (UsageError, SettingError) as e:
        print(f"tunlab {args.cmd}: {e}", file=sys.stderr)
        return 2
    except TunlabError as e:
        print(f"tunlab {args.cmd}: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"tunlab {args.cmd}: interrupted", file=sys.stderr)
        return 130
