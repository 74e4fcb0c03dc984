"""`senim issue` in the registrar's language: the dry run, each problem by row and column,
the refusal of a file that cannot be read, the report of a real run and of its resume,
in Kazakh and Russian as in English (--lang, or the locale), with the same exit codes and
no English sentence among them (a registrar's own data aside)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner, Result

import cli.issuing
import cli.revoking
from cli import (
    issue_checks,
    issue_dry_run,
    issue_finish,
    issue_words,
    issued_check,
    job_registration,
)
from cli.language import catalogue
from cli.main import main
from ledger.identity import KeyPair
from ledger.payloads import SUSPENSION_REASONS
from ledger.transactions import CREDENTIAL_TYPES
from node.files import save_key
from node.i18n import LANGUAGES
from tests.cli.test_issue_job import AccreditedNode
from tests.cli.test_ministry_words import ministry_keys
from tests.cli.test_operator_words import operator_keys
from tests.cli.test_record_words import record_keys
from tests.cli.test_verifier_lines_translated import english_in, english_literals

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "configs" / "registrar"
LANGS = ("kk", "ru")
HEADER = ("ФИО;ИИН;Дата рождения;ID студента;Образовательная программа;Квалификация;"
          "Дата окончания;GPA\n")
# A Platonus list as a registrar's office leaves it: a blank IIN, a mistyped one, one that
# lost its leading zero, 31 February, a GPA over 4, a student twice, a total row.
MESSY = (HEADER
         + "Иванова Анна Сергеевна;010101500013;01.01.2001;S1;ИС;Бакалавр;01.07.2025;3,41\n"
         + "Петров Дмитрий;;01.01.2001;S2;ИС;Бакалавр;01.07.2025;3,42\n"
         + "Ким Елена;010101500034;01.01.2001;S3;ИС;Бакалавр;31.02.2025;4,5\n"
         + "Ахметов Ерлан;10101500043;01.01.2001;S4;ИС;Бакалавр;01.07.2025;3,1\n"
         + "Иванова Анна Сергеевна;010101500013;01.01.2001;S1;ИС;Бакалавр;01.07.2025;3,41\n"
         + "Итого: 5;;;;;;;\n")


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, prog_name="senim")


def said_lines(output: str) -> str:
    """The output without the records a dry run shows (a registrar's own data, course
    titles in English among them)."""
    return "\n".join(line for line in output.splitlines()
                     if not re.match(r"  \S.*\S {2,}\S", line) or "[" in line)


def in_every_language(*args: str) -> dict[str, Result]:
    """`args` in English, Kazakh and Russian: the same exit code, no traceback, and no
    English sentence in Kazakh or Russian."""
    results = {lang: run(*args, "--lang", lang) for lang in ("en", *LANGS)}
    for lang, result in results.items():
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            (lang, result.output)
        assert "Traceback" not in result.output
        assert result.exit_code == results["en"].exit_code, (lang, args, result.output)
    for lang in LANGS:
        assert not english_in(said_lines(results[lang].output)), (lang, results[lang].output)
    return results


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    path = tmp_path / "выпуск.csv"
    path.write_text(MESSY, encoding="utf-8")
    return path


def test_a_dry_run_says_each_row_problem_in_the_registrars_language(messy: Path) -> None:
    results = in_every_language("issue", "--dry-run", "--type", "diploma", "--mapping",
                                "platonus", "--input", str(messy))
    assert results["en"].exit_code == 2
    assert "row 3, column 'ИИН': iin is required [missing]" in results["en"].output
    russian, kazakh = results["ru"].output, results["kk"].output
    for line in ("строка 3, столбец «ИИН»: не заполнено обязательное поле «ИИН» (iin) [missing]",
                 "строка 4, столбец «ИИН»: неверная контрольная цифра ИИН",
                 "строка 4, столбец «Дата окончания»: такой даты нет: 31.02.2025 [bad-format]",
                 "строка 4, столбец «GPA»: средний балл (GPA) — от 0 до 4 [bad-format]",
                 "строка 5, столбец «ИИН»: ИИН состоит из 12 цифр, а здесь 11: вероятно, "
                 "потерян ведущий ноль",
                 "строка 6, столбец «ИИН»: «ИИН» (iin) совпадает со строкой 2: студент "
                 "повторяется [duplicate-student]",
                 "строка 7: в строке только «Итого: 5» и нет ИИН",
                 "ошибка: найдено проблем: 8; ничего не будет выдано"):
        assert line in russian, (line, russian)
    for line in ("3-жол, «ИИН» бағаны: міндетті «ЖСН (жеке сәйкестендіру нөмірі)» (iin) өрісі "
                 "толтырылмаған [missing]",
                 "4-жол, «Дата окончания» бағаны: мұндай күн жоқ: 31.02.2025 [bad-format]",
                 "6-жол, «ИИН» бағаны: «ЖСН (жеке сәйкестендіру нөмірі)» (iin) 2-жолдағымен "
                 "бірдей: студент қайталанады [duplicate-student]",
                 "қате: 8 қате табылды: ештеңе берілмейді"):
        assert line in kazakh, (line, kazakh)


def test_the_locale_chooses_the_language(messy: Path) -> None:
    env = {"LC_ALL": "", "LC_MESSAGES": "", "LANG": "ru_RU.UTF-8"}
    result = run("issue", "--dry-run", "--type", "diploma", "--mapping", "platonus",
                 "--input", str(messy), env=env)
    assert result.exit_code == 2
    assert result.output.startswith("csv, utf-8, разделитель ';': строк: 6; готово записей: 0, "
                                     "проблем: 8\n")
    kazakh = run("issue", "--dry-run", "--type", "diploma", "--input", str(messy),
                 env={**env, "LC_ALL": "kk_KZ.UTF-8"})
    assert "1-жол, «ФИО» бағаны: «диплом» құжатында мұндай атаулы өріс жоқ" in kazakh.output
    # the shipped mapping that knows these columns is named first, in Kazakh
    assert "--mapping platonus көрсетіңіз [wrong-mapping]" in kazakh.output


@pytest.mark.parametrize("sample", [
    ("diploma", "platonus_diplomas.csv", "platonus"),
    ("transcript", "platonus_transcripts.csv", "platonus"),
    ("transcript", "platonus_transcript_courses.csv", "platonus-course-rows"),
    ("attestat", "kundelik_attestats.csv", "kundelik"),
    ("employment", "1c_zup_employees.csv", "1c-zup")])
def test_a_clean_dry_run_of_each_sample_is_said_in_each_language(
        sample: tuple[str, str, str]) -> None:
    kind, name, mapping = sample
    results = in_every_language("issue", "--dry-run", "--type", kind, "--mapping", mapping,
                                "--input", str(SAMPLES / name))
    assert results["en"].exit_code == 0, results["en"].output
    assert "НЕ искались" in results["ru"].output and "ІЗДЕЛМЕДІ" in results["kk"].output
    # English names the fields as the documents label them too (it showed "full_name")
    assert "  Full name " in results["en"].output or kind == "employment", results["en"].output
    assert "full_name" not in results["en"].output, results["en"].output


Rows = list[list[str | None]]


def _workbook(path: Path, sheets: list[tuple[str, Rows]], hidden: bool = False,
              merge: str | None = None) -> Path:
    workbook = openpyxl.Workbook()
    for index, (title, rows) in enumerate(sheets):
        sheet = workbook.active if index == 0 else workbook.create_sheet()
        assert sheet is not None
        sheet.title = title
        for row in rows:
            sheet.append(row)
        if index == 0 and hidden:
            sheet.sheet_state = "hidden"
        if index == 0 and merge:
            sheet.merge_cells(merge)
    workbook.save(path)
    return path


def _bad_inputs(folder: Path) -> dict[str, Path]:
    header: list[str | None] = list(HEADER.strip().split(";"))
    row: list[str | None] = list(MESSY.splitlines()[1].split(";"))
    made = {"pdf": b"%PDF-1.7\n" + bytes(100), "empty": b"",
            "header_only": HEADER.encode("utf-8"),
            "xls_renamed": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600),
            "csv_renamed": HEADER.encode("utf-8")}
    suffixes = {"pdf": ".pdf", "xls_renamed": ".xlsx", "csv_renamed": ".xlsx"}
    paths = {}
    for name, data in made.items():
        paths[name] = folder / f"{name}{suffixes.get(name, '.csv')}"
        paths[name].write_bytes(data)
    paths["wrong_sheet"] = _workbook(folder / "wrong_sheet.xlsx",
                                     [("Титул", []), ("Выпускники", [header, row])])
    paths["hidden_sheet"] = _workbook(folder / "hidden.xlsx",
                                      [("Старое", [header]), ("Выпускники", [header, row])],
                                      hidden=True)
    # a group's column left unnamed below it (with both named, the two rows are one header)
    merged: Rows = [[header[0], "Данные", None, *header[3:]], [None, header[1], None], row]
    paths["merged_header"] = _workbook(folder / "merged.xlsx", [("Выпуск", merged)],
                                       merge="B1:C1")
    paths["workbook_as_csv"] = folder / "workbook.csv"
    paths["workbook_as_csv"].write_bytes(paths["merged_header"].read_bytes())
    paths["missing"] = folder / "нет-такого.csv"
    paths["folder"] = folder
    return paths


@pytest.mark.parametrize("kind", ["pdf", "empty", "header_only", "xls_renamed", "csv_renamed",
                                  "wrong_sheet", "hidden_sheet", "merged_header",
                                  "workbook_as_csv", "missing", "folder"])
def test_a_file_that_cannot_be_read_is_refused_in_each_language(tmp_path: Path, kind: str
                                                                ) -> None:
    path = _bad_inputs(tmp_path)[kind]
    results = in_every_language("issue", "--dry-run", "--type", "diploma", "--mapping",
                                "platonus", "--input", str(path))
    assert results["en"].exit_code == 2, results["en"].output
    assert results["ru"].output.splitlines()[-1].startswith("ошибка: ")
    assert results["kk"].output.splitlines()[-1].startswith("қате: ")


def test_usage_errors_and_help_are_said_in_each_language(tmp_path: Path) -> None:
    for args in (["--dry-run"], ["--type", "diploma"], ["--resume", str(tmp_path), "--type",
                                                       "diploma"], ["--bogus"],
                 ["--dry-run", "--type", "passport", "--input", str(tmp_path)],
                 ["--resume", str(tmp_path / "no-such-job")]):
        results = in_every_language("issue", *args)
        assert results["en"].exit_code == 2, (args, results["en"].output)
    results = in_every_language("issue", "--help")
    for lang in LANGS:
        assert results[lang].output.count("--") >= 14, results[lang].output


def test_a_real_run_and_its_resume_report_in_each_language(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    node = AccreditedNode()
    node.issuer = KeyPair.generate()
    save_key(tmp_path / "enu.key", node.issuer)
    monkeypatch.setattr(cli.issuing, "NodeClient", lambda url: node)
    monkeypatch.chdir(tmp_path)
    export = tmp_path / "выпуск.csv"
    export.write_text(MESSY.split("Петров")[0], encoding="utf-8")
    issue = ("issue", "--type", "diploma", "--mapping", "platonus", "--key", "enu.key",
             "--input", str(export))
    first = run(*issue, "--out", "job", "--lang", "ru")
    assert first.exit_code == 0, first.output
    assert "записано файлов документов: 1, в job; отправляем пакет…" in first.output
    assert re.search(r"^выдано документов «диплом»: 1, пакет [0-9a-f]{16}…, блок \d+$",
                     first.output, re.M), first.output
    assert not english_in(first.output), first.output
    again = run("issue", "--resume", "job", "--lang", "kk")
    assert again.exit_code == 0, again.output
    assert re.search(r"^job: [0-9a-f]{16}… пакеті тізбекте бар, \d+-блок; ештеңе істеудің "
                     r"қажеті жоқ$", again.output, re.M), again.output
    # the same student in a second job: refused by row, in the registrar's language
    twice = run(*issue, "--out", "job2", "--lang", "ru")
    assert twice.exit_code == 2, twice.output
    assert "строка 2, столбец «ИИН»: на это значение поля «ИИН» уже выдан диплом" \
        in twice.output
    assert not english_in(said_lines(twice.output)), twice.output
    assert len(node.sent) == 1


# The modules that say what `senim issue` says: each line a Sentence or a registrar phrase.
ISSUE_MODULES = (cli.issuing, issue_checks, issue_dry_run, issue_finish, issue_words,
                 issued_check, job_registration)
PRINTERS = {"fail", "echo", "secho", "say_line"}


def test_no_line_of_senim_issue_is_an_english_literal() -> None:
    literals = [f"{module.__name__}{place}" for module in ISSUE_MODULES
                for place in english_literals(Path(str(module.__file__)), printers=PRINTERS)]
    assert not literals, literals


def test_every_key_the_translated_commands_say_is_in_every_catalogue() -> None:
    """A key missing from a catalogue is a KeyError where the line should be: every key a
    Sentence or a registrar phrase names (and those made from a type or a script, and
    those the ministry's, the record and the operator's commands make up:
    tests/cli/test_ministry_words.py, test_record_words.py, test_operator_words.py)."""
    source = "\n".join(path.read_text("utf-8") for folder in ("cli", "registrar")
                       for path in sorted((ROOT / folder).glob("*.py")))
    keys = set(re.findall(r'(?:Sentence|phrase)\(\s*"([\w.]+)"', source))
    keys |= {f"type.{kind}" for kind in CREDENTIAL_TYPES}
    keys |= {f"issue.dry.unchecked.{who}" for who in ("students", "employees")}
    keys |= {f"issue.registry.not_looked.{who}" for who in ("students", "employees")}
    keys |= {f"reg.value.mixed_{script}" for script in ("latin", "cyrillic")}
    keys |= {f"issue.suspension.{code}" for code in SUSPENSION_REASONS}
    keys |= ministry_keys() | record_keys() | operator_keys()
    assert len([key for key in keys if key.startswith(("reg.", "issue."))]) > 200
    assert len([key for key in keys if key.startswith(("gov.", "min.", "refusal."))]) > 200
    assert len([key for key in keys if key.startswith("rec.")]) > 35
    for lang in LANGUAGES:
        assert sorted(keys - set(catalogue(lang))) == [], lang


@pytest.mark.parametrize(("lang", "said"), [
    ("en", "interrupted: stopped before it finished; a transaction it had already sent may "
           "still commit"),
    ("ru", "прервано: команда остановлена до конца; транзакция, которую она уже успела "
           "отправить, ещё может быть записана в цепочку")])
def test_ctrl_c_in_supersede_says_a_sent_transaction_may_commit(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, lang: str, said: str) -> None:
    """Not "it changed nothing on the chain", as a command that sends nothing says: each
    supersede already sent stands."""
    def interrupted(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.revoking, "supersede_job", interrupted)
    result = run("supersede", "--key", str(tmp_path / "k"), "--corrections", str(tmp_path),
                 "--lang", lang)
    assert result.exit_code == 130
    assert result.output.splitlines() == [said]


def test_the_title_rows_read_past_are_named_in_each_language(tmp_path: Path) -> None:
    from tests.cli.test_issue_exports import _titled_exports

    for export in _titled_exports(tmp_path):
        results = in_every_language("issue", "--dry-run", "--type", "diploma", "--mapping",
                                    "platonus", "--input", str(export))
        assert results["en"].exit_code == 0, results["en"].output
        assert ("тақырып жолы — 4-жол; оның үстіндегі 3 атау жолы өткізілді (олардың "
                "ешқайсысы студенттің жолы емес екенін тексеріңіз):\n"
                "  1-жол: Казахский национальный университет имени аль-Фараби\n"
                "  2-жол: Факультет | Информационных технологий | Курс | 4\n") \
            in results["kk"].output
        assert "заголовок — в строке 4; пропущено строк-названий над ним: 3" \
            in results["ru"].output


class _SuspendedNode(AccreditedNode):
    def request(self, method: str, path: str, body: object = None) -> dict[str, Any]:
        answer = super().request(method, path, body)
        answer["members"][0]["accreditations"][0].update(suspended_height=7,
                                                         suspend_reason="investigation")
        return answer


@pytest.mark.parametrize(("node", "said"), [
    (_SuspendedNode, "ошибка: ENU сейчас не может выдавать документы «диплом»: приостановлена "
                     "с блока 7 (идёт проверка) [issuer_suspended]"),
    (AccreditedNode, "ошибка: ENU не аккредитован(а) на выдачу документов «аттестат» "
                     "(аккредитация на: диплом) [type_not_accredited]")])
def test_an_issuer_that_may_not_issue_is_told_so_in_its_language(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, node: type[AccreditedNode],
        said: str) -> None:
    fake = node()
    fake.issuer = KeyPair.generate()
    save_key(tmp_path / "enu.key", fake.issuer)
    monkeypatch.setattr(cli.issuing, "NodeClient", lambda url: fake)
    kind = "diploma" if node is _SuspendedNode else "attestat"
    result = run("issue", "--type", kind, "--key", str(tmp_path / "enu.key"), "--input",
                 str(SAMPLES / "platonus_diplomas.csv"), "--out", str(tmp_path / "job"),
                 "--lang", "ru")
    assert result.exit_code == 1, result.output
    assert result.output.splitlines() == [said]
    assert not fake.sent and not (tmp_path / "job").exists()


def test_a_batch_the_node_refuses_is_said_in_the_registrars_language(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    node = AccreditedNode()
    node.issuer = KeyPair.generate()
    node.refuse_code = "type_not_accredited"
    save_key(tmp_path / "enu.key", node.issuer)
    monkeypatch.setattr(cli.issuing, "NodeClient", lambda url: node)
    result = run("issue", "--type", "diploma", "--mapping", "platonus", "--key",
                 str(tmp_path / "enu.key"), "--input", str(SAMPLES / "platonus_diplomas.csv"),
                 "--out", str(tmp_path / "job"), "--lang", "kk")
    assert result.exit_code == 1, result.output
    assert result.output.splitlines()[-1] == (
        "қате: пакет қабылданбады: ұйым осы түрдегі құжаттарды беруге аккредиттелмеген "
        "(type_not_accredited); ештеңе берілмеді, құжат файлдары өшірілді")


def test_every_problem_of_a_bad_export_carries_a_phrase(tmp_path: Path, messy: Path) -> None:
    """A problem with no phrase is said in English in every language."""
    from registrar import load_mapping, read_export

    mapping = load_mapping("platonus")
    paths = [messy, *(path for name, path in _bad_inputs(tmp_path).items()
                      if name not in ("missing", "folder"))]
    for path in paths:
        result = read_export(path, "diploma", mapping=mapping)
        assert result.problems, path
        assert [str(p) for p in result.problems if p.said is None] == [], path


def test_a_registrars_own_mapping_that_cannot_be_used_is_said_in_each_language(
        tmp_path: Path, messy: Path) -> None:
    mapping = tmp_path / "univer.toml"
    mapping.write_text('[columns]\n"ФИО" = "ФИО"\n', encoding="utf-8")
    results = in_every_language("issue", "--dry-run", "--type", "diploma", "--mapping",
                                str(mapping), "--input", str(messy))
    assert results["en"].exit_code == 2
    assert results["ru"].output.startswith(f"ошибка: соответствие {mapping}: столбец «ФИО» "
                                           "сопоставлен недопустимому имени поля «ФИО»")


def test_a_jobs_state_is_said_in_the_registrars_language() -> None:
    """`senim issue --resume jobs/t1 --lang kk` said "(күйі: submitted)"."""
    from cli.job_folder import JOB_STATES
    from cli.language import Words
    from cli.spoken import Sentence

    for lang in ("kk", "ru"):
        said = {Words(lang).t(f"issue.job_state.{state}") for state in JOB_STATES}
        assert len(said) == len(JOB_STATES) and not said & set(JOB_STATES), (lang, said)
    resumed = Sentence("issue.resume.state", None, path="jobs/t1",
                       state=Sentence("issue.job_state.submitted")).said(Words("kk"))
    assert resumed == "jobs/t1: тапсырманы жалғастырып жатырмыз (күйі: жіберілген)"
