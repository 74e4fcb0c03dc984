"""A workbook's header over two rows, tied by its merged cells (registrar.header_rows
reads it): a name merged down over both rows, or a group's name merged across the first.
A name merged over two rows and more than one column leaves a column with no name of
its own, and is refused; merged cells tying no two rows (a name merged deeper than two
rows) are registrar.header_merges' to judge, as before."""

from __future__ import annotations

from collections.abc import Sequence

from openpyxl.utils import get_column_letter

from registrar.header_rows import (
    Cells,
    HeaderRefusal,
    Knows,
    Span,
    Spans,
    two_names_said,
    unread_group_said,
)
from registrar.merge_sweep import Merge
from registrar.phrases import Phrase, phrase


def _span(merge: Merge) -> Span:
    return Span(merge.first_column, merge.last_column, merge.reference)


def merged_spans(merges: Sequence[Merge], top: int) -> Spans:
    """The merged cells tying rows `top` and `top + 1`: names merged down over both rows
    alone (one merged deeper ties no rows), groups merged across row `top`."""
    downs = [m for m in merges if m.first_row == top and m.last_row == top + 1]
    groups = [m for m in merges
              if m.first_row == m.last_row == top and m.last_column > m.first_column]
    wide = next((m for m in downs if m.last_column > m.first_column), None)
    refusal = None
    if wide is not None:
        column = str(get_column_letter(wide.first_column + 1))
        bottom = top + 1
        refusal = HeaderRefusal(top, column, phrase(
            "reg.header_rows.wide", f"the cells {wide.reference} merge one name over rows "
            f"{top}-{bottom} and more than one column, so column {column} has no name of its "
            f"own: unmerge them and name each column", cells=wide.reference, top=top,
            bottom=bottom, column=column), top)
    return Spans(tuple(map(_span, downs)), tuple(map(_span, groups)), refusal)


class SheetForm:
    """A workbook's two-row header said as Excel shows it: columns by letter, tied by
    merged cells (registrar.header_rows.HeaderForm)."""

    def __init__(self, merges: Sequence[Merge] = ()) -> None:
        self.merges = merges

    def spans(self, top: int, upper: Cells, lower: Cells, knows: Knows) -> Spans:
        return merged_spans(self.merges, top)

    def column_in_sentence(self, index: int) -> str:
        return str(get_column_letter(index + 1))

    def column_in_problem(self, index: int) -> str:
        return self.column_in_sentence(index)

    def unnamed(self, column: str, group: str, span: Span, top: int) -> Phrase:
        row = top + 1
        return phrase(
            "reg.header_rows.unnamed", f"column {column} stands under {group!r} (the cells "
            f"{span.reference}) but has no name in row {row}: name it there", column=column,
            group=group, cells=span.reference, row=row)

    def two_readings(self, name: str, group: str, joined: str, top: int) -> Phrase:
        row = top + 1
        return phrase(
            "reg.header_rows.two_readings", f"{name!r} under {group!r} names two columns "
            f"the mapping reads, {name!r} and {joined!r}: which one is not for us to guess; "
            f"put the one meant in row {row} and unmerge row {top}", name=name, group=group,
            joined=joined, row=row, top=top)

    def unread_group(self, name: str, group: str, span: Span, top: int) -> Phrase:
        return unread_group_said("reg.header_rows.unread_group", name, group,
                                 f"the cells {span.reference}", cells=span.reference)

    def two_names(self, column: str, top: int, first: str, second: str) -> Phrase:
        return two_names_said("reg.header_rows.two_names", "by their merged cells", column,
                              top, first, second)

    def three(self, row: int) -> Phrase:
        return phrase(
            "reg.header_rows.three", f"merged cells tie rows {row - 1}, {row} and {row + 1} "
            f"into one header: a header is one row, or two; unmerge them and put each "
            f"column's name in row {row}", first=row - 1, row=row, last=row + 1)


def sheet_header_read(top: int) -> Phrase:
    """For the dry run: a workbook's header was read from rows `top` and `top + 1`."""
    return phrase(
        "reg.preview.header_rows", f"header on rows {top}-{top + 1}: one header split "
        f"over two rows by merged cells, each column named by the row that names it (a "
        f"group's name in row {top} before its columns' names where the mapping reads it "
        "so)", top=top, bottom=top + 1)
