"""`senim issue --resume` of a job whose credential files were removed, edited or loosened
since it wrote them: the kept batch is never sent without them (it was: the batch
committed, and its students could be recorded nowhere), and the refusal says what mends
it, in the registrar's language."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from cli.issue_job import IssueJob
from cli.issuing import _resume_job
from cli.job_folder import credential_files, load_manifest, save_manifest
from cli.language import speak
from ledger.credential_documents import disclose
from tests.cli.test_issue_job import FakeNode, prepare


class ResumingNode(FakeNode):
    budget_s = None  # what NodeClient has, and `finish_job` reads


def resumed(job_dir: Path, node: FakeNode, capsys: pytest.CaptureFixture[str]
            ) -> tuple[int | str | None, str]:
    """Exit code (None: it finished) and what `senim issue --resume` said on stderr."""
    try:
        _resume_job(job_dir, None, node, 30.0, False)  # type: ignore[arg-type]
    except SystemExit as exc:
        return exc.code, capsys.readouterr().err
    return None, capsys.readouterr().err


def _edited(path: Path) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    document["fields"] = {}
    path.write_text(json.dumps(document), encoding="utf-8")


def _hidden(path: Path) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(disclose(document, ["iin"])), encoding="utf-8")


def _swapped(path: Path) -> None:  # another credential of the same batch in its place
    other = sorted(path.parent.glob("*.json"))[0]
    path.write_bytes(other.read_bytes())


def _not_json(path: Path) -> None:
    path.write_text("{", encoding="utf-8")


def _a_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "removed": (Path.unlink, "is missing"),
    "fields emptied": (_edited, "is not a credential file of this job"),
    "a field hidden": (_hidden, "hides fields"),
    "another's in its place": (_swapped, "has been changed since the job wrote it"),
    "not JSON": (_not_json, "is not a credential file of this job"),
    "a folder": (_a_folder, "is not a credential file of this job"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_prepared_job_with_a_damaged_file_sends_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str) -> None:
    node = ResumingNode()
    job_dir, _keys = prepare(tmp_path, node, count=5)
    damaged = credential_files(job_dir)[2]
    harm, said = DAMAGE[damage]
    harm(damaged)
    code, err = resumed(job_dir, node, capsys)
    assert code == 2 and node.sent == []
    assert f"{damaged} {said}" in err, err
    assert "the kept batch was not sent, and nothing of this job is on chain" in err
    assert load_manifest(job_dir)["state"] == "prepared"


def test_every_file_removed_sends_nothing(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    node = ResumingNode()
    job_dir, _keys = prepare(tmp_path, node, count=5)
    for path in credential_files(job_dir):
        path.unlink()
    code, err = resumed(job_dir, node, capsys)
    assert code == 2 and node.sent == [] and "is missing" in err


def test_a_file_others_may_read_is_made_private_again_and_the_job_finishes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    node = ResumingNode()
    job_dir, _keys = prepare(tmp_path, node, count=5)
    loose = credential_files(job_dir)[0]
    loose.chmod(0o644)
    code, _err = resumed(job_dir, node, capsys)
    assert code is None and len(node.sent) == 1
    assert stat.S_IMODE(os.stat(loose).st_mode) == 0o600
    assert load_manifest(job_dir)["state"] == "committed"


@pytest.mark.parametrize("state", ["submitted", "refused"])
def test_a_job_sent_before_is_not_sent_again_without_its_files(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], state: str) -> None:
    # A refused job was sent once, and may still commit: it was told nothing was on chain.
    node = ResumingNode()
    job_dir, _keys = prepare(tmp_path, node, count=5)
    manifest = load_manifest(job_dir)
    save_manifest(job_dir, {**manifest, "state": state,  # the node never got it
                            "refusal": {"code": "busy", "reason": "x"} if state == "refused"
                            else None})
    credential_files(job_dir)[4].unlink()
    code, err = resumed(job_dir, node, capsys)
    assert code == 2 and node.sent == []
    assert "was not sent again (it was sent before, and may still commit)" in err


def test_a_job_sent_before_that_committed_since_says_its_batch_is_on_chain(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Killed after its batch committed, before it noted so, then a file removed: it was
    told the batch "may still commit", which it had, and the job stayed submitted."""
    node = ResumingNode()
    job_dir, _keys = prepare(tmp_path, node, count=5)
    manifest = load_manifest(job_dir)
    save_manifest(job_dir, {**manifest, "state": "submitted"})
    node.batches[(manifest["issuer"], manifest["batch_root"])] = {
        "height": 7, "tx_id": "ab" * 32, "time": "2026-06-30 10:00:00 UTC", "count": 5}
    credential_files(job_dir)[4].unlink()
    code, err = resumed(job_dir, node, capsys)
    assert code == 2 and node.sent == []
    assert "the batch is on chain, but its students cannot be recorded" in err, err


def test_a_committed_job_whose_files_are_gone_says_they_must_be_restored(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Its students could not be recorded, and the advice was to --resume, for ever.
    node = ResumingNode()
    job_dir, _keys = prepare(tmp_path, node, count=5)
    IssueJob(job_dir, node, lambda line: None, clock=node.clock).run(30.0)
    assert load_manifest(job_dir)["registered"] is None
    credential_files(job_dir)[1].unlink()
    code, err = resumed(job_dir, node, capsys)
    assert code == 2
    assert "the batch is on chain, but its students cannot be recorded" in err
    assert "restore its files from a backup" in err


def test_the_refusal_is_said_in_the_registrars_language(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    node = ResumingNode()
    job_dir, _keys = prepare(tmp_path, node, count=5)
    removed = credential_files(job_dir)[3]
    removed.unlink()
    speak("ru")
    code, err = resumed(job_dir, node, capsys)
    assert code == 2 and node.sent == []
    assert f"файл {removed} отсутствует: сохранённый пакет не отправлен" in err, err
