"""Credential documents and step-by-step verification against local chain facts."""

from __future__ import annotations

import copy
import hashlib
import json
import os
from typing import Any

import pytest

from ledger.anchor_verification import verify_anchor
from ledger.chain import Chain
from ledger.credential_documents import disclose
from ledger.credentials import make_batch
from ledger.errors import InvalidDocument
from ledger.facts import LocalFacts
from ledger.payloads import AnchorPayload, CredentialRef, IssueBatchPayload, RevokePayload
from ledger.verification import verify_credential
from tests.node.conftest import (
    CHAIN_ID,
    Consortium,
    accredit,
    commit,
    documents_of,
    make_tx,
)
from tests.node.forged_state import unaccredited_batch

RECORDS = [
    {"full_name": f"Student {i}", "iin": f"0{i:02d}1234567{i % 10}", "birth_date": "2001-05-17",
     "degree": "BSc Computer Science", "gpa": 3.0 + i / 100, "honours": i % 3 == 0}
    for i in range(13)
]


@pytest.fixture
def issued(chain: Chain, net: Consortium) -> tuple[Chain, Any]:
    commit(chain, [accredit(net, net.university, ["diploma"])])
    batch = make_batch(RECORDS, "diploma", CHAIN_ID, net.university.member_id, "KazNU")
    commit(chain, [make_tx(net.university, IssueBatchPayload("diploma", batch.root, len(RECORDS)))])
    return chain, batch


def facts_of(chain: Chain) -> LocalFacts:
    return LocalFacts(chain.state, f"test chain at {chain.height}")


def test_every_document_verifies(issued: tuple[Chain, Any], net: Consortium) -> None:
    chain, batch = issued
    documents = documents_of(batch)
    assert len(documents) == len(RECORDS)
    for index, document in enumerate(documents):
        verdict = verify_credential(json.loads(json.dumps(document)), facts_of(chain),
                                    CHAIN_ID)
        assert (verdict.valid, verdict.status) == (True, "valid"), verdict.reason
        assert [c.name for c in verdict.checks] == ["fields", "batch", "on_chain",
                                                    "issuer_key", "accredited", "not_revoked"]
        assert all(c.ok for c in verdict.checks)
        assert verdict.facts["issuer"] == "KazNU"
        assert verdict.facts["height"] == 2
        assert document["batch"]["index"] == index
        assert bytes.fromhex(document["target_hash"]) == batch.target_hashes[index]


def test_documents_carry_no_value_on_chain(issued: tuple[Chain, Any]) -> None:
    chain, _ = issued
    everything = b"".join(k + v for k, v in chain.kv.iterate_prefix(b""))
    for record in RECORDS:
        assert str(record["full_name"]).encode() not in everything
        assert str(record["iin"]).encode() not in everything


def test_disclose_hides_values_and_still_verifies(issued: tuple[Chain, Any]) -> None:
    chain, batch = issued
    document = documents_of(batch)[4]
    hidden_values = [document["fields"]["iin"]["value"],
                     document["fields"]["birth_date"]["value"]]
    hidden_salts = [document["fields"]["iin"]["salt"],
                    document["fields"]["birth_date"]["salt"]]
    shown = disclose(document, ["iin", "birth_date"])
    text = json.dumps(shown)
    for secret in hidden_values + hidden_salts:
        assert secret not in text
    assert document["fields"]["iin"]["value"] == hidden_values[0]  # original untouched
    verdict = verify_credential(json.loads(text), facts_of(chain), CHAIN_ID)
    assert verdict.status == "valid", verdict.reason
    assert "4 field(s) shown, 2 hidden" in verdict.checks[0].detail
    hidden_count = sum(1 for f in shown["fields"].values() if "hash" in f)
    assert hidden_count == 2


def test_disclose_refuses_unknown_field(issued: tuple[Chain, Any]) -> None:
    _, batch = issued
    with pytest.raises(InvalidDocument, match="no such field"):
        disclose(documents_of(batch)[0], ["passport"])


@pytest.mark.parametrize("field,value", [("gpa", "4.0"), ("full_name", "Someone Else"),
                                         ("degree", "PhD")])
def test_tampered_field_value(issued: tuple[Chain, Any], field: str, value: str) -> None:
    chain, batch = issued
    document = documents_of(batch)[0]
    document["fields"][field]["value"] = value
    verdict = verify_credential(document, facts_of(chain), CHAIN_ID)
    assert (verdict.valid, verdict.status) == (False, "tampered")
    assert "altered" in verdict.reason


