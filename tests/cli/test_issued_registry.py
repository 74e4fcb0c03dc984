"""The issued-students registry: a second class file naming a student this issuer was
already issued the type to is refused by row (and shown by --dry-run) before anything
is written or sent; --corrections issues it as a correction to supersede the old one.

`senim issue` runs in full against the in-memory node of test_issue_job.
"""

from __future__ import annotations

import json
import sqlite3
import stat
import threading
from pathlib import Path
from typing import Any, cast

import pytest
from click.testing import CliRunner

import cli.issue_finish
import cli.issuing
import cli.job_folder
from bench.registrar_exports import DIPLOMA_HEADER, diploma_rows, write_csv
from cli.client import NodeClient
from cli.issue_checks import ReaderOptions
from cli.issued_check import IssuedCheck
from cli.issuer_registry import pointer_path
from cli.main import main
from cli.spoken import Sentence
from ledger.identity import KeyPair
from node.files import save_key
from registrar.issued import REGISTRY_NAME, Entry, IssuedRegistry
from tests.cli.test_issue_job import AccreditedNode

STUDENTS = list(diploma_rows(5))



@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, AccreditedNode]:
    node = AccreditedNode()
    node.issuer = KeyPair.generate()
    save_key(tmp_path / "enu.key", node.issuer)
    monkeypatch.setattr(cli.issuing, "NodeClient", lambda url: node)
    monkeypatch.chdir(tmp_path)
    return tmp_path, node


def export(path: Path, indexes: list[int]) -> Path:
    write_csv(path, DIPLOMA_HEADER, iter([STUDENTS[i] for i in indexes]))
    return path


def issue(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["issue", "--key", "enu.key", "--type", "diploma", *args])
    assert "Traceback" not in result.output and not isinstance(result.exception, AssertionError)
    return result.exit_code, result.output


def left_pending(folder: Path, node: AccreditedNode) -> None:
    """Students 0-2 issued into the job folder `first`, whose batch the node never
    commits: the job times out pending (exit 75)."""
    export(folder / "class.csv", [0, 1, 2])
    node.quorum = False
    code, output = issue("--input", "class.csv", "--out", "first", "--timeout", "1")
    assert code == 75, output
    node.quorum = True


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
            said = str(IssuedCheck(registry, kind, None, False)(2, "iin", "x") or "")
            assert said.startswith(
                "an attestat was" if kind == "attestat" else "a diploma was"), said


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


def test_a_job_a_folder_deeper_does_not_start_a_registry_of_its_own_unasked(
        work: tuple[Path, AccreditedNode]) -> None:
    # jobs/2026 recorded the class in jobs/senim-issued.db; the same class issued into
    # jobs/2027/june started jobs/2027/senim-issued.db, checked against nothing: every
    # student was issued a second diploma.
    # (As a registry recorded before the issuer's was named beside its key: that name is
    # removed. With it, the job uses jobs/senim-issued.db at once: the next test.)
    folder, node = work
    (folder / "jobs").mkdir()
    class_file = export(folder / "class.csv", [0, 1])
    assert issue("--input", str(class_file), "--out", "jobs/2026")[0] == 0
    pointer_path(folder / "enu.key", node.issuer.member_id.hex()).unlink()
    for dry in ([], ["--dry-run"]):
        code, output = issue("--input", str(class_file), "--out", "jobs/2027/june", *dry)
        assert code == 2, output
        ours = folder / "jobs" / REGISTRY_NAME
        assert (f"there is no issued-students registry beside jobs/2027/june yet, but {ours} "
                f"records earlier jobs: give --registry {ours}") in output
        assert not (folder / "jobs" / "2027").exists() and len(node.sent) == 1
    code, output = issue("--input", str(class_file), "--out", "jobs/2027/june",
                         "--registry", "jobs/senim-issued.db")
    assert code == 2 and "a diploma was already issued to this iin" in output
    # a new registry there, asked for by name: the job starts it
    code, output = issue("--input", str(class_file), "--out", "jobs/2027/june",
                         "--registry", f"jobs/2027/{REGISTRY_NAME}")
    assert code == 0, output


