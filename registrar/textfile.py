"""Text exports: encoding and delimiter detection, and CSV rows (JSON items:
registrar.jsonfile).

Encoding: a byte-order mark decides (UTF-8, UTF-16 or UTF-32, LE/BE); else a file that is
valid UTF-8 throughout is UTF-8; else the file's text is judged read as cp1251
(Russian-locale Excel's "CSV"), KZ-1048 and mac-cyrillic (registrar.cyrillic_guess),
a file two of them read as differing text refused naming each; else charset-normalizer
guesses, and only cp1251 or BOM-less UTF-16 is accepted. cp1251 has none
of the Kazakh letters ә ғ қ ң ө ұ ү һ (only і, shared with Ukrainian), so a file
holding Kazakh names must be UTF-8 or UTF-16. A cp1251 export of Kazakh text has
already lost those letters (Excel writes "?"): nothing can recover them here, so
such a file is read as written and the registrar must export it again as UTF-8
or "Unicode text".
"""

from __future__ import annotations

import codecs
import csv
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import charset_normalizer

from registrar.bad_bytes import first_bad_line
from registrar.csv_header import CsvForm
from registrar.cyrillic_guess import guess_cyrillic
from registrar.excel_marks import excel_shown
from registrar.header_rows import MAX_HEADER_SEARCH_ROWS, HeaderRefusal, two_row_header
from registrar.phrases import Phrase, phrase
from registrar.problems import ProblemList
from registrar.rows import (
    MAX_HEADER_COLUMNS,
    HeaderSink,
    Numbered,
    RawRow,
    SourceStats,
    find_header,
    too_wide,
)
from registrar.sniff import not_text
from registrar.validate import MAX_RECORDS

