"""Credit transfer: a receiving university's recognition credential names the original
transcript; verifying it checks the original on chain too, and its hidden lines stay
hidden."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from ledger.academic import ORIGINAL_FIELD, parse_original
from ledger.chain import Chain
from ledger.credential_documents import disclose, parse_document
from ledger.credentials import IssuedBatch, make_batch
from ledger.errors import InvalidDocument
from ledger.facts import LocalFacts
from ledger.offline import OfflineFacts, make_bundle, original_proof_keys, proof_keys
from ledger.payloads import CredentialRef, RevokePayload
from ledger.record_checks import recognition_record
from ledger.verification import verify_credential
from node.validators import certifies_by_keys
from storage.batch_tree import audit_path
from tests.node.academic_fixtures import issue, transcript_record
from tests.node.conftest import CHAIN_ID, Consortium, accredit, commit, documents_of, make_tx

RECOGNISED = [
    {"from_code": "INF1101", "from_field": "course.01", "as_code": "CS101",
     "as_title_en": "Introduction to programming", "credits": "5", "grade": "B+"},
    {"from_code": "HIS1103", "from_field": "course.03", "as_code": "HIS100", "credits": "5"},
]
OWN_FIELDS = {"full_name": "Иванова Анна Сергеевна", "programme": "Computer science",
              "recognition_date": "2026-09-01"}


def facts_of(chain: Chain) -> LocalFacts:
    return LocalFacts(chain.state, "test", chain.height)


@pytest.fixture
def transferred(chain: Chain, net: Consortium) -> tuple[Chain, IssuedBatch, dict[str, Any],
                                                         dict[str, Any]]:
    """KazNU issued a transcript; the student hid two courses and the IIN and moved to
    ENU, which recognised two of the courses she showed."""
    commit(chain, [accredit(net, net.university, ["transcript"]),
                   accredit(net, net.university2, ["recognition"])])
    original = issue(chain, net.university, "KazNU",
                     [transcript_record(), transcript_record("Петров", "010101500023")],
                     "transcript")
    shown = disclose(documents_of(original)[0], ["course.02", "course.04", "iin"])
    record = recognition_record(parse_document(shown), RECOGNISED, OWN_FIELDS)
    recognition = issue(chain, net.university2, "ENU", [record], "recognition")
    return chain, original, shown, documents_of(recognition)[0]


def test_recognition_verifies_with_its_original(transferred: Any) -> None:
    chain, _original, _shown, recognition = transferred
    verdict = verify_credential(recognition, facts_of(chain), CHAIN_ID)
    assert verdict.valid, verdict.reason
    assert verdict.facts["original"]["status"] == "valid"
    assert verdict.facts["original"]["issuer"] == "KazNU"
    assert "the original transcript is genuine: issued by KazNU" in verdict.reason
    assert [(r["from_code"], r["as_code"], r["credits"])
            for r in verdict.facts["recognised_lines"]] == [("INF1101", "CS101", "5"),
                                                           ("HIS1103", "HIS100", "5")]
    assert recognition["labels"]["recognised.01"]["ru"] == "Перезачтённая дисциплина 1"
    # the original's hidden lines stay hidden: neither document nor verdict names them
    text = json.dumps([recognition, verdict.to_json()], ensure_ascii=False)
    assert "MAT1102" not in text and "PHY1104" not in text and "010101500013" not in text


def test_revoked_original_is_reported(transferred: Any, net: Consortium) -> None:
    chain, original, _shown, recognition = transferred
    ref = CredentialRef(original.root, original.target_hashes[0], 0,
                        tuple(audit_path(original.target_hashes, 0)))
    block = commit(chain, [make_tx(net.university, RevokePayload(ref, "fraud"))])
    verdict = verify_credential(recognition, facts_of(chain), CHAIN_ID)
    assert (verdict.valid, verdict.status) == (False, "original_revoked")
    assert f"has since been revoked at height {block.header.height}: fraud" in verdict.reason
    # the recognition itself is still on chain, unrevoked: both are reported
    assert [c.name for c in verdict.checks if c.ok][-1] == "lines"
    assert verdict.facts["original"]["revocation_reason"] == "fraud"


def test_reference_to_a_forged_original(transferred: Any, net: Consortium) -> None:
    chain, _original, shown, _recognition = transferred
    # a transcript KazNU never issued, named in a recognition ENU does issue
    fake = make_batch([transcript_record()], "transcript", CHAIN_ID,
                      net.university.member_id, "KazNU")
    record = recognition_record(parse_document(documents_of(fake)[0]), RECOGNISED, OWN_FIELDS)
    recognition = documents_of(issue(chain, net.university2, "ENU", [record],
                                     "recognition"))[0]
    verdict = verify_credential(recognition, facts_of(chain), CHAIN_ID)
    assert (verdict.valid, verdict.status) == (False, "original_invalid")
    assert "not on chain" in verdict.reason
    # a reference whose audit path does not hold the named credential
    bad = recognition_record(parse_document(shown), RECOGNISED, OWN_FIELDS)
    moved = json.loads(bad[ORIGINAL_FIELD])
    moved["index"] = 1
    bad[ORIGINAL_FIELD] = json.dumps(moved, sort_keys=True, separators=(",", ":"))
    recognition = documents_of(issue(chain, net.university2, "ENU", [bad], "recognition"))[0]
    verdict = verify_credential(recognition, facts_of(chain), CHAIN_ID)
    assert (verdict.valid, verdict.status) == (False, "original_invalid")
    assert "audit path fails" in verdict.reason


def test_hidden_reference_cannot_be_checked(transferred: Any) -> None:
    chain, _original, _shown, recognition = transferred
    verdict = verify_credential(disclose(recognition, [ORIGINAL_FIELD]), facts_of(chain),
                                CHAIN_ID)
    assert (verdict.valid, verdict.status) == (False, "original_unchecked")


def test_recognition_record_checks(transferred: Any) -> None:
    _chain, _original, shown, _recognition = transferred
    parsed = parse_document(shown)
    with pytest.raises(InvalidDocument, match=r"course\.01 of the original is INF1101, not X1"):
        recognition_record(parsed, [{**RECOGNISED[0], "from_code": "X1"}], OWN_FIELDS)
    with pytest.raises(InvalidDocument, match="record 1: a recognition must name"):
        make_batch([OWN_FIELDS], "recognition", CHAIN_ID, b"\x02" * 20, "ENU")
    record = recognition_record(parsed, [], OWN_FIELDS)
    with pytest.raises(InvalidDocument, match="at least one recognised course"):
        make_batch([record], "recognition", CHAIN_ID, b"\x02" * 20, "ENU")
    bad = recognition_record(parsed, [{**RECOGNISED[1], "credits": "-1"}], OWN_FIELDS)
    with pytest.raises(InvalidDocument, match=r"recognised\.01: credits"):
        make_batch([bad], "recognition", CHAIN_ID, b"\x02" * 20, "ENU")
    diploma_like = copy.deepcopy(shown)
    diploma_like["type"] = "diploma"
    with pytest.raises(InvalidDocument, match="refers to a transcript, not a diploma"):
        recognition_record(parse_document(diploma_like), RECOGNISED, OWN_FIELDS)
    ref = parse_original(recognition_record(parsed, RECOGNISED, OWN_FIELDS)[ORIGINAL_FIELD])
    assert (ref.batch_root, ref.target_hash) == (parsed.batch_root, parsed.target_hash)


def test_an_offline_proof_carries_the_original(transferred: Any, net: Consortium) -> None:
    # A recognition proved with its own entries alone verified offline as original_unchecked
    # ("the offline proof lacks an entry this check needs"), however genuine.
    chain, _original, _shown, recognition = transferred
    doc = parse_document(recognition)
    own = proof_keys(doc.batch_root, doc.issuer, doc.target_hash, [net.ministry.member_id])
    header = chain.head_header
    certificate = chain.get_certificate(header.height) or b""
    certifies = certifies_by_keys(net.genesis.chain_id)

    def offline(keys: list[bytes]) -> Any:
        bundle = make_bundle(chain.state, header, certificate, keys)
        return verify_credential(recognition, OfflineFacts(bundle, net.genesis, certifies),
                                 CHAIN_ID)

    assert offline(own).status == "original_unchecked"
    verdict = offline(own + [k for k in original_proof_keys(doc) if k not in own])
    assert verdict.valid, verdict.reason
    assert verdict.facts["original"]["issuer"] == "KazNU"
    assert original_proof_keys(parse_document(disclose(recognition, [ORIGINAL_FIELD]))) == []
