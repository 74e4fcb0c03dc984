"""Merged cell ranges of a sheet, and the sweep that finds, row by row, the first cell of
each row that merged cells cover without it being their own first (which reads empty:
registrar.workbook says so)."""

from __future__ import annotations

import heapq
from dataclasses import dataclass


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

    def __init__(self, merges: list[Merge]) -> None:
        self._merges = sorted(enumerate(merges), key=lambda m: (m[1].first_row, m[0]))
        self._next = 0
        # (first column, order, range) of ranges begun above the row asked
        self._active: list[tuple[int, int, Merge]] = []

    def at(self, row: int) -> tuple[int, str] | None:
        while self._next < len(self._merges) and self._merges[self._next][1].first_row < row:
            order, merge = self._merges[self._next]
            heapq.heappush(self._active, (merge.first_column, order, merge))
            self._next += 1
        while self._active and self._active[0][2].last_row < row:
            heapq.heappop(self._active)
        best = (self._active[0][0], self._active[0][1], self._active[0][2]) \
            if self._active else None
        index = self._next
        while index < len(self._merges) and self._merges[index][1].first_row == row:
            order, merge = self._merges[index]  # its own row: covered after its first cell
            if merge.first_column < merge.last_column and \
                    (best is None or (merge.first_column + 1, order) < best[:2]):
                best = (merge.first_column + 1, order, merge)
            index += 1
        return None if best is None else (best[0] - 1, best[2].reference)
