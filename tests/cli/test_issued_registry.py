"""The issued-students registry: a second class file naming a student this issuer was
already issued the type to is refused by row (and shown by --dry-run) before anything
is written or sent; --corrections issues it as a correction to supersede the old one.

`senim issue` runs in full against the in-memory node of test_issue_job.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli.issue_words import sentence
from cli.issued_check import IssuedCheck
from cli.language import Words
from cli.main import main
from registrar import Phrase
from registrar.issued import REGISTRY_NAME, Entry, IssuedRegistry
from tests.cli.issued_registry_work import STUDENTS, export, issue, left_pending
from tests.cli.test_issue_job import AccreditedNode


def test_a_student_already_issued_is_refused_by_row_then_issued_as_a_correction(
        work: tuple[Path, AccreditedNode]) -> None:
    folder, node = work
    code, output = issue("--input", str(export(folder / "class1.csv", [0, 1, 2])),
                         "--out", "class1")
    assert code == 0, output
    assert "recorded 6 new student key(s) (iin, student_id of each)" in output
    registry = folder / REGISTRY_NAME
    assert stat.S_IMODE(registry.stat().st_mode) == 0o600
    raw = registry.read_bytes()
    assert all(s["iin"].encode() not in raw and s["student_id"].encode() not in raw
               for s in STUDENTS)
    assert json.loads((folder / "class1" / "manifest.json").read_text())["registered"]

    # The second file repeats student 1 in its third data row (spreadsheet row 4).
    second = export(folder / "class2.csv", [3, 4, 1])
    code, output = issue("--input", str(second), "--out", "class2", "--dry-run")
    assert code == 2, output
    assert "row 4, column 'iin'" in output and "row 4, column 'student_id'" in output
    assert "[already-issued]" in output and str(folder / "class1") in output
    assert "row 2," not in output and "row 3," not in output
    sent = len(node.sent)
    code, output = issue("--input", str(second), "--out", "class2")
    assert code == 2, output
    assert "row 4, column 'iin'" in output and "nothing was issued" in output
    assert not (folder / "class2").exists() and len(node.sent) == sent

    code, output = issue("--input", str(second), "--out", "class2", "--corrections")
    assert code == 0, output
    assert "corrects 1 earlier credential(s)" in output and "senim supersede" in output
    pairs = json.loads((folder / "class2" / "corrections.json").read_text())
    assert [p["row"] for p in pairs] == [4]
    old = json.loads(Path(pairs[0]["old"]).read_text())
    new = json.loads((folder / "class2" / pairs[0]["new"]).read_text())
    assert old["fields"]["iin"]["value"] == new["fields"]["iin"]["value"] == STUDENTS[1]["iin"]
    assert old["batch"]["root"] != new["batch"]["root"]

    # The registry now points at the correction; the other new students are recorded too.
    opened = IssuedRegistry.open(registry)
    assert opened is not None
    with opened:
        earlier = opened.find("diploma", "iin", STUDENTS[1]["iin"])
        assert earlier is not None and earlier.job == str((folder / "class2").resolve())
        assert opened.find("diploma", "student_id", STUDENTS[4]["student_id"]) is not None
        assert opened.find("transcript", "iin", STUDENTS[1]["iin"]) is None
    code, output = issue("--input", str(export(folder / "class3.csv", [4])), "--dry-run")
    assert code == 2 and str(folder / "class2") in output, output


def test_a_registry_readable_by_others_is_refused_before_reading(
        work: tuple[Path, AccreditedNode]) -> None:
    folder, _ = work
    (folder / REGISTRY_NAME).touch(mode=0o644)
    (folder / REGISTRY_NAME).chmod(0o644)
    code, output = issue("--input", str(export(folder / "class.csv", [0])), "--dry-run")
    assert code == 2 and "readable by others" in output and "chmod 600" in output


def test_resume_of_a_committed_job_records_it_once(work: tuple[Path, AccreditedNode]) -> None:
    folder, _ = work
    code, output = issue("--input", str(export(folder / "class.csv", [0, 1])), "--out", "job")
    assert code == 0, output
    manifest_path = folder / "job" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["registered"] = None  # as if killed between the commit and the registry
    manifest_path.write_text(json.dumps(manifest))
    result = CliRunner().invoke(main, ["issue", "--resume", "job"])
    assert result.exit_code == 0, result.output
    assert "recorded 0 new student key(s)" in result.output
    assert json.loads(manifest_path.read_text())["registered"]


def test_a_class_issued_again_while_its_first_job_is_unfinished_is_refused_by_row(
        work: tuple[Path, AccreditedNode]) -> None:
    # The first run times out pending (or is killed after sending); the registrar runs the
    # same command into a new folder instead of resuming: the class would be on chain twice.
    folder, node = work
    left_pending(folder, node)
    sent = len(node.sent)
    for dry in ((), ("--dry-run",)):
        code, output = issue("--input", "class.csv", "--out", "second", *dry)
        assert code == 2, output
        assert "row 2, column 'iin'" in output and "row 4, column 'student_id'" in output
        assert f"senim issue --resume {(folder / 'first').resolve()}" in output
        assert not (folder / "second").exists() and len(node.sent) == sent
    result = CliRunner().invoke(main, ["issue", "--resume", "first"])
    assert result.exit_code == 0, result.output
    assert "recorded 6 new student key(s)" in result.output
    code, output = issue("--input", "class.csv", "--out", "second")
    assert code == 2 and "[already-issued]" in output, output
    assert len(node.batches) == 1


def test_a_class_run_again_is_told_its_export_may_be_right_not_to_fix_it(
        work: tuple[Path, AccreditedNode]) -> None:
    # Run again after a kill: every row names a student of the unfinished job, and the
    # last line said "fix the export" to a registrar whose export had nothing wrong.
    folder, node = work
    left_pending(folder, node)
    for dry in ((), ("--dry-run",)):
        code, output = issue("--input", "class.csv", "--out", "second", *dry)
        assert code == 2 and "fix the export" not in output, output
        assert "each a student already issued or in an unfinished job" in output
        assert "The export itself may be right" in output
        code, output = issue("--input", "class.csv", "--out", "second", "--lang", "kk", *dry)
        assert code == 2 and "Экспорт файлының өзі дұрыс болуы мүмкін" in output, output
    # Another fault beside them is the export's own: fixing it is still the word.
    export(folder / "mixed.csv", [0, 3])
    rows = (folder / "mixed.csv").read_text().splitlines()
    rows[2] = rows[2].replace("2026-06-30", "46203")
    (folder / "mixed.csv").write_text("\n".join(rows) + "\n")
    code, output = issue("--input", "mixed.csv", "--out", "third")
    assert code == 2 and "[already-issued]" in output and "[bad-format]" in output, output
    assert "fix the export" in output and "may be right" not in output


def test_a_class_run_again_after_a_stop_past_its_commit_is_told_it_is_on_chain(
        work: tuple[Path, AccreditedNode], monkeypatch: pytest.MonkeyPatch) -> None:
    folder, node = work
    kill = [True]

    def killed_at(name: str) -> None:
        # as kill -9 between the commit and the registry's record, once
        if name == "committed" and kill and kill.pop():
            raise SystemExit(137)

    monkeypatch.setattr("cli.issue_job.crash_point", killed_at)
    code, _ = issue("--input", str(export(folder / "class.csv", [0, 1])), "--out", "first")
    assert code == 137 and len(node.batches) == 1
    job = (folder / "first").resolve()
    # said of the credentials, as an employer's HR officer reads it too (no "students")
    for lang, said, student in (
            ("en", f"is on chain in the job {job}, whose credentials were not yet recorded "
                   "as issued", "students"),
            ("ru", f"уже записан в цепочку (задание {job}), но документы этого задания ещё "
                   "не внесены в реестр", "студенты"),
            ("kk", f"тізбекке жазылған ({job} тапсырмасы), бірақ сол тапсырманың құжаттары",
             "студенттері")):
        code, output = issue("--input", "class.csv", "--out", "second", "--lang", lang)
        assert code == 2 and said in output and f"senim issue --resume {job}" in output, output
        assert not any(student in line for line in output.splitlines()
                       if "[already-issued]" in line), output
    result = CliRunner().invoke(main, ["issue", "--resume", "first"])
    assert result.exit_code == 0 and "recorded 4 new student key(s)" in result.output
    assert len(node.batches) == 1


def test_an_unsent_job_whose_folder_is_gone_blocks_nothing(
        work: tuple[Path, AccreditedNode]) -> None:
    folder, node = work
    export(folder / "class.csv", [0, 1])
    node.refuse_code = "not_accredited"  # refused at its first send: its files are removed
    code, output = issue("--input", "class.csv", "--out", "first")
    assert code == 1 and not (folder / "first").exists(), output
    node.refuse_code = None
    code, output = issue("--input", "class.csv", "--out", "second")
    assert code == 0, output


def test_a_correction_never_sent_leaves_the_earlier_credential_recorded(
        work: tuple[Path, AccreditedNode]) -> None:
    folder, node = work
    code, output = issue("--input", str(export(folder / "class.csv", [0, 1])), "--out", "first")
    assert code == 0, output
    node.refuse_code = "not_accredited"  # refused at its first send: its files are removed
    code, output = issue("--input", "class.csv", "--out", "fix", "--corrections")
    assert code == 1 and not (folder / "fix").exists(), output  # its pairs went with it
    node.refuse_code = None
    code, output = issue("--input", "class.csv", "--out", "again")
    assert code == 2 and "[already-issued]" in output, output
    assert str((folder / "first").resolve()) in output


def test_the_refusal_reads_as_english_for_every_type(tmp_path: Path) -> None:
    registry = IssuedRegistry.open(tmp_path / REGISTRY_NAME, create=True)
    assert registry is not None
    with registry:
        for kind in ("attestat", "diploma"):
            registry.record([Entry(registry.digest(kind, "iin", "x"), "c.json")],
                            chain_id="c", credential_type=kind, job=tmp_path, batch_root="00",
                            height=3)
            [(_, _, said)] = IssuedCheck(registry, kind, None, False,
                                     unique=("iin", "student_id"))(2, {"iin": "x"}, True)
            assert str(said).startswith(
                "an attestat was" if kind == "attestat" else "a diploma was"), said
            # said of the value issued, not of a student, as the English is
            assert isinstance(said, Phrase)
            for language, value in (("kk", "«ЖСН (жеке сәйкестендіру нөмірі)» өрісінің осы мәніне"),
                                    ("ru", "на это значение поля «ИИН")):
                words = sentence(said).said(Words(language))
                assert words.startswith(value) and "студент" not in words, words


DAMAGES: dict[str, Any] = {
    "state": "weird", "issuer": None, "tx": "not hex", "count": "6", "target_hashes": [],
    "files_per_dir": 0, "chain_id": ""}


@pytest.mark.parametrize("key", list(DAMAGES))
def test_a_damaged_manifest_is_one_line_and_its_students_stay_taken(
        work: tuple[Path, AccreditedNode], key: str) -> None:
    """A manifest edited by hand (or damaged) is refused whole, naming what it lacks,
    rather than half-used; its job may have sent its batch, so its students are not
    free to be issued again meanwhile."""
    folder, node = work
    left_pending(folder, node)
    path = folder / "first" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest[key] = DAMAGES[key]
    path.write_text(json.dumps(manifest))
    result = CliRunner().invoke(main, ["issue", "--resume", "first"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and len(result.output.splitlines()) == 1
    assert f"cannot be used: {'its state' if key == 'state' else key}" in result.output
    assert json.loads(path.read_text()) == manifest
    code, output = issue("--input", "class.csv", "--out", "second")
    assert code == 2 and "state unknown: its manifest cannot be used" in output, output
    assert not (folder / "second").exists()


def test_resume_of_a_file_says_it_is_no_job_folder(work: tuple[Path, AccreditedNode]) -> None:
    folder, _ = work
    (folder / "a-file").write_text("x\n")
    result = CliRunner().invoke(main, ["issue", "--resume", "a-file"])
    assert result.exit_code == 2 and result.output == (
        "error: a-file is a file, not an issuing job's folder\n")
    # a mistyped folder is named as missing, not as a job that lost its manifest
    missing = CliRunner().invoke(main, ["issue", "--resume", "jobs/2062"])
    assert missing.exit_code == 2 and missing.output == (
        "error: there is no folder jobs/2062: give the --out folder of the job to finish\n")
