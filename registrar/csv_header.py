"""A CSV's header over two rows (registrar.header_rows reads it). A CSV has no merged
cells: where a workbook merges a group's name across its columns, exporters write the
name in the first cell of the span and leave the cells after it empty, or write it in
each ("Студент,,Программа,\\nАты-жөні,ЖСН,Код,Атауы").

So a group is a name in the first row followed by empty cells, each over a name in the
second row where its own cell is over a name too, or by the same name written again over
a name or an empty cell, never over a student's value (`written_spans`): an empty cell
over an empty one ends it (a spacer column, or the empty columns Excel saves after the
last), and so does another name. A name in the second row has a letter in it: a
student's IIN, grade or date is no column's name. A name repeated is a group only where
the mapping reads a name under it (else it is a column exported twice: the header's
duplicate-header problem, as before). A name in the first row over an empty cell stands
down both rows where the mapping reads it.

What keeps a title a title is what ties the rows, not how many columns they name: one
of the two is always the header registrar.rows.find_header found by its names, so
HEADER_KNOWN_COLUMNS, asked of both together, holds for a title too (it refuses a tie
only where find_header found no header and row 1 is read as one). A row below the header
is tied to it only when it holds names only under a group or where the header names
nothing (registrar.header_rows.tie): a student's row holds values under the header's
names. A row above it is tied only by a name standing down or by a group whose columns
the mapping reads with the group's name (registrar.header_rows._tied_above): a title
across the list ("Выпуск 2026" over the cells after it) has neither; nor does a label
and its value ("Мектеп | № 12 мектеп-гимназиясы" over the header's empty first cell,
the row number's): a row of at most MAX_TITLE_CELLS values has no name standing down,
as find_header reads such a row as a title. The limit: a title row of more than
MAX_TITLE_CELLS values (two) is still read as the header's first row when the mapping
reads its label, the label stands over an empty header cell, and each of its other cells
heads empty cells over the header's names. Columns are named by number, as every CSV
problem names one.
"""

from __future__ import annotations

from registrar.header_rows import (
    Cells,
    Knows,
    Span,
    Spans,
    text_at,
    two_names_said,
    unread_group_said,
    width_of,
)
from registrar.phrases import Phrase, phrase
from registrar.rows import HEADER_KNOWN_COLUMNS, MAX_TITLE_CELLS


def _is_name(lower: Cells, index: int) -> bool:
    """Whether the second row's cell names a column: a name has a letter in it, and a
    student's IIN, grade or date under a group's name has none."""
    return any(c.isalpha() for c in text_at(lower, index))


def _group_end(upper: Cells, lower: Cells, start: int, width: int) -> int:
    """The column after the last of the group named at `start` (from 0): empty cells
    over columns the second row names, as it names the first, or the name repeated
    over no value (a name, or a gap `join` refuses as unnamed)."""
    head, end = text_at(upper, start), start + 1
    while end < width:
        above = text_at(upper, end)
        if above == head:
            if any(text_at(lower, i) and not _is_name(lower, i) for i in (start, end)):
                break
        elif above or not (_is_name(lower, start) and _is_name(lower, end)):
            break
        end += 1
    return end


def _named_below(upper: Cells, lower: Cells, span: Span, knows: Knows) -> bool:
    """Whether the second row names a column of a group whose name is repeated: the
    mapping reads a name under it, alone or with the group's. Otherwise the name is a
    column exported twice ("ИИН | ИИН" over a student's IINs or names), which the
    header's duplicate-header problem names, as it did before two rows were read."""
    head = text_at(upper, span.first - 1)
    if all(text_at(upper, i) != head for i in range(span.first, span.last)):
        return True  # the name over empty cells: no column is named twice
    return any(knows(name) or knows(f"{head}: {name}")
               for i in range(span.first - 1, span.last) if (name := text_at(lower, i)))


def _known_count(upper: Cells, lower: Cells, groups: list[Span], knows: Knows) -> int:
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
        span = Span(index + 1, end, f"{index + 1}-{end}")
        if end - index > 1 and _named_below(upper, lower, span, knows):
            groups.append(span)
        index = end
    if not groups or _known_count(upper, lower, groups, knows) < HEADER_KNOWN_COLUMNS:
        return Spans()
    if sum(1 for i in range(width) if text_at(upper, i)) <= MAX_TITLE_CELLS:
        # a label and its value ("Мектеп | № 12 мектеп-гимназиясы") are a title, not
        # a name standing down over the header's empty cell (the row number's column)
        return Spans((), tuple(groups))
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

    def column_in_sentence(self, index: int) -> str:
        return str(index + 1)

    def column_in_problem(self, index: int) -> str:
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

    def unread_group(self, name: str, group: str, span: Span, top: int) -> Phrase:
        return unread_group_said("reg.header_rows.csv_unread_group", name, group,
                                 f"written in row {top} over columns {span.first}-{span.last}",
                                 top=top, first=span.first, last=span.last)

    def two_names(self, column: str, top: int, first: str, second: str) -> Phrase:
        return two_names_said("reg.header_rows.csv_two_names",
                              f"by the group names in row {top}", column, top, first, second)

    def three(self, row: int) -> Phrase:
        return phrase(
            "reg.header_rows.csv_three", f"rows {row - 1}, {row} and {row + 1} each hold part "
            f"of one header (a group's name over the columns after it, names under it): a "
            f"header is one row, or two; put each column's name in row {row}",
            first=row - 1, row=row, last=row + 1)


def csv_header_read(top: int) -> Phrase:
    """For the dry run: a CSV's header was read from rows `top` and `top + 1`."""
    return phrase(
        "reg.preview.header_rows_csv", f"header on rows {top}-{top + 1}: one header "
        f"split over two rows, a group's name in row {top} standing over the empty "
        "cells after it (or written in each), each column named by the row that names "
        f"it (a group's name before its columns' names where the mapping reads it so)",
        top=top, bottom=top + 1)
