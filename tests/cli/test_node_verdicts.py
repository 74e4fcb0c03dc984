"""What a job does with each kind of answer about its transaction: only the node's own word
that it did not take it (a 4xx error of the API) removes what was made for it; the node's
own 5xx, or a status from something between (a proxy's 413 or 502), keeps it, as the node
may have admitted it first; a `rejected` status is the ledger's verdict, said as a refusal
(exit 1) with the folder kept, or, for a transaction that expired, signed anew."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cli import supersede_job
from cli.client import BUSY, READ_RETRY_AFTER_S, ClientError, NodeClient
from cli.errors import EXIT_REFUSED
from cli.governance_words import cannot_apply_reason
from cli.issue_job import IssueJob, JobPending, sign_batch
from cli.job_folder import JobError, credential_files, load_manifest
from cli.language import Words
from ledger.identity import KeyPair
from ledger.payloads import CredentialRef
from ledger.transactions import decode_transaction
from tests.cli.scripted_node import Answer, Answers, ScriptedNode
from tests.cli.test_busy_node import STATUS_OK
from tests.cli.test_issue_job import FakeNode, prepare

NODE_FAILED = {
    "internal": (500, {"error": {"code": "internal",
                                 "message": "internal error; see the node's log"}}),
    "store_damaged": (503, {"error": {"code": "store_damaged",
                                      "message": "this node's store is damaged"}}),
}
IN_BETWEEN = {
    "proxy_413": (413, "<h1>Request Entity Too Large</h1>"),
    "proxy_403": (403, "<h1>Forbidden</h1>"),
    "proxy_401": (401, "<h1>Authorization Required</h1>"),
}


def post_answered(answer: Answer) -> Answers:
    """A node whose status is fine and whose every other answer is `answer`."""
    return lambda method, path: STATUS_OK if path.startswith("/v1/status") else answer


@pytest.mark.parametrize("answer", list(NODE_FAILED.values()), ids=list(NODE_FAILED))
def test_a_batch_the_node_failed_on_when_sent_keeps_its_files(
        node_stub: ScriptedNode, tmp_path: Path, answer: Answer) -> None:
    """The node's own 500 (or store_damaged) may come after it admitted the batch: its
    credential files are what it would be valid in, so the job stays resumable, as
    submit_and_report keeps a credential file in the same case."""
    job_dir, _ = prepare(tmp_path, FakeNode())
    files = credential_files(job_dir)
    node_stub.answers = post_answered(answer)
    with pytest.raises(JobPending) as raised:
        IssueJob(job_dir, NodeClient(node_stub.url, timeout_s=5), print).run(1.0)
    assert "refused" not in str(raised.value), raised.value
    assert files and all(path.exists() for path in files)
    assert load_manifest(job_dir)["state"] == "submitted"


@pytest.mark.parametrize("answer", list(IN_BETWEEN.values()), ids=list(IN_BETWEEN))
@pytest.mark.parametrize("lang, said", [
    ("en", "came from something between this computer and the node"),
    ("ru", "пришёл не от узла, а от чего-то между этим компьютером и узлом"),
    ("kk", "түйін емес, осы компьютер мен түйіннің арасындағы бір нәрсе (прокси не шлюз) берді")])
def test_a_batch_something_between_answered_names_its_status_and_who_answered(
        node_stub: ScriptedNode, tmp_path: Path, answer: Answer, lang: str, said: str) -> None:
    """A resume meets the same 413 each time: "not confirmed" alone kept the registrar
    waiting for a node that never saw the batch."""
    job_dir, _ = prepare(tmp_path, FakeNode())
    node_stub.answers = post_answered(answer)
    with pytest.raises(JobPending) as raised:
        IssueJob(job_dir, NodeClient(node_stub.url, timeout_s=5), print).run(1.0)
    line = raised.value.sentence.said(Words(lang))
    assert f"HTTP {answer[0]}" in line and said in line, line
    assert credential_files(job_dir)


class RejectingNode(FakeNode):
    """Rejects the first batch it took with `code` when asked after it; takes and commits
    any later one."""

    code = "expired"
    gives_reason = True  # a node may leave a rejection's reason out

    def transaction_status(self, tx_id: str, wait_s: float = 0.0) -> dict[str, Any]:
        if tx_id == self.first_id():
            self.now += max(wait_s, 0.01)
            reason = {"reason": f"refused for the test ({self.code})"} if self.gives_reason else {}
            return {"tx_id": tx_id, "status": "rejected", "code": self.code, **reason}
        self.quorum = True
        return super().transaction_status(tx_id, wait_s)

    def first_id(self) -> str:
        return decode_transaction(self.sent[0]).tx_id.hex() if self.sent else ""


def test_a_batch_that_expired_while_pending_is_signed_anew_and_commits(tmp_path: Path) -> None:
    node = RejectingNode(quorum=False)
    job_dir, keys = prepare(tmp_path, node)
    root = bytes.fromhex(load_manifest(job_dir)["batch_root"])
    issuance = IssueJob(job_dir, node, print, clock=node.clock).run(
        30.0, lambda: sign_batch(node, keys, "diploma", root, 25))
    assert len(node.sent) == 2 and node.sent[0] != node.sent[1]
    assert issuance["tx_id"] != node.first_id()
    assert load_manifest(job_dir)["state"] == "committed"


def test_a_batch_the_ledger_rejected_is_refused_and_its_folder_kept_for_a_resume(
        tmp_path: Path) -> None:
    node = RejectingNode(quorum=False)
    node.code = "not_accredited"
    job_dir, keys = prepare(tmp_path, node)
    root = bytes.fromhex(load_manifest(job_dir)["batch_root"])
    with pytest.raises(JobError) as raised:
        IssueJob(job_dir, node, print, clock=node.clock).run(
            30.0, lambda: sign_batch(node, keys, "diploma", root, 25))
    assert not isinstance(raised.value, JobPending)
    assert raised.value.exit_code == EXIT_REFUSED
    line = str(raised.value)
    assert "refused" in line and f"senim issue --resume {job_dir}" in line, line
    assert load_manifest(job_dir)["state"] == "refused" and credential_files(job_dir)
    assert len(node.sent) == 1  # nothing signed anew: it did not expire


@pytest.mark.parametrize("lang, said", [
    ("en", "the node refused the batch: frobnicated, a refusal this version of senim has no "
           "words for; it is not on chain"),
    ("ru", "пакет отклонён: frobnicated — отказ, который эта версия senim не умеет описать "
           "словами; в цепочку он не записан"),
    ("kk", "пакет қабылданбады: frobnicated — senim-нің бұл нұсқасы сөзбен сипаттай алмайтын "
           "бас тарту; ол тізбекке жазылмады")])
@pytest.mark.parametrize("gives_reason", [True, False], ids=["reason", "no_reason"])
def test_a_rejection_this_release_has_no_words_for_is_said_alike_in_each_language(
        tmp_path: Path, lang: str, said: str, gives_reason: bool) -> None:
    """Its code, and that this senim cannot say what it means, as the user reads it: English
    said the node's reason (or "None" when it gave none), Kazakh and Russian the sentence."""
    node = RejectingNode(quorum=False)
    node.code, node.gives_reason = "frobnicated", gives_reason
    job_dir, keys = prepare(tmp_path, node)
    root = bytes.fromhex(load_manifest(job_dir)["batch_root"])
    with pytest.raises(JobError) as raised:
        IssueJob(job_dir, node, print, clock=node.clock).run(
            30.0, lambda: sign_batch(node, keys, "diploma", root, 25))
    line = raised.value.sentence.said(Words(lang))
    assert said in line and line.count("frobnicated") == 1, line
    assert "None" not in line, line


