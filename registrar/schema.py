"""What a credential type's records hold: TOML schemas shipped in registrar/schemas/,
each replaceable by a registrar's own TOML file of the same shape."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from registrar.formats import FORMATS, NUMBER_FORMATS
from registrar.phrases import Phrase

BUILT_IN_TYPES = ("diploma", "certificate", "attestat", "transcript", "employment")
# A credential document holds at most 200 fields (ledger.credentials.MAX_FIELDS).
MAX_RECORD_FIELDS = 200
MAX_GROUP_ITEMS = 190
# A course line's parts (the built-in transcript's are 9), each a column of the export:
# with MAX_RECORD_FIELDS, what bounds a header's width (registrar.rows.MAX_HEADER_COLUMNS).
MAX_LINE_PARTS = 12
_NAME = re.compile(r"[a-z][a-z0-9_]{0,59}")


class SchemaError(ValueError):
    """A schema or mapping file that cannot be used; the message says why (`said`: as a
    phrase the registrar's language says, where one is written)."""

    def __init__(self, message: str | Phrase) -> None:
        super().__init__(str(message))
        self.said = message if isinstance(message, Phrase) else None


@dataclass(frozen=True)
class FieldSpec:
    name: str
    format: str
    required: bool


@dataclass(frozen=True)
class LineGroup:
    """Repeated column groups `<prefix><n>_<part>`, one field `<prefix>.<nn>` per line,
    whose value is the line's parts as compact canonical JSON."""

    prefix: str
    parts: tuple[FieldSpec, ...]
    min_items: int
    max_items: int

    def part(self, name: str) -> FieldSpec | None:
        return next((p for p in self.parts if p.name == name), None)


@dataclass(frozen=True)
class EachGroup:
    """Columns `<prefix>_<code>`, one field `<prefix>.<code>` each (e.g. attestat subjects)."""

    prefix: str
    format: str
    min_items: int
    max_items: int


@dataclass(frozen=True)
class Schema:
    credential_type: str
    fields: tuple[FieldSpec, ...]
    unique: tuple[str, ...]
    lines: tuple[LineGroup, ...]
    each: tuple[EachGroup, ...]
    check_totals: bool

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)


