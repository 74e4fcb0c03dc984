"""The one shape every input format is read into before validation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from registrar.formats import FormatError, check_value
from registrar.iin import birth_date_of
from registrar.phrases import Phrase, phrase
from registrar.schema import MAX_LINE_PARTS, MAX_RECORD_FIELDS, Schema

# Title rows a CSV or Excel export may put above its header (a list's name, the
# university, the date it was printed): the header is looked for this far down.
MAX_TITLE_ROWS = 10
# A row naming at least this many columns the schema or mapping knows is a header,
# and a row holding at most this many values may be a title ("Факультет: ИТ").
HEADER_KNOWN_COLUMNS = 2
MAX_TITLE_CELLS = 2
# A wider title row is judged by what it holds under these columns of the header
# below it, where a student's row holds its IIN and dates (find_header).
IDENTIFYING_FORMATS = frozenset({"iin", "date"})
# The columns a workbook's header may span, to its last named one: each of a record's
# fields is a column, or a line of parts in as many (a transcript's course), with room
# for the columns a mapping reads past ("№ п/п", notes). openpyxl fills every row below
# to the header's width when any row below reaches it, so a short row costs the
# header's width: a header of 16,384 columns made each cost 16,384. A CSV's rows are
# never filled, but each column of its header is looked up as the header is searched
# for and resolved (1.9 million took 109 s). A workbook's header and a CSV's are held
# to what the schema read can fill (header_columns).
READ_PAST_COLUMNS = 100
MAX_HEADER_COLUMNS = MAX_RECORD_FIELDS * MAX_LINE_PARTS + READ_PAST_COLUMNS
# A cell with this many digits, and no more letters than digits, is a number however
# written: an IIN mistyped, "30 июня 2026", Excel's day number 46203.
NUMBER_DIGITS = 4


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
    visible_sheets: int = 0  # of `sheets`, those Excel shows (a registrar can move)
    header_row: int = 1  # CSV and Excel: the header's row, below any title rows
    # CSV and Excel: the header's first row when it is two (registrar.header_rows), else None
    header_top: int | None = None
    titles: list[tuple[int, str]] = field(default_factory=list)  # each title row, its text
    # a header found below a row that is no title (read from row 1), and that row
    unread_header: tuple[int, int] | None = None


class HeaderSink(Protocol):
    """Takes a CSV or Excel header row's cells as soon as it is read (the validator)."""

    def header(self, keys: tuple[str, ...], row: int = 1) -> object: ...

    def known_columns(self, keys: tuple[str, ...]) -> int: ...

    def ignores(self, header: str) -> bool: ...

    def column_formats(self, keys: tuple[str, ...]) -> tuple[str | None, ...]: ...

    def header_knows_no_column(self) -> bool: ...


Numbered = tuple[int, list[str | None]]  # a row's number and its cells as text


def _texts(cells: list[str | None]) -> list[tuple[int, str]]:
    return [(i, c.strip()) for i, c in enumerate(cells) if c is not None and c.strip()]


def passes(format_name: str, value: str) -> bool:
    try:
        check_value(format_name, value)
    except FormatError:
        return False
    return True


def _an_iin(value: str) -> bool:
    """A student's IIN: its check digit and birth date hold (a BIN, a university's own
    number in a title, has the same check digit and no birth date)."""
    return passes("iin", value) and birth_date_of(value) is not None


# An academic year as titles write it ("Оқу жылы | 2025-2026"): two years in a row.
_ACADEMIC_YEAR = re.compile(r"(\d{4})\s*[-\u2013\u2014/]\s*(\d{4})")


def _an_academic_year(value: str) -> bool:
    years = _ACADEMIC_YEAR.fullmatch(value)
    return years is not None and int(years[2]) == int(years[1]) + 1


def _student_value(format_name: str, value: str) -> bool:
    """Whether a student's row could hold `value` under a column of this format: it
    passes, or it is a number however written (NUMBER_DIGITS), save a date under an
    IIN column (a title's "Дата | 01.07.2026" standing there) and an academic year
    under either (no student's IIN or date is two consecutive years)."""
    if passes(format_name, value):
        return True
    if _an_academic_year(value):
        return False
    digits = sum(1 for c in value if c.isdigit())
    number = digits >= NUMBER_DIGITS and digits >= sum(1 for c in value if c.isalpha())
    return number and not (format_name == "iin" and passes("date", value))


def is_title(cells: list[str | None], header: list[str | None], sink: HeaderSink) -> bool:
    """Whether a row above `header` is read past as a title (find_header says why)."""
    formats = sink.column_formats(tuple(c or "" for c in header))
    texts = _texts(cells)
    if any(_an_iin(text) for _, text in texts):
        return False
    if len(texts) <= MAX_TITLE_CELLS:
        return True
    placed = [(name, text) for i, text in texts
              if i < len(formats) and (name := formats[i]) in IDENTIFYING_FORMATS]
    return (len(texts) < len(_texts(header))
            and not any(_student_value(name, text) for name, text in placed)
            and any(_an_academic_year(text) or any(c.isalpha() for c in text)
                    for _, text in placed))


