"""`tunlab report`: one self-contained HTML page of a run (build/report/index.html).

- The TUN-SPEC rows x targets x drivers table, from the conformance JSON files
  (build/conformance/*.json: {"column": "<target>/<driver>", "rows": {id: cell}, "tests":
  {id: [{"test", "outcome", "logs"}]}}), each row with its title (spec_rows.py) and each
  cell linking its tests' logs (agent.log, console.log) and capture (packets.pcap).
- The bench plot and table of the latest `tunlab bench` (build/bench/latest/), the plot
  embedded as a data: URI.
- The provenance: git commit, per column the driver and agent the guest's hello named and
  its kernel (os=), the Linux guest's pinned kernel, QEMU's version, the host and its load.

The page is rendered with Jinja2 (python3-jinja2, templates/report.html.j2) when it is
installed, else with string.Template (templates/report.html.tmpl, the same page with the
tables built here). Links are relative to the page, so the directory tree can be moved or
archived whole; the only things outside the page are the logs it links.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import os
import platform
import re
import string
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunlab.conformance import load_file
from tunlab.errors import UsageError
from tunlab.paths import BUILD, REPO
from tunlab.spec_rows import ROWS

TEMPLATES = Path(__file__).resolve().parent / "templates"
LOG_FILES = (("agent", "agent.log"), ("console", "console.log"), ("pcap", "packets.pcap"))
KINDS = ("pass", "fail", "unexpected pass", "expected failure", "n/a", "skip", "no test")


@dataclass
class TestLink:
    test: str
    outcome: str
    files: list[tuple[str, str]]  # (label, href relative to the page)


@dataclass
class CellView:
    text: str                      # the JSON's cell without its reason
    kind: str                      # one of KINDS: the css class
    reason: int = 0                # footnote number of a skip/n/a reason (0: none)
    note: str = ""                 # e.g. "1 of 2 tests skipped"
    tests: list[TestLink] = field(default_factory=list)


@dataclass
class ColumnView:
    name: str
    target: str
    driver: str
    source: str                    # the JSON file, relative to the page
    complete: bool
    cells: dict[str, CellView]
    hello: dict[str, str]          # driver, agent, os, backend from the guest's hello
    counts: dict[str, int]


def _rel(path: Path, page_dir: Path) -> str:
    return os.path.relpath(path.absolute(), page_dir.absolute())


def _kind(text: str) -> str:
    head = text.split(":")[0]
    return head if head in KINDS else "skip"


def _hello(logs: list[Path]) -> dict[str, str]:
    """The fields of the guest's hello reply, from the first test log that has it (a kpi
    test's own guest/agent.log; VM targets keep it in the whole-guest log, not linked)."""
    for d in logs:
        for f in (d / "guest" / "agent.log", d / "agent.log"):
            try:
                with open(f, errors="replace") as fh:
                    for line in fh:
                        if " ok proto=" in line and "driver=" in line:
                            return dict(re.findall(r"(\w+)=(\S+)", line.split(" ok ", 1)[1]))
            except OSError:
                continue
    return {}


def load_columns(files: list[Path], page_dir: Path, reasons: dict[str, int]) -> list[ColumnView]:
    cols = []
    for f in files:
        data = load_file(f)
        name, rows = data["column"], data["rows"]
        tests = data.get("tests") or {}
        target, _, driver = name.partition("/")
        cells: dict[str, CellView] = {}
        log_dirs: list[Path] = []
        for row in ROWS:
            text = rows.get(row.id, "no test")
            kind = _kind(text)
            head, sep, why = text.partition(": ")
            view = CellView(head if sep and kind in ("skip", "n/a") else text, kind)
            if sep and kind in ("skip", "n/a"):
                view.reason = reasons.setdefault(why, len(reasons) + 1)
            row_tests = tests.get(row.id, [])
            skipped = [t for t in row_tests if _kind(t.get("outcome", "")) in ("skip", "n/a")]
            if skipped and kind not in ("skip", "n/a"):
                view.note = f"{len(skipped)} of {len(row_tests)} tests skipped"
            for t in row_tests:
                links = []
                if t.get("logs"):
                    d = Path(t["logs"])
                    log_dirs.append(d)
                    links = [(label, _rel(d / fn, page_dir)) for label, fn in LOG_FILES
                             if (d / fn).is_file()]
                if links:  # a test that was n/a before it started has none
                    view.tests.append(TestLink(t.get("test", ""), t.get("outcome", ""), links))
            cells[row.id] = view
        counts = {k: sum(c.kind == k for c in cells.values()) for k in KINDS}
        cols.append(ColumnView(name, target, driver or "?", _rel(f, page_dir),
                               bool(data.get("complete")), cells, _hello(log_dirs),
                               {k: v for k, v in counts.items() if v}))
    # targets together, then drivers in file order
    order = {t: i for i, t in enumerate(dict.fromkeys(c.target for c in cols))}
    return sorted(cols, key=lambda c: order[c.target])


