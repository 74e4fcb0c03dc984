"""The issued-students registry's place: one an issuer, found from any job folder under
it, never started again when emptied or damaged, and never chosen by two first jobs at
once. `senim issue` runs in full against the in-memory node of test_issue_job.
"""

from __future__ import annotations

import sqlite3
import stat
import threading
from pathlib import Path
from typing import cast

import pytest
from click.testing import CliRunner

import cli.issue_finish
import cli.issuing
import cli.job_folder
from cli.client import NodeClient
from cli.issue_checks import ReaderOptions
from cli.issuer_registry import pointer_path
from cli.main import main
from cli.spoken import Sentence
from ledger.identity import KeyPair
from node.files import save_key
from registrar.issued import REGISTRY_NAME
from tests.cli.issued_registry_work import export, issue
from tests.cli.test_issue_job import AccreditedNode


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
