"""`senim issue` reads real registrar exports through registrar/: dry runs and refusals by row.

No node is needed: a dry run without --key never talks to one; given the key, it asks the
node, as a real run asks it first, whether the issuer may issue the type at all (the
in-memory node of test_issue_job here), and goes on when it cannot be asked.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

import cli.issuing
from cli.issue_words import PROBLEMS_SHOWN_MAX
from cli.main import main
from ledger.identity import KeyPair
from node.files import save_key
from registrar.problems import MAX_PROBLEMS
from tests.cli.test_issue_job import AccreditedNode
from tests.registrar.helpers import IINS

SAMPLES = Path(__file__).resolve().parents[2] / "configs" / "registrar"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_a_dry_run_of_a_cp1251_semicolon_export_shows_the_documents(tmp_path: Path) -> None:
    code, output = run("issue", "--dry-run", "--type", "diploma", "--mapping", "platonus",
                       "--input", str(SAMPLES / "platonus_diplomas.csv"))
    assert code == 0, output
    assert "cp1251" in output and "delimiter ';'" in output
    # no --key: the issuer's registry of students already issued is not found, and it
    # says so rather than that the records would be issued
    assert "read clean, NOT checked against the students" in output
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


def test_a_dry_run_warns_that_the_real_run_would_refuse_its_out_folder(
        tmp_path: Path) -> None:
    earlier_job = tmp_path / "class-2026"
    earlier_job.mkdir()
    (earlier_job / "manifest.json").write_text("{}", encoding="utf-8")
    result = CliRunner().invoke(main, [
        "issue", "--dry-run", "--type", "diploma", "--mapping", "platonus",
        "--input", str(SAMPLES / "platonus_diplomas.csv"), "--out", str(earlier_job)])
    assert result.exit_code == 0, result.output
    assert f"warning: --out {earlier_job} is not empty" in result.stderr
    assert f"senim issue --resume {earlier_job}" in result.stderr
    code, output = run("issue", "--dry-run", "--type", "diploma", "--mapping", "platonus",
                       "--input", str(SAMPLES / "platonus_diplomas.csv"),
                       "--out", str(tmp_path / "new-job"))
    assert code == 0 and "warning" not in output, output


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


# A university list as its system exports it: the university, then the faculty, course,
# speciality and group as label/value cells, then the header.
TITLED = [["Казахский национальный университет имени аль-Фараби"],
          ["Факультет", "Информационных технологий", "Курс", "4"],
          ["Специальность", "6B06102 Информационные системы", "Группа", "ИС-21-1"],
          ["ФИО", "ИИН", "Образовательная программа", "Квалификация", "Дата окончания"],
          ["Нұрланова Әсел", IINS[0], "Информационные системы", "Бакалавр", "30.06.2026"],
          ["Ахметов Данияр", IINS[1], "Информационные системы", "Бакалавр", "30.06.2026"]]
TITLES_SHOWN = ("header on row 4; read past 3 title rows above it (check that none is a "
                "student's):\n"
                "  row 1: Казахский национальный университет имени аль-Фараби\n"
                "  row 2: Факультет | Информационных технологий | Курс | 4\n"
                "  row 3: Специальность | 6B06102 Информационные системы | Группа | ИС-21-1\n")


def _titled_exports(folder: Path) -> list[Path]:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in TITLED:
        sheet.append(row)
    sheet.merge_cells("A1:E1")
    workbook.save(folder / "list.xlsx")
    (folder / "list.csv").write_text("".join(";".join(row) + "\r\n" for row in TITLED),
                                     encoding="utf-8-sig")
    return [folder / "list.xlsx", folder / "list.csv"]


def test_a_dry_run_names_each_title_row_it_read_past(tmp_path: Path) -> None:
    for export in _titled_exports(tmp_path):
        code, output = run("issue", "--dry-run", "--type", "diploma", "--mapping", "platonus",
                           "--input", str(export))
        assert code == 0, output
        assert "2 rows, 2 records ready, 0 problems\n" + TITLES_SHOWN + "row 5:\n" in output



def test_a_real_issue_names_each_title_row_it_read_past(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    node = AccreditedNode()
    node.issuer = KeyPair.generate()
    save_key(tmp_path / "kaznu.key", node.issuer)
    monkeypatch.setattr(cli.issuing, "NodeClient", lambda url: node)
    monkeypatch.chdir(tmp_path)
    export, _ = _titled_exports(tmp_path)
    code, output = run("issue", "--type", "diploma", "--mapping", "platonus", "--key",
                       "kaznu.key", "--input", str(export), "--out", "job")
    assert code == 0, output
    assert TITLES_SHOWN in output and len(node.sent) == 1
    assert len(list((tmp_path / "job" / "credentials").rglob("*.json"))) == 2


def test_every_problem_is_counted_beyond_the_ones_listed(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    # A class of bad IINs (or one issued already): the list stops at MAX_PROBLEMS, and the
    # count said "1001 problem(s)", the listed ones and the line counting the rest.
    rows = MAX_PROBLEMS + 200
    export = tmp_path / "class.csv"
    export.write_text("full_name;iin;programme;qualification;graduation_date\n" + "".join(
        "Әсел Нұрланова;1;Ақпараттық жүйелер;Бакалавр;2026-06-30\n" for _ in range(rows)),
        encoding="utf-8")
    code, output = run("issue", "--dry-run", "--type", "diploma", "--input", str(export))
    assert code == 2, output
    assert f"{rows} rows, 0 records ready, {rows} problems\n" in output
    assert f"{rows - MAX_PROBLEMS} more problems not listed" in output
    assert f"error: {rows} problem(s): nothing would be issued" in output
    node = AccreditedNode()
    node.issuer = KeyPair.generate()
    save_key(tmp_path / "kaznu.key", node.issuer)
    monkeypatch.setattr(cli.issuing, "NodeClient", lambda url: node)
    code, output = run("issue", "--type", "diploma", "--key", str(tmp_path / "kaznu.key"),
                       "--input", str(export), "--out", str(tmp_path / "job"))
    assert code == 2, output
    assert f"… and {rows - PROBLEMS_SHOWN_MAX} more" in output
    assert f"{rows} problem(s); nothing was issued" in output
    assert not node.sent and not (tmp_path / "job").exists()


def test_a_web_page_saved_as_xls_is_said_to_be_one(tmp_path: Path) -> None:
    # It was "cannot read .xls … (save .xls as .xlsx)", under a summary with no format.
    page = tmp_path / "export.xls"
    page.write_text("<html><body><table><tr><td>full_name</td></tr></table></body></html>",
                    encoding="utf-8")
    code, output = run("issue", "--dry-run", "--type", "diploma", "--input", str(page))
    assert code == 2, output
    assert output.startswith("xls: 0 rows")
    assert "cannot read this .xls: it is a web page (HTML) named as a workbook" in output


def test_a_dry_run_with_the_key_says_the_real_run_would_be_refused_an_unaccredited_type(
        work: tuple[Path, AccreditedNode]) -> None:
    # The dry run said "5 record(s) would be issued" of a class of attestats the
    # university was never accredited for; the real run refused it whole.
    _, node = work
    node.accredited = "certificate"
    args = ("issue", "--key", "enu.key", "--type", "diploma", "--mapping", "platonus",
            "--input", str(SAMPLES / "platonus_diplomas.csv"), "--dry-run")
    code, output = run(*args)
    assert code == 1, output
    assert output.splitlines()[-1] == (
        "error: dry run: the real run would be refused: ENU is not accredited for diploma "
        "(accredited for: certificate) [type_not_accredited]; nothing was sent")
    code, output = run(*args[:-1], "--out", "job")
    assert code == 1 and "ENU is not accredited for diploma" in output
    node.accredited = "diploma"
    code, output = run(*args)
    assert code == 0 and output.splitlines()[-1].endswith("would be issued; nothing was sent")


def test_a_dry_run_with_the_key_goes_on_when_the_node_cannot_be_asked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save_key(tmp_path / "enu.key", KeyPair.generate())
    monkeypatch.chdir(tmp_path)
    code, output = run("issue", "--key", "enu.key", "--type", "diploma", "--mapping",
                       "platonus", "--input", str(SAMPLES / "platonus_diplomas.csv"),
                       "--node", "http://127.0.0.1:9", "--dry-run")
    assert code == 0, output
    assert "warning: whether this issuer may issue diploma credentials now was NOT " \
        "checked: the node could not be asked (" in output and "http://127.0.0.1:9" in output
    assert output.splitlines()[-1].endswith("would be issued; nothing was sent")
