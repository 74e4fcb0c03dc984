"""Reasons are codes: nothing a registrar or a ministry types reaches the chain.

A revocation carries a code from a closed list and, optionally, the salted hash of
a note the issuer keeps off chain; a suspension carries a code. Verification says
the code in words.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

import cli.revoking
from cli.main import main
from ledger.chain import Chain
from ledger.credentials import make_batch
from ledger.facts import LocalFacts
from ledger.payloads import CredentialRef, IssueBatchPayload, Payload, RevokePayload, SuspendPayload
from ledger.payloads_credentials import REVOCATION_REASONS, note_hash
from ledger.transactions import Transaction
from ledger.verification import verify_credential
from node.files import save_key
from tests.node.conftest import (
    CHAIN_ID,
    Consortium,
    accredit,
    commit,
    documents_of,
    make_tx,
    snapshot,
)

NOTE = "Graduate IIN 171571988762: thesis plagiarised, council decision 17"


def _issue(chain: Chain, net: Consortium) -> Any:
    commit(chain, [accredit(net, net.university, ["diploma"])])
    batch = make_batch([{"name": "Aigerim", "iin": "171571988762"}, {"name": "Nurlan"}],
                       "diploma", CHAIN_ID, net.university.member_id, "KazNU")
    commit(chain, [make_tx(net.university, IssueBatchPayload("diploma", batch.root, 2))])
    return batch


@pytest.mark.parametrize("code", sorted(set(REVOCATION_REASONS) - {"superseded"}))
def test_every_revocation_code_verifies_in_words(net: Consortium, chain: Chain,
                                                 code: str) -> None:
    batch = _issue(chain, net)
    ref = CredentialRef(batch.root, batch.target_hashes[0], 0,
                        (bytes.fromhex(documents_of(batch)[0]["batch"]["path"][0]),))
    commit(chain, [make_tx(net.university, RevokePayload(ref, code))])
    verdict = verify_credential(documents_of(batch)[0], LocalFacts(chain.state, "t"), CHAIN_ID)
    assert verdict.status == "revoked"
    assert verdict.facts["revocation_reason"] == code
    assert verdict.reason.endswith(": " + REVOCATION_REASONS[code])


def test_only_a_salted_note_hash_reaches_the_chain(net: Consortium, chain: Chain) -> None:
    batch = _issue(chain, net)
    salt = os.urandom(16)
    digest = note_hash(NOTE, salt)
    path = tuple(bytes.fromhex(p) for p in documents_of(batch)[1]["batch"]["path"])
    tx = make_tx(net.university, RevokePayload(
        CredentialRef(batch.root, batch.target_hashes[1], 1, path), "fraud", digest))
    block = commit(chain, [tx])
    stored = b"".join(k + v for k, v in snapshot(chain.kv).items())
    for secret in (NOTE.encode(), b"171571988762", b"plagiarised"):
        assert secret not in stored and secret not in block.encode()
    verdict = verify_credential(documents_of(batch)[1], LocalFacts(chain.state, "t"), CHAIN_ID)
    assert verdict.facts["revocation_note_hash"] == digest.hex()
    assert note_hash(NOTE, salt).hex() == verdict.facts["revocation_note_hash"]


def test_suspension_reason_is_a_code(net: Consortium, chain: Chain) -> None:
    commit(chain, [accredit(net, net.university, ["diploma"])])
    commit(chain, [make_tx(net.ministry, SuspendPayload(net.university.member_id,
                                                        "licence_revoked"))])
    grant = LocalFacts(chain.state, "t").accreditation(net.university.member_id).grants[0]
    assert grant.suspend_reason == "licence_revoked"


# ---- the CLI keeps the note off chain ----------------------------------------------------

class _FakeNode:
    """Stands in for NodeClient: records what would be submitted, commits it."""

    submitted: ClassVar[list[Transaction]] = []

    def __init__(self, _url: str) -> None:
        pass

    def make_tx(self, keys: Any, payload: Payload) -> Transaction:
        return make_tx(keys, payload)

    def submit_and_wait(self, tx: Transaction, timeout_s: float = 60.0) -> dict[str, Any]:
        _FakeNode.submitted.append(tx)
        return {"status": "committed", "height": 7, "tx_id": tx.tx_id.hex()}


def _write_document(tmp_path: Path, net: Consortium) -> tuple[Path, Path]:
    batch = make_batch([{"name": "Aigerim"}, {"name": "Nurlan"}], "diploma", CHAIN_ID,
                       net.university.member_id, "KazNU")
    document = tmp_path / "diploma-1.json"
    document.write_text(json.dumps(documents_of(batch)[0]))
    key = tmp_path / "kaznu.key"
    save_key(key, net.university)
    return document, key


def test_cli_revoke_writes_the_note_off_chain(tmp_path: Path, net: Consortium,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli.revoking, "NodeClient", _FakeNode)
    _FakeNode.submitted = []
    document, key = _write_document(tmp_path, net)
    result = CliRunner().invoke(main, ["revoke", "--key", str(key), str(document),
                                       "--reason", "fraud", "--note", NOTE])
    assert result.exit_code == 0, result.output
    note_file = tmp_path / "revocation-notes" / "diploma-1.json"
    assert stat.S_IMODE(note_file.stat().st_mode) == 0o600
    kept = json.loads(note_file.read_text())
    assert kept["note"] == NOTE
    (tx,) = _FakeNode.submitted
    assert isinstance(tx.payload, RevokePayload) and tx.payload.reason == "fraud"
    assert tx.payload.note_hash == note_hash(NOTE, bytes.fromhex(kept["salt"]))
    assert NOTE.encode() not in tx.encode() and b"171571988762" not in tx.encode()


@pytest.mark.parametrize("args,message", [
    (["--reason", "Graduate IIN 171571988762"], "Invalid value for '--reason'"),
    (["--reason", "fraud", "--note", "   "], "--note must be non-empty"),
    (["--reason", "fraud", "--note", "x" * 2001], "--note must be non-empty"),
    (["--reason", "superseded"], "senim supersede"),
])
def test_cli_revoke_bad_input_is_one_line(tmp_path: Path, net: Consortium,
                                          monkeypatch: pytest.MonkeyPatch, args: list[str],
                                          message: str) -> None:
    monkeypatch.setattr(cli.revoking, "NodeClient", _FakeNode)
    _FakeNode.submitted = []
    document, key = _write_document(tmp_path, net)
    result = CliRunner().invoke(main, ["revoke", "--key", str(key), str(document), *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert _FakeNode.submitted == []
    assert not (tmp_path / "revocation-notes").exists()


def test_cli_suspend_takes_only_a_code(tmp_path: Path, net: Consortium) -> None:
    key = tmp_path / "ministry.key"
    save_key(key, net.ministry)
    result = CliRunner().invoke(main, ["suspend", "--key", str(key), "--issuer",
                                       net.university.member_id.hex(), "--reason",
                                       "rector Aigerim B. arrested", "--node",
                                       "http://127.0.0.1:9"])
    assert result.exit_code == 2 and "Invalid value for '--reason'" in result.output
