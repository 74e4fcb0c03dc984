"""What a file that cannot be read as its name says really is, in the registrar's words.

Exports often are not what their names say: a records system's "Export to Excel"
writes a web page (HTML) named .xls, a CSV gets renamed .xlsx, a copy or download is
cut short. The reader's own error ("File is not a zip file") names none of that.
"""

from __future__ import annotations

import codecs
import zipfile
import zlib
from pathlib import Path

from registrar.phrases import Phrase, phrase

HEAD_BYTES = 4096
# An OLE2 compound file: what Excel writes for a workbook with a password, and old .xls.
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP = b"PK\x03\x04"  # .xlsx is a zip archive
_HTML_MARKS = ("<html", "<table", "<!doctype html")
_SPREADSHEET_2003 = "urn:schemas-microsoft-com:office:spreadsheet"


def _head(path: Path) -> tuple[bytes, int] | None:
    try:
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
            size = path.stat().st_size
    except OSError:
        return None
    return head, size


def _text(head: bytes) -> str | None:
    """`head` as text, when it is some (UTF-16 with a BOM, UTF-8 or cp1251): binary
    data holds NUL bytes within a few kilobytes."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", "ignore")
    try:  # incremental: the head may end inside a character
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head)
    except UnicodeDecodeError:
        text = head.decode("cp1251", "replace")
    return None if "\x00" in text else text


def _zip_kind(path: Path) -> Phrase | None:
    """What a zip archive that openpyxl cannot open is; None for an Office file that is
    no Word document (a workbook openpyxl cannot read: its own error says more)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            mimetype = b""
            if "mimetype" in names:
                with archive.open("mimetype") as member:
                    mimetype = member.read(100)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError,
            zlib.error):
        return phrase("reg.file.cut_short", "the workbook is damaged or cut short (a copy or "
                      "download that did not finish?): export it again")
    if mimetype.startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
        return phrase("reg.file.ods", "it is an OpenDocument spreadsheet (.ods, LibreOffice): "
                      "save it as an Excel Workbook (.xlsx)")
    if "word/document.xml" in names:
        return phrase("reg.file.word", "it is a Word document, not a workbook: give the "
                      "export itself")
    if "[Content_Types].xml" in names:
        return None
    return phrase("reg.file.zip", "it is a zip archive, not an Excel workbook: unpack it, or "
                  "give the export itself")


# Excel's "Strict Open XML Spreadsheet" names its parts in this namespace, where a
# workbook saved as "Excel Workbook" uses schemas.openxmlformats.org: openpyxl finds no
# worksheet in it, or a sheet of no cells.
_STRICT_NAMESPACE = b"purl.oclc.org/ooxml/spreadsheetml/main"
_WORKBOOK_PART = "xl/workbook.xml"
_STRICT_HEAD_BYTES = 4_096  # the namespace is declared on the part's first element


def strict_open_xml(path: Path) -> Phrase | None:
    """Why a workbook with no worksheet openpyxl reads has none: saved as Strict Open XML,
    which is said so, rather than called damaged; None otherwise."""
    try:
        with zipfile.ZipFile(path) as archive, archive.open(_WORKBOOK_PART) as part:
            head = part.read(_STRICT_HEAD_BYTES)
    except (KeyError, zipfile.BadZipFile, OSError, EOFError, RuntimeError,
            NotImplementedError, zlib.error):
        return None
    if _STRICT_NAMESPACE not in head:
        return None
    return phrase("reg.file.strict_xml", "the workbook was saved as \"Strict Open XML "
                  "Spreadsheet\", which is not read here: save it in Excel as \"Excel "
                  "Workbook (.xlsx)\"")


def not_a_workbook(path: Path) -> Phrase | None:
    """Why `path`, named .xlsx, is no workbook, said so a registrar can act on it; None
    when its first bytes say nothing plainer than the reader's own error."""
    found = _head(path)
    if found is None:
        return None
    head, size = found
    if path.name.startswith("~$"):
        return phrase("reg.file.lock_file", "it is the lock file Excel keeps beside a workbook "
                      f"while it is open: give the workbook itself, {path.name[2:]}",
                      name=path.name[2:])
    if size == 0:
        return phrase("reg.file.zero_bytes", "the file is empty (0 bytes): export it again")
    if head.startswith(OLE2):
        return phrase("reg.file.ole2", "it is a workbook with a password, or an old .xls "
                      "renamed: save it from Excel as .xlsx, without a password")
    if head.startswith(ZIP):
        return _zip_kind(path)
    text = _text(head)
    if text is None:
        return None
    start = text.lstrip("\ufeff \t\r\n").lower()
    if start.startswith("<") and _SPREADSHEET_2003 in start:
        return phrase("reg.file.xml_2003", "it is an Excel 2003 XML spreadsheet named as a "
                      "workbook: open it in Excel and save it as an Excel Workbook (.xlsx)")
    if start.startswith("<") and any(mark in start for mark in _HTML_MARKS):
        return phrase("reg.file.html", "it is a web page (HTML) named as a workbook, as some "
                      "systems' \"export to Excel\" does: open it in Excel and save it as an "
                      "Excel Workbook (.xlsx)")
    return phrase("reg.file.text_as_xlsx", "it is a text file, not a workbook (a CSV "
                  "renamed?): name it .csv, or open it in Excel and save it as .xlsx")


def not_text(path: Path) -> Phrase | None:
    """Why `path`, named as a text export (.csv, .txt, .json), cannot be read as text,
    when its first bytes show it is a workbook; None otherwise."""
    found = _head(path)
    if found is None:
        return None
    head, _ = found
    if head.startswith(ZIP):
        return phrase("reg.file.xlsx_as_text", f"it is an Excel workbook (.xlsx) named "
                      f"{path.suffix}: name it .xlsx, or save it from Excel as CSV UTF-8",
                      suffix=path.suffix)
    if head.startswith(OLE2):
        return phrase("reg.file.xls_as_text", "it is an old Excel workbook (.xls) or one with "
                      f"a password, named {path.suffix}: save it from Excel as .xlsx, or as "
                      "CSV UTF-8", suffix=path.suffix)
    return None
