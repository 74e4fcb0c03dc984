"""A member a thief admitted with a ministry's key (rules version 9): the ministry that
admitted it by its own `add_member` is recorded, so that once that key is declared stolen
from before the admission, what the member records counts for nothing
(`admission_compromised`), its own key never having been stolen. Before, its anchors
verified as "recorded by" a name of the thief's choosing for good, and its credentials
did too wherever an honest ministry had also accredited it."""

from __future__ import annotations

import copy
from typing import Any, cast

import pytest

from cli.check_words import check_words
from cli.language import Words
from cli.verdict_words import verdict_sentence
from ledger.anchor_verification import document_hash, verify_anchor
from ledger.chain import Chain
from ledger.credential_documents import parse_document
from ledger.facts import LocalFacts
from ledger.identity import KeyPair
from ledger.key_events import key_history_key
from ledger.offline import OfflineFacts, ProofRefused, make_bundle, proof_keys
from ledger.payloads import (
    AccreditPayload,
    AddMemberPayload,
    AnchorPayload,
)
from ledger.record_checks import recognition_record
from ledger.records import Member, member_key
from ledger.rules_version import ADMITTED_BY_RECORDED_FROM, REPORTS_UNDONE_FROM
from ledger.verification import Verdict, verify_credential
from node.validators import certifies_by_keys
from storage.state_tree import StateTree
from tests.node.academic_fixtures import issue as academic_issue
from tests.node.academic_fixtures import transcript_record
from tests.node.conftest import (
    CHAIN_ID,
    GENESIS_TIME_MS,
    YEAR_MS,
    commit,
    documents_of,
    make_tx,
)
from tests.node.test_governance import Council
from tests.node.test_governance_key_replacement import council_chain, issue
from tests.node.test_recognition import OWN_FIELDS, RECOGNISED
from tests.node.test_stolen_key_records import rotate_and_report, verdict_of

THESIS = b"%PDF-1.7 a thesis the mill vouches for"


def admitted(chain: Chain, ministry: KeyPair, name: str, *accreditors: KeyPair) -> KeyPair:
    """A university `ministry` admits by its own add_member, accredited by `accreditors`."""
    member = KeyPair.generate()
    commit(chain, [make_tx(ministry, AddMemberPayload(name, "university", member.public_key))])
    for accreditor in accreditors:
        commit(chain, [make_tx(accreditor, AccreditPayload(
            member.member_id, ("diploma",), GENESIS_TIME_MS, GENESIS_TIME_MS + YEAR_MS))])
    return member


def mill_of_a_thief(version: int) -> tuple[Council, Chain, KeyPair, dict[str, Any], int]:
    """A thief copies the Ministry of Justice's key and admits a mill, accredited by the
    thief and by an honest ministry too; the mill issues and anchors; the ministry then
    recovers and reports the copy stolen from the theft."""
    council, chain = council_chain(version)
    stolen_at = chain.height + 1
    mill = admitted(chain, council.ministry3, "Diploma Mill", council.ministry3,
                    council.ministry)
    forged = issue(chain, mill)
    commit(chain, [make_tx(mill, AnchorPayload(document_hash(THESIS)))])
    assert verdict_of(chain, forged).status == "valid"  # until the ministry acts
    rotate_and_report(chain, council.ministry3, stolen_at)
    return council, chain, mill, forged, stolen_at


def test_what_a_member_a_thief_admitted_records_counts_for_nothing() -> None:
    _council, chain, _mill, forged, stolen_at = mill_of_a_thief(ADMITTED_BY_RECORDED_FROM)
    refused = verdict_of(chain, forged)
    assert (refused.valid, refused.status) == (False, "admission_compromised"), refused.reason
    assert refused.facts["admitted_by"] == "Ministry of Justice"
    assert refused.facts["key_compromised_from"] == stolen_at
    assert "the thief may have admitted it" in refused.reason
    anchored = verify_anchor(THESIS, LocalFacts(chain.state, "test"))
    assert (anchored.valid, anchored.status) == (False, "admission_compromised")
    for lang, said in (("kk", "ұрланған"), ("ru", "похищенным"), ("en", "declared stolen")):
        for verdict, document in ((refused, forged), (anchored, None)):
            sentence = verdict_sentence(verdict, Words(lang))
            assert "Diploma Mill" in sentence and "Ministry of Justice" in sentence, sentence
            assert said in sentence and str(stolen_at) in sentence, sentence
            check = next(c for c in verdict.checks if c.name == "admitted")
            line = check_words(check, verdict, Words(lang), document)
            assert said in line and "Ministry of Justice" in line and "{" not in line, line


def test_before_version_9_no_admission_is_recorded_and_the_anchor_stands() -> None:
    """What version 8 left: the grant of the honest ministry carries the credential, and
    the anchor is said to be recorded by the mill."""
    _council, chain, mill, forged, _ = mill_of_a_thief(REPORTS_UNDONE_FROM)
    member = Member.decode(chain.state.get(member_key(mill.member_id)) or b"")
    assert member.added_by is None
    assert verdict_of(chain, forged).status == "valid"
    assert verify_anchor(THESIS, LocalFacts(chain.state, "test")).status == "valid"


