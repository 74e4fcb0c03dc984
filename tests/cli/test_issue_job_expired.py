"""A kept transaction answered `expired`: signed anew only when its batch is not on chain,
and never, once sent, taken for a batch no node saw (cli/issue_job.py, the ledger's
expiry checked before replay in ledger/rules.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cli.issue_job import IssueJob, JobPending, sign_batch
from cli.job_folder import JobError, credential_files, load_manifest
from cli.job_interrupt import interrupted_line
from tests.cli.test_issue_job import FakeNode, prepare


class SyncedLateNode(FakeNode):
    """A node that lost the job's transaction from its mempool (restarted) while the
    other validators committed it in its last allowed block: it says `unknown` once,
    then catches up with that block, after which the same bytes are `expired` to it."""

    behind = False

    def transaction_status(self, tx_id: str, wait_s: float = 0.0) -> dict[str, Any]:
        if not self.behind:
            return super().transaction_status(tx_id, wait_s)
        self.behind = False
        data = self.sent[0]
        self.mempool = {tx_id: data}
        expires_at = load_manifest(self.job_dir)["expires_at"]
        self.height = expires_at - 1
        self.make_block()  # height expires_at: its last allowed block
        self.height += 1
        return {"tx_id": tx_id, "status": "unknown"}

    job_dir: Path


def sent_once_pending(tmp_path: Path, node: FakeNode) -> tuple[Path, Any, dict[str, Any]]:
    job_dir, keys = prepare(tmp_path, node)
    with pytest.raises(JobPending):
        IssueJob(job_dir, node, print, clock=node.clock).run(1.0)
    node.mempool.clear()
    return job_dir, keys, load_manifest(job_dir)


def test_a_batch_committed_in_its_last_block_and_answered_expired_is_found_on_chain(
        tmp_path: Path) -> None:
    node = SyncedLateNode(quorum=False)
    job_dir, keys, old = sent_once_pending(tmp_path, node)
    node.job_dir, node.behind, node.quorum = job_dir, True, True
    signed: list[str] = []

    def resign() -> tuple[bytes, str, int]:
        signed.append("again")
        return sign_batch(node, keys, "diploma", bytes.fromhex(old["batch_root"]), 25)

    said: list[str] = []
    issuance = IssueJob(job_dir, node, said.append, clock=node.clock).run(30.0, resign)
    assert issuance["tx_id"] == old["tx_id"] and issuance["height"] == old["expires_at"]
    assert signed == [] and not any("signed a new one" in line for line in said)
    manifest = load_manifest(job_dir)
    assert manifest["state"] == "committed" and len(credential_files(job_dir)) == 25
    assert node.sent == [bytes.fromhex(old["tx"])] * 2  # no new transaction went out


def test_a_refusal_of_the_transaction_signed_anew_keeps_the_folder(tmp_path: Path) -> None:
    node = FakeNode(quorum=False)
    job_dir, keys, old = sent_once_pending(tmp_path, node)
    node.height = old["expires_at"] + 1
    node.quorum = True
    node.refuse_code = "not_accredited"  # lapsed since: refused after expiry, never before
    with pytest.raises(JobError) as refused:
        IssueJob(job_dir, node, print, clock=node.clock).run(
            30.0, lambda: sign_batch(node, keys, "diploma", bytes.fromhex(old["batch_root"]),
                                     25))
    assert "--resume" in str(refused.value) and "removed" not in str(refused.value)
    manifest = load_manifest(job_dir)
    assert manifest["state"] == "refused" and manifest["tx_id"] != old["tx_id"]
    assert len(credential_files(job_dir)) == 25
    node.refuse_code = None
    IssueJob(job_dir, node, print, clock=node.clock).run(30.0)
    assert load_manifest(job_dir)["state"] == "committed" and len(node.batches) == 1


def test_a_job_stopped_after_signing_anew_is_not_said_to_have_sent_nothing(
        tmp_path: Path) -> None:
    node = FakeNode(quorum=False)
    job_dir, keys, old = sent_once_pending(tmp_path, node)
    node.height = old["expires_at"] + 1

    def stopped_after_signing(line: str) -> None:
        if "signed a new one" in line:
            raise KeyboardInterrupt  # before the new transaction is sent

    with pytest.raises(KeyboardInterrupt):
        IssueJob(job_dir, node, stopped_after_signing, clock=node.clock).run(
            30.0, lambda: sign_batch(node, keys, "diploma", bytes.fromhex(old["batch_root"]),
                                     25))
    manifest = load_manifest(job_dir)
    assert manifest["state"] == "prepared" and manifest.get("sent_before") is True
    line = str(interrupted_line(job_dir))
    assert "may be on chain" in line and "before the batch was sent" not in line
    node.quorum = True
    IssueJob(job_dir, node, print, clock=node.clock).run(30.0)  # no resign: not a first send
    assert load_manifest(job_dir)["state"] == "committed" and len(node.batches) == 1