def target_groups(cols: list[ColumnView]) -> list[tuple[str, int]]:
    groups: list[tuple[str, int]] = []
    for c in cols:
        if groups and groups[-1][0] == c.target:
            groups[-1] = (c.target, groups[-1][1] + 1)
        else:
            groups.append((c.target, 1))
    return groups


# -- bench and provenance ----------------------------------------------------------------
def load_bench(bench_dir: Path | None) -> dict[str, Any]:
    """The latest bench run: its plot (a data: URI), its table, its provenance; {} if none."""
    if bench_dir is None or not (bench_dir / "results.json").is_file():
        return {}
    try:
        results = json.loads((bench_dir / "results.json").read_text())
    except (OSError, ValueError) as e:
        raise UsageError(f"{bench_dir / 'results.json'}: not a bench result ({e})") from None
    png = bench_dir / "bench.png"
    table = bench_dir / "table.txt"
    m = results.get("machine", {})
    return {
        "dir": str(bench_dir),
        "plot": ("data:image/png;base64," + base64.b64encode(png.read_bytes()).decode()) if png.is_file() else "",
        "table": table.read_text(errors="replace") if table.is_file() else "",
        "created": results.get("created", ""),
        "facts": [("targets", ", ".join(f"{t.get('label', '?')} ({t.get('kernel', '?')}, agent {t.get('agent', '?')})"
                                        for t in results.get("targets", []))),
                  ("accelerator", results.get("accel", "?")), ("QEMU", results.get("qemu", "") or "-"),
                  ("host", f"{m.get('hostname', '?')}, {m.get('cores', '?')} cores"),
                  ("load", f"{m.get('load_start', '?')} at the start, {m.get('load_end', '?')} at the end"),
                  ("git commit", (results.get("git") or {}).get("commit", "?"))],
    }


def guest_kernel_pin() -> str:
    try:
        pins = json.loads((REPO / "guest-image" / "linux" / "pins.json").read_text())["pins"]
        return f"{pins['kernel']['package']} {pins['kernel']['version']}"
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def provenance(cols: list[ColumnView]) -> list[tuple[str, str]]:
    from tunlab.bench import git_info
    from tunlab.qemu import qemu_version
    git = git_info()
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "?"
    facts = [("git commit", (git["commit"] or "?") + (" (with uncommitted changes)" if git["dirty"] else ""))]
    for c in cols:
        h = c.hello
        facts.append((f"{c.name}", f"driver {h.get('driver', '(not in the test logs)')}, agent "
                                   f"{h.get('agent', '?')} ({h.get('backend', '?')}), kernel {h.get('os', '?')}"
                                   if h else "the guest's hello is not in the test logs"))
    facts += [("Linux guest kernel (pinned)", guest_kernel_pin() or "-"),
              ("QEMU", qemu_version() or "not installed"),
              ("host", f"{platform.node()}, {platform.system()} {platform.release()}, "
                       f"{os.cpu_count()} cores"),
              ("load", f"{load} (1, 5, 15 min, when this page was made)")]
    return facts


# -- rendering -----------------------------------------------------------------------------
def context(conformance: list[Path], bench_dir: Path | None, page: Path) -> dict[str, Any]:
    reasons: dict[str, int] = {}
    cols = load_columns(conformance, page.parent, reasons)
    return {
        "generated": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "rows": ROWS, "columns": cols, "groups": target_groups(cols),
        "reasons": sorted(((n, why) for why, n in reasons.items())),
        "bench": load_bench(bench_dir), "provenance": provenance(cols),
        "kinds": KINDS,
    }


def render(ctx: dict[str, Any], engine: str = "auto") -> str:
    """The page; `engine` "jinja2", "template" (string.Template) or "auto" (Jinja2 if
    installed)."""
    if engine == "auto":
        try:
            import jinja2  # noqa: F401
            engine = "jinja2"
        except ImportError:
            engine = "template"
    if engine == "jinja2":
        import jinja2
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                                 autoescape=True, undefined=jinja2.StrictUndefined,
                                 trim_blocks=True, lstrip_blocks=True)
        return env.get_template("report.html.j2").render(style=_style(), **ctx)
    return _render_template(ctx)


def _style() -> str:
    return (TEMPLATES / "report.css").read_text()


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _cell_html(c: CellView) -> str:
    out = [f'<td class="k-{_e(c.kind.replace(" ", "-").replace("/", ""))}"><span class="v">{_e(c.text)}</span>']
    if c.reason:
        out.append(f' <a class="fn" href="#reason-{c.reason}">[{c.reason}]</a>')
    if c.note:
        out.append(f'<div class="note">{_e(c.note)}</div>')
    for i, t in enumerate(c.tests, 1):
        links = " ".join(f'<a href="{_e(href)}">{_e(label)}</a>' for label, href in t.files)
        num = f"{i}. " if len(c.tests) > 1 else ""
        out.append(f'<div class="t" title="{_e(t.test)}: {_e(t.outcome)}">{num}{links}</div>')
    return "".join(out) + "</td>"


