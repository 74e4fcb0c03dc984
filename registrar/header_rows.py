"""A header split over two rows, as report-style exports (1C, Platonus, school
e-journals) write it, read as the one row of names it stands for: a workbook's tied by
its merged cells, a CSV's by the names it writes over empty cells (registrar.csv_header).

What ties two rows are `Spans`: a group's name across columns of the first row, the
second row naming each column under it ("Дисциплина 1" over C1:E1, "Пәндер" over E1:F1),
and names standing down both rows ("ФИО" in A1:A2), the second row holding the names the
first leaves out. Rows so tied (`tie`) are one header when each column has one name
(`join`): a name standing down is its name; under a group, the second row's name, or
"group: name" where the mapping reads that and not the name alone (a Platonus
transcript's "Дисциплина 1: код"); elsewhere whichever row names it.

A header is never read by guess: a column named in both rows outside any group (which
is its name?), a name under a group that the mapping reads both alone and with the
group's, a group column the second row leaves unnamed, and three rows tied are each
refused, naming the row and column as its format does (`HeaderForm`). So is a name
under a group that the mapping reads neither alone nor with the group's name, when it
reads no name under that group with it: the group's name is then most likely written
otherwise than the mapping reads it ("Дисциплина 1 (осенний семестр)"), and the problem
names the group, where the column's own problem would name only the column. Only the first
MAX_HEADER_SEARCH_ROWS rows are looked at (the title rows registrar.rows.find_header
reads past, the header and the row below it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from registrar.phrases import Phrase, phrase
from registrar.rows import MAX_TITLE_ROWS, HeaderSink, Numbered, SourceStats

# A header's rows stand within the title rows read past, the header and one row below.
MAX_HEADER_SEARCH_ROWS = MAX_TITLE_ROWS + 2

Cells = Sequence[str | None]
Knows = Callable[[str], bool]  # whether the schema or mapping reads a column's name


@dataclass(frozen=True)
class JoinedHeader:
    """The names read from rows `top` and `top + 1`, and the references of the spans that
    tie them (a workbook's merged cells, no longer a problem of its header:
    registrar.header_merges is told of them)."""

    top: int
    names: list[str | None]
    tied_by: frozenset[str]

    @property
    def bottom(self) -> int:
        return self.top + 1


@dataclass(frozen=True)
class HeaderRefusal:
    row: int
    column: str  # as its format names a column in a problem (HeaderForm.column_in_problem)
    said: Phrase
    top: int  # the first of the rows it says are one header: none of them is a title


@dataclass(frozen=True)
class Span:
    """Columns `first` to `last` (from 1) under one name; `reference`: where it stands,
    as its format says it ("E1:F1")."""

    first: int
    last: int
    reference: str


@dataclass(frozen=True)
class Spans:
    """What ties a header's two rows: names standing down both (`downs`), groups' names
    across the first (`groups`); and the refusal, if any, that the rows are owed once
    they are tied (a workbook's name merged down and across: registrar.sheet_header)."""

    downs: tuple[Span, ...] = ()
    groups: tuple[Span, ...] = ()
    refusal: HeaderRefusal | None = None


class HeaderForm(Protocol):
    """A format's two-row header: what ties its rows (merged cells, or names written over
    empty cells), and how what is wrong with it is said: its columns by letter (a
    workbook) or number (a CSV)."""

    def spans(self, top: int, upper: Cells, lower: Cells, knows: Knows) -> Spans:
        """What ties rows `top` and `top + 1` (`upper`, `lower`)."""

    def column_in_sentence(self, index: int) -> str:
        """Column `index` (from 0) as a sentence names it ("E", "5")."""

    def column_in_problem(self, index: int) -> str:
        """Column `index` as a problem's column ("E", "#5")."""

    def unnamed(self, column: str, group: str, span: Span, top: int) -> Phrase: ...

    def two_readings(self, name: str, group: str, joined: str, top: int) -> Phrase: ...

    def unread_group(self, name: str, group: str, span: Span, top: int) -> Phrase:
        """`name` under `group`: the mapping reads it neither alone nor with the group's
        name, nor any name under the group with it."""

    def two_names(self, column: str, top: int, first: str, second: str) -> Phrase: ...

    def three(self, row: int) -> Phrase: ...


def two_names_said(key: str, tied_by: str, column: str, top: int, first: str, second: str
                   ) -> Phrase:
    """A column named in both rows outside any group, rows `top` and `top + 1` being
    one header `tied_by` what its format ties them with (HeaderForm.two_names)."""
    bottom = top + 1
    return phrase(
        key, f"column {column} has a name in row {top} ({first!r}) and another in row "
        f"{bottom} ({second!r}), and rows {top} and {bottom} are one header {tied_by}: "
        "which name is the column's is not for us to guess; keep one of them",
        column=column, top=top, bottom=bottom, first=first, second=second)


def unread_group_said(key: str, name: str, group: str, where: str, **params: str | int
                      ) -> Phrase:
    """`name` under `group` (standing `where`, as its format says it): the mapping reads it
    neither alone nor with the group's name, nor any name under the group with it."""
    return phrase(
        key, f"the mapping reads {name!r} neither alone nor under the group {group!r} "
        f"({where}), nor any name joined with that group's: write the group's name as the "
        f"mapping reads it, or a name it reads in place of {name!r}",
        name=name, group=group, **params)


def text_at(cells: Cells, index: int) -> str:
    cell = cells[index] if index < len(cells) else None
    return cell.strip() if cell is not None else ""


def width_of(cells: Cells) -> int:
    return max((i + 1 for i in range(len(cells)) if text_at(cells, i)), default=0)


def tie(spans: Spans, top: int, upper: Cells, lower: Cells) -> bool:
    """Whether `spans` make rows `top` and `top + 1` one header: `lower` holds names
    only under a group or where `upper` names nothing. A student's row under the header
    holds values under its named columns too: not tied (for a workbook,
    registrar.header_merges says what is wrong, as before)."""
    if top > MAX_HEADER_SEARCH_ROWS - 1 or not (spans.downs or spans.groups):
        return False
    inside = {c for span in spans.groups for c in range(span.first - 1, span.last)}
    held = {i for i in range(len(lower)) if text_at(lower, i)}
    return bool(held) and all(i in inside or not text_at(upper, i) for i in held)


def _read_with(head: str, group: Span, lower: Cells, knows: Knows) -> bool:
    """Whether the mapping reads a name under `group` joined with its name `head`."""
    return any(knows(f"{head}: {name}") for index in range(group.first - 1, group.last)
               if (name := text_at(lower, index)))


def join(spans: Spans, top: int, upper: Cells, lower: Cells, knows: Knows,
         form: HeaderForm) -> JoinedHeader | HeaderRefusal:
    """Rows `top` and `top + 1` (`upper`, `lower`), tied by `spans`, as one header."""
    if spans.refusal is not None:
        return spans.refusal
    bottom = top + 1
    names: list[str | None] = []
    # a group's columns are the header's, named or not (each must be named below it)
    width = max(width_of(upper), width_of(lower), *(span.last for span in spans.groups))
    for index in range(width):
        down = next((span for span in spans.downs if span.first == index + 1), None)
        group = next((span for span in spans.groups if span.first <= index + 1 <= span.last),
                     None)
        first, second = text_at(upper, index), text_at(lower, index)
        if down is not None:
            names.append(first or None)
        elif group is not None:
            head = text_at(upper, group.first - 1)
            if not second:
                return HeaderRefusal(bottom, form.column_in_problem(index), form.unnamed(
                    form.column_in_sentence(index), head, group, top), top)
            joined = f"{head}: {second}"
            if head and not knows(second) and not _read_with(head, group, lower, knows):
                return HeaderRefusal(bottom, form.column_in_problem(index), form.unread_group(
                    second, head, group, top), top)
            if head and knows(joined) and knows(second):
                return HeaderRefusal(bottom, form.column_in_problem(index), form.two_readings(
                    second, head, joined, top), top)
            names.append(joined if head and knows(joined) else second)
        elif first and second:
            return HeaderRefusal(top, form.column_in_problem(index), form.two_names(
                form.column_in_sentence(index), top, first, second), top)
        else:
            names.append(first or second or None)
    tied_by = frozenset(span.reference for span in (*spans.downs, *spans.groups))
    return JoinedHeader(top, names, tied_by)


def _tied_above(spans: Spans, upper: Cells, header: Cells, knows: Knows) -> bool:
    """Whether the row above a header found by its names (registrar.rows.find_header)
    is the header's first row: a name standing down from it into the header, or a group
    over columns the mapping reads with the group's name. A title across the whole
    list ("Список выпускников 2026" over A1:H1) is neither: it stays a title."""
    if spans.downs:
        return True
    return any(_read_with(head, span, header, knows) for span in spans.groups
               if (head := text_at(upper, span.first - 1)))


def split_header(header: tuple[int, Cells], above: Cells | None,
                 below: tuple[int, Cells] | None, knows: Knows, form: HeaderForm
                 ) -> JoinedHeader | HeaderRefusal | None:
    """The header row found (`header`: its number and cells) read with the row `above`
    it or the row `below` it when spans tie them (None: one row, as before)."""
    row, cells = header
    pairs: list[tuple[int, Cells, Cells, Spans]] = []
    if above is not None and row > 1:
        spans = form.spans(row - 1, above, cells, knows)
        if _tied_above(spans, above, cells, knows):
            pairs.append((row - 1, above, cells, spans))
    if below is not None and below[0] == row + 1:
        spans = form.spans(row, cells, below[1], knows)
        if tie(spans, row, cells, below[1]):
            pairs.append((row, cells, below[1], spans))
    if not pairs:
        return None
    if len(pairs) > 1:
        return HeaderRefusal(row, form.column_in_problem(0), form.three(row), row - 1)
    top, upper, lower, spans = pairs[0]
    return join(spans, top, upper, lower, knows, form)


def two_row_header(found: Numbered, ahead: list[Numbered], rows: Iterator[Numbered],
                   above: Cells | None, stats: SourceStats, sink: HeaderSink | None,
                   form: HeaderForm
                   ) -> tuple[JoinedHeader | HeaderRefusal | None, list[Numbered]]:
    """The header `found` (registrar.rows.find_header, and `ahead`, the rows it read
    after it), read with the row `above` it or the next one (from `ahead`, else from
    `rows`) as one header when they are tied; `stats` then names both rows. Returns the
    split, if any, and the rows still to be read, before the rest of `rows`."""
    if not ahead:
        ahead = [row for row in (next(rows, None),) if row is not None]

    def knows(name: str) -> bool:
        return sink is not None and sink.known_columns((name,)) > 0

    split = split_header(found, above, ahead[0] if ahead else None, knows, form)
    if split is not None:
        # the rows said to be the header are no titles; nor is the row find_header
        # found no title above the header it found, when both are the header's rows
        stats.titles = [title for title in stats.titles if title[0] < split.top]
        if stats.unread_header == (split.top + 1, split.top):
            stats.unread_header = None
    if isinstance(split, JoinedHeader):
        ahead = [row for row in ahead if row[0] > split.bottom]
        stats.header_row, stats.header_top = split.bottom, split.top
    return split, ahead