def _table(data: Any, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise SchemaError(f"{where} must be a table")
    unknown = set(data) - allowed
    if unknown:
        raise SchemaError(f"{where}: unknown keys {sorted(unknown)}")
    return data


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise SchemaError(f"{where}: a name is lower-case letters, digits and _ ({value!r})")
    return value


def _count(data: dict[str, Any], key: str, default: int, where: str) -> int:
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_GROUP_ITEMS:
        raise SchemaError(f"{where}.{key} must be a whole number 0..{MAX_GROUP_ITEMS}")
    return value


def _counts(data: dict[str, Any], where: str) -> tuple[int, int]:
    low, high = _count(data, "min", 0, where), _count(data, "max", MAX_GROUP_ITEMS, where)
    if low > high:
        raise SchemaError(f"{where}: min {low} is more than max {high}; no record could fit")
    return low, high


def _format(value: Any, where: str) -> str:
    if value not in FORMATS:
        raise SchemaError(f"{where}: format must be one of {sorted(FORMATS)}")
    return str(value)


def _fields(data: Any, where: str) -> tuple[FieldSpec, ...]:
    specs = []
    for name, spec in _table(data, where, set(data) if isinstance(data, dict) else set()).items():
        entry = _table(spec, f"{where}.{name}", {"format", "required"})
        required = entry.get("required", False)
        if not isinstance(required, bool):
            raise SchemaError(f"{where}.{name}.required must be true or false")
        specs.append(FieldSpec(_name(name, where), _format(entry.get("format"), f"{where}.{name}"),
                               required))
    return tuple(specs)


def parse_schema(data: dict[str, Any], credential_type: str) -> Schema:
    top = _table(data, "schema", {"type", "unique", "fields", "lines", "each", "checks"})
    if top.get("type", credential_type) != credential_type:
        raise SchemaError(f"schema is for {top.get('type')!r}, not {credential_type!r}")
    fields = _fields(top.get("fields", {}), "fields")
    lines = []
    for prefix, group in _table(top.get("lines", {}), "lines", set(top.get("lines", {}))).items():
        entry = _table(group, f"lines.{prefix}", {"parts", "min", "max"})
        parts = _fields(entry.get("parts", {}), f"lines.{prefix}.parts")
        if not parts:
            raise SchemaError(f"lines.{prefix} needs parts")
        if len(parts) > MAX_LINE_PARTS:
            raise SchemaError(f"lines.{prefix} has {len(parts)} parts; a line holds at most "
                              f"{MAX_LINE_PARTS}")
        lines.append(LineGroup(_name(prefix, "lines"), parts, *_counts(entry, f"lines.{prefix}")))
    each = []
    for prefix, group in _table(top.get("each", {}), "each", set(top.get("each", {}))).items():
        entry = _table(group, f"each.{prefix}", {"format", "min", "max"})
        each.append(EachGroup(_name(prefix, "each"), _format(entry.get("format"), f"each.{prefix}"),
                              *_counts(entry, f"each.{prefix}")))
    names = [f.name for f in fields]
    prefixes = [g.prefix for g in lines] + [g.prefix for g in each]
    if len(set(names)) != len(names) or len(set(prefixes)) != len(prefixes):
        raise SchemaError("field names and group prefixes must be distinct")
    clash = [n for n in names for p in prefixes if n.startswith(p)]
    if clash:
        raise SchemaError(f"field names must not start with a group prefix: {clash}")
    unique = top.get("unique", [])
    if not isinstance(unique, list) or any(u not in names for u in unique):
        raise SchemaError("unique must list fields of the schema")
    checks = _table(top.get("checks", {}), "checks", {"totals"})
    totals = checks.get("totals", False)
    if totals is not False:
        _check_totals(totals, fields, lines[0] if lines else None)
    return Schema(credential_type, fields, tuple(unique), tuple(lines), tuple(each), totals)


def _check_totals(totals: Any, fields: tuple[FieldSpec, ...], line: LineGroup | None) -> None:
    """The course lines and totals that checks.totals reads (registrar.academic), in the
    formats it reads them in: a schema that lacked a line's grade, or gave its credits as
    text, was taken and stopped the reader at the first row (KeyError, InvalidOperation)."""
    field_formats = {f.name: f.format for f in fields}
    parts = {p.name: p for p in line.parts} if line is not None else {}
    numbers = [field_formats.get("gpa"), field_formats.get("total_credits"),
               *(parts[name].format for name in ("credits", "points", "numeric")
                 if name in parts)]
    grade, credits = parts.get("grade"), parts.get("credits")
    if (totals is not True or any(f not in NUMBER_FORMATS for f in numbers)
            or "points" not in parts or credits is None or not credits.required
            or grade is None or not grade.required or grade.format != "grade"):
        raise SchemaError("checks.totals needs fields gpa and total_credits and a course line "
                          "whose credits and grade are required, with points (numeric too, "
                          f"if any): the numbers in a number format ({sorted(NUMBER_FORMATS)}), "
                          "the grade in format grade")


def registrars_toml(path: Path, what: str) -> str:
    """A TOML file a registrar wrote (a schema or mapping), as text: a UTF-8 byte order
    mark, which Windows Notepad writes, is no part of it, and a file in another encoding
    is refused in plain words, not by the byte that failed."""
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SchemaError(f"cannot read {what} {path}: it is not UTF-8 text (saved as ANSI, "
                          "Windows-1251?): save it as UTF-8") from exc


def load_schema(credential_type: str, override: Path | None = None) -> Schema:
    """The built-in schema for a type, or the registrar's TOML file instead of it."""
    try:
        if override is not None:
            text = registrars_toml(override, "schema")
        elif credential_type in BUILT_IN_TYPES:
            text = (resources.files("registrar") / "schemas" / f"{credential_type}.toml"
                    ).read_text(encoding="utf-8")
        else:
            raise SchemaError(f"no built-in schema for {credential_type!r}; "
                              f"types: {', '.join(BUILT_IN_TYPES)}")
        return parse_schema(tomllib.loads(text), credential_type)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SchemaError(f"cannot read schema {override or credential_type}: {exc}") from exc
