"""A damaged workbook's refusal is a Kazakh or Russian sentence of its own: openpyxl's
English detail ("unclosed token: line 1, column 0", a descriptor's TypeError) sat inside
the kk and ru lines. English keeps it, for whoever reads English."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from tests.registrar.helpers import DIPLOMA_HEADER, diploma_row, write_xlsx


def _damaged(tmp_path: Path, part: str, damage: bytes | None = None) -> Path:
    base = write_xlsx(tmp_path / "base.xlsx", [DIPLOMA_HEADER, diploma_row(0)])
    path = tmp_path / "export.xlsx"
    with zipfile.ZipFile(base) as source, zipfile.ZipFile(path, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name == part:
                data = data[:len(data) // 2] if damage is None else data.replace(
                    b"PartName", damage, 1)
            target.writestr(name, data)
    return path


@pytest.mark.parametrize("part, damage, detail", [
    ("xl/worksheets/sheet1.xml", None, "unclosed token"),  # reg.file.damaged_here
    ("xl/workbook.xml", None, "unclosed token"),
    ("[Content_Types].xml", b"PartNntType", "PartNntType"),  # reg.file.unreadable_workbook
])
def test_a_damaged_workbook_is_said_without_openpyxls_english(
        tmp_path: Path, part: str, damage: bytes | None, detail: str) -> None:
    path = _damaged(tmp_path, part, damage)
    said = {}
    for lang in ("kk", "ru", "en"):
        result = CliRunner().invoke(main, ["issue", "--dry-run", "--type", "diploma",
                                           "--input", str(path), "--lang", lang])
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
        said[lang] = result.output
    assert detail in said["en"]
    for lang in ("kk", "ru"):
        assert detail not in said[lang] and "xl/" not in said[lang], said[lang]
    assert "откройте её в Excel и сохраните заново" in said["ru"]
    assert "Excel-де ашып" in said["kk"]
