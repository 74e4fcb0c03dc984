"""`senim issue` reads real registrar exports through registrar/: dry runs and refusals by row.

No node is needed: a dry run never talks to one. (A real run asks the node first
whether the issuer may issue the type at all, then reads the export.)
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
from click.testing import CliRunner

from cli.main import main

SAMPLES = Path(__file__).resolve().parents[2] / "configs" / "registrar"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_a_dry_run_of_a_cp1251_semicolon_export_shows_the_documents(tmp_path: Path) -> None:
    code, output = run("issue", "--dry-run", "--type", "diploma", "--mapping", "platonus",
                       "--input", str(SAMPLES / "platonus_diplomas.csv"))
    assert code == 0, output
    assert "cp1251" in output and "delimiter ';'" in output
    assert "would be issued; nothing was sent" in output
    assert not list(tmp_path.iterdir())


def test_a_messy_export_is_refused_by_row_and_column_and_nothing_is_written(
        tmp_path: Path) -> None:
    export = tmp_path / "class.csv"
    export.write_text("full_name;iin;programme;qualification;graduation_date;full_name\n"
                      "Aigerim Abenova;010517612342;CS;Bachelor;2026-06-30;x\n"
                      "Nurlan Seitkali;020211512340;Maths;Bachelor\n", encoding="utf-8")
    code, output = run("issue", "--dry-run", "--type", "diploma", "--input", str(export))
    assert code == 2, output
    assert "nothing would be issued" in output and "Traceback" not in output
    assert "row 1" in output and "full_name" in output  # the duplicate header
    assert "row 3" in output  # the short row (and its bad check digit)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["class.csv"]


def test_dry_run_needs_a_type_and_an_input() -> None:
    code, output = run("issue", "--dry-run")
    assert code == 2 and "--dry-run needs --type and --input" in output


def test_a_dry_run_of_a_workbook_names_the_sheet_it_read(tmp_path: Path) -> None:
    # Bachelors on the first sheet, masters on the second: only the first is read.
    workbook = openpyxl.Workbook()
    first = workbook.active
    assert first is not None
    first.title = "Бакалавриат"
    first.append(["full_name", "iin", "programme", "qualification", "graduation_date"])
    first.append(["Aigerim Abenova", "010517612342", "CS", "Bachelor", "2026-06-30"])
    workbook.create_sheet("Магистратура").append(["full_name"])
    workbook.save(tmp_path / "class.xlsx")
    code, output = run("issue", "--dry-run", "--type", "diploma", "--input",
                       str(tmp_path / "class.xlsx"))
    assert code == 0, output
    assert "sheet 'Бакалавриат' (the first of 2; no other sheet is read)" in output
