"""A workbook header split over two rows, as report-style exports (1C, Platonus, school
e-journals) write it, read as the one row of names it stands for.

Two rows are one header only when the sheet's own merged cells tie them (`tie`):
- a name merged down over both rows ("ФИО" in A1:A2), the second row holding the
  names the first leaves out; or
- a group's name merged across in the first row ("Дисциплина 1" over C1:E1, "Пәндер"
  over E1:F1), the second row naming each column under it, and holding nothing else.
Each column then has one name (`join`): a name merged down is its name; under a group,
the second row's name, or "group: name" where the mapping reads that and not the name
alone (a Platonus transcript's "Дисциплина 1: код"); elsewhere whichever row names it.

A header is never read by guess: a column named in both rows outside any group (which
is its name?), a name under a group that the mapping reads both alone and with the
group's, a group column the second row leaves unnamed, a name merged over two rows and
more than one column, and merged cells tying three rows, are each refused, naming the
row and column (a name merged deeper than two rows ties none: registrar.header_merges
says what is wrong with it, as before). Only the first MAX_HEADER_SEARCH_ROWS rows are
looked at (the title rows registrar.rows.find_header reads past, the header and the
row below it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from openpyxl.utils import get_column_letter

from registrar.merge_sweep import Merge
from registrar.phrases import Phrase, phrase
from registrar.rows import MAX_TITLE_ROWS

# A header's rows stand within the title rows read past, the header and one row below.
MAX_HEADER_SEARCH_ROWS = MAX_TITLE_ROWS + 2


@dataclass(frozen=True)
class JoinedHeader:
    """The names read from rows `top` and `top + 1`, and the merged cells that tie them
    (no longer a problem of the header: registrar.header_merges is told of them)."""

    top: int
    names: list[str | None]
    merges: frozenset[str]

    @property
    def bottom(self) -> int:
        return self.top + 1


@dataclass(frozen=True)
class HeaderRefusal:
    row: int
    column: str  # its letter, as Excel shows it
    said: Phrase


Cells = Sequence[str | None]


def _text(cells: Cells, index: int) -> str:
    cell = cells[index] if index < len(cells) else None
    return cell.strip() if cell is not None else ""


def _width(cells: Cells) -> int:
    return max((i + 1 for i in range(len(cells)) if _text(cells, i)), default=0)


def _downs(merges: Sequence[Merge], top: int) -> list[Merge]:
    """Names merged down over rows `top` and `top + 1` alone (one merged deeper ties no
    rows: registrar.header_merges says what is wrong when a row under it holds values)."""
    return [m for m in merges if m.first_row == top and m.last_row == top + 1]


def _groups(merges: Sequence[Merge], top: int) -> list[Merge]:
    return [m for m in merges
            if m.first_row == m.last_row == top and m.last_column > m.first_column]


def tie(merges: Sequence[Merge], top: int, upper: Cells, lower: Cells) -> bool:
    """Whether merged cells make rows `top` and `top + 1` one header: a name merged down
    from `top`, or a group merged across it, with `lower` holding names only under a
    group or where `upper` names nothing. A student's row under a name merged down (or
    across, for width) holds values under the named columns too: not tied, and
    registrar.header_merges says what is wrong, as before."""
    downs, groups = _downs(merges, top), _groups(merges, top)
    if top > MAX_HEADER_SEARCH_ROWS - 1 or not (downs or groups):
        return False
    inside = {c for m in groups for c in range(m.first_column - 1, m.last_column)}
    held = {i for i in range(len(lower)) if _text(lower, i)}
    return bool(held) and all(i in inside or not _text(upper, i) for i in held)


def join(merges: Sequence[Merge], top: int, upper: Cells, lower: Cells,
         knows: Callable[[str], bool]) -> JoinedHeader | HeaderRefusal:
    """Rows `top` and `top + 1` (`upper`, `lower`), tied (`tie`), as one header;
    `knows`: whether the schema or mapping reads a name."""
    bottom = top + 1
    downs, groups = _downs(merges, top), _groups(merges, top)
    for merge in downs:
        if merge.last_column > merge.first_column:
            column = get_column_letter(merge.first_column + 1)
            return HeaderRefusal(top, column, phrase(
                "reg.header_rows.wide", f"the cells {merge.reference} merge one name over "
                f"rows {top}-{bottom} and more than one column, so column {column} has no "
                f"name of its own: unmerge them and name each column", cells=merge.reference,
                top=top, bottom=bottom, column=column))
    names: list[str | None] = []
    # a group's columns are the header's, named or not (each must be named below it)
    width = max(_width(upper), _width(lower), *(m.last_column for m in groups))
    for index in range(width):
        column = get_column_letter(index + 1)
        down = next((m for m in downs if m.first_column == index + 1), None)
        group = next((m for m in groups if m.first_column <= index + 1 <= m.last_column),
                     None)
        first, second = _text(upper, index), _text(lower, index)
        if down is not None:
            names.append(first or None)
        elif group is not None:
            head = _text(upper, group.first_column - 1)
            if not second:
                return HeaderRefusal(bottom, column, phrase(
                    "reg.header_rows.unnamed", f"column {column} stands under {head!r} (the "
                    f"cells {group.reference}) but has no name in row {bottom}: name it "
                    "there", column=column, group=head, cells=group.reference, row=bottom))
            joined = f"{head}: {second}"
            if head and knows(joined) and knows(second):
                return HeaderRefusal(bottom, column, phrase(
                    "reg.header_rows.two_readings", f"{second!r} under {head!r} names two "
                    f"columns the mapping reads, {second!r} and {joined!r}: which one is not "
                    f"for us to guess; put the one meant in row {bottom} and unmerge row "
                    f"{top}", name=second, group=head, joined=joined, row=bottom, top=top))
            names.append(joined if head and knows(joined) else second)
        elif first and second:
            return HeaderRefusal(top, column, phrase(
                "reg.header_rows.two_names", f"column {column} has a name in row {top} "
                f"({first!r}) and another in row {bottom} ({second!r}), and rows {top} and "
                f"{bottom} are one header by their merged cells: which name is the column's "
                "is not for us to guess; keep one of them", column=column, top=top,
                bottom=bottom, first=first, second=second))
        else:
            names.append(first or second or None)
    return JoinedHeader(top, names, frozenset(m.reference for m in (*downs, *groups)))


def header_rows_phrase(top: int) -> Phrase:
    """For the dry run: the header was read from two rows."""
    return phrase("reg.preview.header_rows", f"header on rows {top}-{top + 1}: one header "
                  f"split over two rows by merged cells, each column named by the row that "
                  f"names it (a group's name in row {top} before its columns' names where "
                  "the mapping reads it so)", top=top, bottom=top + 1)


def _tied_above(merges: Sequence[Merge], top: int, upper: Cells, header: Cells,
                knows: Callable[[str], bool]) -> bool:
    """Whether the row above a header found by its names (registrar.rows.find_header)
    is the header's first row: a name merged down from it into the header, or a group
    over columns the mapping reads only with the group's name. A title merged across
    the whole list ("Список выпускников 2026" over A1:H1) is neither: it stays a title."""
    if _downs(merges, top):
        return True
    return any(knows(f"{head}: {name}") for m in _groups(merges, top)
               if (head := _text(upper, m.first_column - 1))
               for index in range(m.first_column - 1, m.last_column)
               if (name := _text(header, index)))


def split_header(merges: Sequence[Merge], header: tuple[int, Cells], above: Cells | None,
                 below: tuple[int, Cells] | None, knows: Callable[[str], bool]
                 ) -> JoinedHeader | HeaderRefusal | None:
    """The header row found (`header`: its number and cells) read with the row `above`
    it or the row `below` it when merged cells tie them (None: one row, as before)."""
    row, cells = header
    pairs: list[tuple[int, Cells, Cells]] = []
    if above is not None and row > 1 and _tied_above(merges, row - 1, above, cells, knows):
        pairs.append((row - 1, above, cells))
    if below is not None and below[0] == row + 1 and tie(merges, row, cells, below[1]):
        pairs.append((row, cells, below[1]))
    if not pairs:
        return None
    if len(pairs) > 1:
        return HeaderRefusal(row, "A", phrase(
            "reg.header_rows.three", f"merged cells tie rows {row - 1}, {row} and {row + 1} "
            f"into one header: a header is one row, or two; unmerge them and put each "
            f"column's name in row {row}", first=row - 1, row=row, last=row + 1))
    top, upper, lower = pairs[0]
    return join(merges, top, upper, lower, knows)
