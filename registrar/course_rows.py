"""Transcripts exported one row per course taken (a mapping's `layout = "course-rows"`).

Registrar systems (Platonus' transcript report, 1C, university SIS exports) often
write a transcript as one row per course, the student's columns (IIN, name,
programme, GPA, total credits...) repeated on each of that student's rows. Here
those rows are grouped by the schema's first unique field (the IIN for transcripts)
and each group becomes the record an export of one row per student gives: the
student's fields from their rows, which must agree, and `course.01`, `course.02`...
in the order of their rows in the file, checked as one record (points, bands,
total credits, GPA, the registry of issued students).

A student's rows need not be together: an export sorted by course works, so no
record is formed before the whole file is read. What is held meanwhile is each
student's first row's fields and, per course, its line as it will be issued
(bounded: at most the schema's lines per student, and MAX_RECORDS rows in all).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from registrar.formats import same_value
from registrar.headers import field_label
from registrar.mapping import COURSE_ROWS, Mapping, check_reads
from registrar.phrases import phrase
from registrar.rows import RawRow
from registrar.schema import Schema, SchemaError
from registrar.targets import line_column, line_field
from registrar.validate import SAMPLE_RECORDS, RowValues, Validator, required_phrase

ROWS_NAMED_MAX = 8  # row numbers a sentence names before it says "…"


def check_layout(schema: Schema, mapping: Mapping) -> None:
    """Raise SchemaError when a mapping cannot form this schema's records: it is made for
    other credential types, or its layout needs what the schema lacks."""
    check_reads(mapping, schema.credential_type)
    if mapping.layout != COURSE_ROWS:
        return
    if len(schema.lines) != 1 or not schema.unique:
        raise SchemaError(
            f"mapping {mapping.name} reads one row per course (layout = \"{COURSE_ROWS}\"): "
            f"it needs a schema with one group of course lines and a unique field to group "
            f"a student's rows by; the {schema.credential_type} schema has "
            f"{len(schema.lines)} line groups and {len(schema.unique)} unique fields")


def rows_text(rows: list[int] | tuple[int, ...]) -> str:
    """Row numbers as a registrar reads them: "2-5" for a run, the first few of many."""
    runs: list[str] = []
    start = previous = rows[0]
    for row in [*rows[1:], None]:
        if row is not None and row == previous + 1:
            previous = row
            continue
        runs.append(f"{start}" if start == previous else f"{start}-{previous}")
        if row is not None:
            start = previous = row
    shown = ", ".join(runs[:ROWS_NAMED_MAX])
    return shown + (f", … ({len(rows)} rows)" if len(runs) > ROWS_NAMED_MAX else "")


@dataclass
class _Student:
    first: int  # the row whose fields the others must repeat, and the record's row
    header_of: dict[str, str]  # field -> column, in the first row's header
    record: dict[str, str]
    failed: set[str]
    ok: bool
    rows: list[int] = field(default_factory=list)
    # per course: (row, the line as issued, the credits and grade the totals need)
    lines: list[tuple[int, str, dict[str, str]]] = field(default_factory=list)
    codes: dict[str, int] = field(default_factory=dict)  # course code -> its row
    over: bool = False  # more courses than a record holds: said once


@dataclass(frozen=True)
class Grouping:
    """What grouping made of the rows: `rows` placed with `students` students (the
    transcripts formed), `unplaced` rows naming no usable student, and the rows of
    each record in the sample."""

    rows: int
    students: int
    unplaced: int
    rows_of: dict[int, tuple[int, ...]]


class CourseRows:
    """Takes the rows in place of `Validator.add`; `finish` forms the records and hands
    them to `Validator.accept`, as each row of the other layout is."""

    def __init__(self, validator: Validator) -> None:
        check_layout(validator.schema, validator.mapping)
        self.validator = validator
        self.group = validator.schema.lines[0]
        self.key = validator.schema.unique[0]
        self.students: dict[str, _Student] = {}
        self.unplaced = 0
        self.received: set[int] = set()  # every row handed to `add`, blank ones too

    def add(self, row: RawRow) -> None:
        self.received.add(row.number)
        prepared = self.validator.prepare(row)
        if prepared is None:
            return
        resolution, values = prepared
        unheaded = self.validator.unheaded_value(row.number, resolution, values)
        found = self.validator.read_row(row.number, resolution, row.keys, values)
        key = found.record.get(self.key)
        if key is None:
            self.unplaced += 1
            if self.key not in found.failed and self.key in resolution.header_of:
                self.validator.problems.add(
                    row.number, resolution.header_of[self.key], "missing",
                    required_phrase(self.key, True))
            return
        student = self.students.get(key)
        if student is None:
            student = _Student(row.number, resolution.header_of, found.record, found.failed,
                               True)
            self.students[key] = student
        else:
            self._agree(row.number, resolution.header_of, student, found)
        student.rows.append(row.number)
        student.ok = student.ok and found.ok and not resolution.problems and not unheaded
        self._course(row.number, resolution.header_of, student, found)

    def _agree(self, number: int, header_of: dict[str, str], student: _Student,
               found: RowValues) -> None:
        """A student's value is one value: each row repeats the first row's, compared
        as checked (a date written DD.MM.YYYY is the same date in YYYY-MM-DD) and, for
        a number, by its value (a GPA of 3.110 is 3.11); the record keeps the first
        row's."""
        for name in dict.fromkeys([*student.record, *found.record]):
            if name in student.failed or name in found.failed:
                continue  # already a problem of its own row
            first, here = student.record.get(name), found.record.get(name)
            spec = self.validator.schema.field(name)
            if first == here or (first is not None and here is not None and spec is not None
                                 and same_value(spec.format, first, here)):
                continue
            said = f"gives {first!r}" if first is not None else "gives none"
            english = (f"{'no ' + name if here is None else repr(here)} here, but this "
                       f"student's first row, row {student.first}, {said}: every row of a "
                       "student must repeat the same student values")
            key = ("reg.rows.differ" if here is not None and first is not None
                   else "reg.rows.differ_none_here" if here is None else "reg.rows.differ_none")
            self.validator.problems.add(
                number, header_of.get(name) or student.header_of.get(name, name),
                "inconsistent", phrase(key, english, here=here or "", first=first or "",
                                       row=student.first, label=field_label(name)))
            student.ok = False

    def _course(self, number: int, header_of: dict[str, str], student: _Student,
                found: RowValues) -> None:
        prefix = self.group.prefix
        line = found.lines.get(prefix)
        if line is None:
            if prefix not in found.failed:
                self.validator.problems.add(
                    number, header_of.get(f"{prefix}.code", line_column(self.group, 0, "code")),
                    "missing", phrase("reg.rows.no_course", "this row holds no course: each "
                                      "row of this export is one course taken"))
            student.ok = False
            return
        target, parts = line
        code = parts.get("code")
        earlier = student.codes.setdefault(code, number) if code is not None else number
        if earlier != number:
            self.validator.problems.add(
                number, header_of.get(f"{prefix}.code", line_column(self.group, 0, "code")),
                "duplicate-course", phrase(
                    "reg.rows.duplicate_course", f"course {code} is on row {earlier} too, for "
                    "the same student: a course is one line of a transcript (retaken: keep "
                    "only the row of the grade the transcript shows)", code=str(code),
                    row=earlier))
            student.ok = False
            return
        if len(student.lines) >= self.group.max_items:
            if not student.over:
                self.validator.problems.add(
                    number, None, "line-count", phrase(
                        "reg.rows.too_many_courses", f"this student's rows (the first: row "
                        f"{student.first}) hold more than {self.group.max_items} courses, the "
                        "most a transcript holds", row=student.first,
                        max=self.group.max_items))
            student.over = True
            student.ok = False
            return
        text = self.validator.line_text(number, header_of, target, parts)
        if text is None:
            student.ok = False
            return
        student.lines.append((number, text, {part: parts[part] for part in ("credits", "grade")
                                             if part in parts}))

    def finish(self) -> Grouping:
        """Form and check every student's record once the whole file is read."""
        validator = self.validator
        withheld = self._withheld()
        rows_of: dict[int, tuple[int, ...]] = {}
        for student in self.students.values():
            record = dict(student.record)
            for index, (_, text, _) in enumerate(student.lines, start=1):
                record[line_field(self.group, index)] = text
            # A row that names no student may be one of this student's courses: its
            # totals cannot be judged until that row is fixed.
            ok = student.ok and not self.unplaced and not withheld
            ok = validator.check_record(student.first, student.header_of, record,
                                        [totals for _, _, totals in student.lines], ok,
                                        rows_text(student.rows))
            if not ok:
                validator.check_refused_row(student.first, record, student.header_of)
                continue
            sampled = len(validator.sample)
            validator.accept(student.first, record, student.header_of)
            if len(validator.sample) > sampled and sampled < SAMPLE_RECORDS:
                rows_of[student.first] = tuple(student.rows)
        return Grouping(sum(len(s.rows) for s in self.students.values()), len(self.students),
                        self.unplaced, rows_of)

    def _withheld(self) -> bool:
        """Whether the reader kept a row from the grouping (hidden, an Excel error, a
        short row...) or stopped before the end of the file: a problem said at a row
        never handed to `add`, or at none (also when problems went unlisted). Like a row
        naming no student, such a row may be any student's course."""
        return any(problem.row is None or problem.row not in self.received
                   for problem in self.validator.problems.result())
