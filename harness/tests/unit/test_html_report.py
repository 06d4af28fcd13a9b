"""`tunlab report` (tunlab/report.py): the page from conformance JSON, test logs and a bench
run; every link resolves; Jinja2 and string.Template give the same page; headless Chromium
loads it without a console error (skipped where Chromium is not installed)."""

from __future__ import annotations

import json
import re
import struct
import sys
import zlib
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from tunlab import bench, chromium, report
from tunlab.cli import main as cli_main
from tunlab.paths import BUILD
from tunlab.pcap import INBOUND, PcapWriter
from tunlab.spec_rows import ROWS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from test_report import fake_results  # noqa: E402  (the bench tests' made-up results)

HELLO = ("01:34:29.365 << TL1 1 ok proto=1 agent=1.0.0 backend=kpi os=Linux-6.1.0 "
         "driver=ours:3d25234b84ce features=autoclone caps=hello max_frame=163840\n")


def _test_logs(root: Path, name: str, hello: bool = True) -> Path:
    d = root / "test-logs" / "run" / name
    (d / "guest").mkdir(parents=True)
    (d / "agent.log").write_text("01:00:00.000 >> TL1 2 open pi=0\n")
    (d / "console.log").write_text("")
    if hello:
        (d / "guest" / "agent.log").write_text(HELLO)
    w = PcapWriter(d / "packets.pcap", test=name)
    w.write(bytes([0x45]) + bytes(19), device="tun0", direction=INBOUND)
    w.close()
    return d


@pytest.fixture
def run(tmp_path):
    """A made-up run: two kpi drivers and a dragonfly column, logs, a bench directory."""
    l1 = _test_logs(tmp_path, "test_L1")
    l5a, l5b = _test_logs(tmp_path, "test_L5_a"), _test_logs(tmp_path, "test_L5_b")
    conf = tmp_path / "conformance"
    conf.mkdir()
    ours = {row.id: "pass" for row in ROWS}
    ours["K1"] = "n/a: the driver has no kqueue (EVFILT_READ/WRITE)"
    (conf / "kpi-ours.json").write_text(json.dumps({
        "column": "kpi/ours", "complete": True, "rows": ours,
        "tests": {"L1": [{"test": "t.py::test_L1", "outcome": "pass", "logs": str(l1)}],
                  "L5": [{"test": "t.py::test_L5_a", "outcome": "pass", "logs": str(l5a)},
                         {"test": "t.py::test_L5_b", "outcome": "skip: not on this driver", "logs": str(l5b)}],
                  "K1": [{"test": "t.py::test_K1", "outcome": "n/a: the driver has no kqueue", "logs": ""}]}}))
    stock = {row.id: "pass" for row in ROWS}
    stock["O5"] = "expected failure"
    (conf / "kpi-stock-2010.json").write_text(json.dumps({"column": "kpi/stock-2010", "complete": False,
                                                          "rows": stock}))
    (conf / "dragonfly-ours.json").write_text(json.dumps({
        "column": "dragonfly/ours", "rows": {row.id: "skip: no DragonFly image (make image GUEST=dragonfly)"
                                             for row in ROWS}}))
    bench_dir = tmp_path / "bench" / "latest"
    bench.write_outputs(fake_results(("linux", "kpi"), scale={"kpi": 2.0}), bench_dir)
    if not (bench_dir / "bench.png").exists():
        # the plot needs matplotlib (the VM tier); the page only embeds whatever PNG is there
        (bench_dir / "bench.png").write_bytes(_tiny_png())
    files = sorted(conf.glob("*.json"))
    return {"root": tmp_path, "files": files, "bench": bench_dir, "page": tmp_path / "report" / "index.html",
            "l1": l1, "l5b": l5b}


