"""Rows in, records out: headers resolved against the mapping and schema, every
value checked, every fault kept with its row and column.

The rule for empty values, the same for CSV, Excel and JSON: a value is trimmed
of surrounding whitespace (str.strip), and then an empty string, an empty Excel
cell and JSON null all mean "absent". An absent required value is a problem; an
absent optional value leaves the field out of the record. A row whose values are
all absent is not a record and is skipped. Values are otherwise kept exactly as
written (see registrar.formats for the two documented normalisations).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from registrar.academic import line_problem, totals_problems
from registrar.formats import FormatError, check_value
from registrar.iin import birth_date_of
from registrar.mapping import Mapping, header_key
from registrar.problems import ProblemList
from registrar.rows import RawRow
from registrar.schema import MAX_RECORD_FIELDS, EachGroup, FieldSpec, LineGroup, Schema

MAX_RECORDS = 200_000
# JSON items each bring their own keys; only this many distinct key lists are remembered.
MAX_HEADER_SHAPES = 64
_LOST_LETTER = re.compile(r"\w\?\w|(?<!\w)\?\w")
SAMPLE_RECORDS = 10

# Takes each clean record with its row as it is read, instead of a list holding them all.
RecordSink = Callable[[int, dict[str, str]], None]
# (row, field, value) -> a sentence naming where this value was already issued, or None.
IssuedCheck = Callable[[int, str, str], str | None]


@dataclass(frozen=True)
class Target:
    """Where a column's values go: a field, a part of line n, or an each-group item."""

    field: str
    spec: FieldSpec
    line: LineGroup | None = None
    number: int = 0


@dataclass
class _Resolution:
    targets: list[Target | None]
    header_of: dict[str, str]
    problems: list[tuple[str | None, str, str]]


def line_field(group: LineGroup, number: int) -> str:
    return f"{group.prefix}.{number:02d}"


