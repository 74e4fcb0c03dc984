"""A transaction the node took (it answered the POST with its id) may still commit, whatever
the wait for it then meets: a busy node to the wait's end, a 429, a proxy's 502, a garbled
answer, a 404 throughout. Only a `rejected` status, or the node's own refusal of the POST,
shows it never will. What was made for it (a credential file, a revocation note) is kept
until then, and the command says "not confirmed" (exit 3) or "pending" (exit 75), never
"refused" (exit 1)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import cli.client
import cli.revoking
from cli.client import READ_RETRY_AFTER_S, NodeClient
from cli.errors import EXIT_PENDING, EXIT_REFUSED, EXIT_UNREACHABLE
from cli.issue_job import IssueJob, JobPending
from cli.job_folder import credential_files, load_manifest
from tests.cli.scripted_node import Answer, Answers, ScriptedNode
from tests.cli.test_busy_node import (
    NODE_BUSY,
    PROXY_BUSY,
    STATUS_OK,
    TX_ID,
    anchor_with_file,
    revoke_with_note,
)
from tests.cli.test_issue_job import FakeNode, prepare

RATE_LIMITED = {"error": {"code": "rate_limited", "message": "too many requests"}}
REJECTED = {"tx_id": TX_ID, "status": "rejected", "code": "expired",
            "reason": "the transaction expired"}
WAIT_S = 1.5  # the revocation's wait for its commit, cut short for the test
# What the node (or what stands before it) answers when asked after the taken transaction
AFTER_TAKEN = {
    "rate_limited": (429, RATE_LIMITED),
    "proxy_502": (502, "<h1>Bad Gateway</h1>"),
    "garbled": (200, "not json"),
    "unknown_to_the_end": (404, {"tx_id": TX_ID, "status": "unknown"}),
}


def taken_then(node: ScriptedNode, later: Answer) -> Answers:
    """`node` takes the transaction (answering the id of the one POSTed, as a node does:
    another id is not the node's answer), then answers `later` whenever asked after it."""
    def answers(method: str, path: str) -> Answer:
        if path.startswith("/v1/status"):
            return STATUS_OK
        if method == "POST":
            return 202, {"tx_id": node.last_tx_id(), "status": "pending"}
        return later
    return answers


@pytest.fixture(autouse=True)
def short_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The revocation's wait, and the pause before a rate-limited read is asked again,
    cut short: the outcome is the same, sooner. (READ_RETRY_AFTER_S, as imported above,
    is the pause an issue job keeps.)"""
    monkeypatch.setattr(cli.revoking, "COMMIT_WAIT_S", WAIT_S)
    monkeypatch.setattr(cli.client, "READ_RETRY_AFTER_S", 0.05)


@pytest.mark.parametrize("later", list(AFTER_TAKEN.values()), ids=list(AFTER_TAKEN))
def test_a_taken_transaction_keeps_its_file_whatever_the_wait_meets(
        node_stub: ScriptedNode, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        later: Answer) -> None:
    node_stub.answers = taken_then(node_stub, later)
    code, said, written = anchor_with_file(node_stub, tmp_path, capsys)
    assert code == EXIT_UNREACHABLE, said
    assert "not confirmed" in said and "is kept" in said and "refused" not in said, said
    assert written.exists()


@pytest.mark.parametrize("later", list(AFTER_TAKEN.values()), ids=list(AFTER_TAKEN))
def test_a_taken_revocation_keeps_its_note_whatever_the_wait_meets(
        node_stub: ScriptedNode, tmp_path: Path, later: Answer) -> None:
    node_stub.answers = taken_then(node_stub, later)
    code, output, left = revoke_with_note(node_stub, tmp_path)
    assert code == EXIT_UNREACHABLE, output
    assert "revocation not confirmed" in output and "is kept" in output, output
    assert "refused" not in output, output
    assert len(left) == 1 and left[0].parent.name == "revocation-notes", left


@pytest.mark.parametrize("lang, said", [
    ("en", "revocation not committed yet (pending); the note "),
    ("ru", "отзыв ещё не записан в цепочку (ожидает); примечание "),
    ("kk", "кері қайтару әлі тізбекке жазылған жоқ (кезекте тұр); ")])
def test_a_revocation_still_busy_at_the_wait_s_end_is_pending_and_its_note_kept(
        node_stub: ScriptedNode, tmp_path: Path, lang: str, said: str) -> None:
    node_stub.answers = taken_then(node_stub, PROXY_BUSY)
    code, output, left = revoke_with_note(node_stub, tmp_path, lang)
    assert code == EXIT_PENDING, output
    assert said in output, output
    assert len(left) == 1 and str(left[0]) in output.replace("\n", ""), (left, output)


def test_a_rejected_revocation_is_refused_and_its_note_removed(
        node_stub: ScriptedNode, tmp_path: Path) -> None:
    """The one answer after the POST that shows it will never commit."""
    node_stub.answers = taken_then(node_stub, (200, REJECTED))
    code, output, left = revoke_with_note(node_stub, tmp_path)
    assert code == EXIT_REFUSED, output
    assert "revocation not committed" in output and not left, (output, left)


def test_a_transaction_a_proxy_answered_502_when_sent_keeps_its_file(
        node_stub: ScriptedNode, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A proxy's error to the POST itself, no node's refusal: the node may have taken it."""
    node_stub.answers = lambda method, path: (
        STATUS_OK if path.startswith("/v1/status") else (502, "<h1>Bad Gateway</h1>"))
    code, said, written = anchor_with_file(node_stub, tmp_path, capsys)
    assert code == EXIT_UNREACHABLE and "not confirmed" in said, said
    assert written.exists()


@pytest.mark.parametrize("answer", [(503, NODE_BUSY), PROXY_BUSY],
                         ids=["node_busy", "proxy_503"])
def test_an_issue_job_asks_a_busy_node_after_its_batch_at_the_pace_it_asks(
        node_stub: ScriptedNode, tmp_path: Path, answer: Answer) -> None:
    """A busy node answers at once, not after the long-poll: the job's wait pauses
    (cli.client.READ_RETRY_AFTER_S) before asking again, rather than asking it some
    hundred thousand times in two seconds."""
    job_dir, _ = prepare(tmp_path, FakeNode())
    node_stub.answers = taken_then(node_stub, answer)
    timeout_s = 2.0
    started = time.monotonic()
    with pytest.raises(JobPending):
        IssueJob(job_dir, NodeClient(node_stub.url, timeout_s=5), print).run(timeout_s)
    asked = sum(line.startswith("GET /v1/transactions/") for line in node_stub.asked)
    assert asked <= (time.monotonic() - started) / READ_RETRY_AFTER_S + 2, asked


def batch_kept_pending(node: ScriptedNode, tmp_path: Path, answer: Answer) -> JobPending:
    """Run an issue job whose batch `node` answers `answer` to when it is sent; check that
    the job stays pending with its credential files and its `submitted` state kept, and
    return the JobPending it raised."""
    job_dir, _ = prepare(tmp_path, FakeNode())
    files = credential_files(job_dir)
    node.answers = lambda method, path: (
        STATUS_OK if path.startswith("/v1/status") else answer)
    with pytest.raises(JobPending) as raised:
        IssueJob(job_dir, NodeClient(node.url, timeout_s=5), print).run(1.0)
    assert all(path.exists() for path in files) and files
    assert load_manifest(job_dir)["state"] == "submitted"
    return raised.value


@pytest.mark.parametrize("answer", [(502, "<h1>Bad Gateway</h1>"), PROXY_BUSY],
                         ids=["proxy_502", "proxy_503"])
def test_an_issue_job_a_proxy_answered_when_sent_keeps_its_files(
        node_stub: ScriptedNode, tmp_path: Path, answer: Answer) -> None:
    """The batch may have reached the node: its credential files are what it would be
    valid in, so the job stays resumable rather than being removed as refused."""
    batch_kept_pending(node_stub, tmp_path, answer)