def test_a_member_admitted_before_the_theft_stands() -> None:
    council, chain = council_chain(ADMITTED_BY_RECORDED_FROM)
    honest = admitted(chain, council.ministry3, "Astana IT University", council.ministry3)
    member = Member.decode(chain.state.get(member_key(honest.member_id)) or b"")
    assert member.added_by == council.ministry3.member_id
    assert Member.decode(member.encode()) == member
    document = issue(chain, honest)
    rotate_and_report(chain, council.ministry3, chain.height + 1)
    assert verdict_of(chain, document).status == "valid"


def test_an_offline_proof_needs_the_admitting_ministrys_keys() -> None:
    council, chain, mill, forged, _ = mill_of_a_thief(ADMITTED_BY_RECORDED_FROM)
    header = chain.head_header
    certificate = chain.get_certificate(header.height) or b""

    def offline(ministries: list[bytes]) -> Verdict:
        keys = proof_keys(bytes.fromhex(forged["batch"]["root"]), mill.member_id,
                          bytes.fromhex(forged["target_hash"]), ministries)
        document = copy.deepcopy(forged)
        document["proof"] = make_bundle(chain.state, header, certificate, keys)
        facts = OfflineFacts(document["proof"], council.genesis, certifies_by_keys(CHAIN_ID))
        return verify_credential(document, facts, CHAIN_ID)

    assert offline([council.ministry3.member_id,
                    council.ministry.member_id]).status == "admission_compromised"
    with pytest.raises(ProofRefused):  # fail closed: never valid for lack of an entry
        offline([council.ministry.member_id])


def test_an_admission_whose_ministrys_keys_cannot_be_read_is_said_plainly() -> None:
    """A damaged or cut-down source: the check says the keys cannot be read, and claims
    no theft (the stolen-key sentence's placeholders stayed unfilled)."""
    council, chain = council_chain(ADMITTED_BY_RECORDED_FROM)
    member = admitted(chain, council.ministry3, "Astana IT University", council.ministry3)
    document = issue(chain, member)
    rotate_and_report(chain, council.ministry3, chain.height)  # a history is now stored
    overlay = chain.state.overlay()
    overlay.set(key_history_key(council.ministry3.member_id), b"\x90")  # an empty history
    verdict = verify_credential(copy.deepcopy(document),
                                LocalFacts(cast(StateTree, overlay), "test"), CHAIN_ID)
    assert verdict.status == "malformed"
    check = next(c for c in verdict.checks if c.name == "admitted")
    for lang in ("kk", "ru", "en"):
        line = check_words(check, verdict, Words(lang), document)
        assert "{" not in line and "Ministry of Justice" not in line, line


def test_a_recognition_on_a_transcript_of_a_member_a_thief_admitted() -> None:
    """Said as the admission's doubt, not as a key of the mill's declared stolen, and not
    "ask the mill whether it stands": the mill is what is in question."""
    council, chain = council_chain(ADMITTED_BY_RECORDED_FROM)
    ministry, thief = council.ministry, council.ministry3
    receiving = admitted(chain, ministry, "ENU")
    commit(chain, [make_tx(ministry, AccreditPayload(receiving.member_id, ("recognition",),
                                                     GENESIS_TIME_MS,
                                                     GENESIS_TIME_MS + YEAR_MS))])
    stolen_at = chain.height + 1
    mill = admitted(chain, thief, "Mill")
    for accreditor in (thief, ministry):  # an honest ministry's grant too: admission alone
        commit(chain, [make_tx(accreditor, AccreditPayload(
            mill.member_id, ("transcript",), GENESIS_TIME_MS, GENESIS_TIME_MS + YEAR_MS))])
    milled = documents_of(academic_issue(chain, mill, "Mill", [transcript_record()],
                                         "transcript"))[0]
    record = recognition_record(parse_document(milled), RECOGNISED, OWN_FIELDS)
    recognition = documents_of(academic_issue(chain, receiving, "ENU", [record],
                                              "recognition"))[0]
    assert verdict_of(chain, recognition).status == "valid"
    rotate_and_report(chain, thief, stolen_at)
    shown = verdict_of(chain, recognition)
    assert (shown.status, shown.facts["original"]["status"]) == (
        "original_invalid", "admission_doubted"), shown.to_json()
    check = next(c for c in shown.checks if c.name == "original")
    for lang, said in (("kk", "министрліктерден"), ("ru", "Уточните у министерств"),
                       ("en", "Ask the ministries")):
        sentence = verdict_sentence(shown, Words(lang))
        assert said in sentence and "Mill" in sentence and "{" not in sentence, sentence
        line = check_words(check, shown, Words(lang), recognition)
        assert "Mill" in line and "{" not in line, line
