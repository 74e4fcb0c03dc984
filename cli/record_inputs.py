"""What `senim employment start|end` and `senim recognise` read and write, and their
refusals of it, in the reader's language (cli.spoken; English as it was): the credential
given, a course list, --field pairs, the new credential file (0600, never over another),
and the ledger's refusal of the one record, said by the option or course it concerns.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from cli.errors import EXIT_BAD_INPUT
from cli.issue_words import sentence
from cli.spoken import Sentence, document_problem, kind_of, os_reason, refuse
from ledger.academic import GRADE_SCALE, RECOGNISED_PARTS
from ledger.credential_documents import parse_document
from ledger.errors import InvalidDocument
from node.files import UnfitFile, read_bounded
from registrar.course_grades import course_grade_code
from registrar.export import lossy
from registrar.formats import FormatError, check_value
from registrar.mapping import header_key
from registrar.textfile import EncodingUnknown, detect_encoding
from registrar.validate import lost_letter

MAX_INPUT_BYTES = 1 << 20  # a document or a course list; far above any real one
MAX_RECOGNISED = 190  # a document holds at most 200 fields


def _read_bytes(path: Path, what: str) -> bytes:
    """`path`'s bytes; `what` is rec.what.<what>: the file as its reader names it."""
    english = str(Sentence(f"rec.what.{what}"))
    try:
        return read_bounded(path, MAX_INPUT_BYTES, english).data
    except UnfitFile as exc:  # /dev/zero, a named pipe, a folder, or too large
        try:
            mode = path.stat().st_mode
        except OSError:
            mode = 0
        refuse(Sentence("cli.file.not_regular", str(exc), path=path, kind=kind_of(mode))
               if "not a regular file" in exc.fault else
               Sentence("rec.file.too_large", str(exc), path=path), EXIT_BAD_INPUT)
    except OSError as exc:
        refuse(Sentence("cli.file.unreadable", f"cannot read {english} {path}: {exc}",
                        path=path, why=os_reason(exc)), EXIT_BAD_INPUT)


def _not_utf8(path: Path, what: str) -> NoReturn:
    english = str(Sentence(f"rec.what.{what}"))
    csv_file = path.suffix.lower() == ".csv"
    excel = (" (Excel's plain \"CSV\" is Windows-1251): save it as \"CSV UTF-8\""
             if csv_file else ": save it as UTF-8")
    refuse(Sentence("rec.file.not_utf8_csv" if csv_file else "rec.file.not_utf8",
                    f"cannot read {english} {path}: it is not UTF-8 text{excel}",
                    what=Sentence(f"rec.what.{what}"), path=path), EXIT_BAD_INPUT)


def read_text(path: Path, what: str) -> str:
    """`path` as UTF-8 text; `what` is rec.what.<what>: the file as its reader names it."""
    try:
        return _read_bytes(path, what).decode("utf-8-sig")
    except UnicodeDecodeError:
        _not_utf8(path, what)


def read_courses_text(path: Path) -> tuple[str, bool]:
    """A course list's text, read as `senim issue` reads an export
    (registrar.textfile.detect_encoding: a byte-order mark, UTF-8, else cp1251, KZ-1048 or
    mac-cyrillic judged by the text), and whether its encoding lacks Kazakh letters: Excel
    on Windows saves its plain "CSV" in cp1251. A file no encoding reads for certain is
    refused as before, with the advice to save it as UTF-8."""
    data = _read_bytes(path, "courses")
    try:
        return data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        pass
    try:
        encoding = detect_encoding(path)
        return data.decode(encoding), lossy(encoding)
    except (EncodingUnknown, UnicodeDecodeError, LookupError, OSError):
        _not_utf8(path, "courses")


def read_document(path: Path, what: str) -> Any:
    """The credential in `path`, as JSON and parsed, or one line saying it is none."""
    try:
        document = json.loads(read_text(path, what))
        return document, parse_document(document)
    except (ValueError, RecursionError) as exc:
        refuse(Sentence("rec.not_document", f"{path} is not a credential document: {exc}",
                        path=path), EXIT_BAD_INPUT)


