"""docs/tun-spec.md, spec_rows.py and the places that name a row agree: every row on the page
has a C test (driver/tests), a conformance test (harness/tests/conformance, @pytest.mark.row)
and a line in driver/README.md's "TUN-SPEC rows → code" table, and its stock cells use the
page's fixed vocabulary. The test files are read as text, never imported."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tunlab import spec_rows
from tunlab.spec_rows import BY_ID, ROWS, STOCK_VERSIONS, Row, SpecPageError, parse

REPO = Path(__file__).resolve().parents[3]
PAGE = REPO / "docs" / "tun-spec.md"
C_TESTS = REPO / "driver" / "tests"
CONFORMANCE = REPO / "harness" / "tests" / "conformance"
DRIVER_README = REPO / "driver" / "README.md"

# The ids TUN-SPEC has (../shared/TUN-SPEC.md): a row lost from the page fails here.
SPEC_IDS = ([f"L{i}" for i in range(1, 9)] + [f"I{i}" for i in range(1, 12)]
            + [f"O{i}" for i in range(1, 9)] + [f"W{i}" for i in range(1, 7)]
            + [f"K{i}" for i in range(1, 5)])

# Rows known to lack a C test, a conformance test or a README line, each with the reason.
# Empty today: every row has all three. Add an id here only with a comment saying why and
# who is on it; any gap not listed fails the test.
KNOWN_GAPS: dict[str, set[str]] = {"c test": set(), "conformance test": set(),
                                   "README line": set()}

ID = r"[LIOWK][1-9][0-9]*"


def c_test_rows() -> dict[str, list[str]]:
    """Row id -> C tests named after it (TEST(test_W4_...) / TEST_T(test_O6_..., n))."""
    found: dict[str, list[str]] = {}
    pattern = re.compile(rf"^\s*TEST(?:_T)?\(\s*(test_({ID})_\w*)", re.M)
    for src in sorted(C_TESTS.glob("*.c")):
        for m in pattern.finditer(src.read_text(encoding="utf-8")):
            found.setdefault(m.group(2), []).append(f"{src.name}:{m.group(1)}")
    return found


def _row_marks(node: ast.expr) -> list[str]:
    """The ids of pytest.mark.row("<id>") calls in a decorator or pytestmark value."""
    ids = []
    for call in ast.walk(node):
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and call.func.attr == "row" and isinstance(call.func.value, ast.Attribute)
                and call.func.value.attr == "mark" and call.args
                and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str)):
            ids.append(call.args[0].value)
    return ids


def conformance_rows() -> dict[str, list[str]]:
    """Row id -> conformance tests marked with it (test functions, test classes, pytestmark)."""
    found: dict[str, list[str]] = {}
    for src in sorted(CONFORMANCE.glob("test_*.py")):
        tree = ast.parse(src.read_text(encoding="utf-8"), str(src))
        for node in ast.walk(tree):
            marks: list[str] = []
            if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                    and node.name.lower().startswith("test")):
                for deco in node.decorator_list:
                    marks += _row_marks(deco)
                name = node.name
            elif isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
                marks = _row_marks(node.value)
                name = "pytestmark"
            for row_id in marks:
                found.setdefault(row_id, []).append(f"{src.name}::{name}")
    return found


def readme_rows() -> dict[str, str]:
    """Row id -> its line in driver/README.md's "TUN-SPEC rows → code" table. A line may
    start with several ids ("I1, I2 ...")."""
    text = DRIVER_README.read_text(encoding="utf-8")
    m = re.search(r"^## TUN-SPEC rows → code\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert m, f"{DRIVER_README}: no section '## TUN-SPEC rows → code'"
    found: dict[str, str] = {}
    for line in m.group(1).splitlines():
        lm = re.match(rf"\|\s*({ID}(?:\s*,\s*{ID})*)\b", line)
        if lm:
            for row_id in re.split(r"\s*,\s*", lm.group(1)):
                found[row_id] = line
    return found


def _missing(have: dict[str, object]) -> set[str]:
    return {r.id for r in ROWS} - set(have)


# --- the page and spec_rows.py -----------------------------------------------------------

def test_page_rows_are_spec_rows_in_page_order():
    # An independent reading of the page (any table line starting with an id) against the
    # parser's: a row in a table with a wrong header would be missed by the parser.
    on_page = re.findall(rf"^\|\s*({ID})\s*\|", PAGE.read_text(encoding="utf-8"), re.M)
    assert on_page == [r.id for r in ROWS]
    assert sorted(on_page) == sorted(SPEC_IDS), "the page's row set is not TUN-SPEC's"
    assert list(BY_ID) == [r.id for r in ROWS] and all(BY_ID[r.id] is r for r in ROWS)
    assert STOCK_VERSIONS == ("2008", "2010", "2020")


def test_every_cell_is_in_the_vocabulary():
    vocabulary = re.compile(r"=|n/a \(.*\S.*\)|differs: \S.*")
    for row in ROWS:
        assert row.title and row.ours, row.id
        assert tuple(row.stock) == STOCK_VERSIONS, row.id
        for version, cell in row.stock.items():
            assert vocabulary.fullmatch(cell), f"{row.id} {version}: {cell!r}"
            kinds = [row.differs(version), row.na(version), cell == "="]
            assert kinds.count(True) == 1, f"{row.id} {version}: {cell!r}"
            assert bool(row.note(version)) == (cell != "="), f"{row.id} {version}"


def test_row_api():
    l3, i1, i10 = BY_ID["L3"], BY_ID["I1"], BY_ID["I10"]
    assert l3.na("2008") and not l3.differs("2008") and l3.note("2008")
    assert l3.differs("2010") and "#if 0" in l3.note("2010")
    assert l3.differs("2020") and "ENODEV" in l3.note("2020")
    assert not any(i1.differs(v) or i1.na(v) or i1.note(v) for v in STOCK_VERSIONS)
    assert i10.na("2010") and not i10.differs("2020")
    with pytest.raises(KeyError):
        l3.differs("2015")


def test_stock_differs_is_the_2020_column():
    # conformance.py's stock expectations read stock_differs until it has per-version columns
    for row in ROWS:
        assert row.stock_differs == row.differs("2020"), row.id
    assert BY_ID["O5"].stock_differs and not BY_ID["W1"].stock_differs


def test_abi_values_match_their_definitions():
    # _IO/_IOR/_IOW as in DragonFly's sys/ioccom.h (x86_64): direction | size << 16 | group << 8 | n
    sizes = {"int": 4, "struct tuninfo": 8, "struct ifreq": 32}
    direction = {"_IO": 0x20000000, "_IOR": 0x40000000, "_IOW": 0x80000000}
    lines = re.findall(r"^\| (TUN\w+) \| `(_IO[RW]?)\('(\w)', (\d+)(?:, ([\w ]+))?\)` \| (0x[0-9a-f]+) \|",
                       PAGE.read_text(encoding="utf-8"), re.M)
    assert len(lines) == 10
    for name, macro, group, num, arg, value in lines:
        size = sizes[arg] if arg else 0
        want = direction[macro] | (size & 0x1fff) << 16 | ord(group) << 8 | int(num)
        assert int(value, 16) == want, f"{name}: {value} but {macro}(...) is {want:#x}"


BAD_PAGES = {
    "a stock cell out of the vocabulary":
        "| id | title | ours | 2008 | 2010 | 2020 |\n|---|---|---|---|---|---|\n"
        "| W1 | t | o | = | same | = |\n",
    "n/a without its reason":
        "| id | title | ours | 2008 | 2010 | 2020 |\n|---|---|---|---|---|---|\n"
        "| W1 | t | o | n/a | = | = |\n",
    "a missing cell":
        "| id | title | ours | 2008 | 2010 | 2020 |\n|---|---|---|---|---|---|\n"
        "| W1 | t | o | = | = |\n",
    "a duplicate id":
        "| id | title | ours | 2008 | 2010 | 2020 |\n|---|---|---|---|---|---|\n"
        "| W1 | t | o | = | = | = |\n| W1 | t | o | = | = | = |\n",
    "no row table": "# nothing here\n",
}


@pytest.mark.parametrize("text", BAD_PAGES.values(), ids=BAD_PAGES.keys())
def test_a_malformed_page_is_refused_at_parse(text):
    with pytest.raises(SpecPageError):
        parse(text, "bad.md")


def test_parse_reads_a_row():
    (row,) = parse("| id | title | ours | 2008 | 2010 | 2020 |\n|---|---|---|---|---|---|\n"
                   "| K9 | a title | we do x | n/a (no kqueue) | differs: does y | = |\n")
    assert row == Row("K9", "a title", "we do x")  # stock is not part of equality
    assert row.stock == {"2008": "n/a (no kqueue)", "2010": "differs: does y", "2020": "="}
    assert row.note("2008") == "no kqueue" and row.note("2010") == "does y"
    assert spec_rows.PAGE == PAGE


# --- every row has its tests and its code line -------------------------------------------

@pytest.mark.parametrize("what, find", [("c test", c_test_rows),
                                         ("conformance test", conformance_rows),
                                         ("README line", readme_rows)])
def test_every_row_has_tests_and_a_code_line(what, find):
    have = find()
    missing = _missing(have)
    known = KNOWN_GAPS[what]
    assert missing - known == set(), f"rows without a {what}: {sorted(missing - known)}"
    assert known - missing == set(), (f"KNOWN_GAPS[{what!r}] lists {sorted(known - missing)}, "
                                      "which now have one: take them off the list")
    stale = set(have) - set(BY_ID)
    assert not stale, f"a {what} names rows that are not on docs/tun-spec.md: {sorted(stale)}"


def test_the_finders_find_what_they_should():
    # the finders themselves: a known test of each kind is found under its row
    assert any("test_W4_" in t for t in c_test_rows()["W4"])
    assert any("test_O6_no_lost_wakeup" in t for t in c_test_rows()["O6"])   # test_lostwakeup.c
    assert len(conformance_rows()["L2"]) >= 2
    assert "tun_uiotombuf" in readme_rows()["W6"]
