"""The one shape every input format is read into before validation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RawRow:
    """One data row (CSV/Excel) or item (JSON) as it was written.

    `keys` are the headers the cells sit under: the file's header row for CSV and
    Excel (`header_row` = 1), the item's own keys for JSON (`header_row` = its
    number). A cell is None where the source holds nothing (Excel empty cell,
    JSON null)."""

    number: int
    header_row: int
    keys: tuple[str, ...]
    cells: list[str | None]


@dataclass
class SourceStats:
    rows: int = 0
    sheet: str | None = None  # the Excel sheet read (the first), and how many there are
    sheets: int = 0


# Takes a CSV or Excel header row's cells as soon as it is read.
HeaderSink = Callable[[tuple[str, ...]], object]