def stray_row(values: list[str], iin: list[bool]) -> Phrase | None:
    """Why a row is likely no student's: it holds at most MAX_TITLE_CELLS values and no
    IIN (`iin`: whether each value's column is an IIN column; a header with none says
    nothing of it), as a group's heading, a total or a signature inside or below the
    list do ("Итого:", "Ректор ____ Ә. Смағұлов"); named once instead of each required
    field it lacks."""
    held = [value for value in values if value]
    if not held or len(held) > MAX_TITLE_CELLS or not any(iin) or any(
            is_iin for value, is_iin in zip(values, iin, strict=True) if value):
        return None
    text = " | ".join(held)
    shown = text if len(text) <= 100 else text[:99] + "…"
    return phrase("reg.row.stray", f"the row holds only {shown!r} and no IIN: a heading, "
                  "total or signature? Delete it from the export (a person's row, a student's "
                  "or an employee's, needs the rest filled in)", text=shown)


def header_columns(schema: Schema) -> int:
    """The columns a workbook's or CSV's header may span for `schema`: a column for each field,
    each line's parts as many times as it may be given, and each group's items, with
    READ_PAST_COLUMNS to spare; a diploma's some 115, a transcript's some 1,800."""
    filled = len(schema.fields) + sum(len(group.parts) * group.max_items
                                      for group in schema.lines) + sum(
        group.max_items for group in schema.each)
    return min(filled + READ_PAST_COLUMNS, MAX_HEADER_COLUMNS)


def too_wide(width: int, limit: int) -> Phrase:
    """A header spanning `width` columns, past `limit` (header_columns)."""
    return phrase("reg.header.too_wide", f"the header spans {width} columns, to its last "
                  f"named one; a header here may span at most {limit}: delete "
                  "the columns the documents do not need", width=width, max=limit)


def title_text(cells: list[str | None]) -> str:
    """A title row as the dry run names it: its values, in order."""
    return " | ".join(text for _, text in _texts(cells))


def find_header(rows: Iterator[Numbered], stats: SourceStats, sink: HeaderSink | None
                ) -> tuple[Numbered | None, list[Numbered]]:
    """The header row, and the rows read after it (to be read before the rest of
    `rows`). The header is row 1, unless a row among the next MAX_TITLE_ROWS names
    HEADER_KNOWN_COLUMNS or more columns the schema or mapping knows and every row
    above it is a title: those are read past and noted in `stats` (row number and
    values), for the dry run and the issue to name. A file with no such header, or
    with a row above it that is no title, is read from row 1 as it always was, its
    header's problems reported (and the dry run says where that header stands).

    A title row is judged against the header found below it (`is_title`):
    - a row holding an IIN (`_an_iin`) in any cell is never a title;
    - else a row of at most MAX_TITLE_CELLS values is (the university, "Факультет: ИТ");
    - a wider row is a title only if it is narrower than the header (fewer values than
      the header names columns), holds nothing a student's row holds under an IIN or
      date column (`_student_value`: a value that passes there, or a number however
      written, such as an IIN mistyped or a date in words) and holds words or an
      academic year under at least one of them: a label or value of "Факультет |
      Информационных технологий | Курс | 4" or "Оқу жылы | 2025-2026" standing where
      the IIN or a date goes.
    Why no student's row is taken for a title: a row holding an IIN is never one,
    and every shipped schema requires the IIN, so no row that could be issued as it
    stands is ever read past. A student's row with mistakes is kept too while its IIN
    or a date stands in its column, even mistyped, or it fills every column: it could
    be read past only with some cell empty, no IIN or date in place (empty, or words)
    and words under the IIN or a date column, or with two values at most, as before.
    Even then the dry run and the issue name each row read past, with its number and
    values, so no guess is silent. A label/value title whose cells all stand left of
    the header's IIN and date columns gives no evidence either way: it stops the
    search, and the file is read from row 1 as before."""
    seen: list[Numbered] = []
    for number, cells in rows:
        seen.append((number, cells))
        if sink is not None and _texts(cells) and sink.known_columns(
                tuple(c or "" for c in cells)) >= HEADER_KNOWN_COLUMNS:
            if len(seen) == 1:
                return (number, cells), []
            untitled = [row for row, title in seen[:-1] if not is_title(title, cells, sink)]
            if not untitled:
                stats.header_row = number
                stats.titles = [(row, title_text(title)) for row, title in seen[:-1]
                                if _texts(title)]
                return (number, cells), []
            stats.unread_header = (number, untitled[0])
            break
        if len(seen) > MAX_TITLE_ROWS:
            break
    return (seen[0] if seen else None), seen[1:]