SAMPLE_BYTES = 256 * 1024
# A CSV line is read whole before it is split: without a bound, a file of one line of
# gigabytes takes twice that in memory. 200 fields of 10,000 characters fit.
MAX_LINE_CHARS = 4 * 1024 * 1024
# Blank lines are no rows, but each is read: without a bound a file of nothing else
# is read to its end (20 MB of them took 11 s).
MAX_BLANK_LINES = MAX_RECORDS
DELIMITERS = (",", ";", "\t")
# UTF-32's marks first: UTF-32 LE's begins with UTF-16 LE's, and read as UTF-16 every
# header came out with a NUL after each letter
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"),
         (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_GUESSES_ACCEPTED = {"cp1251": "cp1251", "utf-16-le": "utf-16-le", "utf-16-be": "utf-16-be"}


class EncodingUnknown(ValueError):
    """Its message in English; `said`: the same as a phrase."""

    def __init__(self, said: Phrase) -> None:
        super().__init__(said.english)
        self.said = said


def _valid_utf8(path: Path) -> bool:
    return _utf8_text(path) is not None


def _utf8_text(path: Path) -> bool | None:
    """None when `path` is not UTF-8 throughout; else whether it holds anything beyond
    ASCII (text that another encoding would read as other letters)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    beyond = False
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1024 * 1024):
                decoder.decode(chunk)
                beyond = beyond or not chunk.isascii()
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    return beyond


# Letters beyond ASCII read as UTF-8 before a byte that is not: that much is UTF-8 for
# certain (text in cp1251 almost never holds a valid UTF-8 sequence, let alone several).
UTF8_EVIDENCE_CHARS = 8


def utf8_until(path: Path) -> int | None:
    """The line of the first byte that is not UTF-8, when the file before it is UTF-8
    holding letters beyond ASCII (two exports joined, or part saved in cp1251); None
    otherwise."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines, beyond = 1, 0
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                text = chunk[:exc.start].decode("utf-8", "ignore")
                lines += text.count("\n")
                beyond += sum(1 for c in text if not c.isascii())
                return lines if beyond >= UTF8_EVIDENCE_CHARS else None
            lines += text.count("\n")
            beyond += sum(1 for c in text if not c.isascii())
    return None


def forced_over_utf8(path: Path, encoding: str) -> Phrase | None:
    """Why `encoding`, given by the registrar, would misread `path`: a file of letters
    beyond ASCII that is UTF-8 throughout is UTF-8 (text in cp1251 or another
    single-byte encoding almost never is), and read as cp1251 its names would be
    garbled ("Гүлнар" as "Р“ТЇР»РЅР°СЂ") yet pass every check."""
    name = codecs.lookup(encoding).name
    if name.startswith(("utf-8", "utf-16", "utf-32")) or not _utf8_text(path):
        return None
    return phrase("reg.encoding.forced_over_utf8", f"the file is UTF-8 text, not {encoding}: "
                  f"read as {encoding} its letters would be garbled; leave out --encoding",
                  encoding=encoding)


def detect_encoding(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    if _valid_utf8(path):
        return "utf-8"
    line = utf8_until(path)  # a guess of the whole would garble the UTF-8 part
    if line is not None:
        raise EncodingUnknown(phrase(
            "reg.encoding.utf8_until", f"the file is UTF-8 text until line {line}, which holds "
            "bytes that are not UTF-8 (part of it saved in another encoding, such as cp1251, "
            "or two exports joined): save the whole file again as UTF-8", line=line))
    cyrillic = guess_cyrillic(head)
    if cyrillic.encoding is not None:
        return cyrillic.encoding
    if cyrillic.rivals:
        readings = ", ".join(f"--encoding {name}" for name in cyrillic.rivals)
        raise EncodingUnknown(phrase(
            "reg.encoding.ambiguous", f"the file reads as text in more than one encoding, "
            f"each giving other letters: say which with {readings}, then check the names "
            "in the dry run", readings=readings))
    best = charset_normalizer.from_bytes(head).best()
    guess = codecs.lookup(best.encoding).name if best is not None else None
    if guess in _GUESSES_ACCEPTED:
        return _GUESSES_ACCEPTED[guess]
    plainly = not_text(path)
    if plainly:
        raise EncodingUnknown(phrase("reg.encoding.not_text", f"the file is not text: "
                                     f"{plainly}", why=plainly))
    english = (f"the file is not UTF-8, UTF-16 or cp1251 (it looks like "
               f"{guess or 'binary data'}); save it as UTF-8 or give its encoding with --encoding")
    if guess:
        raise EncodingUnknown(phrase("reg.encoding.unknown", english, guess=guess))
    raise EncodingUnknown(phrase("reg.encoding.binary", english))


def detect_delimiter(head: str, sink: HeaderSink | None = None,
                     max_columns: int = MAX_HEADER_COLUMNS) -> str:
    """The candidate under which the header `find_header` would take from `head` (the
    first lines) names the most columns `sink` knows, then has the most cells; then
    the one splitting any line of `head` into the most cells; ',' on a tie.
    Judging the header, not every line, keeps a data row's commas in a ';' file
    (a note "a, b, c") from outvoting the header's own delimiter. Each line is judged
    by its first `max_columns` + 1 cells: a header wider is refused by csv_rows, and
    judged whole a line of two million cells cost seconds for each delimiter."""
    lines = head.splitlines()

    def score(delimiter: str) -> tuple[int, int, int, bool]:
        try:
            split = list(csv.reader(lines, delimiter=delimiter))
        except csv.Error:
            return (0, 0, 0, False)
        rows = [[c or None for c in r[:max_columns + 1]] for r in split]
        found, _ = find_header(iter(enumerate(rows, 1)), SourceStats(), sink)
        header = found[1] if found is not None else []
        known = sink.known_columns(tuple(c or "" for c in header)) if sink is not None else 0
        widest = max((len(r) for r in split), default=0)
        return (known, len(header), widest, delimiter == ",")
    return max(DELIMITERS, key=score)


def decode_failure(problems: ProblemList, row: int, encoding: str, exc: Exception,
                    handle: TextIO) -> None:
    """Said at the line holding the byte: Python's error comes with the first line of the
    chunk it decodes (registrar.bad_bytes)."""
    row = first_bad_line(Path(handle.name), encoding) or row
    problems.add(row, None, "encoding", phrase(
        "reg.encoding.fails_here", f"the file cannot be read as {encoding} from about this "
        f"row on ({exc})", encoding=encoding, why=str(exc)))


def _csv_fault(exc: csv.Error) -> Phrase:
    """The csv module's complaint as the registrar's language says it: Python's words
    ("',' expected after '\"'") only in English, and where none is known."""
    english = f"the CSV cannot be read here: {exc}"
    text = str(exc)
    if text.endswith("expected after '\"'"):
        return phrase("reg.file.csv_quote", f"{english} (a \" inside a value in quotes must be "
                      "written twice, \"\")")
    if text == "unexpected end of data":
        return phrase("reg.file.csv_unclosed", f"{english} (a value opened with \" here is "
                      "never closed: the file ends inside it)")
    if text.startswith("field larger than field limit"):
        return phrase("reg.file.csv_large_field", f"{english} (a value of over "
                      f"{csv.field_size_limit()} characters: a \" never closed?)",
                      max=csv.field_size_limit())
    return phrase("reg.file.bad_csv", english, why=text)


class LineTooLong(csv.Error):
    pass


def bounded_lines(handle: TextIO) -> Iterator[str]:
    """The lines of `handle`, none read past MAX_LINE_CHARS (LineTooLong then)."""
    while line := handle.readline(MAX_LINE_CHARS + 1):
        if len(line) > MAX_LINE_CHARS:
            raise LineTooLong(f"a line longer than {MAX_LINE_CHARS} characters")
        yield line


def _width(cells: list[str]) -> int:
    """A row's cells to its last that holds something (Excel writes its used range)."""
    width = len(cells)
    while width and not cells[width - 1].strip():
        width -= 1
    return width


def csv_rows(handle: TextIO, delimiter: str, stats: SourceStats, problems: ProblemList,
             encoding: str, on_header: HeaderSink | None = None,
             max_columns: int = MAX_HEADER_COLUMNS) -> Iterator[RawRow]:
    """The rows under the header, which may span `max_columns` (rows.header_columns), as
    a workbook's may. A row wider is kept to its first `max_columns` + 1 cells as it is
    read, its width noted: the header search and the header's resolution cost what that
    many cells do (a header of 1.9 million columns, 3.8 MB, took 109 s), and such a row
    is refused, as the header (too_wide) or as a row longer than the header."""
    reader = csv.reader(bounded_lines(handle), delimiter=delimiter, strict=True)
    number = 0
    recent: dict[int, list[str | None]] = {}  # the rows a header may stand in
    wide: dict[int, int] = {}  # a row kept short: its width, until it is refused

    def numbered() -> Iterator[Numbered]:
        nonlocal number
        for number, cells in enumerate(reader, start=1):
            if len(cells) > max_columns:  # past the header any header may be
                width = _width(cells)
                if width > max_columns:
                    wide[number] = width
                # else only empty cells are dropped, which the rows below drop too
                cells = cells[:max_columns + (width > max_columns)]
            shown = [excel_shown(cell) for cell in cells]
            if number <= MAX_HEADER_SEARCH_ROWS:
                recent[number] = shown
            yield number, shown

    try:
        rows = numbered()
        found, ahead = find_header(rows, stats, on_header)
        if found is None:
            problems.add(None, None, "no-header", phrase(
                "reg.file.empty", "the file is empty: no header row"))
            return
        split, ahead = two_row_header(found, ahead, rows, recent.get(found[0] - 1), stats,
                                      on_header, CsvForm())
        if isinstance(split, HeaderRefusal):
            problems.add(split.row, split.column, "two-row-header", split.said)
            return
        header_row, header = (split.bottom, list(split.names)) if split else found
        for row in (split.top, header_row) if split else (header_row,):
            if row in wide:
                problems.add(row, None, "too-large", too_wide(wide[row], max_columns))
                return
        while header and not (header[-1] or "").strip():
            header.pop()  # Excel writes its used range, which often runs past the header
        if not header:
            problems.add(header_row, None, "no-header", phrase(
                "reg.file.blank_header", "the first row has no header"))
            return
        keys = tuple(c or "" for c in header)
        if on_header is not None:
            on_header.header(keys, header_row)
        blank = 0
        for row, cells in itertools.chain(ahead, rows):
            if not cells:  # a blank line holds no data
                blank += 1
                if blank > MAX_BLANK_LINES:
                    problems.add(row, None, "too-many-rows", phrase(
                        "reg.file.too_many_blank", f"more than {MAX_BLANK_LINES} blank lines: "
                        "delete them, or export the file again", max=MAX_BLANK_LINES))
                    return
                continue
            stats.rows += 1
            if past_rows(stats, row, problems):
                return
            if row in wide:  # kept short as it was read: no header here spans it
                problems.add(row, None, "long-row", _cells(wide.pop(row), len(keys)))
                continue
            while len(cells) > len(keys) and not (cells[-1] or "").strip():
                cells.pop()  # that used range again: nothing under no header
            if len(cells) < len(keys):
                problems.add(row, keys[len(cells)], "short-row", _cells(len(cells), len(keys)))
            elif len(cells) > len(keys):
                problems.add(row, None, "long-row", _cells(len(cells), len(keys)))
            else:
                yield RawRow(row, header_row, keys, cells)
    except LineTooLong:
        problems.add(number + 1, None, "too-large", phrase(
            "reg.file.line_too_long", f"a line longer than {MAX_LINE_CHARS} characters (no "
            "row of an export is that long: a damaged file, or not a CSV?): export it again",
            max=MAX_LINE_CHARS))
    except csv.Error as exc:
        problems.add(number + 1, None, "malformed", _csv_fault(exc))
    except UnicodeError as exc:
        decode_failure(problems, number + 1, encoding, exc, handle)


def past_rows(stats: SourceStats, row: int, problems: ProblemList) -> bool:
    """Whether the rows read went past MAX_RECORDS, said at `row`: a row with a problem
    is never passed on, so the reader's caller, counting those it gets, would read a
    file of nothing else to its end (10 MB of short rows took 9 s)."""
    if stats.rows <= MAX_RECORDS:
        return False
    problems.add(row, None, "too-many-rows", phrase(
        "reg.file.too_many_rows", f"an export holds at most {MAX_RECORDS} rows; split the "
        "file", max=MAX_RECORDS))
    return True


def _cells(held: int, header: int) -> Phrase:
    return phrase("reg.row.cells", f"the row has {held} cells; the header has {header}",
                  held=held, header=header)
