"""Property tests: whatever validation accepts round-trips every non-empty value
exactly (in Unicode's composed form, NFC, after trimming surrounding whitespace, a
no-break space inside a text value a plain one: registrar.plain_spaces);
whatever it rejects releases no
record. Run over CSV (every encoding and delimiter), Excel and JSON."""

from __future__ import annotations

import tempfile
import unicodedata
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registrar import ExportResult, read_export
from registrar.excel_marks import excel_mark_phrase
from registrar.plain_spaces import NO_BREAK_SPACES
from registrar.schema import parse_schema
from registrar.value_characters import CODE_WORD, WORD, mixed_phrase
from tests.registrar.helpers import valid_iins, write_csv, write_json, write_xlsx

SCHEMA = parse_schema({"type": "diploma", "unique": ["iin"], "fields": {
    "full_name": {"format": "text", "required": True},
    "iin": {"format": "iin", "required": True},
    "note": {"format": "text"},
    "ref": {"format": "code"}}}, "diploma")
HEADER = ["full_name", "iin", "note", "ref"]
COLUMN_FORMATS = {spec.name: spec.format for spec in SCHEMA.fields}
IINS = valid_iins(12, "981224", 4)
FORMATS = [("csv", "utf-8", ","), ("csv", "utf-8-sig", ";"), ("csv", "utf-16", "\t"),
           ("csv", "cp1251", ";"), ("xlsx", None, None), ("json", None, None)]
PROPERTY_SETTINGS = settings(max_examples=30, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow])


def texts(codec: str | None, max_size: int = 30, code: bool = False
          ) -> st.SearchStrategy[str]:
    # a "?" inside a word is refused as a lost letter (by the export, in a cp1251 file, or
    # before the file was made, in any other)
    characters = st.characters(codec=codec, exclude_categories=("Cc", "Cs", "Cf"),
                               exclude_characters="\ufffe\uffff?")
    pad = st.sampled_from(["", " ", "  ", "\u00a0"] + (["\u3000 "] if codec != "cp1251" else []))
    # a word mixing Latin and Cyrillic letters is refused as a look-alike typed by mistake
    # (in a code, a part between spaces)
    words = CODE_WORD if code else WORD
    text = st.text(characters, max_size=max_size).filter(
        lambda t: mixed_phrase(t, words) is None)
    return st.builds(lambda a, t, b: a + t + b, pad, text, pad)


@st.composite
def exports(draw: st.DrawFn) -> tuple[tuple[str, str | None, str | None], list[list[str]]]:
    kind = draw(st.sampled_from(FORMATS))
    codec = "cp1251" if kind[1] == "cp1251" else "utf-8"
    count = draw(st.integers(1, 6))
    iins = draw(st.permutations(IINS))[:count]
    rows = []
    for iin in iins:
        name = draw(texts(codec).filter(lambda t: bool(t.strip())))
        note = draw(texts(codec))
        ref = draw(texts(codec, 40, code=True))
        rows.append([name, draw(st.sampled_from(["", " "])) + iin, note, ref])
    # a leading "=" is a formula, an error's name a failed one's, and a code's leading
    # apostrophe Excel's mark for text (registrar.excel_marks)
    rows = [[c if excel_mark_phrase(c, COLUMN_FORMATS[name]) is None else "x" + c
             for name, c in zip(HEADER, r, strict=True)] for r in rows]
    return kind, rows


def _write(folder: Path, kind: tuple[str, str | None, str | None], rows: list[list[str]]) -> Path:
    fmt, encoding, delimiter = kind
    if fmt == "csv":
        assert encoding is not None and delimiter is not None
        return write_csv(folder / "e.csv", [HEADER, *rows], encoding, delimiter)
    if fmt == "xlsx":
        return write_xlsx(folder / "e.xlsx", [HEADER, *rows])
    return write_json(folder / "e.json", [dict(zip(HEADER, r, strict=True)) for r in rows])


def _read(kind: tuple[str, str | None, str | None], path: Path) -> ExportResult:
    forced = "cp1251" if kind[1] == "cp1251" else None  # detection is tested on its own
    return read_export(path, "diploma", schema=SCHEMA, encoding=forced)


