"""A header row read against a schema and a mapping: which field or line part each
column gives, and what is wrong with the header itself (a column no field has, one
given twice, a required field with no column), each said as a phrase the registrar's
language says (registrar.phrases)."""

from __future__ import annotations

import re

from registrar.mapping import COURSE_ROWS, COURSE_ROWS_MAPPING, Mapping, header_key, mapping_hint
from registrar.phrases import Phrase, phrase
from registrar.schema import Schema
from registrar.targets import (
    Resolution,
    Target,
    each_spec,
    line_column,
    line_field,
    line_pattern,
)
from registrar.value_characters import lookalike_typed_phrase, unsafe_phrase

_LINE_NUMBER = r"([1-9][0-9]{0,2})"


def field_label(name: str) -> Phrase:
    """A schema field as the registrar's language names it (the catalogue's field.NAME,
    the documents' own label); in English, and wherever no label is known, its name."""
    return phrase(f"field.{name}", name)


class Headers:
    """Resolves header rows for one schema and mapping."""

    def __init__(self, schema: Schema, mapping: Mapping) -> None:
        self.schema = schema
        self.mapping = mapping
        # One row per course: a course's columns are course_<part>, and the row's one
        # line goes to registrar.course_rows, which forms each student's record.
        self.course_rows = mapping.layout == COURSE_ROWS
        own, other = ("()", _LINE_NUMBER) if self.course_rows else (_LINE_NUMBER, "()")
        self._line_patterns = [(g, line_pattern(g, own))
                               for g in schema.lines[:1 if self.course_rows else None]]
        # the other layout's course columns, named in the unknown-column problem
        self._other_layout = [(g, line_pattern(g, other)) for g in schema.lines]
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
                number = int(match[1] or 0)
                return Target(line_field(group, number) if number else group.prefix, part,
                              group, number)
        for each, pattern in self._each_patterns:
            match = pattern.fullmatch(name)
            if match:
                return Target(f"{each.prefix}.{match[1]}", each_spec(each))
        return None

    def _unknown(self, header: str) -> Phrase:
        """The unknown-column sentence, saying so when the column belongs to the other
        layout (an export of one row per course read as one row per student, or back),
        and what to do: a registrar's export holds columns no credential does (a phone
        number, or a mapping's column of another type), and the file is refused for each."""
        name = self.mapping.target(header)
        for group, pattern in self._other_layout:
            match = pattern.fullmatch(name)
            if match is None or group.part(match[2]) is None:
                continue
            if self.course_rows:
                return phrase("reg.header.numbered_course", f"a numbered course column "
                              f"({name}), but this mapping reads one row per course, whose "
                              f"columns are {group.prefix}_<part>, no number", name=name,
                              prefix=group.prefix)
            return phrase("reg.header.course_rows_column", f"a column of an export of one row "
                          f"per course ({name}), but this mapping reads one row per student: "
                          f"give a mapping with layout = \"{COURSE_ROWS}\" (shipped: "
                          f"--mapping {COURSE_ROWS_MAPPING})", name=name, layout=COURSE_ROWS,
                          mapping=COURSE_ROWS_MAPPING)
        kind = self.schema.credential_type
        said_kind = phrase(f"type.{kind}", kind)
        if name != header_key(header):
            return phrase("reg.header.not_held", f"the mapping reads this column as {name}, "
                          f"which the {kind} credential does not hold: delete the column from the "
                          "export",
                          field=name, type=said_kind)
        return phrase("reg.header.unknown", f"the {kind} credential has no field of this "
                      "name, and the mapping gives it none: delete the column from the export, "
                      "or list it under ignore in a mapping file of your own (--mapping "
                      "FILE.toml)",
                      type=said_kind)

    def _resolve(self, keys: tuple[str, ...]) -> Resolution:
        found = Resolution([], {}, [])
        seen_keys: dict[str, str] = {}  # a header's key -> the first header of that key
        for position, header in enumerate(keys, start=1):
            key = header_key(header)
            target = None
            if not key:
                found.unheaded.append(position - 1)
            elif key in seen_keys:
                first = seen_keys[key]
                # "IIN" and "iin " are one column name: which to issue is not ours to guess
                found.problems.append((header, "duplicate-header", phrase(
                    "reg.header.twice", "this header appears more than once")
                    if first == header else phrase(
                    "reg.header.twice_as", f"this header and {first!r} are one name once "
                    "letter case and spaces are set aside: rename or delete one of them",
                    other=first)))
            elif self.mapping.ignores(header):
                seen_keys[key] = header  # e.g. row numbers: read past, as the mapping says
            else:
                seen_keys[key] = header
                target = self._target(self.mapping.target(header))
                slot = (f"{target.field}.{target.spec.name}" if target and target.line
                        else target.field if target else "")
                invisible = unsafe_phrase(header)
                # "іin" with a Kazakh і, "ИИH" with a Latin H: read as a name it does not say
                # (a joined "КредитыECTS" is a column no mapping knows, said as one)
                mixed = None if target or invisible else lookalike_typed_phrase(header)
                if target is None:
                    found.problems.append((header, "unknown-column", phrase(
                        "reg.header.invisible", f"the header {invisible.english}",
                        why=invisible) if invisible
                        else phrase("reg.header.mixed", f"in the header, {mixed.english}",
                                    why=mixed) if mixed
                        else self._unknown(header)))
                elif slot in found.header_of:
                    other = found.header_of[slot]
                    found.problems.append((header, "duplicate-header", phrase(
                        "reg.header.same_field", f"this column and {other!r} both give {slot}",
                        other=other, field=slot)))
                    target = None
                else:
                    found.header_of[slot] = header
            found.targets.append(target)
        for spec in self.schema.fields:
            if spec.required and spec.name not in found.header_of:
                found.problems.append((spec.name, "missing-column", phrase(
                    "reg.header.missing", f"the required field {spec.name} has no column",
                    field=spec.name, label=field_label(spec.name))))
        if self.course_rows:  # each row's course needs these; a wide row may have no line
            group = self.schema.lines[0]
            for part in group.parts:
                if part.required and f"{group.prefix}.{part.name}" not in found.header_of:
                    name = line_column(group, 0, part.name)
                    found.problems.append((name, "missing-column", phrase(
                        "reg.header.missing_part", f"the course part {name} has no column",
                        name=name)))
        if any(code == "missing-column" for _, code, _ in found.problems):
            hint = mapping_hint(keys, self.mapping, lambda other: Headers(
                self.schema, other).known_columns(keys),
                self.schema.credential_type)
            if hint:  # first: it is why the rest are there
                found.problems.insert(0, (None, "wrong-mapping", hint))
        return found

    def known_columns(self, keys: tuple[str, ...]) -> int:
        """How many of a row's cells name a column the schema or mapping knows (a title
        row above the header names none; registrar.rows.find_header)."""
        return sum(1 for header in keys if header_key(header) and (
            self.mapping.ignores(header) or self._target(self.mapping.target(header))))

    def ignores(self, header: str) -> bool:
        return self.mapping.ignores(header)

    def column_formats(self, keys: tuple[str, ...]) -> tuple[str | None, ...]:
        """The format of the field each header gives, None where it gives none (a
        title row is judged by what it holds under the IIN and date columns)."""
        targets = [None if not header_key(header) or self.mapping.ignores(header)
                   else self._target(self.mapping.target(header)) for header in keys]
        return tuple(target.spec.format if target else None for target in targets)

