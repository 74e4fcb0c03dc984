"""The issuing job's state machine against an in-memory stand-in for the node's HTTP API.

The stand-in decodes the real signed transactions and keeps the ledger's replay,
expiry and one-batch-per-root rules, so a job that sent a batch twice, or a
different transaction on resume, is caught here. The real-process version of
these runs is tests/e2e/test_issue_job.py.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import cli.job_folder as job_folder
from cli.client import ClientError
from cli.errors import EXIT_PENDING
from cli.issue_job import IssueJob, JobPending, pending_sentence, sign_batch
from cli.job_folder import (
    JobError,
    check_out_dir,
    credential_files,
    load_manifest,
    start_job,
    write_credentials,
)
from ledger.credentials import make_batch
from ledger.identity import KeyPair
from ledger.payloads import IssueBatchPayload
from ledger.transactions import decode_transaction

CHAIN = "senim-unit"
VALIDATORS = [KeyPair.generate() for _ in range(4)]
NAMES = ["Ministry", "ENU", "KazNU", "Satbayev"]


@dataclass
class FakeNode:
    """Node 0's view of a 4-validator chain; `quorum` says whether blocks get made."""

    height: int = 10
    quorum: bool = True
    refuse_code: str | None = None
    now: float = 0.0
    reachable: list[int] = field(default_factory=lambda: [1, 2, 3])
    mempool: dict[str, bytes] = field(default_factory=dict)
    committed: dict[str, int] = field(default_factory=dict)
    batches: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    sent: list[bytes] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def status(self) -> dict[str, Any]:
        return {"chain_id": CHAIN, "node": "mshe", "member_id": VALIDATORS[0].member_id.hex(),
                "height": self.height, "consensus": {"mode": "pbft", "view": 0,
                                                      "phase": "idle", "validators": 4},
                "peers": [{"member": NAMES[i], "public_key": VALIDATORS[i].public_key.hex(),
                           "authenticated": True, "validator": True} for i in self.reachable],
                "validators": [{"member_id": k.member_id.hex(), "name": n}
                               for k, n in zip(VALIDATORS, NAMES, strict=True)]}

    def submit_encoded(self, data: bytes) -> str:
        tx = decode_transaction(data)
        tx_id = tx.tx_id.hex()
        self.sent.append(data)
        # in the ledger's order (check_before_signature): expiry before replay
        if tx.expires_at < self.height + 1:
            raise ClientError(f"transaction expired at height {tx.expires_at}", "expired", 400)
        if tx_id in self.committed:
            raise ClientError("transaction was already committed", "replayed", 400)
        if self.refuse_code:
            raise ClientError("refused for the test", self.refuse_code, 400)
        payload = tx.payload
        assert isinstance(payload, IssueBatchPayload)  # a job sends nothing else
        if (tx.sender.hex(), payload.root.hex()) in self.batches:
            raise ClientError("a batch with this root is already on chain", "duplicate_batch",
                              400)
        self.mempool[tx_id] = data
        return tx_id

    def make_block(self) -> None:
        self.height += 1
        for tx_id, data in list(self.mempool.items()):
            tx = decode_transaction(data)
            payload = tx.payload
            assert isinstance(payload, IssueBatchPayload)  # submit_encoded took nothing else
            self.committed[tx_id] = self.height
            key = (tx.sender.hex(), payload.root.hex())
            self.batches[key] = {"tx_id": tx_id, "height": self.height,
                                 "time": "2026-06-30 10:00:00 UTC", "count": payload.count}
        self.mempool.clear()

    def transaction_status(self, tx_id: str, wait_s: float = 0.0) -> dict[str, Any]:
        self.now += max(wait_s, 0.01)
        if self.quorum and self.mempool:
            self.make_block()
        if tx_id in self.committed:
            return {"tx_id": tx_id, "status": "committed", "height": self.committed[tx_id],
                    "block_hash": f"{self.committed[tx_id]:064x}",
                    "time": "2026-06-30 10:00:00 UTC"}
        return {"tx_id": tx_id, "status": "pending" if tx_id in self.mempool else "unknown"}

    def batch(self, issuer_hex: str, root_hex: str) -> dict[str, Any] | None:
        return self.batches.get((issuer_hex, root_hex))

    def block(self, height: int) -> dict[str, Any]:
        return {"height": height, "hash": f"{height:064x}"}