class Page(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.links: list[str] = []
        self.srcs: list[str] = []
        self.ids: set[str] = set()
        self.external: list[str] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        if tag == "img":
            self.srcs.append(a.get("src", ""))
        if (tag == "link") or (tag == "script" and "src" in a):
            self.external.append(tag)

    def handle_data(self, data):
        if data.strip():
            self.text.append(" ".join(data.split()))


def _tiny_png() -> bytes:
    """A valid 1x1 grey PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND", b""))


def _check_links(page: Path, p: Page) -> None:
    for href in p.links:
        if href.startswith("#"):
            assert href[1:] in p.ids, f"no anchor {href}"
        else:
            assert not urlparse(href).scheme, f"a link leaves the page's tree: {href}"
            assert (page.parent / unquote(href)).is_file(), f"{href} resolves to no file"
    assert p.srcs and all(s.startswith("data:image/png;base64,") for s in p.srcs)
    assert p.external == [], "the page loads a stylesheet or script from elsewhere"


@pytest.mark.parametrize("engine", ["jinja2", "template"])
def test_the_page_has_every_row_every_column_and_links_that_resolve(run, engine):
    if engine == "jinja2":
        pytest.importorskip("jinja2", reason="python3-jinja2 is not installed")
    page = report.write(run["page"], run["files"], run["bench"], engine)
    text = page.read_text()
    p = Page(text)
    _check_links(page, p)
    body = " ".join(p.text)
    for row in ROWS:
        assert f"{row.id} {row.title}" in body
    # targets over drivers: dragonfly has one column, kpi two
    assert re.search(r'<th colspan="1" class="target">dragonfly</th>\s*<th colspan="2" class="target">kpi</th>', text)
    assert "stock-2010</a> (partial)" in text
    # the L1 cell links its test's three files; L5's says a part was skipped
    rel = lambda f: str(Path("..") / "test-logs" / "run" / f)  # noqa: E731
    for f in ("agent.log", "console.log", "packets.pcap"):
        assert rel(f"test_L1/{f}") in p.links
    assert "1 of 2 tests skipped" in body and "expected failure" in body
    assert 'title="t.py::test_K1' not in text  # a test without logs gets no line
    # n/a and skip reasons are footnotes
    assert "the driver has no kqueue (EVFILT_READ/WRITE)" in body
    assert "no DragonFly image (make image GUEST=dragonfly)" in body
    # provenance: the hello's driver, the commit, the bench's facts
    assert "driver ours:3d25234b84ce" in body and "kernel Linux-6.1.0" in body
    assert re.search(r"git commit [0-9a-f]{40}", body)
    assert "the median of 3 samples" not in body  # that is in the plot, not the page
    assert "linux (Linux-6.1, agent 1.0.0), kpi (Linux-6.1, agent 1.0.0)" in body


def test_both_engines_make_the_same_page(run):
    pytest.importorskip("jinja2", reason="python3-jinja2 is not installed")
    ctx = report.context(run["files"], run["bench"], run["page"])
    a, b = Page(report.render(ctx, "jinja2")), Page(report.render(ctx, "template"))
    assert a.links == b.links and a.srcs == b.srcs and a.ids == b.ids
    assert " ".join(a.text) == " ".join(b.text)


def test_the_command_writes_the_page_and_refuses_bad_input(run, tmp_path, capsys):
    out = tmp_path / "r" / "x.html"
    assert cli_main(["report", "--conformance", *map(str, run["files"]), "--bench", str(run["bench"]),
                     "--out", str(out)]) == 0
    assert out.is_file() and "3 conformance column(s), bench plot" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert cli_main(["report", "--conformance", str(bad), "--out", str(out)]) == 2
    assert "not a conformance summary" in capsys.readouterr().err
    assert cli_main(["report", "--conformance", "--bench", str(tmp_path), "--out", str(out)]) == 2


@pytest.mark.skipif(not chromium.binary(), reason="Chromium is not installed (apt-get install chromium)")
def test_chromium_loads_the_page_without_errors_and_every_link_is_a_file(run):
    page = report.write(run["page"], run["files"], run["bench"])
    shot = BUILD / "report" / "chromium-test.png"
    result = chromium.load(page, shot)
    assert result.errors == [], result.errors
    assert result.title == "tunlab report"
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50000
    files = [unquote(urlparse(u).path) for u in result.links if u.startswith("file:") and "#" not in u]
    assert len(files) >= 9 + 3  # 3 tests x 3 files, 3 JSON files
    assert all(Path(f).is_file() for f in files), [f for f in files if not Path(f).is_file()]


@pytest.mark.skipif(not chromium.binary(), reason="Chromium is not installed (apt-get install chromium)")
def test_chromium_check_reports_console_errors_and_missing_files(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text('<!doctype html><title>bad</title><img src="missing.png">'
                    '<script>console.error("boom"); undefined_function();</script>')
    result = chromium.load(page, tmp_path / "bad.png")
    text = "\n".join(result.errors)
    assert "console.error: boom" in text and "undefined_function" in text and "ERR_FILE_NOT_FOUND" in text


def test_the_conformance_json_names_each_rows_tests_and_their_log_directories(tmp_path):
    from tunlab.conformance import Conformance
    from tunlab.pytest_plugin import LOGS_KEY

    class Item:
        def __init__(self, nodeid, logs):
            self.nodeid, self.stash = nodeid, {LOGS_KEY: logs}

    c = Conformance(config=None)
    c.row_of = {"t.py::a": "L5", "t.py::b": "L5", "t.py::c": "W1"}
    for nodeid in ("t.py::a", "t.py::b"):
        c.pytest_runtest_setup(Item(nodeid, tmp_path / nodeid.split("::")[1]))
    c.pytest_runtest_setup(Item("t.py::other", tmp_path / "other"))       # no row: not recorded

    def rep(nodeid, when, outcome, longrepr=None):
        return pytest.TestReport(nodeid, ("t.py", 1, nodeid), {}, outcome, longrepr, when)

    c.pytest_runtest_logreport(rep("t.py::a", "call", "passed"))
    c.pytest_runtest_logreport(rep("t.py::b", "call", "skipped", ("t.py", 1, "Skipped: not here")))
    c.pytest_runtest_logreport(rep("t.py::c", "setup", "skipped", ("t.py", 1, "n/a: no kqueue")))
    assert c.tests() == {
        "L5": [{"test": "t.py::a", "outcome": "pass", "logs": str(tmp_path / "a")},
               {"test": "t.py::b", "outcome": "skip: not here", "logs": str(tmp_path / "b")}],
        "W1": [{"test": "t.py::c", "outcome": "n/a: no kqueue", "logs": ""}]}


def test_screenshot_without_chromium_is_one_line_and_exit_1(run, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(chromium, "binary", lambda: "")
    assert cli_main(["report", "--conformance", *map(str, run["files"]), "--out", str(tmp_path / "x.html"),
                     "--screenshot"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tunlab report: Chromium is not installed (apt-get install chromium)")
    assert (tmp_path / "x.html").is_file()