def fields_of(pairs: tuple[str, ...], named: dict[str, str | None]) -> dict[str, str]:
    record = {name: value for name, value in named.items() if value is not None}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or not value.strip():
            refuse(Sentence("rec.field.pair", f"--field takes NAME=VALUE, got {pair!r}",
                            pair=repr(pair)), EXIT_BAD_INPUT)
        if name.strip() in record:
            refuse(Sentence("rec.field.twice", f"field {name.strip()!r} is given twice",
                            name=repr(name.strip())), EXIT_BAD_INPUT)
        record[name.strip()] = value.strip()
    return record


def typed_values(record: dict[str, str], options: dict[str, str],
                 formats: dict[str, str] | None = None) -> dict[str, str]:
    """`record`'s values as `senim issue` records an export's (registrar.validate): in
    Unicode's composed form, trimmed, and refused, naming the option it came from, when
    one holds a control or invisible character (a zero-width space pasted with a name
    reads right and matches no other record of it), a word of Latin and Cyrillic letters
    or more than its format takes. `formats` gives a field's format (else `text`); a
    date's day is the caller's to check."""
    checked = {}
    for name, value in record.items():
        text = unicodedata.normalize("NFC", value).strip()
        kind = (formats or {}).get(name, "text")
        option = options.get(name, f"--field {name}")
        try:  # an empty value is the ledger's to refuse (rec.ledger.empty_or_long)
            checked[name] = text if kind == "date" or not text else check_value(kind, text)
        except FormatError as exc:
            english = f"{option}: {exc}"
            refuse(Sentence("rec.value.bad", english, option=option,
                            why=sentence(exc.said) if exc.said else str(exc)), EXIT_BAD_INPUT)
    return checked


def new_file(path: Path) -> None:
    if path.exists():
        refuse(Sentence("rec.out.exists", f"{path} exists: give a new file for the credential",
                        path=path), EXIT_BAD_INPUT)
    if not path.parent.is_dir():
        refuse(Sentence("rec.out.no_folder", f"the folder {path.parent} does not exist",
                        folder=path.parent), EXIT_BAD_INPUT)


def recognised_lines(path: Path) -> list[dict[str, str]]:
    """Lines from JSON (a list of objects) or CSV (a header row; `,` `;` or tab)."""
    text, lossy_source = read_courses_text(path)
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
            reader = csv.DictReader(io.StringIO(text), dialect=dialect)
            _one_name_each(path, reader.fieldnames or [])  # a dict keeps one of two
            # rows of empty cells (Excel saves its used range) list no course
            data = [row for row in reader
                    if None in row or None in row.values() or any(v.strip() for v in row.values())]
    except (ValueError, csv.Error) as exc:
        refuse(Sentence("rec.courses.unreadable", f"cannot read {path}: {exc}", path=path),
               EXIT_BAD_INPUT)
    if not isinstance(data, list) or not data or len(data) > MAX_RECOGNISED:
        refuse(Sentence("rec.courses.count", f"{path} must list 1 to {MAX_RECOGNISED} "
                        "recognised courses", path=path, most=MAX_RECOGNISED), EXIT_BAD_INPUT)
    lines = []
    known = ", ".join(RECOGNISED_PARTS)
    for number, row in enumerate(data, start=1):
        if not isinstance(row, dict) or None in row or None in row.values():
            refuse(Sentence("rec.courses.not_row", f"{path}: course {number} is not a row of "
                            "named values", path=path, number=number), EXIT_BAD_INPUT)
        _one_name_each(path, list(row))
        # as an export's headers are matched: "From_Code " is from_code
        unknown = sorted(str(column) for column in row
                         if header_key(str(column)) not in RECOGNISED_PARTS)
        row = {header_key(str(column)): value for column, value in row.items()}
        if unknown:
            refuse(Sentence("rec.courses.unknown", f"{path}: course {number}: unknown columns "
                            f"{unknown} (known: {known})", path=path, number=number,
                            columns=", ".join(map(str, unknown)), known=known), EXIT_BAD_INPUT)
        line = {key: unicodedata.normalize("NFC", str(value)).strip()
                for key, value in row.items() if str(value).strip()}
        for part, value in line.items():
            try:  # as an export's: no invisible character, no word of two alphabets
                check_value("code" if part.endswith("_code") else "text", value)
                lost = lost_letter(value, lossy_source)
                if lost is not None:  # "?аза? тілі": Excel's cp1251 wrote ? for қ
                    raise FormatError(lost)
            except FormatError as exc:
                refuse(Sentence("rec.courses.bad_value", f"{path}: course {number}: {part}: "
                                f"{exc}", path=path, number=number, part=part,
                                why=sentence(exc.said) if exc.said else str(exc)),
                       EXIT_BAD_INPUT)
        if "grade" in line and line["grade"] not in GRADE_SCALE:
            # зачтено, сынақ, отлично as the office types them: recorded as their codes
            line["grade"] = course_grade_code(line["grade"]) or line["grade"]
        lines.append(line)
    return lines