class AccreditedNode(FakeNode):
    """The stand-in node, also answering the members list `senim issue` asks first: its
    issuer accredited for `accredited` (set `issuer` before use)."""

    issuer: KeyPair
    accredited = "diploma"

    def request(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        assert (method, path) == ("GET", "/v1/members")
        return {"members": [{"member_id": self.issuer.member_id.hex(), "name": "ENU",
                             "accreditations": [{"types": [self.accredited],
                                                 "suspended_height": None,
                                                 "from": "2020-01-01 00:00:00 UTC",
                                                 "until": "2099-01-01 00:00:00 UTC"}]}]}


def records(count: int) -> list[dict[str, str]]:
    return [{"student_id": f"S-{n:05d}", "full_name": f"Graduate {n}",
             "iin": f"{990101000000 + n:012d}"} for n in range(count)]


def prepare(tmp_path: Path, node: FakeNode, count: int = 25) -> tuple[Path, KeyPair]:
    keys = KeyPair.generate()
    key_path = tmp_path / "issuer.key"
    key_path.write_text("(a key path is recorded, not read, in these tests)")
    source = tmp_path / "graduates.csv"
    source.write_text("student_id\n")
    job_dir = tmp_path / "job"
    manifest = start_job(job_dir, credential_type="diploma", chain_id=CHAIN,
                         issuer_name="ENU", keys=keys, key_path=key_path, input_path=source)
    batch = make_batch(records(count), "diploma", CHAIN, keys.member_id, "ENU")
    tx, tx_id, expires_at = sign_batch(node, keys, "diploma", batch.root, count)
    write_credentials(job_dir, manifest, batch, tx, tx_id, expires_at)
    return job_dir, keys


def test_prepare_writes_private_files_in_bounded_folders_before_anything_is_sent(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(job_folder, "FILES_PER_DIR", 10)
    node = FakeNode()
    job_dir, _ = prepare(tmp_path, node, count=25)
    assert node.sent == []
    manifest = load_manifest(job_dir)
    assert manifest["state"] == "prepared" and manifest["on_chain"] is False
    files = credential_files(job_dir)
    assert len(files) == 25
    folders = {path.parent for path in files}
    assert len(folders) == 3 and all(len(list(f.iterdir())) <= 10 for f in folders)
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in files)
    assert stat.S_IMODE((job_dir / "manifest.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(job_dir.stat().st_mode) == 0o700
    inside = [path for path in job_dir.rglob("*") if path.is_dir()]
    assert inside and all(stat.S_IMODE(f.stat().st_mode) == 0o700 for f in inside), [
        (f, oct(f.stat().st_mode)) for f in inside]  # credentials/ was 0755
    hashes = {json.loads(path.read_text())["target_hash"] for path in files}
    assert hashes == set(manifest["target_hashes"])
    assert "990101000000" not in (job_dir / "manifest.json").read_text()
    assert decode_transaction(bytes.fromhex(manifest["tx"])).tx_id.hex() == manifest["tx_id"]


def test_run_submits_once_and_marks_the_manifest_committed(tmp_path: Path) -> None:
    node = FakeNode()
    job_dir, _ = prepare(tmp_path, node)
    issuance = IssueJob(job_dir, node, print, clock=node.clock).run(30.0)
    manifest = load_manifest(job_dir)
    assert manifest["state"] == "committed" and manifest["on_chain"] is True
    assert manifest["issuance"] == issuance and issuance["height"] == 11
    assert issuance["block_hash"] == f"{11:064x}"
    assert node.sent == [bytes.fromhex(manifest["tx"])]
    assert list(node.batches) == [(manifest["issuer"], manifest["batch_root"])]


def test_lost_quorum_is_reported_then_times_out_pending_and_resume_resends_same_bytes(
        tmp_path: Path) -> None:
    node = FakeNode(quorum=False, reachable=[1])
    job_dir, _ = prepare(tmp_path, node)
    said: list[str] = []
    with pytest.raises(JobPending) as pending:
        IssueJob(job_dir, node, said.append, clock=node.clock).run(25.0)
    assert pending.value.exit_code == EXIT_PENDING
    assert load_manifest(job_dir)["state"] == "submitted"
    reports = [line for line in said if "unreachable" in line]
    assert 2 <= len(reports) <= 3  # after ~3 s, then every 10 s: not on every poll
    assert "2 of 4 validators unreachable" in reports[0]
    assert "KazNU, Satbayev" in reports[0] and "will commit when they return" in reports[0]
    node.mempool.clear()  # the node restarted and forgot its pending transactions
    node.quorum = True
    IssueJob(job_dir, node, print, clock=node.clock).run(30.0)
    manifest = load_manifest(job_dir)
    assert manifest["state"] == "committed"
    assert node.sent == [bytes.fromhex(manifest["tx"])] * 2  # the same bytes, never new ones
    assert len(node.batches) == 1


def test_resume_of_a_batch_committed_before_the_manifest_said_so_sends_nothing(
        tmp_path: Path) -> None:
    node = FakeNode(quorum=False)
    job_dir, _ = prepare(tmp_path, node)
    with pytest.raises(JobPending):
        IssueJob(job_dir, node, print, clock=node.clock).run(1.0)
    node.make_block()  # commits while nobody waits
    IssueJob(job_dir, node, print, clock=node.clock).run(30.0)
    manifest = load_manifest(job_dir)
    assert manifest["state"] == "committed" and manifest["issuance"]["height"] == 11
    assert len(node.sent) == 1


def test_a_replayed_refusal_is_the_commit_found_late(tmp_path: Path) -> None:
    node = FakeNode()
    job_dir, _ = prepare(tmp_path, node)
    manifest = load_manifest(job_dir)
    node.submit_encoded(bytes.fromhex(manifest["tx"]))
    node.make_block()
    node.batches.clear()  # as if the batch lookup lagged behind the transaction index
    job = IssueJob(job_dir, node, print, clock=node.clock)
    job.manifest["state"] = "prepared"
    assert job.run(30.0)["height"] == 11
    assert [e for e in node.sent] == [bytes.fromhex(manifest["tx"])] * 2


def test_a_refused_first_submission_leaves_no_credential_files(tmp_path: Path) -> None:
    node = FakeNode(refuse_code="not_accredited")
    job_dir, _ = prepare(tmp_path, node)
    with pytest.raises(JobError) as refused:
        IssueJob(job_dir, node, print, clock=node.clock).run(30.0)
    assert "not_accredited" in str(refused.value) and "removed" in str(refused.value)
    assert credential_files(job_dir) == [] and not (job_dir / "manifest.json").exists()


def test_a_refusal_after_an_earlier_send_keeps_the_folder_for_a_later_resume(
        tmp_path: Path) -> None:
    node = FakeNode(quorum=False)
    job_dir, _ = prepare(tmp_path, node)
    with pytest.raises(JobPending):
        IssueJob(job_dir, node, print, clock=node.clock).run(1.0)
    node.mempool.clear()
    node.refuse_code = "not_accredited"
    with pytest.raises(JobError) as refused:
        IssueJob(job_dir, node, print, clock=node.clock).run(5.0)
    assert "--resume" in str(refused.value)
    assert load_manifest(job_dir)["state"] == "refused" and len(credential_files(job_dir)) == 25
    node.refuse_code, node.quorum = None, True
    IssueJob(job_dir, node, print, clock=node.clock).run(30.0)
    assert load_manifest(job_dir)["state"] == "committed"


def test_an_expired_kept_transaction_is_signed_anew_only_because_it_cannot_commit(
        tmp_path: Path) -> None:
    node = FakeNode(quorum=False)
    job_dir, keys = prepare(tmp_path, node)
    with pytest.raises(JobPending):
        IssueJob(job_dir, node, print, clock=node.clock).run(1.0)
    old = load_manifest(job_dir)
    node.mempool.clear()
    node.height = old["expires_at"] + 1
    node.quorum = True
    job = IssueJob(job_dir, node, print, clock=node.clock)
    job.run(30.0, lambda: sign_batch(node, keys, "diploma", bytes.fromhex(old["batch_root"]),
                                     25))
    new = load_manifest(job_dir)
    assert new["state"] == "committed" and new["tx_id"] != old["tx_id"]
    assert old["tx_id"] not in node.committed and len(node.batches) == 1


def test_out_must_be_new_or_empty(tmp_path: Path) -> None:
    check_out_dir(tmp_path / "new")
    (tmp_path / "empty").mkdir()
    check_out_dir(tmp_path / "empty")
    (tmp_path / "file").write_text("x")
    with pytest.raises(JobError, match="not a directory"):
        check_out_dir(tmp_path / "file")
    (tmp_path / "empty" / "manifest.json").write_text("{}")
    with pytest.raises(JobError, match="not empty"):
        check_out_dir(tmp_path / "empty")


def test_pending_report_with_every_validator_reachable_says_so() -> None:
    text = str(pending_sentence(FakeNode().status()))
    assert "every validator is reachable" in text and "unreachable" not in text.split(":")[0]


def test_a_job_whose_first_write_fails_leaves_an_empty_folder_to_start_again_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk at the manifest's first write left '.manifest.json.tmp' behind: --resume
    said the folder was no job, a new run that it was not empty, and the error line sent
    the operator to --resume."""
    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    source = tmp_path / "graduates.csv"
    source.write_text("student_id\n")
    job_dir = tmp_path / "job"
    start = {"credential_type": "diploma", "chain_id": CHAIN, "issuer_name": "ENU",
             "keys": KeyPair.generate(), "key_path": tmp_path / "issuer.key",
             "input_path": source}
    monkeypatch.setattr(os, "fsync", disk_full)  # job_folder calls os.fsync
    with pytest.raises(OSError):
        start_job(job_dir, **start)  # type: ignore[arg-type]
    assert list(job_dir.iterdir()) == []
    monkeypatch.undo()
    start_job(job_dir, **start)  # type: ignore[arg-type]
    assert load_manifest(job_dir)["state"] == "preparing"


def test_a_disk_that_lost_a_files_pages_stops_the_job_before_it_is_sent(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """syncfs(2) answering EIO (pages of a credential's file not written) was followed by
    sync(2), which reports nothing, and the batch went out with that file lost on disk."""
    class FailingLibc:
        @staticmethod
        def syncfs(_fd: int) -> int:
            ctypes.set_errno(errno.EIO)
            return -1

    monkeypatch.setattr(ctypes, "CDLL", lambda *_a, **_k: FailingLibc())
    node = FakeNode()
    with pytest.raises(OSError) as failed:
        prepare(tmp_path, node)
    assert failed.value.errno == errno.EIO
    assert node.sent == [] and load_manifest(tmp_path / "job")["state"] == "preparing"
