"""Rows in, records out: headers resolved against the mapping and schema, every
value checked, every fault kept with its row and column.

The rule for empty values, the same for CSV, Excel and JSON: a value is trimmed
of surrounding whitespace (str.strip), and then an empty string, an empty Excel
cell and JSON null all mean "absent". An absent required value is a problem; an
absent optional value leaves the field out of the record. A row whose values are
all absent is not a record and is skipped. Values are otherwise kept exactly as
written, in Unicode's composed form (NFC; see registrar.formats for the other
documented normalisations, and registrar.plain_spaces for a no-break space inside).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from registrar.academic import line_problem
from registrar.formats import GRADE_SCALE, FormatError, check_value
from registrar.headers import Headers, field_label
from registrar.iin import lost_zero
from registrar.lookalike import FirstHolders, lookalike_phrase
from registrar.mapping import Mapping
from registrar.phrases import Phrase, phrase
from registrar.plain_spaces import KEPT_FORMATS, PLAIN_SPACED_FORMATS, PlainSpaces
from registrar.problems import ProblemList
from registrar.record_problems import record_problems
from registrar.rows import RawRow, stray_row
from registrar.schema import Schema
from registrar.targets import Resolution, Target, line_column
from registrar.value_characters import shown

MAX_RECORDS = 200_000
# JSON items each bring their own keys; only this many distinct key lists are remembered.
MAX_HEADER_SHAPES = 64
_LOST_LETTER = re.compile(r"\w\?\w|(?<!\w)\?\w")
# In a value its format refuses, a '?' ending a word is a lost letter too (сынақ, a
# pass: "сына?"); in one it accepts it may be a question mark.
_LOST_AT_END = re.compile(r"[^\W\d_]\?")  # after a letter: "4?" in a mark loses none
_LOST_SENTENCE = phrase("reg.value.lost_letter", "a '?' inside a word: a letter the file's "
                        "encoding could not hold (export as UTF-8)")
# The same '?' in a file whose encoding holds every letter: lost before the file was made,
# as when a system's cp1251 "CSV" is opened in Excel and saved as a workbook or as UTF-8.
_LOST_BEFORE_SENTENCE = phrase(
    "reg.value.lost_letter_before", "a '?' inside a word: a letter lost before this file "
    "was made (a cp1251 CSV opened and saved again?): export it from the system again, as "
    "UTF-8 or as a workbook, and give that file")
SAMPLE_RECORDS = 10


def lost_letter(value: str, lossy_source: bool) -> Phrase | None:
    """Why `value` has lost a letter, or None: read from a file in an encoding that lacks
    Kazakh letters (cp1251, mac-cyrillic: registrar.export.lossy), or lost before the file
    was made (no name, title or code holds a '?' inside a word, whatever the encoding)."""
    if "?" not in value or not _LOST_LETTER.search(value):  # most values: no '?' at all
        return None
    return _LOST_SENTENCE if lossy_source else _LOST_BEFORE_SENTENCE


# Takes each clean record with its row as it is read, instead of a list holding them all.
RecordSink = Callable[[int, dict[str, str]], None]
# A unique value the issuer's registry already holds: its field, the problem's code, and
# the sentence naming where.
Taken = tuple[str, str, str | Phrase]
# (row, its unique values that no earlier row holds, whether the row is sound) -> each
# value taken. Asked with the row's values together, so that values naming two different
# students (a mistyped IIN) are told apart from one student issued before.
IssuedCheck = Callable[[int, dict[str, str], bool], list[Taken]]


@dataclass
class RowValues:
    """One row's values, each checked on its own: fields, line parts by line field,
    and the fields whose value was refused or is missing. `stand_ins`: an IIN refused
    only for the leading zeros Excel drops, as it was (iin.lost_zero), to find the same
    student given twice; never recorded."""

    record: dict[str, str]
    lines: dict[str, tuple[Target, dict[str, str]]]
    failed: set[str]
    ok: bool
    stand_ins: dict[str, str] = dataclasses.field(default_factory=dict)


class Validator(Headers):
    """With `on_record`, clean records go to it while no problem is known (a file with
    problems issues nothing, so there is no point passing on more); otherwise they
    are kept in `records`. `issued` is asked about each unique field's value."""

    def __init__(self, schema: Schema, mapping: Mapping, problems: ProblemList, *,
                 on_record: RecordSink | None = None, issued: IssuedCheck | None = None,
                 today: datetime.date | None = None) -> None:
        super().__init__(schema, mapping)
        self.problems = problems
        self.records: list[dict[str, str]] = []
        self.count = 0
        # one day for the whole file: the day it is read, unless a test gives its own
        self._today = today or datetime.date.today()
        self._on_record = on_record
        self._issued = issued
        self.sample: list[tuple[int, dict[str, str]]] = []
        self.blank_rows = 0
        # cp1251 cannot hold most Kazakh letters; Excel writes "?" for each one lost
        self.lossy_source = False
        # a CSV: its formulas and Excel errors are text, refused by excel_mark_phrase
        self.text_source = False
        self._cache: dict[tuple[str, ...], Resolution] = {}
        # each unique field: its values, each with the first row holding it
        self._seen: dict[str, FirstHolders] = {name: FirstHolders() for name in schema.unique}
        self._unheaded_said: set[int] = set()  # columns whose value was named
        self.plain_spaces = PlainSpaces()

    def header(self, keys: tuple[str, ...], row: int = 1) -> Resolution:
        """Resolve a header, reporting its problems the first time it is seen (a CSV or
        Excel header as soon as it is read, even when no row under it is readable)."""
        resolution = self._cache.get(keys)
        if resolution is None:
            resolution = self._resolve(keys)
            if len(self._cache) < MAX_HEADER_SHAPES:
                self._cache[keys] = resolution
            self._report(resolution, row)
        return resolution

    def _report(self, resolution: Resolution, row: int) -> None:
        for column, code, message in resolution.problems:
            self.problems.add(row, column, code, message)

    def header_knows_no_column(self) -> bool:
        """Whether a header was read and none of its columns is one the schema or mapping
        knows (a workbook's cover page read as its export)."""
        return bool(self._cache) and not any(
            target is not None for resolution in self._cache.values()
            for target in resolution.targets)

    def prepare(self, row: RawRow) -> tuple[Resolution, list[str]] | None:
        """A row's header resolved and its values trimmed; None for a blank row."""
        known = row.keys in self._cache
        resolution = self.header(row.keys, row.header_row)
        if known and row.header_row == row.number:
            self._report(resolution, row.header_row)  # a JSON item brings its own keys
        # NFC: a letter written decomposed (й as и and a combining breve) is canonically
        # the same text, and recorded as the composed one every other record uses
        values = [unicodedata.normalize("NFC", c).strip() if c is not None else ""
                  for c in row.cells]
        if not any(values):
            self.blank_rows += 1
            return None
        return resolution, values

    def unheaded_value(self, number: int, resolution: Resolution, values: list[str]) -> bool:
        """Whether this row holds a value in a column with no header, which nothing would
        issue: said once per column, at its first value (an empty one is no problem: 1C
        reports keep a margin column, Excel saves spacer columns)."""
        held = False
        for index in resolution.unheaded:
            if index >= len(values) or not values[index]:
                continue
            held = True
            if index not in self._unheaded_said:
                self._unheaded_said.add(index)
                self.problems.add(number, f"#{index + 1}", "empty-header", phrase(
                    "reg.header.unheaded_value", f"column {index + 1} has no header, but "
                    f"holds {values[index]!r} here (and maybe below): name the column, or "
                    "delete what it holds", number=index + 1, value=shown(values[index])))
        return held

    def add(self, row: RawRow) -> None:
        """A row of an export of one row per record."""
        prepared = self.prepare(row)
        if prepared is None:
            return
        resolution, values = prepared
        unheaded = self.unheaded_value(row.number, resolution, values)
        stray = stray_row(values, [target is not None and target.spec.format == "iin"
                                   for target in resolution.targets])
        if stray is not None:
            self.problems.add(row.number, None, "not-a-student", stray)
            return
        read = self._record(row.number, resolution, row.keys, values)
        if read.ok and not resolution.problems and not unheaded:
            self.accept(row.number, read.record, resolution.header_of)
        else:
            self.check_refused_row(row.number, read.record, resolution.header_of, read.stand_ins)

    def accept(self, number: int, record: dict[str, str], header_of: dict[str, str]) -> None:
        """A record sound in itself, from row `number`: kept or passed on unless another
        record or an earlier job already names its student."""
        if not self._unique(number, record, header_of, sound=True):
            return
        self.count += 1
        if self._on_record is None:
            self.records.append(record)
        elif not self.problems:
            self._on_record(number, record)
        if len(self.sample) < SAMPLE_RECORDS:
            self.sample.append((number, record))

    def check_refused_row(self, number: int, record: dict[str, str],
                          header_of: dict[str, str],
                          stand_ins: dict[str, str] | None = None) -> None:
        """A record with problems of its own, holding only its values that passed their
        checks: those of its unique fields still name its student, so a student given
        twice, or issued already, is said in the same run as the rest of its problems
        rather than only once they are fixed.

        Only a row that names a student by its first unique field (the IIN; or its
        `stand_ins`) is checked so. A header repeated on each printed page (1C, Platonus)
        or a totals row holds no IIN, and its words under the other unique field (the
        header's own "ID студента", an "Итого") would read as a student given twice;
        comparing a row with its header would still miss the totals rows."""
        first = self.schema.unique[:1]
        if first and (first[0] in record or first[0] in (stand_ins or {})):
            self._unique(number, record, header_of, stand_ins, sound=False)

    def read_row(self, number: int, resolution: Resolution, keys: tuple[str, ...],
                 values: list[str]) -> RowValues:
        """Every value of one row checked on its own; a required field absent here is
        a problem (and, like a refused value, named in `failed`), as is one whose column
        this row's header lacks (named in `failed`; the header's problem says it)."""
        found = RowValues({}, {}, set(), True)
        for target, value, header in zip(resolution.targets, values, keys, strict=True):
            if target is None or not value:
                continue
            try:
                checked = check_value(target.spec.format, value, self.text_source)
            except FormatError as exc:
                padded = (lost_zero(value) if target.spec.format == "iin"
                          and target.field in self.schema.unique else None)
                if padded is not None:
                    found.stand_ins[target.field] = padded
                if self.lossy_source and _LOST_AT_END.search(value):
                    # "сына?" in a cp1251 file is "сынақ" with its қ lost, not a bad word
                    self.problems.add(number, header, "lost-letter", _LOST_SENTENCE)
                else:
                    self.problems.add(number, header, exc.code, exc.said or str(exc))
                found.failed.add(target.field)
                continue
            if not checked:  # a word meaning none ("нет" under honours): as an empty cell
                continue
            if target.field in self.schema.unique or target.spec.format in KEPT_FORMATS:
                # matched exactly as issued before (registrar.plain_spaces)
                checked = self.plain_spaces.keep(number, header, checked)
            elif target.spec.format in PLAIN_SPACED_FORMATS:
                checked = self.plain_spaces.plain(number, header, checked)
            wrong = self.mapping.digits_problem(header, checked)
            if wrong is not None:
                self.problems.add(number, header, "bad-format", wrong)
                found.failed.add(target.field)
                continue
            lost = lost_letter(checked, self.lossy_source)
            if lost is not None:
                # course titles too: a line's parts are as visible as the name
                self.problems.add(number, header, "lost-letter", lost)
                found.failed.add(target.field)
                continue
            if target.line is None:
                found.record[target.field] = checked
            else:
                found.lines.setdefault(target.field, (target, {}))[1][target.spec.name] = checked
        found.ok = not found.failed
        for spec in self.schema.fields:
            if not spec.required or spec.name in found.record or spec.name in found.failed:
                continue
            # With no column, its header's missing-column is the problem; a row of another
            # header (a JSON item's own keys) that gives the value is not blamed for it.
            if spec.name in resolution.header_of:
                    self.problems.add(number, resolution.header_of[spec.name], "missing",
                                  required_phrase(spec.name, self.course_rows
                                                  and self.schema.unique[:1] == (spec.name,)))
            found.failed.add(spec.name)
            found.ok = False
        found.lines = {f: line for f, line in found.lines.items() if f not in found.failed}
        return found

    def _record(self, number: int, resolution: Resolution, keys: tuple[str, ...],
                values: list[str]) -> RowValues:
        """A row's record (of a row with problems, the values that passed their checks),
        with its course lines, and whether it is sound."""
        row = self.read_row(number, resolution, keys, values)
        record, ok = row.record, row.ok
        courses: list[dict[str, str]] = []
        for field in sorted(row.lines, key=lambda f: row.lines[f][0].number):
            target, parts = row.lines[field]
            text = self.line_text(number, resolution.header_of, target, parts)
            if text is None:
                ok = False
                continue
            record[field] = text
            if self.schema.lines and target.line == self.schema.lines[0]:
                courses.append(parts)
        row.ok = self.check_record(number, resolution.header_of, record, courses, ok)
        return row

    def line_text(self, number: int, header_of: dict[str, str], target: Target,
                  parts: dict[str, str]) -> str | None:
        """A course line as its field's value (compact JSON, sorted keys), or None
        when it lacks a required part or contradicts itself (reported)."""
        group = target.line
        assert group is not None
        where = (phrase("reg.line.numbered", f"course line {target.number}",
                        number=target.number) if target.number
                 else phrase("reg.line.this_row", "this row's course"))
        missing = [p.name for p in group.parts if p.required and p.name not in parts]
        if missing and not target.number and f"{target.field}.{missing[0]}" not in header_of:
            return None  # one row per course: its header's missing-column said it once
        if not missing and parts.get("grade") not in GRADE_SCALE and _zero(parts.get("points")):
            # Some exports write 0 points on a pass or word-graded line for "none": it is
            # what an empty cell says, and the line is recorded with no points.
            del parts["points"]
        bad = None if missing else line_problem(parts) if self.schema.check_totals else None
        if missing or bad:
            part, message = (missing[0], phrase("reg.line.lacks", f"{where} lacks {missing[0]}",
                                                where=where, part=field_label(missing[0]))
                             ) if missing else bad  # type: ignore[misc]
            self.problems.add(number, header_of.get(f"{target.field}.{part}",
                                                    line_column(group, target.number, part)),
                              "missing" if missing else "inconsistent", message)
            return None
        return json.dumps(parts, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    def check_record(self, number: int, header_of: dict[str, str], record: dict[str, str],
                     courses: list[dict[str, str]], ok: bool, rows: str = "") -> bool:
        """What a whole record must satisfy (registrar.record_problems), each fault named
        at row `number` in its field's column; whether the record is sound."""
        found = record_problems(self.schema, record, courses, ok, self._today, rows)
        for field, code, message in found:
            self.problems.add(number, None if field is None else header_of.get(field, field),
                              code, message)
        return ok and not found

    def _unique(self, number: int, record: dict[str, str], header_of: dict[str, str],
                stand_ins: dict[str, str] | None = None, *, sound: bool) -> bool:
        """Whether no earlier row, nor the issuer's registry, names this row's student.
        A stand-in (RowValues.stand_ins) is compared with the earlier rows only; the
        values no earlier row holds are asked of the registry together. `sound`: the row
        has no problem of its own (a correction is counted only for such a row)."""
        ok = True
        fresh: dict[str, str] = {}
        for name, seen in self._seen.items():
            value = record.get(name)
            compared = value if value is not None else (stand_ins or {}).get(name)
            if compared is None:
                continue
            earlier, first = seen.first(number, compared)
            if earlier != number:
                self.problems.add(number, header_of.get(name, name), "duplicate-student",
                                  phrase("reg.row.duplicate", f"the same {name} as row "
                                         f"{earlier}", field=name, label=field_label(name),
                                         row=earlier) if first == compared
                                  else lookalike_phrase(name, earlier, first, compared))
                ok = False
            elif value is not None:
                fresh[name] = value
        if self._issued is not None and fresh:
            for name, code, said in self._issued(number, fresh, sound and ok):
                self.problems.add(number, header_of.get(name, name), code, said)
                ok = False
        return ok


def required_phrase(name: str, whose: bool) -> Phrase:
    """A required value missing; `whose`: it names whose course a row of one row per
    course is."""
    if whose:
        return phrase("reg.row.required_whose", f"{name} is required: it says whose course "
                      "this row is", field=name, label=field_label(name))
    return phrase("reg.row.required", f"{name} is required", field=name,
                  label=field_label(name))


def _zero(value: str | None) -> bool:
    """Whether a course line's points read as zero (0, 0.0, 0.00 as formats give them)."""
    try:
        return value is not None and Decimal(value) == 0
    except ArithmeticError:
        return False
