"""The TUN-SPEC rows as data, read from docs/tun-spec.md (the page is the only copy).

Each row table on the page has the columns `id | title | ours | 2008 | 2010 | 2020`; a stock
cell is `=` (behaves as ours), `n/a (<why>)` (the version lacks a feature the row needs) or
`differs: <what it does instead>`. Anything else is an error at import, naming the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "tun-spec.md"
STOCK_VERSIONS: tuple[str, ...] = ("2008", "2010", "2020")
HEADER: tuple[str, ...] = ("id", "title", "ours", *STOCK_VERSIONS)

ID_RE = re.compile(r"[LIOWK][1-9][0-9]*")
SAME = "="
NA_RE = re.compile(r"n/a \((?P<why>.*\S.*)\)")
DIFFERS_RE = re.compile(r"differs: (?P<what>\S.*)")


class SpecPageError(ValueError):
    """docs/tun-spec.md does not parse as the row tables this module expects."""


def _cell_note(cell: str) -> tuple[str, str] | None:
    """('=', '') / ('n/a', why) / ('differs', what) for a stock cell; None if it is none of them."""
    if cell == SAME:
        return SAME, ""
    m = NA_RE.fullmatch(cell)
    if m:
        return "n/a", m.group("why")
    m = DIFFERS_RE.fullmatch(cell)
    if m:
        return "differs", m.group("what")
    return None


@dataclass(frozen=True)
class Row:
    id: str
    title: str
    ours: str
    stock: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def _kind(self, version: str) -> tuple[str, str]:
        if version not in self.stock:
            raise KeyError(f"row {self.id}: no stock version {version!r} "
                           f"(known: {', '.join(STOCK_VERSIONS)})")
        parsed = _cell_note(self.stock[version])
        assert parsed is not None, "checked at parse time"
        return parsed

    def differs(self, version: str) -> bool:
        """The version has what the row needs but behaves otherwise (a strict expected failure)."""
        return self._kind(version)[0] == "differs"

    def na(self, version: str) -> bool:
        """The version lacks a feature the row needs: the row does not apply to it."""
        return self._kind(version)[0] == "n/a"

    def note(self, version: str) -> str:
        """What the version does instead (differs), why the row does not apply (n/a), or ''."""
        return self._kind(version)[1]

    @property
    def stock_differs(self) -> bool:
        """Kept for conformance.py until it reads per-version columns: differs in 2020."""
        return self.differs("2020")


def _cells(line: str) -> list[str]:
    body = line.strip()
    if not (body.startswith("|") and body.endswith("|")):
        return []
    return [c.strip() for c in body[1:-1].split("|")]


def parse(text: str, source: str = "docs/tun-spec.md") -> list[Row]:
    """Every row of every table whose header is HEADER, in page order."""
    rows: list[Row] = []
    seen: set[str] = set()
    lines = text.splitlines()
    in_table = False
    for lineno, line in enumerate(lines, 1):
        cells = _cells(line)
        if not cells:
            in_table = False
            continue
        if tuple(cells) == HEADER:
            in_table = True
            continue
        if not in_table or all(re.fullmatch(r":?-+:?", c) for c in cells):
            continue
        where = f"{source}:{lineno}"
        if len(cells) != len(HEADER):
            raise SpecPageError(f"{where}: {len(cells)} cells, expected {len(HEADER)} "
                                f"({' | '.join(HEADER)}); a '|' inside a cell?")
        row_id, title, ours, *stock_cells = cells
        if not ID_RE.fullmatch(row_id):
            raise SpecPageError(f"{where}: {row_id!r} is not a row id (L1, I10, K4, ...)")
        if row_id in seen:
            raise SpecPageError(f"{where}: row {row_id} appears twice")
        if not title or not ours:
            raise SpecPageError(f"{where}: row {row_id} has an empty title or ours cell")
        for version, cell in zip(STOCK_VERSIONS, stock_cells):
            if _cell_note(cell) is None:
                raise SpecPageError(
                    f"{where}: row {row_id}, column {version}: {cell!r} is not '=', "
                    "'n/a (<why>)' or 'differs: <what it does instead>'")
        seen.add(row_id)
        rows.append(Row(row_id, title, ours, dict(zip(STOCK_VERSIONS, stock_cells))))
    if not rows:
        raise SpecPageError(f"{source}: no table with the header | {' | '.join(HEADER)} |")
    return rows


ROWS: list[Row] = parse(PAGE.read_text(encoding="utf-8"), str(PAGE))
BY_ID: dict[str, Row] = {r.id: r for r in ROWS}


# The driver features (driver_source.FEATURES) a row's tests need: on a driver without one
# the row is n/a, reported with the reason, never a pass. Declared here, per row, because a
# driver's features are read from its source when it is built, not probed at run time.
NEEDS: dict[str, tuple[str, ...]] = {
    "L1": ("autoclone",),
    "L3": ("autoclone",),
    "L4": ("if_clone",),
    "L5": ("if_clone",),
    "L6": ("if_clone", "tungifname"),
    "L7": ("unload",),
    "L8": ("if_clone",),
    "I10": ("tungifname",),
    "K3": ("kqueue",),
    "K4": ("kqueue",),
}


def needs(row_id: str) -> tuple[str, ...]:
    return NEEDS.get(row_id, ())
