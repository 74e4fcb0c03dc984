"""What a dry run shows of an export: a line on the file as read, the title rows read
past above its header, the first records as the documents will read, and every problem.

Each line is a phrase (registrar.phrases), so the command line says it in the
registrar's language; a record is handed over as it is, for the command line to name
its fields in that language too. `preview` is the English text, as it always was.
"""

from __future__ import annotations

from dataclasses import dataclass

from registrar.course_rows import rows_text
from registrar.csv_header import csv_header_read
from registrar.export import ExportResult, SourceInfo
from registrar.phrases import Phrase, phrase
from registrar.plain_spaces import plain_spaces_said
from registrar.sheet_header import sheet_header_read
from registrar.value_characters import shown

TITLE_SHOWN_CHARS = 100


@dataclass(frozen=True)
class ShownRecord:
    """A clean record as the dry run shows it, under `heading` (its row, or rows)."""

    heading: Phrase
    record: dict[str, str]


def titles_said(source: SourceInfo) -> list[Phrase]:
    """The rows read past above the header, each named by its number and values: a
    student's row taken for a title would show here (registrar.rows.find_header)."""
    if not source.titles:
        return []
    count = len(source.titles)
    # a header of two rows starts at its first (the next line of the dry run names both)
    header = source.header_top or source.header_row
    lines = [phrase("reg.preview.titles", f"header on row {header}; read past "
                    f"{count} title row{'s' if count > 1 else ''} above it (check that none "
                    "is a student's):", row=header, count=count)]
    for row, text in source.titles:
        cut = text if len(text) <= TITLE_SHOWN_CHARS else text[:TITLE_SHOWN_CHARS - 1] + "…"
        cut = shown(cut)  # a direction mark or a line break in a title, as its code
        lines.append(phrase("reg.preview.title_row", f"  row {row}: {cut}", row=row,
                            text=cut))
    return lines


def titles_read_past(source: SourceInfo) -> list[str]:
    return [line.english for line in titles_said(source)]


def _summary(result: ExportResult) -> Phrase:
    source, grouping = result.source, result.grouping
    sheet: Phrase | str = ""
    if source.sheet is not None:
        english = f"sheet {source.sheet!r}"
        name = shown(source.sheet)
        sheet = (phrase("reg.preview.sheet_of", f", {english} (the first of {source.sheets}; "
                        "no other sheet is read)", sheet=name, sheets=source.sheets)
                 if source.sheets > 1 else
                 phrase("reg.preview.sheet", f", {english}", sheet=name))
    delimiter: Phrase | str = "" if not source.delimiter else phrase(
        "reg.preview.delimiter", f", delimiter {source.delimiter!r}",
        delimiter=repr(source.delimiter))
    rows: Phrase
    if grouping is None:
        rows = phrase("reg.preview.rows", f"{source.rows} rows", rows=source.rows)
    else:
        students = ("1 student's transcript" if grouping.students == 1
                    else f"{grouping.students} students' transcripts")
        unplaced: Phrase | str = "" if not grouping.unplaced else phrase(
            "reg.preview.unplaced", f" ({grouping.unplaced} "
            f"row{'s' if grouping.unplaced > 1 else ''} naming no student)",
            count=grouping.unplaced)
        rows = phrase("reg.preview.grouped", f"{source.rows} rows, one per course, grouped "
                      f"into {students}{unplaced}", rows=source.rows,
                      students=grouping.students, unplaced=unplaced)
    encoding = f", {source.encoding}" if source.encoding else ""
    english = (f"{source.format}{sheet}{encoding}{delimiter}: {rows}"
               f"{'; ' if grouping else ', '}{result.count} records ready, "
               f"{result.problem_count} problems")
    return phrase("reg.preview.summary", english, format=source.format, sheet=sheet,
                  encoding=encoding, delimiter=delimiter, rows=rows, count=result.count,
                  problems=result.problem_count)


def preview_said(result: ExportResult, limit: int = 3) -> list[Phrase | ShownRecord]:
    """For a dry run: the first records as the documents will read, then every problem
    (each problem's own phrase is its Problem.said; the command line frames them)."""
    source = result.source
    lines: list[Phrase | ShownRecord] = [_summary(result), *titles_said(source)]
    if source.header_top is not None:
        lines.append(csv_header_read(source.header_top) if source.format == "csv"
                     else sheet_header_read(source.header_top))
    if source.unread_header is not None:
        header, row = source.unread_header
        lines.append(phrase(
            "reg.preview.unread_header", f"row {header} looks like the header, but row {row} "
            "above it is no title (it may be a student's row), so the file is read from row "
            "1: put the header on row 1 and every student's row below it", header=header,
            row=row))
    lines.extend(plain_spaces_said(result.plain_spaces))
    grouping = result.grouping
    for row, record in result.sample[:limit]:
        rows_of = grouping.rows_of.get(row) if grouping is not None else None
        heading = (phrase("reg.preview.record_rows", f"rows {rows_text(rows_of)}:",
                          rows=rows_text(rows_of)) if rows_of and len(rows_of) > 1
                   else phrase("reg.preview.record_row", f"row {row}:", row=row))
        lines.append(ShownRecord(heading, record))
    if result.problems:
        lines.append(phrase("reg.preview.problems", "problems (nothing will be issued until "
                            "all are fixed):"))
    return lines