def test_june_and_september_jobs_kept_apart_share_the_issuers_one_registry(
        work: tuple[Path, AccreditedNode]) -> None:
    # June's jobs in one folder, September's in another: the September job started a
    # registry of its own beside its folder, and student 1 was issued a second diploma.
    folder, node = work
    for name in ("june", "september"):
        (folder / name).mkdir()
    assert issue("--input", str(export(folder / "june.csv", [0, 1])), "--out",
                 "june/class")[0] == 0
    june = folder / "june" / REGISTRY_NAME
    pointer = pointer_path(folder / "enu.key", node.issuer.member_id.hex())
    assert pointer.read_text().splitlines()[-1] == str(june)
    assert stat.S_IMODE(pointer.stat().st_mode) == 0o600
    autumn = export(folder / "september.csv", [2, 1])
    answers = []
    for dry in (["--dry-run"], []):  # the dry run says what the issue does
        code, output = issue("--input", str(autumn), "--out", "september/class", *dry)
        assert code == 2, output
        assert f"the issued-students registry of this issuer: {june} (named in {pointer})" \
            in output
        assert "row 3, column 'iin'" in output and "a diploma was already issued" in output
        answers.append([line.replace(" of chain 'senim-unit'", "")  # a dry run asks no
                        for line in output.splitlines() if line.startswith("  row ")])  # node
    assert answers[0] == answers[1] and len(node.sent) == 1
    assert not (folder / "september" / REGISTRY_NAME).exists()
    # a second registry asked for by name is refused, naming the issuer's own
    code, output = issue("--input", str(autumn), "--out", "september/class", "--registry",
                         f"september/{REGISTRY_NAME}")
    assert code == 2 and f"this issuer's issued-students registry is {june}" in output
    assert f"delete {pointer} first" in output and len(node.sent) == 1
    # the September class without the student already issued goes into June's registry
    code, output = issue("--input", str(export(folder / "sept2.csv", [2])), "--out",
                         "september/class")
    assert code == 0, output
    assert f"in the issued-students registry {june}" in output
    assert not (folder / "september" / REGISTRY_NAME).exists()


def test_the_issuers_registry_gone_or_another_issuers_is_refused(
        work: tuple[Path, AccreditedNode]) -> None:
    folder, node = work
    assert issue("--input", str(export(folder / "a.csv", [0])), "--out", "a")[0] == 0
    ours, mine = folder / REGISTRY_NAME, node.issuer
    first = mine.member_id.hex()
    # another issuer's key on this registry: its keyed hashes say nothing of who issued
    other = KeyPair.generate()
    save_key(folder / "other.key", other)
    node.issuer = other
    result = CliRunner().invoke(main, ["issue", "--key", "other.key", "--type", "diploma",
                                       "--input", str(export(folder / "b.csv", [1])),
                                       "--out", "b", "--registry", str(ours)])
    assert result.exit_code == 2, result.output
    assert (f"{ours} records the jobs of issuer {first}, not of {other.member_id.hex()}"
            in result.output.replace("\n", " ")), result.output
    node.issuer = mine
    # the registry named beside the key moved away: never silently a new, empty one
    ours.rename(folder / "moved.db")
    code, output = issue("--input", str(export(folder / "c.csv", [1])), "--out", "c")
    assert code == 2 and f"registry {ours} (named in" in output and "is gone" in output
    code, output = issue("--input", str(export(folder / "c.csv", [1])), "--out", "c",
                         "--lang", "ru")  # and in the registrar's language
    assert code == 2 and output.startswith(f"ошибка: реестра выданных документов вашей "
                                           f"организации {ours} (указан в "), output
    # --registry NEW starts its successor knowingly: the file beside the key names it, and
    # stays its owner's alone (0600) as when it was first written
    pointer = pointer_path(folder / "enu.key", first)
    code, output = issue("--input", str(export(folder / "d.csv", [1])), "--out", "d",
                         "--registry", "new.db")
    assert code == 0, output
    assert pointer.read_text().splitlines()[-1] == str(folder / "new.db")
    assert stat.S_IMODE(pointer.stat().st_mode) == 0o600


