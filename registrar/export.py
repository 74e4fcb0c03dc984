"""Read a registrar's export (CSV, Excel .xlsx or JSON) into validated records.

Nothing here knows about the chain: the caller issues `records` only when
`problems` is empty, and then every record is a dict of field name -> text in
the schema's field names, ready to become a credential document.
"""

from __future__ import annotations

import codecs
import datetime
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from registrar.bad_bytes import first_bad_line
from registrar.course_rows import CourseRows, Grouping, check_layout
from registrar.cover_page import PeopleRows
from registrar.jsonfile import json_rows
from registrar.mapping import IDENTITY, Mapping
from registrar.phrases import phrase
from registrar.plain_spaces import PlainSpaced
from registrar.problems import Problem, ProblemList
from registrar.rows import MAX_TITLE_ROWS, HeaderSink, RawRow, SourceStats, header_columns
from registrar.schema import Schema, SchemaError, load_schema
from registrar.sniff import not_a_workbook
from registrar.textfile import (
    EncodingUnknown,
    LineTooLong,
    bounded_lines,
    csv_rows,
    detect_delimiter,
    detect_encoding,
    forced_over_utf8,
)
from registrar.validate import MAX_RECORDS, IssuedCheck, RecordSink, Validator
from registrar.workbook import xlsx_rows

CSV_SUFFIXES = (".csv", ".txt", ".tsv")


@dataclass(frozen=True)
class SourceInfo:
    format: str  # "csv", "xlsx" or "json"
    encoding: str | None
    delimiter: str | None
    rows: int  # data rows or items read, blank ones not counted
    blank_rows: int = 0
    sheet: str | None = None  # Excel: the sheet read, the first of `sheets`
    sheets: int = 0
    header_row: int = 1  # CSV and Excel: below `titles`, each title row's number and text
    titles: tuple[tuple[int, str], ...] = ()
    unread_header: tuple[int, int] | None = None  # registrar.rows.SourceStats
    header_top: int | None = None  # a header of two rows, the first (header_rows)


@dataclass(frozen=True)
class ExportResult:
    """`records` is empty unless the whole file is clean (and always when they went to
    an `on_record` sink); `count` is how many clean records the file holds; `sample`
    keeps the first clean records with their row numbers, for a dry run. `grouping`
    says what an export of one row per course made of its rows (None otherwise)."""

    records: list[dict[str, str]]
    problems: list[Problem]
    source: SourceInfo
    sample: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    count: int = 0
    grouping: Grouping | None = None
    # every problem found: `problems` lists the first MAX_PROBLEMS, then one that counts
    # the rest (too-many-problems)
    problem_count: int = 0
    # the code of every problem found, listed or not
    problem_codes: frozenset[str] = frozenset()
    # the columns whose values held a no-break space, recorded as a plain space
    plain_spaces: tuple[PlainSpaced, ...] = ()

    @property
    def only_students_taken(self) -> bool:
        """Whether every problem is `already-issued`: a student issued before with the
        row's values, or named by an unfinished job, with the row's values or by its
        student id given with another IIN (finishing that job decides which, or deleting
        it when it sent nothing): the export itself may be right (a run stopped and
        started again). A row whose values name two credentials, or an issued one
        recorded with another value of a field the row gives, is `issued-mismatch`: a
        fault to check."""
        return self.problem_codes == {"already-issued"}

    @property
    def ok(self) -> bool:
        return not self.problems and self.count > 0


def lossy(encoding: str | None) -> bool:
    """Whether Excel, saving in `encoding`, wrote "?" for the Kazakh letters it lacks
    (cp1251, however the registrar spells it; mac-cyrillic likewise)."""
    try:
        return encoding is not None and codecs.lookup(encoding).name in ("cp1251",
                                                                         "mac-cyrillic")
    except LookupError:
        return False