class Validator:
    """With `on_record`, clean records go to it while no problem is known (a file with
    problems issues nothing, so there is no point passing on more); otherwise they
    are kept in `records`. `issued` is asked about each unique field's value."""

    def __init__(self, schema: Schema, mapping: Mapping, problems: ProblemList, *,
                 on_record: RecordSink | None = None, issued: IssuedCheck | None = None
                 ) -> None:
        self.schema = schema
        self.mapping = mapping
        self.problems = problems
        self.records: list[dict[str, str]] = []
        self.count = 0
        self._on_record = on_record
        self._issued = issued
        self.sample: list[tuple[int, dict[str, str]]] = []
        self.blank_rows = 0
        # cp1251 cannot hold most Kazakh letters; Excel writes "?" for each one lost
        self.lossy_source = False
        self._cache: dict[tuple[str, ...], _Resolution] = {}
        self._seen: dict[str, dict[str, int]] = {name: {} for name in schema.unique}
        self._line_patterns = [
            (g, re.compile(re.escape(g.prefix) + r"([1-9][0-9]{0,2})_([a-z0-9_]+)"))
            for g in schema.lines]
        self._each_patterns = [
            (g, re.compile(re.escape(g.prefix) + r"_([a-z0-9_]{1,40})")) for g in schema.each]

    def _target(self, name: str) -> Target | None:
        spec = self.schema.field(name)
        if spec is not None:
            return Target(name, spec)
        for group, pattern in self._line_patterns:
            match = pattern.fullmatch(name)
            part = group.part(match[2]) if match else None
            if match and part is not None:
                return Target(line_field(group, int(match[1])), part, group, int(match[1]))
        for each, pattern in self._each_patterns:
            match = pattern.fullmatch(name)
            if match:
                return Target(f"{each.prefix}.{match[1]}", _each_spec(each))
        return None

    def _resolve(self, keys: tuple[str, ...]) -> _Resolution:
        found = _Resolution([], {}, [])
        seen_keys: set[str] = set()
        for position, header in enumerate(keys, start=1):
            key = header_key(header)
            target = None
            if not key:
                found.problems.append((f"#{position}", "empty-header",
                                       f"column {position} has no header"))
            elif key in seen_keys:
                found.problems.append((header, "duplicate-header",
                                       "this header appears more than once"))
            elif self.mapping.ignores(header):
                seen_keys.add(key)  # e.g. row numbers: read past, as the mapping says
            else:
                seen_keys.add(key)
                target = self._target(self.mapping.target(header))
                slot = (f"{target.field}.{target.spec.name}" if target and target.line
                        else target.field if target else "")
                if target is None:
                    found.problems.append((header, "unknown-column",
                                           "no field of the schema or mapping has this name"))
                elif slot in found.header_of:
                    found.problems.append((header, "duplicate-header",
                                           f"this column and {found.header_of[slot]!r} "
                                           f"both give {slot}"))
                    target = None
                else:
                    found.header_of[slot] = header
            found.targets.append(target)
        for spec in self.schema.fields:
            if spec.required and spec.name not in found.header_of:
                found.problems.append((spec.name, "missing-column",
                                       f"the required field {spec.name} has no column"))
        return found

    def header(self, keys: tuple[str, ...], row: int = 1) -> _Resolution:
        """Resolve a header, reporting its problems the first time it is seen (a CSV or
        Excel header as soon as it is read, even when no row under it is readable)."""
        resolution = self._cache.get(keys)
        if resolution is None:
            resolution = self._resolve(keys)
            if len(self._cache) < MAX_HEADER_SHAPES:
                self._cache[keys] = resolution
            self._report(resolution, row)
        return resolution

    def _report(self, resolution: _Resolution, row: int) -> None:
        for column, code, message in resolution.problems:
            self.problems.add(row, column, code, message)

    def add(self, row: RawRow) -> None:
        known = row.keys in self._cache
        resolution = self.header(row.keys, row.header_row)
        if known and row.header_row == row.number:
            self._report(resolution, row.header_row)  # a JSON item brings its own keys
        values = [c.strip() if c is not None else "" for c in row.cells]
        if not any(values):
            self.blank_rows += 1
            return
        record = self._record(row.number, resolution, row.keys, values)
        if record is not None and not resolution.problems and self._unique(
                row.number, record, resolution):
            self.count += 1
            if self._on_record is None:
                self.records.append(record)
            elif not self.problems:
                self._on_record(row.number, record)
            if len(self.sample) < SAMPLE_RECORDS:
                self.sample.append((row.number, record))

    def _record(self, number: int, resolution: _Resolution, keys: tuple[str, ...],
                values: list[str]) -> dict[str, str] | None:
        record: dict[str, str] = {}
        lines: dict[str, tuple[Target, dict[str, str]]] = {}
        failed: set[str] = set()
        for target, value, header in zip(resolution.targets, values, keys, strict=True):
            if target is None or not value:
                continue
            try:
                checked = check_value(target.spec.format, value)
            except FormatError as exc:
                self.problems.add(number, header, "bad-format", str(exc))
                failed.add(target.field)
                continue
            wrong_digits = self.mapping.digits_problem(header, checked)
            if wrong_digits is not None:
                self.problems.add(number, header, "bad-format", wrong_digits)
                failed.add(target.field)
                continue
            if target.line is None:
                record[target.field] = checked
            else:
                lines.setdefault(target.field, (target, {}))[1][target.spec.name] = checked
        ok = not failed
        for spec in self.schema.fields:
            if (spec.required and spec.name not in record and spec.name not in failed
                    and spec.name in resolution.header_of):
                self.problems.add(number, resolution.header_of[spec.name], "missing",
                                  f"{spec.name} is required")
                ok = False
        if "iin" in record and "birth_date" in record:
            encoded = birth_date_of(record["iin"])
            if encoded is not None and encoded != record["birth_date"]:
                self.problems.add(number, resolution.header_of.get("birth_date", "birth_date"),
                                  "inconsistent", f"the IIN gives the birth date {encoded}")
                ok = False
        if self.lossy_source:
            for field, value in record.items():
                if _LOST_LETTER.search(value):
                    self.problems.add(number, resolution.header_of.get(field, field),
                                      "lost-letter", "a '?' inside a word: a letter the "
                                      "file's encoding could not hold (export as UTF-8)")
                    ok = False
        lines = {f: line for f, line in lines.items() if f not in failed}
        ok = self._lines(number, resolution, record, lines, ok)
        if len(record) > MAX_RECORD_FIELDS:
            self.problems.add(number, None, "too-many-fields",
                              f"a record holds at most {MAX_RECORD_FIELDS} fields")
            ok = False
        return record if ok else None

    def _lines(self, number: int, resolution: _Resolution, record: dict[str, str],
               lines: dict[str, tuple[Target, dict[str, str]]], ok: bool) -> bool:
        """Check course lines and group counts; counts and totals only when
        everything before was sound (a dropped bad line would skew them)."""
        by_group: dict[str, list[dict[str, str]]] = {}
        for field in sorted(lines, key=lambda f: lines[f][0].number):
            target, parts = lines[field]
            group = target.line
            assert group is not None
            missing = [p.name for p in group.parts if p.required and p.name not in parts]
            bad = None if missing else line_problem(parts) if self.schema.check_totals else None
            if missing or bad:
                part, message = (missing[0], f"course line {target.number} lacks {missing[0]}"
                                 ) if missing else bad  # type: ignore[misc]
                column = resolution.header_of.get(f"{field}.{part}",
                                                  f"{group.prefix}{target.number}_{part}")
                self.problems.add(number, column, "missing" if missing else "inconsistent",
                                  message)
                ok = False
                continue
            record[field] = json.dumps(parts, ensure_ascii=False, sort_keys=True,
                                       separators=(",", ":"))
            by_group.setdefault(group.prefix, []).append(parts)
        counts: list[tuple[LineGroup | EachGroup, int]] = [
            (g, len(by_group.get(g.prefix, []))) for g in self.schema.lines]
        counts += [(e, sum(f.startswith(e.prefix + ".") for f in record))
                   for e in self.schema.each]
        for entries, count in counts:
            if ok and not entries.min_items <= count <= entries.max_items:
                self.problems.add(number, None, "line-count",
                                  f"needs {entries.min_items} to {entries.max_items} "
                                  f"{entries.prefix} entries; has {count}")
                ok = False
        course_lines = by_group.get(self.schema.lines[0].prefix, []) if self.schema.lines else []
        if ok and self.schema.check_totals and "gpa" in record and "total_credits" in record:
            for field, message in totals_problems(course_lines, record["gpa"],
                                                  record["total_credits"]):
                self.problems.add(number, resolution.header_of.get(field, field),
                                  "inconsistent", message)
                ok = False
        return ok

    def _unique(self, number: int, record: dict[str, str], resolution: _Resolution) -> bool:
        ok = True
        for name, seen in self._seen.items():
            value = record.get(name)
            if value is None:
                continue
            column = resolution.header_of.get(name, name)
            earlier = seen.setdefault(value, number)
            if earlier != number:
                self.problems.add(number, column, "duplicate-student",
                                  f"the same {name} as row {earlier}")
                ok = False
                continue
            before = self._issued(number, name, value) if self._issued else None
            if before is not None:
                self.problems.add(number, column, "already-issued", before)
                ok = False
        return ok


def _each_spec(group: EachGroup) -> FieldSpec:
    return FieldSpec(group.prefix, group.format, False)

