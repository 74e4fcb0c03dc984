"""Merged cell ranges of a sheet, and the sweep that finds, row by row, the first cell of
each row that merged cells cover without it being their own first (which reads empty:
registrar.workbook says so), and what a row of merged cells of its own is instead."""

from __future__ import annotations

import heapq
from collections.abc import Collection
from dataclasses import dataclass

from openpyxl.utils import range_boundaries

from registrar.phrases import Phrase
from registrar.rows import stray_row


@dataclass(frozen=True)
class Merge:
    first_column: int  # from 1, as Excel counts
    first_row: int
    last_column: int
    last_row: int
    reference: str


class MergeSweep:
    """Merged ranges met row by row, each taken in and let go once: O(n log n) in all,
    however many rows a range spans (a row-by-row note of every range would take
    ranges x rows)."""

    def __init__(self, merges: list[Merge], exempt: Collection[int] = ()) -> None:
        """`exempt`: columns (from 0) whose cells are never asked about (the ones a
        mapping reads past): a range is found at its first column outside them."""
        self._merges = sorted(enumerate(merges), key=lambda m: (m[1].first_row, m[0]))
        self._exempt = exempt
        self._next = 0
        # (first column counted, order, range) of ranges begun above the row asked
        self._active: list[tuple[int, int, Merge]] = []

    def _counted(self, first: int, last: int) -> int | None:
        """The first column (from 1) of `first` to `last` outside the exempt ones."""
        while first <= last and first - 1 in self._exempt:
            first += 1
        return first if first <= last else None

    def at(self, row: int) -> tuple[int, str] | None:
        while self._next < len(self._merges) and self._merges[self._next][1].first_row < row:
            order, merge = self._merges[self._next]
            column = self._counted(merge.first_column, merge.last_column)
            if column is not None:
                heapq.heappush(self._active, (column, order, merge))
            self._next += 1
        while self._active and self._active[0][2].last_row < row:
            heapq.heappop(self._active)
        best = (self._active[0][0], self._active[0][1], self._active[0][2]) \
            if self._active else None
        index = self._next
        while index < len(self._merges) and self._merges[index][1].first_row == row:
            order, merge = self._merges[index]  # its own row: covered after its first cell
            column = self._counted(merge.first_column + 1, merge.last_column)
            if column is not None and (best is None or (column, order) < best[:2]):
                best = (column, order, merge)
            index += 1
        return None if best is None else (best[0] - 1, best[2].reference)


def merged_stray(cells: list[str | None], reference: str, iin: list[bool]) -> Phrase | None:
    """Why a row that merged cells of its own (`reference`) cover is no student's, as a
    signature ("Ректор" merged across, below the list) is not (registrar.rows.stray_row):
    to delete the row is the advice, not to unmerge and fill in a row that should not be
    there. A range over several rows may hold a student's value: None, said as merged
    cells. `iin`: whether each header column is an IIN column."""
    _, first_row, _, last_row = range_boundaries(reference)
    if first_row != last_row or not iin:
        return None
    values = [(cell or "").strip() for cell in cells[:len(iin)]]
    return stray_row(values + [""] * (len(iin) - len(values)), iin)