class AlwaysExpiredNode(FakeNode):
    """Says every batch it took expired while pending, however newly signed."""

    def transaction_status(self, tx_id: str, wait_s: float = 0.0) -> dict[str, Any]:
        self.now += max(wait_s, 0.01)
        return {"tx_id": tx_id, "status": "rejected", "code": "expired",
                "reason": "expired while pending"}


def test_a_batch_is_signed_anew_at_most_once_a_run(tmp_path: Path) -> None:
    """A node calling each new batch expired (a clock or height gone wrong) is said as a
    refusal, the folder kept, rather than answered with a new batch until --timeout."""
    node = AlwaysExpiredNode(quorum=False)
    job_dir, keys = prepare(tmp_path, node)
    root = bytes.fromhex(load_manifest(job_dir)["batch_root"])
    with pytest.raises(JobError) as raised:
        IssueJob(job_dir, node, print, clock=node.clock).run(
            30.0, lambda: sign_batch(node, keys, "diploma", root, 25))
    assert raised.value.exit_code == EXIT_REFUSED, raised.value
    assert len(node.sent) == 2 and load_manifest(job_dir)["state"] == "refused"


class BusyNode(FakeNode):
    def transaction_status(self, tx_id: str, wait_s: float = 0.0) -> dict[str, Any]:
        raise ClientError("the node is busy", BUSY, 503)


def test_the_wait_pauses_on_the_clock_its_deadline_is_on(tmp_path: Path) -> None:
    """A busy node answers at once: the pause before asking again passes on the job's
    clock, so a test's clock (or any other) reaches the deadline through it."""
    node = BusyNode()
    job_dir, _ = prepare(tmp_path, node)
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        node.now += seconds

    with pytest.raises(JobPending):
        IssueJob(job_dir, node, print, clock=node.clock, sleep=sleep).run(30.0)
    assert sum(pauses) == pytest.approx(30.0) and max(pauses) <= READ_RETRY_AFTER_S, pauses


def test_a_supersede_a_proxy_answered_502_is_not_confirmed_not_refused(
        node_stub: ScriptedNode, capsys: pytest.CaptureFixture[str]) -> None:
    """The node may have taken the row behind the proxy: counted not yet committed (exit
    75, run again), not refused (exit 1)."""
    node_stub.answers = post_answered((502, "<h1>Bad Gateway</h1>"))
    ref = CredentialRef(bytes([1]) * 32, bytes([2]) * 32, 0, ())
    pair = supersede_job.Pair(1, ref, CredentialRef(bytes([3]) * 32, bytes([4]) * 32, 0, ()))
    tally = {"superseded": 0, "already": 0, "refused": 0, "pending": 0}
    supersede_job._group(NodeClient(node_stub.url, timeout_s=5), KeyPair.generate(), [pair],
                         tally)
    assert tally["refused"] == 0 and tally["pending"] == 1, tally
    line = capsys.readouterr().out
    assert "row 1: sent, not confirmed: the HTTP 502 answer to " in line, line


@pytest.mark.parametrize("lang", ["en", "kk", "ru"])
def test_what_only_the_node_worded_is_said_alike_in_each_language(lang: str) -> None:
    """A proposal that can no longer apply, for a reason this release has no words for, is
    said by the node's English reason in each language. Kazakh and Russian put "the node
    did not answer as expected" before it, which English did not say and was not so."""
    proposal = {"reason_code": "frobnicated", "reason": "the grant overlaps another"}
    assert cannot_apply_reason(proposal).said(Words(lang)) == "the grant overlaps another"