def test_tampered_hidden_hash_and_added_field(issued: tuple[Chain, Any]) -> None:
    chain, batch = issued
    shown = disclose(documents_of(batch)[1], ["iin"])
    shown["fields"]["iin"]["hash"] = os.urandom(32).hex()
    assert verify_credential(shown, facts_of(chain), CHAIN_ID).status == "tampered"
    extra = documents_of(batch)[1]
    extra["fields"]["award"] = {"value": "Gold medal", "salt": os.urandom(16).hex()}
    assert verify_credential(extra, facts_of(chain), CHAIN_ID).status == "tampered"


def test_hidden_field_with_a_value_beside_its_hash(issued: tuple[Chain, Any]) -> None:
    # The hash is the true one, so the target hash matches; a page showing the value
    # beside it would show a made-up GPA under a "genuine" verdict.
    chain, batch = issued
    shown = disclose(documents_of(batch)[1], ["gpa"])
    shown["fields"]["gpa"].update({"value": "4.0", "salt": os.urandom(16).hex()})
    verdict = verify_credential(shown, facts_of(chain), CHAIN_ID)
    assert (verdict.valid, verdict.status) == (False, "malformed")
    assert "both shown and hidden" in verdict.reason
    only_value = disclose(documents_of(batch)[1], ["gpa"])
    only_value["fields"]["gpa"]["value"] = "4.0"
    assert verify_credential(only_value, facts_of(chain), CHAIN_ID).status == "malformed"


def test_wrong_audit_path(issued: tuple[Chain, Any]) -> None:
    chain, batch = issued
    documents = documents_of(batch)
    bad_entry = copy.deepcopy(documents[2])
    bad_entry["batch"]["path"][0] = os.urandom(32).hex()
    other_path = copy.deepcopy(documents[2])
    other_path["batch"]["path"] = documents[3]["batch"]["path"]
    wrong_index = copy.deepcopy(documents[2])
    wrong_index["batch"]["index"] = 5
    short = copy.deepcopy(documents[2])
    short["batch"]["path"] = short["batch"]["path"][:-1]
    for document in (bad_entry, other_path, wrong_index, short):
        verdict = verify_credential(document, facts_of(chain), CHAIN_ID)
        assert (verdict.valid, verdict.status) == (False, "tampered")
        assert "audit path" in verdict.reason


def test_unknown_batch(chain: Chain, net: Consortium) -> None:
    commit(chain, [accredit(net, net.university, ["diploma"])])
    never_issued = make_batch(RECORDS[:2], "diploma", CHAIN_ID, net.university.member_id,
                              "KazNU")
    verdict = verify_credential(documents_of(never_issued)[0], facts_of(chain), CHAIN_ID)
    assert (verdict.valid, verdict.status) == (False, "unknown")
    assert "never issued" in verdict.reason


def test_other_network(issued: tuple[Chain, Any], net: Consortium) -> None:
    chain, _ = issued
    foreign = make_batch(RECORDS[:1], "diploma", "senim-other", net.university.member_id,
                         "KazNU")
    assert verify_credential(documents_of(foreign)[0], facts_of(chain),
                             CHAIN_ID).status == "unknown"


def test_claims_that_disagree_with_the_chain(issued: tuple[Chain, Any],
                                             net: Consortium) -> None:
    chain, batch = issued
    # Same batch root, but the document claims another issuer: its target hash differs,
    # so a forger must rebuild the whole batch, whose root is then not on chain.
    forged = make_batch(RECORDS, "diploma", CHAIN_ID, net.university2.member_id, "ENU")
    assert verify_credential(documents_of(forged)[0], facts_of(chain),
                             CHAIN_ID).status == "unknown"
    document = documents_of(batch)[0]
    document["batch"]["size"] = len(RECORDS) + 1
    verdict = verify_credential(document, facts_of(chain), CHAIN_ID)
    assert verdict.status == "tampered"
    # said as what differs (the size), not as the issuer and type, which agree
    assert verdict.reason == (f"the batch on chain holds {len(RECORDS)} credential(s), not "
                              f"{len(RECORDS) + 1} as the document claims: the document was "
                              "altered"), verdict.reason