def test_a_dry_run_without_the_key_says_it_did_not_look_for_students_issued(
        work: tuple[Path, AccreditedNode]) -> None:
    # The issuer's registry is named beside its key; a dry run without --key, run from
    # another folder, said "3 record(s) would be issued" of a class the real run refuses.
    folder, _node = work
    (folder / "june").mkdir()
    assert issue("--input", str(export(folder / "june.csv", [0, 1])), "--out",
                 "june/class")[0] == 0
    again = export(folder / "again.csv", [1, 2])
    result = CliRunner().invoke(main, ["issue", "--dry-run", "--type", "diploma", "--input",
                                       str(again)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "students already issued were NOT looked for" in result.output
    assert "give --key KEY (the key the real run signs with)" in result.output
    assert result.output.splitlines()[-1] == (
        "dry run: 2 record(s) read clean, NOT checked against the students this issuer was "
        "already issued (give --key); nothing was sent")
    code, output = issue("--input", str(again), "--dry-run")  # given the key, it finds them
    assert code == 2 and "row 2, column 'iin'" in output and "already issued" in output
    # an employer's HR officer issues to employees, and is told of them
    staff = Path(__file__).parents[2] / "configs" / "registrar" / "1c_zup_employees.csv"
    result = CliRunner().invoke(main, ["issue", "--dry-run", "--type", "employment", "--input",
                                       str(staff), "--mapping", "1c-zup"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == (
        "dry run: 5 record(s) read clean, NOT checked against the employees this issuer was "
        "already issued (give --key); nothing was sent")
    assert "students" not in result.output.replace("issued-students", "")


def test_another_issuers_registry_in_the_folder_neither_blocks_nor_checks_a_first_job(
        work: tuple[Path, AccreditedNode]) -> None:
    # On a testnet a school's first job went a folder below a university's registry: the
    # real run was refused ("give --registry <the university's>", which is refused as
    # another issuer's), and the dry run checked the school's rows against the
    # university's registry, saying "checked against the issued-students registry …".
    folder, node = work
    university = folder / REGISTRY_NAME
    assert issue("--input", str(export(folder / "a.csv", [0])), "--out", "uni")[0] == 0
    school = KeyPair.generate()
    save_key(folder / "school.key", school)
    node.issuer = school

    def school_issue(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, ["issue", "--key", "school.key", "--type",
                                           "diploma", "--input",
                                           str(export(folder / "s.csv", [0, 1])), *args])
        assert "Traceback" not in result.output
        return result.exit_code, result.output

    code, output = school_issue("--dry-run")
    assert code == 0, output
    assert f"the issued-students registry {university} records another issuer's jobs, " \
        "not read" in output.replace("\n", " ")
    assert output.splitlines()[-1] == "dry run: 2 record(s) would be issued; nothing was sent"
    code, output = school_issue("--out", "school/first")
    assert code == 0, output
    assert f"in the issued-students registry {folder / 'school' / REGISTRY_NAME}" in output


def test_two_first_jobs_of_an_issuer_started_together_issue_each_student_once(
        work: tuple[Path, AccreditedNode], monkeypatch: pytest.MonkeyPatch) -> None:
    """Both chose their registry before either recorded a student (none was named beside
    the key yet, and their folder `june/` did not exist to be locked): each checked its
    rows against no one, and the class went on chain twice. Job b here starts its
    preparation while job a is hashing."""
    folder, node = work
    export(folder / "class.csv", [0, 1, 2])
    started = threading.Event()
    waiting = threading.Event()
    second: dict[str, object] = {}

    def prepare_second() -> None:
        started.set()
        try:
            second["job"] = cli.issuing._prepare(
                folder / "enu.key", "diploma", folder / "class.csv", folder / "june" / "b",
                cast(NodeClient, node), ReaderOptions())
        except SystemExit as exc:
            second["exit"] = exc.code

    first_hashing = threading.Event()
    crash_point = cli.job_folder.crash_point

    def while_hashing(name: str) -> None:
        if name == "hashing" and not first_hashing.is_set():
            first_hashing.set()
            thread = threading.Thread(target=prepare_second, daemon=True)
            thread.start()
            started.wait(5)
            # until job b waits for job a's lock, or (without one) has prepared itself
            waiting.wait(5) if thread.is_alive() else None
            thread.join(0.5)
            second["thread"] = thread
        crash_point(name)

    say_line = cli.issue_finish.say_line

    def said(line: Sentence | str) -> None:
        if isinstance(line, Sentence) and line.key == "issue.issuer.waiting":
            waiting.set()
        say_line(line)

    monkeypatch.setattr(cli.issuing, "crash_point", while_hashing)
    monkeypatch.setattr(cli.issuing, "say_line", said)
    code, output = issue("--input", "class.csv", "--out", "june/a")
    assert code == 0, output
    thread = second["thread"]
    assert isinstance(thread, threading.Thread)
    thread.join(30)
    assert waiting.is_set()
    assert second.get("exit") == 2 and "job" not in second  # refused by row, not prepared
    assert len(node.batches) == 1


def test_a_job_killed_writing_its_first_manifest_leaves_a_folder_to_start_again_in(
        work: tuple[Path, AccreditedNode]) -> None:
    """All the kill left was the manifest's temporary file: --resume said no job was there
    and the same command said the folder was not empty, each sending the registrar to the
    other."""
    folder, node = work
    export(folder / "class.csv", [0, 1])
    (folder / "june").mkdir()
    (folder / "june" / ".manifest.json.tmp").write_text('{"ver', encoding="utf-8")
    code, output = issue("--input", "class.csv", "--out", "june")
    assert code == 0, output
    assert len(node.batches) == 1


@pytest.mark.parametrize("damage", ["emptied", "tables dropped"])
def test_a_registry_emptied_is_refused_not_started_again(
        work: tuple[Path, AccreditedNode], damage: str) -> None:
    """A registry truncated to nothing was taken for a new one: the class issued again."""
    folder, node = work
    export(folder / "class.csv", [0, 1])
    code, output = issue("--input", "class.csv", "--out", "first")
    assert code == 0, output
    registry = folder / REGISTRY_NAME
    if damage == "emptied":
        registry.write_bytes(b"")
    else:
        connection = sqlite3.connect(registry)
        connection.executescript("DROP TABLE meta; DROP TABLE issued;")
        connection.close()
    for dry in ((), ("--dry-run",)):
        code, output = issue("--input", "class.csv", "--out", "again", *dry)
        assert code == 2, output
        assert f"the issued-students registry {registry.resolve()} holds no registry" in output \
            or f"the issued-students registry {registry} holds no registry" in output, output
    assert len(node.batches) == 1 and not (folder / "again").exists()
