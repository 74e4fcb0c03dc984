"""A CSV's header over two rows (registrar.header_rows reads it). A CSV has no merged
cells: where a workbook merges a group's name across its columns, exporters write the
name in the first cell of the span and leave the cells after it empty, or write it in
each ("Студент,,Программа,\\nАты-жөні,ЖСН,Код,Атауы").

So a group is a name in the first row followed by the same name, or by empty cells each
over a name in the second row where its own cell is over a name too (`written_spans`):
an empty cell over an empty one ends it (a spacer column, or the empty columns Excel
saves after the last), and so does another name. The second row's names under a group,
and in no other column the first row names, are what make two rows one header, as
merged cells are in a workbook (registrar.header_rows.tie). Rows without a group are
never one, nor rows that together name fewer than HEADER_KNOWN_COLUMNS columns the
mapping reads, as registrar.rows.find_header asks of a header of one row: a title over
the empty cells after it names no column, over a student's row or any other. A name in
the first row over an empty cell stands down both rows only where the mapping reads it
(so that a title, "Выпуск 2026" over a margin column, stays a title). Columns are named
by number, as every CSV problem names one.
"""

from __future__ import annotations

from registrar.header_rows import Cells, Knows, Span, Spans, text_at, width_of
from registrar.phrases import Phrase, phrase
from registrar.rows import HEADER_KNOWN_COLUMNS


def _group_end(upper: Cells, lower: Cells, start: int, width: int) -> int:
    """The column after the last of the group named at `start` (from 0)."""
    head, end = text_at(upper, start), start + 1
    while end < width:
        above = text_at(upper, end)
        repeated = above == head
        continued = not above and bool(text_at(lower, end) and text_at(lower, start))
        if not (repeated or continued):
            break
        end += 1
    return end


def _known(upper: Cells, lower: Cells, groups: list[Span], knows: Knows) -> int:
    """How many columns the two rows name that the mapping reads, by either row's name
    or by a group's joined with the second row's."""
    heads = {c: text_at(upper, span.first - 1) for span in groups
             for c in range(span.first - 1, span.last)}
    def readings(i: int) -> tuple[str, ...]:
        second = text_at(lower, i)
        joined = (f"{heads[i]}: {second}",) if i in heads and second else ()
        return (text_at(upper, i), second, *joined)

    return sum(1 for i in range(max(width_of(upper), width_of(lower)))
               if any(knows(name) for name in readings(i) if name))


def written_spans(upper: Cells, lower: Cells, knows: Knows) -> Spans:
    """The groups a CSV's row `upper` writes over `lower`, and, when there is one, the
    names `upper` gives down both rows: those the mapping reads, over an empty cell."""
    width = max(width_of(upper), width_of(lower))
    groups: list[Span] = []
    index = 0
    while index < width:
        end = _group_end(upper, lower, index, width) if text_at(upper, index) else index + 1
        if end - index > 1:
            groups.append(Span(index + 1, end, f"{index + 1}-{end}"))
        index = end
    if not groups or _known(upper, lower, groups, knows) < HEADER_KNOWN_COLUMNS:
        return Spans()
    inside = {c for span in groups for c in range(span.first - 1, span.last)}
    downs = tuple(Span(i + 1, i + 1, str(i + 1)) for i in range(width)
                  if i not in inside and not text_at(lower, i)
                  and (name := text_at(upper, i)) and knows(name))
    return Spans(downs, tuple(groups))


class CsvForm:
    """A CSV's two-row header said as its problems name columns: by number, tied by
    names written over empty cells (registrar.header_rows.HeaderForm)."""

    def spans(self, top: int, upper: Cells, lower: Cells, knows: Knows) -> Spans:
        return written_spans(upper, lower, knows)

    def column(self, index: int) -> str:
        return str(index + 1)

    def where(self, index: int) -> str:
        return f"#{index + 1}"

    def unnamed(self, column: str, group: str, span: Span, top: int) -> Phrase:
        row = top + 1
        return phrase(
            "reg.header_rows.csv_unnamed", f"column {column} stands under {group!r} (written "
            f"in row {top} over columns {span.first}-{span.last}) but has no name in row "
            f"{row}: name it there", column=column, group=group, first=span.first,
            last=span.last, top=top, row=row)

    def two_readings(self, name: str, group: str, joined: str, top: int) -> Phrase:
        row = top + 1
        return phrase(
            "reg.header_rows.csv_two_readings", f"{name!r} under {group!r} names two "
            f"columns the mapping reads, {name!r} and {joined!r}: which one is not for us to "
            f"guess; make rows {top} and {row} one row, each column's whole name in it",
            name=name, group=group, joined=joined, top=top, row=row)

    def two_names(self, column: str, top: int, first: str, second: str) -> Phrase:
        bottom = top + 1
        return phrase(
            "reg.header_rows.csv_two_names", f"column {column} has a name in row {top} "
            f"({first!r}) and another in row {bottom} ({second!r}), and rows {top} and "
            f"{bottom} are one header by the group names in row {top}: which name is the "
            "column's is not for us to guess; keep one of them", column=column, top=top,
            bottom=bottom, first=first, second=second)

    def three(self, row: int) -> Phrase:
        return phrase(
            "reg.header_rows.csv_three", f"rows {row - 1}, {row} and {row + 1} each hold part "
            f"of one header (a group's name over the columns after it, names under it): a "
            f"header is one row, or two; put each column's name in row {row}",
            first=row - 1, row=row, last=row + 1)

    def read(self, top: int) -> Phrase:
        return phrase(
            "reg.preview.header_rows_csv", f"header on rows {top}-{top + 1}: one header "
            f"split over two rows, a group's name in row {top} standing over the empty "
            "cells after it (or written in each), each column named by the row that names "
            f"it (a group's name before its columns' names where the mapping reads it so)",
            top=top, bottom=top + 1)
