"""A no-break space inside a name (U+00A0, or U+202F, U+2007), as a copy from a web page
or Word brings it, was recorded as written: the name hashed into the credential held a
character no one reading or typing it sees, and differed from the same name typed. It is
recorded as a plain space now, and the dry run and the real run both say so, by column,
first row and count, in the registrar's language."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

import cli.issuing
from cli.main import main
from ledger.identity import KeyPair
from node.files import save_key
from registrar import read_export
from tests.cli.test_issue_job import AccreditedNode
from tests.cli.test_issue_languages import in_every_language
from tests.registrar.helpers import DIPLOMA_HEADER, IINS, write_csv

# As pasted: a web page's &nbsp; between the names, a narrow one in the programme, a figure
# space in a qualification, and the trailing spaces a copy leaves
ROWS = [["Әсел\u00a0Нұрланова  ", IINS[0], "Ақпараттық\u202fжүйелер", "Бакалавр",
         "30.06.2026"],
        ["Дәурен Сейітов", IINS[1], "Ақпараттық жүйелер", "Бакалавр", "30.06.2026"],
        ["Ерлан\u00a0Ахметов\u00a0", IINS[2], "Ақпараттық жүйелер", "Бакалавр\u2007техники ",
         "30.06.2026"]]
SAID = {
    "en": "column 'full_name': 2 value(s) hold a no-break space (first in row 2), each "
          "recorded as a plain space",
    "kk": "«full_name» бағаны: 2 мәнде бөлінбейтін бос орын бар (алғашқысы — 2-жолда), "
          "әрқайсысы кәдімгі бос орын ретінде жазылады",
    "ru": "столбец «full_name»: значений с неразрывным пробелом — 2 (первое — в строке 2); "
          "каждый такой пробел записывается как обычный",
}


def messy_workbook(path: Path) -> Path:
    """The class under a merged title row, as a registrar's sheet holds it."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Выпускники 2026"])
    sheet.append(DIPLOMA_HEADER)
    for row in ROWS:
        sheet.append(row)
    sheet.merge_cells("A1:E1")
    book.save(path)
    return path


def test_a_no_break_space_is_recorded_as_a_plain_space_and_said(tmp_path: Path) -> None:
    for path, first in ((write_csv(tmp_path / "g.csv", [DIPLOMA_HEADER, *ROWS]), 2),
                        (messy_workbook(tmp_path / "g.xlsx"), 3)):
        result = read_export(path, "diploma")
        assert result.problems == [], result.problems
        names = [record["full_name"] for record in result.records]
        assert names == ["Әсел Нұрланова", "Дәурен Сейітов", "Ерлан Ахметов"], names
        assert result.records[0]["programme"] == "Ақпараттық жүйелер"
        assert result.records[2]["qualification"] == "Бакалавр техники"
        assert [(s.column, s.first_row, s.count) for s in result.plain_spaces] == [
            ("full_name", first, 2), ("programme", first, 1), ("qualification", first + 2, 1)]


def test_the_dry_run_says_so_in_each_language(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "g.csv", [DIPLOMA_HEADER, *ROWS])
    said = in_every_language("issue", "--dry-run", "--type", "diploma", "--input", str(path))
    for lang, words in SAID.items():
        assert said[lang].exit_code == 0 and words in said[lang].output, said[lang].output
    assert "\u00a0" not in said["en"].output and "\u202f" not in said["en"].output


def test_the_real_run_says_so_and_hashes_the_plain_space(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    node = AccreditedNode()
    node.issuer = KeyPair.generate()
    save_key(tmp_path / "kaznu.key", node.issuer)
    monkeypatch.setattr(cli.issuing, "NodeClient", lambda url: node)
    monkeypatch.chdir(tmp_path)
    path = messy_workbook(tmp_path / "g.xlsx")
    result = CliRunner().invoke(main, ["issue", "--type", "diploma", "--key", "kaznu.key",
                                       "--input", str(path), "--out", "job", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert SAID["en"].replace("row 2", "row 3") in result.output, result.output
    written = [json.loads(file.read_text(encoding="utf-8"))
               for file in (tmp_path / "job" / "credentials").rglob("*.json")]
    text = json.dumps(written, ensure_ascii=False)
    assert len(written) == 3 and "Әсел Нұрланова" in text and "Ерлан Ахметов" in text
    assert not any(space in text for space in "\u00a0\u202f\u2007"), text
