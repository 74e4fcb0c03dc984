"""The one shape every input format is read into before validation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

# Title rows a CSV or Excel export may put above its header (a list's name, the
# university, the date it was printed): the header is looked for this far down.
MAX_TITLE_ROWS = 10
# A row naming at least this many columns the schema or mapping knows is a header,
# and a row holding more values than a title does is not read past as one.
HEADER_KNOWN_COLUMNS = 2
MAX_TITLE_CELLS = 2


@dataclass(frozen=True)
class RawRow:
    """One data row (CSV/Excel) or item (JSON) as it was written.

    `keys` are the headers the cells sit under: the file's header row for CSV and
    Excel (`header_row`, row 1 unless title rows stand above it), the item's own keys
    for JSON (`header_row` = its number). A cell is None where the source holds
    nothing (Excel empty cell, JSON null)."""

    number: int
    header_row: int
    keys: tuple[str, ...]
    cells: list[str | None]


@dataclass
class SourceStats:
    rows: int = 0
    sheet: str | None = None  # the Excel sheet read (the first), and how many there are
    sheets: int = 0
    header_row: int = 1  # CSV and Excel: the header's row, below any title rows
    titles: list[str] = field(default_factory=list)  # each title row's first text


class HeaderSink(Protocol):
    """Takes a CSV or Excel header row's cells as soon as it is read (the validator)."""

    def header(self, keys: tuple[str, ...], row: int = 1) -> object: ...

    def known_columns(self, keys: tuple[str, ...]) -> int: ...

    def ignores(self, header: str) -> bool: ...


Numbered = tuple[int, list[str | None]]  # a row's number and its cells as text


def _values(cells: list[str | None]) -> int:
    return sum(1 for c in cells if c is not None and c.strip())


def find_header(rows: Iterator[Numbered], stats: SourceStats, sink: HeaderSink | None
                ) -> tuple[Numbered | None, list[Numbered]]:
    """The header row, and the rows read after it (to be read before the rest of
    `rows`). The header is row 1, unless a row among the next MAX_TITLE_ROWS names
    HEADER_KNOWN_COLUMNS or more columns the schema or mapping knows, and every row
    above it holds at most MAX_TITLE_CELLS values (a title, a date, "Факультет: ИТ"):
    those are read past and noted in `stats`, for the dry run and the issue to say. A
    row of a student's values holds more, so no data row is ever read past (a header
    repeated below a page of rows is not taken); a file with no such header is read
    from row 1 as it always was, its header's problems reported."""
    seen: list[Numbered] = []
    for number, cells in rows:
        seen.append((number, cells))
        values = _values(cells)
        if sink is not None and values and sink.known_columns(
                tuple(c or "" for c in cells)) >= HEADER_KNOWN_COLUMNS:
            if len(seen) > 1:
                stats.header_row = number
                stats.titles = [next(c.strip() for c in title if c is not None and c.strip())
                                for _, title in seen[:-1] if _values(title)]
            return (number, cells), []
        if values > MAX_TITLE_CELLS or len(seen) > MAX_TITLE_ROWS:
            break
    return (seen[0] if seen else None), seen[1:]