@PROPERTY_SETTINGS
@given(exports())
def test_accepted_exports_round_trip_exactly(
        export: tuple[tuple[str, str | None, str | None], list[list[str]]]) -> None:
    kind, rows = export
    with tempfile.TemporaryDirectory() as scratch:
        result = _read(kind, _write(Path(scratch), kind, rows))
    plain = str.maketrans(dict.fromkeys(NO_BREAK_SPACES, " "))  # the IIN has none inside
    # a code (`ref`) is an id, kept as written
    expected = [{k: unicodedata.normalize("NFC", v).strip().translate(
        {} if k == "ref" else plain) for k, v in zip(HEADER, row, strict=True) if v.strip()}
        for row in rows]
    assert result.problems == []
    assert result.records == expected


DEFECTS = ("duplicate-header", "empty-header", "unknown-column", "short-row", "bad-iin",
           "missing-name", "same-student")


def _inject(defect: str, rows: list[list[str]], at: int) -> tuple[list[str], list[list[str]]]:
    header = list(HEADER)
    rows = [list(r) for r in rows]
    if defect == "duplicate-header":
        header.append(" IIN")
        rows = [[*r, r[1]] for r in rows]
    elif defect == "empty-header":
        header.append("")
        rows = [[*r, "x"] for r in rows]
    elif defect == "unknown-column":
        header.append("extra")
        rows = [[*r, "x"] for r in rows]
    elif defect == "short-row":
        rows[at] = rows[at][:2]
    elif defect == "bad-iin":
        rows[at][1] = rows[at][1].strip()[:-1] + str((int(rows[at][1][-1]) + 1) % 10)
    elif defect == "missing-name":
        rows[at][0] = " "
    else:
        rows.append(list(rows[at]))
    return header, rows


@PROPERTY_SETTINGS
@given(exports(), st.sampled_from(DEFECTS), st.integers(0, 5))
def test_rejected_exports_release_nothing(
        export: tuple[tuple[str, str | None, str | None], list[list[str]]], defect: str,
        where: int) -> None:
    kind, rows = export
    if kind[0] != "csv" and defect == "short-row":
        defect = "bad-iin"  # only CSV has a cell count: Excel and JSON have empty cells
    header, broken = _inject(defect, rows, where % len(rows))
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        fmt, encoding, delimiter = kind
        if fmt == "csv":
            assert encoding is not None and delimiter is not None
            path = write_csv(folder / "e.csv", [header, *broken], encoding, delimiter)
        elif fmt == "xlsx":
            path = write_xlsx(folder / "e.xlsx", [header, *broken])
        else:
            path = write_json(folder / "e.json", [dict(zip(header, r, strict=False))
                                                  for r in broken])
        result = _read(kind, path)
    assert result.problems
    assert result.records == []


@PROPERTY_SETTINGS
@given(exports(), st.integers(1, 3), st.data())
def test_a_students_row_is_never_read_past_as_a_title(
        export: tuple[tuple[str, str | None, str | None], list[list[str]]], above: int,
        data: st.DataObject) -> None:
    # A one-cell title, then students' rows with some cells emptied (the IIN kept),
    # then the header, as when the header the registrar meant is lower down: the file
    # is read from row 1, whatever the rows hold, and nothing is released.
    kind, rows = export
    if kind[0] == "json":
        kind = ("xlsx", None, None)  # JSON has no header row
    codec = "cp1251" if kind[1] == "cp1251" else "utf-8"
    title = data.draw(texts(codec).filter(lambda t: bool(t.strip())), "title")
    if excel_mark_phrase(title) is not None:
        title = "x" + title  # as exports() does
    students = [[cell if i == 1 or data.draw(st.booleans(), "kept") else "" for i, cell
                 in enumerate(row)] for row in rows[:above]]
    table = [[title], *students, HEADER, *rows]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        fmt, encoding, delimiter = kind
        if fmt == "csv":
            assert encoding is not None and delimiter is not None
            path = write_csv(folder / "e.csv", table, encoding, delimiter)
        else:
            path = write_xlsx(folder / "e.xlsx", table)
        result = _read(kind, path)
    assert result.source.header_row == 1 and result.source.titles == ()
    assert result.problems and result.records == []
