"""Merged cells that make a workbook's header more than one row of one name per column:
a report-style export's group name over its columns, or a name merged down over a row of
sub-names (registrar.workbook reads the sheet; this says what is wrong with its header)."""

from __future__ import annotations

from openpyxl.utils import get_column_letter

from registrar.merge_sweep import Merge
from registrar.phrases import Phrase, phrase
from registrar.sheet_xml import SheetMarks


def _unnamed(first: int, last: int) -> Phrase:
    if first == last:
        column = get_column_letter(first)
        return phrase("reg.merged.unnamed_column", f"column {column} has no name of its own",
                      column=column)
    columns = f"{get_column_letter(first)}-{get_column_letter(last)}"
    return phrase("reg.merged.unnamed_columns", f"columns {columns} have no names of their own",
                  columns=columns)


class HeaderMerges:
    """Merged cells that make a header of more than one cell or row (as report-style
    exports do: a group's name over its columns, each name merged down over a row of
    sub-names). A header is one row of one name per column, so each is a problem,
    said once at the header: read on, such a sheet gives a problem at every row."""

    def __init__(self, marks: SheetMarks, header_row: int, width: int,
                 joined: frozenset[str] = frozenset()) -> None:
        self.row = header_row
        # on the header's named cells; a merge past them is met only if a row holds values
        # under it (a cell merged across the last columns for width alone is harmless).
        # Those `joined` made two rows one header (registrar.header_rows): no problem.
        self.merges = sorted((m for m in marks.top if m.first_row <= header_row <= m.last_row
                              and m.first_column <= width and m.reference not in joined),
                             key=lambda m: m.first_column)
        self.width = width
        # each crosses the header row: ranges that overlap there overlap, which Excel never
        # saves; apart, they are at most one a column, and `below` looks at each a row
        for before, after in zip(self.merges, self.merges[1:], strict=False):
            if after.first_column <= before.last_column:
                raise ValueError(f"the merged cells {before.reference} and {after.reference} "
                                 "overlap, which Excel never saves")

    def problem(self) -> tuple[int, Phrase] | None:
        """The header's own problem and the column (from 1) it names, if any."""
        for merge in self.merges:
            if merge.first_row < self.row:
                return merge.first_column, phrase(
                    "reg.merged.above", f"the header is row {self.row}, but the cells "
                    f"{merge.reference} merge it with row {merge.first_row} above, which holds "
                    f"the name: a header is one row: give each column its own name in row "
                    f"{self.row}", row=self.row, cells=merge.reference, above=merge.first_row)
            if merge.first_column < min(merge.last_column, self.width):
                return merge.first_column, self._across(merge)
        return None

    def _across(self, merge: Merge) -> Phrase:
        unnamed = _unnamed(merge.first_column + 1, merge.last_column)
        return phrase("reg.merged.across", f"the header cell is merged over {merge.reference}, "
                      f"so {unnamed}: unmerge it and give each column its own name in row "
                      f"{self.row}", cells=merge.reference, unnamed=unnamed, row=self.row)

    def below(self, number: int, first_value: int | None) -> tuple[int | None, Phrase] | None:
        """The problem of row `number`, holding values (the first beyond the header's
        named columns at `first_value`, from 0), when merged cells make it the header's."""
        for merge in self.merges:
            if merge.first_row < number <= merge.last_row:
                return None, phrase(
                    "reg.merged.below", f"the row is part of the header: the cells "
                    f"{merge.reference} merge it with row {self.row}; a header is one row: give "
                    f"each column its own name in row {self.row} and delete row {number}",
                    cells=merge.reference, row=self.row, number=number)
            if first_value is not None and \
                    merge.first_column <= first_value < merge.last_column:
                column = get_column_letter(first_value + 1)
                across = self._across(merge)
                return merge.first_column, phrase(
                    "reg.merged.across_value", f"{across} (row {number} holds a value under "
                    f"it, in column {column})", what=across, number=number, column=column)
        return None
