"""Where a column's values go (a field, a part of a numbered line, an each-group item),
and the names of line columns and fields, for `registrar.validate` and its course-rows
layout (`registrar.course_rows`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from registrar.phrases import Phrase
from registrar.schema import EachGroup, FieldSpec, LineGroup


@dataclass(frozen=True)
class Target:
    """Where a column's values go: a field, a part of line n, or an each-group item."""

    field: str
    spec: FieldSpec
    line: LineGroup | None = None
    number: int = 0


@dataclass
class Resolution:
    targets: list[Target | None]
    header_of: dict[str, str]
    problems: list[tuple[str | None, str, Phrase]]
    # Columns (0-based) with no header: harmless while empty (a report's margin column,
    # a spacer), a problem at the first value one holds (registrar.validate).
    unheaded: list[int] = field(default_factory=list)


def line_field(group: LineGroup, number: int) -> str:
    return f"{group.prefix}.{number:02d}"


def line_column(group: LineGroup, number: int, part: str) -> str:
    """A line part's column as the schema names it: course3_grade, or course_grade in
    an export of one row per course (number 0)."""
    return f"{group.prefix}{number or ''}_{part}"


def line_pattern(group: LineGroup, number: str) -> re.Pattern[str]:
    return re.compile(re.escape(group.prefix) + number + r"_([a-z0-9_]+)")


def each_spec(group: EachGroup) -> FieldSpec:
    return FieldSpec(group.prefix, group.format, False)
