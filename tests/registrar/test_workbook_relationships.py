"""A workbook's relationships that openpyxl could resolve otherwise than the registrar
does (registrar.sheet_parts): an id given twice (openpyxl keeps the last, an External
one too), a sheet outside the package, more relationships than the limit. Each let the
registrar check a clean decoy sheet for hidden rows, merged cells and row order while
openpyxl read the rows of another part; each is refused, nothing read."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from cli.main import main
from registrar import read_export
from registrar.sheet_xml import MAX_XLSX_PARTS
from tests.registrar.helpers import DIPLOMA_HEADER, diploma_row

_WORKSHEET = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
_IMAGE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"
_RELS = "xl/_rels/workbook.xml.rels"
_STUDENTS = [DIPLOMA_HEADER, *(diploma_row(i) for i in range(4))]


def _sheet_xml(tmp_path: Path, hostile: bool, disorder: bool = False) -> bytes:
    """The one sheet of a workbook of _STUDENTS; `hostile`: row 3 hidden,
    `disorder`: rows 3 and 5 swapped too, which the registrar refuses."""
    book = openpyxl.Workbook()
    sheet = book.active
    for row in _STUDENTS:
        sheet.append(row)
    if hostile:
        sheet.row_dimensions[3].hidden = True
    path = tmp_path / f"sheet-{hostile}-{disorder}.xlsx"
    book.save(path)
    with zipfile.ZipFile(path) as archive:
        data = archive.read("xl/worksheets/sheet1.xml").decode()
    if disorder:
        rows = re.findall(r'<row r="\d+".*?</row>', data)
        rows[2], rows[4] = rows[4], rows[2]
        data = re.sub(r"<sheetData>.*</sheetData>",
                      "<sheetData>" + "".join(rows) + "</sheetData>", data)
    return data.encode()


def _grafted(tmp_path: Path, added: str, disorder: bool = False,
             replace_sheet: bool = False) -> Path:
    """A clean one-sheet workbook holding a hostile sheet at xl/worksheets/hidden.xml,
    its relationships `added` to (or, `replace_sheet`, the sheet's replaced by them)."""
    clean = tmp_path / "clean.xlsx"
    book = openpyxl.Workbook()
    for row in _STUDENTS:
        book.active.append(row)
    book.save(clean)
    path = tmp_path / "grafted.xlsx"
    with zipfile.ZipFile(clean) as source, zipfile.ZipFile(path, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name == _RELS:
                rels = data.decode()
                own = re.search(r'<Relationship Type="[^"]*/worksheet"[^>]*Id="rId1"/>', rels)
                assert own is not None, rels
                rels = rels.replace(own.group(0), "") if replace_sheet else rels
                data = rels.replace("</Relationships>", added + "</Relationships>").encode()
            target.writestr(name, data)
        target.writestr("xl/worksheets/hidden.xml", _sheet_xml(tmp_path, True, disorder))
    return path


def _keys(path: Path) -> list[str]:
    result = read_export(path, "diploma")
    assert result.records == [], result.records
    return [p.said.key if p.said else "" for p in result.problems]


_EXTERNAL = (f'<Relationship Id="rId1" Type="{_WORKSHEET}" Target="xl/worksheets/hidden.xml"'
             ' TargetMode="External"/>')


@pytest.mark.parametrize("disorder", [False, True])
def test_a_sheet_id_given_again_as_external_is_refused(tmp_path: Path,
                                                       disorder: bool) -> None:
    # before: the registrar checked sheet1.xml, openpyxl read the rows of hidden.xml, its
    # hidden row (and rows out of order) unseen: every row was issued
    path = _grafted(tmp_path, _EXTERNAL, disorder)
    assert _keys(path) == ["reg.xlsx.relationship_repeated"]


def test_a_sheet_id_given_again_past_the_relationships_limit_is_refused(
        tmp_path: Path) -> None:
    # before: the relationships past the limit were passed over, the last of which
    # openpyxl reads the sheet by
    filler = "".join(f'<Relationship Id="f{n}" Type="{_IMAGE}" Target="media/none{n}.png"/>'
                     for n in range(MAX_XLSX_PARTS))
    again = f'<Relationship Id="rId1" Type="{_WORKSHEET}" Target="worksheets/hidden.xml"/>'
    path = _grafted(tmp_path, filler + again)
    assert _keys(path) == ["reg.xlsx.too_many_relationships"]


def test_a_sheet_id_given_again_within_the_limit_is_refused_too(tmp_path: Path) -> None:
    # openpyxl and the registrar both read hidden.xml here, whose hidden row was found
    # before; Excel never gives an id twice, so the workbook is refused all the same
    again = f'<Relationship Id="rId1" Type="{_WORKSHEET}" Target="worksheets/hidden.xml"/>'
    assert _keys(_grafted(tmp_path, again)) == ["reg.xlsx.relationship_repeated"]


def test_a_sheet_outside_the_package_is_refused(tmp_path: Path) -> None:
    path = _grafted(tmp_path, _EXTERNAL, replace_sheet=True)
    assert _keys(path) == ["reg.xlsx.sheet_external"]


def test_the_refusal_is_said_in_each_language(tmp_path: Path) -> None:
    path = _grafted(tmp_path, _EXTERNAL)
    said = {}
    for lang in ("kk", "ru", "en"):
        result = CliRunner().invoke(main, ["issue", "--dry-run", "--type", "diploma",
                                           "--input", str(path), "--lang", lang])
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
        assert "xl/_rels/workbook.xml.rels" in result.output and "rId1" in result.output
        said[lang] = result.output
    assert "more than once" in said["en"]
    assert "бірнеше рет" in said["kk"]
    assert "больше одного раза" in said["ru"]