def _one_name_each(path: Path, columns: Sequence[str]) -> None:
    """Refuse two columns that are one name once letter case and spaces are set aside
    (or are written the same): which of them to record is not ours to guess. An empty
    one is the unknown-column check's to refuse."""
    seen: dict[str, str] = {}
    for column in map(str, columns):
        key = header_key(column)
        if key in seen:
            refuse(Sentence("rec.courses.same_column", f"{path}: the columns {seen[key]!r} and "
                            f"{column!r} are one name once letter case and spaces are set "
                            "aside: rename or delete one of them", path=path,
                            first=repr(seen[key]), second=repr(column)), EXIT_BAD_INPUT)
        if key:
            seen[key] = column


# The ledger's refusals of one employment record or recognition (ledger/credentials.py,
# academic.py, academic_checks.py, record_checks.py) that a user's input can cause, by
# their code, each as a sentence naming the option or the course it concerns; any other
# is said by its code as a document's problem is (cli.spoken.document_problem).
LEDGER_REFUSALS = {"field_empty_or_long": "rec.ledger.empty_or_long",
                   "employment_required": "rec.ledger.required",
                   "line_text": "rec.ledger.line_text", "line_credits": "rec.ledger.line_credits",
                   "line_from_field": "rec.ledger.line_from_field",
                   "line_grade": "rec.ledger.line_grade",
                   "line_mismatch": "rec.ledger.line_mismatch",
                   "not_transcript": "rec.ledger.not_transcript"}
# A recognised course's line, as the ledger names it: `recognised.03`.
_LINE = re.compile(r"recognised\.(\d+)")


def ledger_refusal(exc: InvalidDocument, options: dict[str, str]) -> Sentence:
    """The ledger's refusal of a command's one record, in the command's terms: 'record 1:
    position: an employment record must state it' named a record the officer never
    numbered and a field by its name in a file, not the option it came from."""
    refusal = str(exc).removeprefix("record 1: ")
    field, sep, why = refusal.partition(": ")
    english = f"{options[field]}: {why}" if sep and field in options else refusal
    values: dict[str, object] = {**exc.params}
    values.pop("record", None)
    line = _LINE.fullmatch(str(values.get("where", "")))
    if line is not None:
        values["number"] = int(line[1])
    if exc.code in ("line_number", "line_range", "line_at_least") and \
            values.get("part") == "credits":  # what the old words said of each: credits
        key: str | None = "rec.ledger.line_credits"
    else:
        key = LEDGER_REFUSALS.get(str(exc.code))
    if key is None or (key.startswith("rec.ledger.line_") and "number" not in values):
        return Sentence("rec.ledger.other", english, why=document_problem(exc))
    if exc.code == "field_empty_or_long":  # the field as the ledger quotes it
        values["name"] = next((option for name, option in options.items()
                               if repr(name) == values.get("field")), values.get("field"))
    if exc.code == "employment_required":
        values["name"] = options.get(str(values["field"]), repr(values["field"]))
    if "type" in values:
        values["type"] = Sentence(f"type.{values['type']}")
    return Sentence(key, english, **values)
