"""A recognition's original transcript is checked as its own verdict checks it: one
signed with a key reported stolen, accredited only with one, or revoked with one made
the recognition say "the original transcript is genuine" (rules version 8 chains, and
any chain: these are verification's checks, not the ledger's)."""

from __future__ import annotations

import copy
from typing import Any

from cli.check_words import check_words
from cli.language import Words
from cli.verdict_words import verdict_sentence
from ledger.chain import Chain
from ledger.credential_documents import parse_document
from ledger.errors import InvalidDocument
from ledger.facts import LocalFacts
from ledger.identity import KeyPair
from ledger.key_events import KeyHistory
from ledger.payloads import AccreditPayload, AddMemberPayload, RevokePayload
from ledger.payloads_credentials import CredentialRef
from ledger.record_checks import recognition_record
from ledger.rules_version import REPORTS_UNDONE_FROM
from ledger.verification import Verdict, verify_credential
from storage.batch_tree import audit_path
from tests.node.academic_fixtures import issue, transcript_record
from tests.node.conftest import CHAIN_ID, GENESIS_TIME_MS, YEAR_MS, commit, documents_of, make_tx
from tests.node.test_governance import approve
from tests.node.test_governance_key_replacement import council_chain, replacement
from tests.node.test_recognition import OWN_FIELDS, RECOGNISED
from tests.node.test_stolen_key_records import rotate_and_report

YEAR = (GENESIS_TIME_MS, GENESIS_TIME_MS + YEAR_MS)


def verdict_of(chain: Chain, document: dict[str, Any]) -> Verdict:
    return verify_credential(copy.deepcopy(document), LocalFacts(chain.state, "test"),
                             CHAIN_ID)


def test_a_recognition_of_a_transcript_a_thief_made_possible_is_not_genuine() -> None:
    council, chain = council_chain(REPORTS_UNDONE_FROM)
    ministry, university, thief = council.ministry, council.university, council.ministry3
    receiving = KeyPair.generate()
    commit(chain, [make_tx(ministry, AddMemberPayload("ENU", "university",
                                                      receiving.public_key))])
    commit(chain, [make_tx(ministry, AccreditPayload(receiving.member_id, ("recognition",),
                                                     *YEAR)),
                   make_tx(ministry, AccreditPayload(university.member_id, ("transcript",),
                                                     *YEAR))])
    honest_batch = issue(chain, university, "KazNU",
                         [transcript_record("Real", "030303500013")], "transcript")
    honest = documents_of(honest_batch)[0]
    # a diploma mill admitted and accredited with the Ministry of Justice's stolen key
    ministry_stolen_at = chain.height + 1
    mill = KeyPair.generate()
    commit(chain, [make_tx(thief, AddMemberPayload("Mill", "university", mill.public_key))])
    commit(chain, [make_tx(thief, AccreditPayload(mill.member_id, ("transcript",), *YEAR))])
    milled = documents_of(issue(chain, mill, "Mill", [transcript_record()], "transcript"))[0]
    # a transcript issued in KazNU's name with its stolen key
    university_stolen_at = chain.height + 1
    forged = documents_of(issue(chain, university, "KazNU",
                                [transcript_record("Fake", "020202500013")],
                                "transcript"))[0]
    # and KazNU's honest transcript revoked with it
    ref = CredentialRef(honest_batch.root, honest_batch.target_hashes[0], 0,
                        tuple(audit_path(honest_batch.target_hashes, 0)))
    recognitions = []
    for original in (milled, forged, honest):
        assert verdict_of(chain, original).status == "valid"  # until the consortium acts
        record = recognition_record(parse_document(original), RECOGNISED, OWN_FIELDS)
        recognitions.append(documents_of(issue(chain, receiving, "ENU", [record],
                                               "recognition"))[0])
    commit(chain, [make_tx(university, RevokePayload(ref, "fraud"))])
    _, action = replacement(chain, thief, compromised_from=ministry_stolen_at)
    approve(chain, council, action, chain.height + 10)
    _, action = replacement(chain, university, compromised_from=university_stolen_at)
    approve(chain, council, action, chain.height + 10)
    for recognition in recognitions:
        shown = verdict_of(chain, recognition)
        assert (shown.valid, shown.status) == (False, "original_invalid"), shown.to_json()
        assert shown.facts["original"]["status"] == "doubted"
        for lang, said in (("kk", "Күмәнді"), ("ru", "Под сомнением"), ("en", "In doubt")):
            sentence = verdict_sentence(shown, Words(lang))
            assert sentence.startswith(said), sentence  # not "not genuine on this network"
        check = next(c for c in shown.checks if c.name == "original")
        for lang, said in (("kk", "ұрланған"), ("ru", "похищенным"), ("en", "stolen")):
            line = check_words(check, shown, Words(lang), recognition)
            assert said in line, line


class KeysUnreadable(LocalFacts):
    """As an offline proof made before proofs carried an original issuer's key history."""

    def key_history(self, member: bytes) -> KeyHistory | None:
        raise InvalidDocument("the proof lacks an entry this check needs",
                              "proof_lacks_entry")


def test_an_original_whose_keys_cannot_be_read_is_unchecked_not_doubted() -> None:
    """Its signing key unreadable from the source (an older proof) was said "declared
    stolen": nothing was."""
    council, chain = council_chain(REPORTS_UNDONE_FROM)
    ministry, university = council.ministry, council.university
    receiving = KeyPair.generate()
    commit(chain, [make_tx(ministry, AddMemberPayload("ENU", "university",
                                                      receiving.public_key))])
    commit(chain, [make_tx(ministry, AccreditPayload(receiving.member_id, ("recognition",),
                                                     *YEAR)),
                   make_tx(ministry, AccreditPayload(university.member_id, ("transcript",),
                                                     *YEAR))])
    original = documents_of(issue(chain, university, "KazNU", [transcript_record()],
                                  "transcript"))[0]
    record = recognition_record(parse_document(original), RECOGNISED, OWN_FIELDS)
    recognition = documents_of(issue(chain, receiving, "ENU", [record], "recognition"))[0]
    rotate_and_report(chain, university, chain.height)  # a history to read, now
    shown = verify_credential(copy.deepcopy(recognition),
                              KeysUnreadable(chain.state, "test"), CHAIN_ID)
    assert shown.status == "original_unchecked", shown.to_json()
    assert shown.facts["original"]["status"] == "unchecked"
