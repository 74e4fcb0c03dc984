"""Column mappings: a registrar system's column headers -> the schema's column names.

A mapping is TOML:

    name = "platonus"
    layout = "student-rows"             # or "course-rows" (below); student-rows if not given
    [columns]
    "ИИН" = "iin"                       # header -> field (or course<n>_<part>, course_<part>,
                                        # subject_<code>)
    [patterns]
    "Дисциплина {n}: код" = "course{n}_code"   # {n} matches a line number 1..999
    ignore = ["№ п/п"]                  # columns read past: never a problem, never issued
    [digits]
    "ID студента" = 8                   # always this many digits in this office's exports

(`ignore` and `layout` go above the tables, as TOML needs.)

`layout` says how the export lays out a transcript. "student-rows": one row per
student, course lines as numbered column groups (course<n>_<part>). "course-rows": one
row per course taken, the student's columns repeated on each of that student's rows,
a course's columns named course_<part> (no number); registrar.course_rows forms each
student's record from their rows, the same record student-rows gives.

A column in `digits` holds codes of exactly that many digits: a shorter one is
refused by row, saying how many leading zeros Excel probably dropped (a code stored
as a number loses them), never padded back, as an IIN is not.

Headers are matched after trimming surrounding whitespace, reading each run of
whitespace inside as one space (a wrapped Excel header holds a line break, one
pasted from Word a non-breaking space) and ignoring case, the same way duplicate
headers are found. A header the mapping does not name (or any header, with no mapping)
is taken as a schema column name the same way: "IIN" or "Full_Name " is iin or
full_name. Two headers that are then one name are refused, naming both
(registrar.headers).
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from registrar.iin import LOST_ZEROS_FIX
from registrar.phrases import Phrase, phrase
from registrar.schema import SchemaError, registrars_toml

BUILT_IN_MAPPINGS = ("platonus", "platonus-course-rows", "kundelik", "1c-zup")
STUDENT_ROWS = "student-rows"
COURSE_ROWS = "course-rows"
LAYOUTS = (STUDENT_ROWS, COURSE_ROWS)
COURSE_ROWS_MAPPING = "platonus-course-rows"  # the shipped mapping of that layout
MAX_MAPPING_ENTRIES = 2000
MAX_CODE_DIGITS = 32
_TARGET = re.compile(r"[a-z][a-z0-9_{}]{0,79}")


def header_key(header: str) -> str:
    """Two headers with the same key name the same column (a duplicate)."""
    return unicodedata.normalize("NFC", " ".join(header.split())).casefold()


@dataclass(frozen=True)
class Mapping:
    name: str
    columns: dict[str, str] = field(default_factory=dict)
    patterns: tuple[tuple[re.Pattern[str], str], ...] = ()
    ignored: frozenset[str] = frozenset()  # header keys of columns read past (row numbers)
    digits: dict[str, int] = field(default_factory=dict)  # header key -> a code's digits
    layout: str = STUDENT_ROWS  # one of LAYOUTS
    # The credential types whose exports it reads; empty: any (a registrar's own file
    # that names none).
    credential_types: tuple[str, ...] = ()

    def reads(self, credential_type: str) -> bool:
        return not self.credential_types or credential_type in self.credential_types

    def digits_problem(self, header: str, value: str) -> Phrase | None:
        """Why `value` is not a code of the digits this mapping gives its column."""
        want = self.digits.get(header_key(header))
        if want is None or (value.isascii() and value.isdigit() and len(value) == want):
            return None
        if value.isascii() and value.isdigit() and len(value) < want:
            lost = want - len(value)
            return phrase("reg.digits.lost_zeros", f"the mapping gives this column {want} "
                          f"digits; {value!r} has {len(value)}: {lost} leading "
                          f"zero{'s' if lost > 1 else ''} probably lost"
                          + LOST_ZEROS_FIX.format(zeros="0" * want), want=want, value=value,
                          length=len(value), lost=lost, zeros="0" * want)
        return phrase("reg.digits.not_digits", f"the mapping gives this column {want} digits; "
                      f"{value!r} is not {want} digits", want=want, value=value)

    def ignores(self, header: str) -> bool:
        return header_key(header) in self.ignored

    def target(self, header: str) -> str:
        """The schema column a header stands for (its key when unmapped: a schema names
        its columns in lower case, and Excel keeps whatever case was typed)."""
        key = header_key(header)
        if key in self.columns:
            return self.columns[key]
        for pattern, template in self.patterns:
            match = pattern.fullmatch(key)
            if match:
                return template.replace("{n}", str(int(match[1])))
        return key


IDENTITY = Mapping("none")


def _pattern(source: str) -> re.Pattern[str]:
    if source.count("{n}") != 1:
        raise SchemaError(phrase("reg.mapping.pattern_n", f"pattern {source!r} must hold {{n}} "
                                 "exactly once", pattern=source))
    before, after = header_key(source).split("{n}")
    return re.compile(re.escape(before) + r"0*([1-9][0-9]{0,2})" + re.escape(after))


def parse_mapping(data: dict[str, Any], name: str) -> Mapping:
    unknown = set(data) - {"name", "description", "credential_types", "columns", "patterns",
                           "ignore", "digits", "layout"}
    if unknown:
        keys = ", ".join(sorted(unknown))
        raise SchemaError(phrase("reg.mapping.unknown_keys", f"mapping {name}: unknown keys "
                                 f"{sorted(unknown)}", mapping=name, keys=keys))
    columns: dict[str, str] = {}
    raw_columns = data.get("columns", {})
    raw_patterns = data.get("patterns", {})
    if not isinstance(raw_columns, dict) or not isinstance(raw_patterns, dict):
        raise SchemaError(phrase("reg.mapping.tables", f"mapping {name}: columns and patterns "
                                 "must be tables", mapping=name))
    if len(raw_columns) + len(raw_patterns) > MAX_MAPPING_ENTRIES:
        raise SchemaError(phrase("reg.mapping.too_many", f"mapping {name}: more than "
                                 f"{MAX_MAPPING_ENTRIES} entries", mapping=name,
                                 max=MAX_MAPPING_ENTRIES))
    for header, target in raw_columns.items():
        if not isinstance(target, str) or not _TARGET.fullmatch(target) or "{" in target:
            raise SchemaError(phrase("reg.mapping.bad_target", f"mapping {name}: {header!r} maps "
                                     f"to a bad name {target!r}", mapping=name, header=header,
                                     target=str(target)))
        key = header_key(header)
        if not key or key in columns:
            raise SchemaError(phrase("reg.mapping.header_twice", f"mapping {name}: header "
                                     f"{header!r} is empty or given twice", mapping=name,
                                     header=header))
        columns[key] = target
    patterns = []
    for source, template in raw_patterns.items():
        if (not isinstance(template, str) or not _TARGET.fullmatch(template)
                or template.count("{n}") != 1):
            raise SchemaError(phrase("reg.mapping.pattern_target", f"mapping {name}: pattern "
                                     f"{source!r} needs a target with {{n}}", mapping=name,
                                     pattern=source))
        patterns.append((_pattern(source), template))
    raw_ignored = data.get("ignore", [])
    if (not isinstance(raw_ignored, list) or len(raw_ignored) > MAX_MAPPING_ENTRIES
            or not all(isinstance(header, str) and header_key(header) for header in raw_ignored)):
        raise SchemaError(phrase("reg.mapping.ignore", f"mapping {name}: ignore must be a list "
                                 "of column headers", mapping=name))
    ignored = frozenset(header_key(header) for header in raw_ignored)
    named = ignored & set(columns)
    if named:
        header = sorted(named)[0]
        raise SchemaError(phrase("reg.mapping.ignored_and_mapped", f"mapping {name}: "
                                 f"{header!r} is both ignored and mapped", mapping=name,
                                 header=header))
    raw_digits = data.get("digits", {})
    if not isinstance(raw_digits, dict) or len(raw_digits) > MAX_MAPPING_ENTRIES or not all(
            header_key(header) and isinstance(width, int) and not isinstance(width, bool)
            and 1 <= width <= MAX_CODE_DIGITS for header, width in raw_digits.items()):
        raise SchemaError(phrase("reg.mapping.digits", f"mapping {name}: digits must be a table "
                                 f"of column headers and whole numbers 1..{MAX_CODE_DIGITS}",
                                 mapping=name, max=MAX_CODE_DIGITS))
    digits = {header_key(header): width for header, width in raw_digits.items()}
    layout = data.get("layout", STUDENT_ROWS)
    if layout not in LAYOUTS:
        raise SchemaError(phrase("reg.mapping.layout", f"mapping {name}: layout must be "
                                 f"{' or '.join(map(repr, LAYOUTS))}: {STUDENT_ROWS!r} for one "
                                 f"row per student, {COURSE_ROWS!r} for one row per course "
                                 "taken", mapping=name, students=STUDENT_ROWS,
                                 courses=COURSE_ROWS))
    types = data.get("credential_types", [])
    if not isinstance(types, list) or not all(isinstance(t, str) and t for t in types) \
            or len(types) > MAX_MAPPING_ENTRIES:
        raise SchemaError(phrase("reg.mapping.types", f"mapping {name}: credential_types must "
                                 "be a list of types (diploma, transcript...)", mapping=name))
    return Mapping(str(data.get("name", name)), columns, tuple(patterns), ignored, digits,
                   layout, tuple(types))


def check_reads(mapping: Mapping, credential_type: str) -> None:
    """Raise SchemaError when a mapping is made for other credential types' exports (a
    school journal's mapping given for a university's diplomas), naming the shipped
    mappings that read this type."""
    if mapping.reads(credential_type):
        return
    fitting = " or ".join(name for name in BUILT_IN_MAPPINGS
                          if load_mapping(name).reads(credential_type))
    types = ", ".join(mapping.credential_types)
    english = f"mapping {mapping.name} reads {types} exports, not {credential_type}: "
    raise SchemaError(phrase(
        "reg.mapping.other_type", english + f"for {credential_type} exports give --mapping "
        f"{fitting}, or none", mapping=mapping.name, types=types, type=credential_type,
        fitting=fitting) if fitting else phrase(
        "reg.mapping.other_type_own", english + "give a mapping of your own, or none",
        mapping=mapping.name, types=types, type=credential_type))


def load_mapping(name_or_path: str) -> Mapping:
    """A shipped mapping by name ("platonus", "kundelik") or a TOML file by path."""
    try:
        if name_or_path in BUILT_IN_MAPPINGS:
            text = (resources.files("registrar") / "mappings" / f"{name_or_path}.toml"
                    ).read_text(encoding="utf-8")
        else:
            text = registrars_toml(Path(name_or_path), "mapping")
        return parse_mapping(tomllib.loads(text), name_or_path)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        built_in = ", ".join(BUILT_IN_MAPPINGS)
        english = f"cannot read mapping {name_or_path!r} (built in: {built_in}): {exc}"
        raise SchemaError(phrase("reg.mapping.missing", english, name=name_or_path,
                                 built_in=built_in) if isinstance(exc, FileNotFoundError)
                          else phrase("reg.mapping.unreadable", english, name=name_or_path,
                                      why=str(exc))) from exc


def mapping_hint(keys: tuple[str, ...], current: Mapping, known_by: Callable[[Mapping], int],
                 credential_type: str) -> Phrase | None:
    """A sentence naming the shipped mapping for this credential type that knows more of
    a header's columns than `current` does (`known_by` counts them), when one does: a
    header that lacks columns the schema requires was often read with no mapping, or
    another system's. A mapping for other types is never named, however many of the
    columns it knows (a school journal's ЖСН and dates are a university's too)."""
    here = known_by(current)
    candidates = [(known_by(mapping), name) for name in BUILT_IN_MAPPINGS
                  if name != current.name
                  and (mapping := load_mapping(name)).reads(credential_type)]
    if not candidates:
        return None
    best, name = max(candidates, key=lambda found: found[0])  # first of a tie
    if best <= max(here, 1):
        return None
    named = sum(1 for header in keys if header_key(header))
    if current is IDENTITY:
        return phrase("reg.mapping.none_hint", f"without a mapping, {here} of the {named} "
                      "columns are named as the schema names its fields; the shipped mapping "
                      f"{name} knows {best}: give --mapping {name}", here=here, named=named,
                      mapping=name, best=best)
    return phrase("reg.mapping.other_hint", f"the mapping {current.name} knows {here} of the "
                  f"{named} columns; the shipped mapping {name} knows {best}: is --mapping "
                  f"{name} the one for this export?", current=current.name, here=here,
                  named=named, mapping=name, best=best)