def _starts_with_bom(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(3) == codecs.BOM_UTF8


def _text_rows(path: Path, kind: str, encoding: str | None, delimiter: str | None,
               stats: SourceStats, problems: ProblemList, info: dict[str, str | None],
               on_header: HeaderSink, max_columns: int) -> Iterator[RawRow]:
    try:
        chosen = encoding or detect_encoding(path)
        if codecs.lookup(chosen).name == "utf-8" and _starts_with_bom(path):
            chosen = "utf-8-sig"  # a forced "utf-8" must not leave the BOM in the first header
    except LookupError:
        problems.add(None, None, "encoding", phrase(
            "reg.encoding.no_such", f"unknown encoding {encoding!r}", encoding=str(encoding)))
        return
    except EncodingUnknown as exc:
        problems.add(None, None, "encoding", exc.said)
        return
    try:
        opened = path.open(encoding=chosen, newline="")
    except LookupError:  # a codec of bytes, such as base64, is no text encoding
        problems.add(None, None, "encoding", phrase(
            "reg.encoding.not_text_codec", f"{encoding!r} is not a text encoding",
            encoding=str(encoding)))
        return
    misread = forced_over_utf8(path, chosen) if encoding else None
    if misread:
        opened.close()
        problems.add(None, None, "encoding", misread)
        return
    info["encoding"] = chosen
    with opened as handle:
        if kind == "json":
            yield from json_rows(handle, stats, problems, chosen)
            return
        if delimiter is None:
            try:  # the header may stand below title lines
                delimiter = detect_delimiter("".join(itertools.islice(
                    bounded_lines(handle), MAX_TITLE_ROWS + 1)), on_header, max_columns)
            except LineTooLong:
                delimiter = ","  # csv_rows says so, at the line
            except UnicodeError as exc:  # a forced UTF-16 without a BOM is no decode error
                line = first_bad_line(path, chosen)
                if line is not None and line > 1:  # a row below the header's, in its chunk
                    problems.add(line, None, "encoding", phrase(
                        "reg.encoding.fails_here", f"the file cannot be read as {chosen} from "
                        f"about this row on ({exc})", encoding=chosen, why=str(exc)))
                    return
                problems.add(1, None, "encoding", phrase(
                    "reg.encoding.header", f"the header cannot be read as {chosen}: {exc}",
                    encoding=chosen, why=str(exc)))
                return
            handle.seek(0)
        info["delimiter"] = delimiter
        yield from csv_rows(handle, delimiter, stats, problems, chosen, on_header, max_columns)


def read_export(path: Path, credential_type: str, *, encoding: str | None = None,
                mapping: Mapping | None = None, schema: Schema | None = None,
                delimiter: str | None = None, on_record: RecordSink | None = None,
                issued: IssuedCheck | None = None, today: datetime.date | None = None
                ) -> ExportResult:
    """Parse and validate a whole export, streaming rows; raises SchemaError only
    for a schema that cannot be loaded or that the mapping's layout cannot fill
    (registrar.course_rows.check_layout), and reports everything else as problems.

    `on_record` takes each clean record as it is read (nothing is kept), so a caller
    can hash as it goes; it must discard what it got if problems are reported.
    `issued` says whether a unique field's value was already issued (see
    registrar.issued). `today`: the day dates are checked against (registrar.record_dates),
    the day it is read unless given."""
    schema = schema or load_schema(credential_type)
    if schema.credential_type != credential_type:
        raise SchemaError(f"schema is for {schema.credential_type}, not {credential_type}")
    mapping = mapping or IDENTITY
    check_layout(schema, mapping)
    problems = ProblemList()
    stats = SourceStats()
    info: dict[str, str | None] = {"encoding": None, "delimiter": None}
    suffix = path.suffix.lower()
    kind = ("csv" if suffix in CSV_SUFFIXES else "json" if suffix == ".json"
            else "xlsx" if suffix == ".xlsx" else "")
    validator = Validator(schema, mapping, problems, on_record=on_record, issued=issued,
                          today=today)
    validator.text_source = kind == "csv"
    courses = CourseRows(validator) if validator.course_rows else None
    people = PeopleRows()  # a workbook's: whether its first sheet is a list or a cover
    plainly = not_a_workbook(path) if suffix == ".xls" else None
    if plainly is not None:  # often a web page some systems' "export to Excel" names .xls
        kind = "xls"
        problems.add(None, None, "format", phrase("reg.file.xls", f"cannot read this .xls: "
                                                  f"{plainly}", why=plainly))
    elif not kind:
        english = (f"cannot read {suffix or 'a file without a suffix'}: give a .csv, .txt, "
                   ".tsv, .xlsx or .json export (save .xls as .xlsx)")
        problems.add(None, None, "format", phrase("reg.file.suffix", english, suffix=suffix)
                     if suffix else phrase("reg.file.no_suffix", english))
    else:
        try:
            rows = (xlsx_rows(path, stats, problems, validator, people,
                              header_columns(schema)) if kind == "xlsx"
                    else _text_rows(path, kind, encoding, delimiter, stats, problems, info,
                                    validator, header_columns(schema)))
            for row in rows:
                if stats.rows > MAX_RECORDS:
                    problems.add(row.number, None, "too-many-rows", phrase(
                        "reg.file.too_many_rows", f"an export holds at most {MAX_RECORDS} "
                        "rows; split the file", max=MAX_RECORDS))
                    break
                validator.lossy_source = lossy(info["encoding"])
                if courses is None:
                    validator.add(row)
                else:
                    courses.add(row)
        except OSError as exc:
            why = exc.strerror or str(exc)
            problems.add(None, None, "unreadable", phrase(
                "reg.file.unreadable", f"cannot read {path}: {why}", path=str(path), why=why))
    grouping = courses.finish() if courses is not None else None
    if stats.visible_sheets > 1 and validator.header_knows_no_column() \
            and "wrong-mapping" not in problems.codes and people.a_cover:
        # Registrars keep an order's cover page or notes before the list: the problems
        # of its "header" alone would not say the students' sheet was never read, and
        # would ask for a mapping of a page that is no list. A first sheet that is the
        # list (a mapping hint for its header, or not PeopleRows.a_cover: two IIN rows,
        # or a row standing in a table and no list on a later sheet) needs no moving.
        problems.lead_instead_of({"unknown-column", "missing-column"}, None, None,
                                 "no-header", phrase(
            "reg.file.first_sheet_unheaded", f"the first sheet, {stats.sheet!r}, names none "
            "of the columns the schema or mapping knows, and only the first of the workbook's "
            f"{stats.sheets} sheets is read: if the students are on another sheet, move that "
            "sheet to the front", sheet=stats.sheet or "", sheets=stats.sheets))
    if not problems and not validator.count:
        problems.add(None, None, "no-records", phrase("reg.file.no_records",
                                                      "the export holds no records"))
    found = problems.result()
    source = SourceInfo(kind, info["encoding"], info["delimiter"], stats.rows,
                        validator.blank_rows, stats.sheet, stats.sheets, stats.header_row,
                        tuple(stats.titles), stats.unread_header, stats.header_top)
    return ExportResult([] if found else validator.records, found, source, validator.sample,
                        0 if found else validator.count, grouping, problems.count,
                        frozenset(problems.codes), validator.plain_spaces.found())