def test_unaccredited_issuer(net: Consortium) -> None:
    # The ledger never lets an unaccredited issuer put a batch on chain, so build a
    # state where one is (as a forged or buggy node might present it).
    batch, facts = unaccredited_batch(net.employer, "Kaspi", "employer", RECORDS[:3],
                                      "diploma")
    verdict = verify_credential(documents_of(batch)[0], facts, CHAIN_ID)
    assert (verdict.valid, verdict.status) == (False, "unaccredited")
    assert "Kaspi was not accredited" in verdict.reason


def test_accreditation_per_type_issues_valid_credentials(chain: Chain, net: Consortium) -> None:
    commit(chain, [accredit(net, net.university, ["transcript"])])
    batch = make_batch(RECORDS[:2], "transcript", CHAIN_ID, net.university.member_id, "KazNU")
    commit(chain, [make_tx(net.university, IssueBatchPayload("transcript", batch.root, 2))])
    assert verify_credential(documents_of(batch)[0], facts_of(chain), CHAIN_ID).status == \
        "valid"


def test_revoked_with_reason_and_time(issued: tuple[Chain, Any], net: Consortium) -> None:
    chain, batch = issued
    documents = documents_of(batch)
    index = 7
    target = batch.target_hashes[index]
    path = [bytes.fromhex(p) for p in documents[index]["batch"]["path"]]
    revoked_block = commit(chain, [make_tx(net.university, RevokePayload(
        CredentialRef(batch.root, target, index, tuple(path)), "court_decision"))])
    verdict = verify_credential(documents[index], facts_of(chain), CHAIN_ID)
    assert (verdict.valid, verdict.status) == (False, "revoked")
    assert verdict.facts["revocation_reason"] == "court_decision"
    assert verdict.reason.endswith(": a court decision")
    assert f"height {revoked_block.header.height}" in verdict.reason
    assert verdict.facts["revoked_at"].endswith("UTC")
    others = [d for i, d in enumerate(documents) if i != index]
    assert all(verify_credential(d, facts_of(chain), CHAIN_ID).valid for d in others)
    # hiding fields does not hide the revocation
    assert verify_credential(disclose(documents[index], ["iin"]), facts_of(chain),
                             CHAIN_ID).status == "revoked"


@pytest.mark.parametrize("document", [
    None, [], "diploma", {}, {"format": "senim-credential/v1"},
    {"format": "senim-credential/v1", "chain_id": CHAIN_ID, "type": "diploma",
     "issuer": {"member_id": "zz"}, "batch": {}, "fields": {"a": {"value": "x"}}},
])
def test_malformed_documents(chain: Chain, document: Any) -> None:
    verdict = verify_credential(document, facts_of(chain), CHAIN_ID)
    assert (verdict.valid, verdict.status) == (False, "malformed")


@pytest.mark.parametrize(("version", "status"), [
    ("senim-credential/v3", "newer_format"), ("senim-credential/v17", "newer_format"),
    ("senim-credential/v0", "malformed"), ("senim-credential/v2.1", "malformed"),
    ("senim-credential/v03", "malformed"), ("other-credential/v3", "malformed")])
def test_a_later_format_is_named_not_called_junk(issued: tuple[Chain, Any], version: str,
                                                 status: str) -> None:
    # A later release may issue a format this verifier cannot read; "not a Senim
    # credential" would call the holder's genuine document junk.
    chain, batch = issued
    document = documents_of(batch)[0]
    document["format"] = version
    verdict = verify_credential(document, facts_of(chain), CHAIN_ID)
    assert (verdict.valid, verdict.status) == (False, status), verdict.reason
    if status == "newer_format":
        assert verdict.reason.startswith(f"the credential is in a newer format ({version})")
        assert "updated senim" in verdict.reason and verdict.facts["format"] == version
        with pytest.raises(InvalidDocument, match="newer format"):
            disclose(document, ["iin"])
    else:
        assert "not a Senim credential" in verdict.reason


def test_anchor_verify(chain: Chain, net: Consortium) -> None:
    contract = b"%PDF-1.7 employment contract of Aigerim"
    block = commit(chain, [make_tx(net.employer, AnchorPayload(hashlib.sha256(contract).digest()))])
    verdict = verify_anchor(contract, facts_of(chain))
    assert (verdict.valid, verdict.status) == (True, "valid")
    assert verdict.facts["author"] == "Kaspi"
    assert verdict.facts["height"] == block.header.height
    assert verdict.facts["sha256"] == hashlib.sha256(contract).hexdigest()
    other = verify_anchor(contract + b" ", facts_of(chain))
    assert (other.valid, other.status) == (False, "unknown")