def _render_template(ctx: dict[str, Any]) -> str:
    """The same page without Jinja2: the tables built here, the page from report.html.tmpl."""
    cols: list[ColumnView] = ctx["columns"]
    head1 = "".join(f'<th colspan="{n}" class="target">{_e(t)}</th>' for t, n in ctx["groups"])
    head2 = "".join(f'<th class="driver"><a href="{_e(c.source)}">{_e(c.driver)}</a>'
                    f'{"" if c.complete else " (partial)"}</th>' for c in cols)
    body = []
    for row in ctx["rows"]:
        cells = "".join(_cell_html(c.cells[row.id]) for c in cols)
        body.append(f'<tr><th class="row">{_e(row.id)}</th><td class="title">{_e(row.title)}</td>{cells}</tr>')
    counts = "".join(f'<td>{_e(", ".join(f"{n} {k}" for k, n in c.counts.items()))}</td>' for c in cols)
    reasons = "".join(f'<li id="reason-{n}">{_e(why)}</li>' for n, why in ctx["reasons"])
    conformance = (f'<table class="rows"><thead><tr><th rowspan="2">row</th><th rowspan="2">title</th>{head1}</tr>'
                   f'<tr>{head2}</tr></thead><tbody>{"".join(body)}</tbody>'
                   f'<tfoot><tr><th></th><th>totals</th>{counts}</tr></tfoot></table>'
                   f'<ol class="reasons">{reasons}</ol>') if cols else \
        '<p class="none">No conformance results: run the suite (make check, or tunlab conformance).</p>'
    b = ctx["bench"]
    if b:
        facts = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in b["facts"])
        plot = f'<img class="plot" alt="bench plot" src="{b["plot"]}">' if b["plot"] else ""
        table = f"<details><summary>the table</summary><pre>{_e(b['table'])}</pre></details>" if b["table"] else ""
        bench = (f'<p>{_e(b["dir"])}, {_e(b["created"])}</p>{plot}<table class="facts">{facts}</table>{table}')
    else:
        bench = '<p class="none">No bench results (make bench writes build/bench/latest/).</p>'
    prov = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in ctx["provenance"])
    page = string.Template((TEMPLATES / "report.html.tmpl").read_text())
    return page.substitute(style=_style(), generated=_e(ctx["generated"]), conformance=conformance,
                           bench=bench, provenance=prov)


def write(out: Path, conformance: list[Path], bench_dir: Path | None, engine: str = "auto") -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    text = render(context(conformance, bench_dir, out), engine)
    tmp = out.with_name(f".{out.name}.{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, out)
    return out


# -- the command ------------------------------------------------------------------------------
def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--conformance", type=Path, nargs="*", metavar="JSON",
                   help="conformance row summaries (default: build/conformance/*.json)")
    p.add_argument("--bench", type=Path, metavar="DIR",
                   help="a bench output directory (default: build/bench/latest)")
    p.add_argument("--out", type=Path, default=None, help="the page (default: build/report/index.html)")
    p.add_argument("--engine", choices=("auto", "jinja2", "template"), default="auto",
                   help="Jinja2 (python3-jinja2) or string.Template (default: Jinja2 if installed)")
    p.add_argument("--screenshot", action="store_true",
                   help="also load the page in headless Chromium: a screenshot beside it "
                        "(report.png) and its console errors (exit 1 if any)")


def main(args: argparse.Namespace) -> int:
    files = args.conformance if args.conformance is not None else sorted((BUILD / "conformance").glob("*.json"))
    for f in files:
        if not f.is_file():
            raise UsageError(f"{f}: no such file")
    bench_dir = args.bench if args.bench is not None else BUILD / "bench" / "latest"
    if args.bench is not None and not (bench_dir / "results.json").is_file():
        raise UsageError(f"{bench_dir}: no results.json (a `tunlab bench` output directory)")
    out = args.out or BUILD / "report" / "index.html"
    page = write(out, files, bench_dir, args.engine)
    print(f"tunlab report: {page} ({len(files)} conformance column(s), "
          f"{'bench plot' if (bench_dir / 'results.json').is_file() else 'no bench results'})")
    if args.screenshot:
        from tunlab import chromium
        result = chromium.load(page, page.with_name("report.png"))
        print(f"tunlab report: screenshot {result.screenshot}; "
              f"{len(result.errors)} console error(s){': ' if result.errors else ''}"
              + "; ".join(result.errors))
        return 1 if result.errors else 0
    return 0
