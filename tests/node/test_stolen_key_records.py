"""What a stolen key recorded other than batches: an accreditation it granted counts for
nothing once the key is distrusted from before it, a revocation it made leaves the
credential in doubt (neither revoked nor valid) and is never written over, and a document
it anchored says so. Before, distrusting the key
undid only the batches it signed: a thief holding a ministry's key could accredit a
member of its own, whose diplomas kept verifying after the consortium replaced the key."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from cli.check_words import check_words
from cli.language import Words
from cli.verdict_words import verdict_sentence
from ledger.anchor_verification import document_hash, verify_anchor
from ledger.chain import Chain
from ledger.credentials import IssuedBatch, make_batch
from ledger.facts import LocalFacts
from ledger.identity import KeyPair
from ledger.key_events import (
    MAX_REPORTS_PER_KEY,
    key_history_key,
    load_key_history,
    prove_possession,
)
from ledger.offline import OfflineFacts, make_bundle, proof_keys
from ledger.payloads import (
    ACTION_RETIRE_MEMBER,
    AccreditPayload,
    AddMemberAction,
    AddMemberPayload,
    AnchorPayload,
    IssueBatchPayload,
    MemberAction,
    ReportCompromisePayload,
    RevokeCredentialAction,
    RevokePayload,
    RotateKeyPayload,
    RulesVersionAction,
    VotePayload,
)
from ledger.payloads_credentials import CredentialRef
from ledger.rules_version import (
    CONSORTIUM_REVOKES_DOUBTED_FROM,
    KEY_REPLACEMENT_FROM,
    MINISTRIES_BY_VOTE_FROM,
    REPLACED_SINCE_REFUSED_FROM,
    REPORTS_UNDONE_FROM,
)
from ledger.verification import Verdict, verify_credential
from node.validators import certifies_by_keys
from storage.batch_tree import audit_path
from tests.node.conftest import CHAIN_ID, GENESIS_TIME_MS, YEAR_MS, commit, documents_of, make_tx
from tests.node.test_governance import approve, commit_until, proposal
from tests.node.test_governance_key_replacement import council_chain, issue, replacement
from tests.node.test_ledger_refusals import assert_refused

RECORDS = [{"full_name": f"Graduate {i}", "iin": f"{i:012d}"} for i in range(2)]


def verdict_of(chain: Chain, document: dict[str, Any]) -> Verdict:
    return verify_credential(copy.deepcopy(document), LocalFacts(chain.state, "test"),
                             CHAIN_ID)


def rotated(chain: Chain, keys: KeyPair) -> KeyPair:
    """The member moves from `keys` to a new key, signing under its id from then on."""
    fresh = KeyPair.generate()
    commit(chain, [make_tx(keys, RotateKeyPayload(fresh.public_key, prove_possession(
        fresh, CHAIN_ID, keys.member_id)))])
    return KeyPair.from_seed(fresh.seed, keys.member_id)


def rotate_and_report(chain: Chain, keys: KeyPair, stolen_from: int) -> KeyPair:
    """The member moves to a new key and reports the old one stolen from `stolen_from`."""
    new = rotated(chain, keys)
    commit(chain, [make_tx(new, ReportCompromisePayload(keys.public_key, stolen_from))])
    return new


def test_a_thiefs_accreditation_counts_for_nothing_once_the_key_is_replaced() -> None:
    council, chain = council_chain(CONSORTIUM_REVOKES_DOUBTED_FROM)
    honest = issue(chain, council.university)  # accredited by another ministry
    thief = council.ministry3  # a copy of the ministry's key
    stolen_at = chain.height + 1
    fake = KeyPair.generate()
    commit(chain, [make_tx(thief, AddMemberPayload("Diploma Mill", "university",
                                                   fake.public_key))])
    commit(chain, [make_tx(thief, AccreditPayload(fake.member_id, ("diploma",),
                                                  GENESIS_TIME_MS, GENESIS_TIME_MS + YEAR_MS))])
    forged = issue(chain, fake)
    assert verdict_of(chain, forged).status == "valid"  # until the consortium acts

    _, action = replacement(chain, thief, compromised_from=stolen_at)
    approve(chain, council, action, chain.height + 10)
    refused = verdict_of(chain, forged)
    assert (refused.valid, refused.status) == (False, "accreditation_compromised")
    assert refused.facts["accredited_by"] == "Ministry of Justice"
    assert refused.facts["key_compromised_from"] == stolen_at
    assert "may have been made by the thief" in refused.reason
    assert verdict_of(chain, honest).status == "valid"

    # said in the reader's language, and each check by what it found
    for lang, said in (("kk", "ұрланған"), ("ru", "похищенным"), ("en", "declared stolen")):
        words = Words(lang)
        sentence = verdict_sentence(refused, words)
        assert "Ministry of Justice" in sentence and said in sentence, sentence
        line = check_words(next(c for c in refused.checks if c.name == "accredited"),
                           refused, words, forged)
        assert str(stolen_at) in line and "Ministry of Justice" in line, line


def test_an_offline_proof_carries_the_granting_ministrys_keys() -> None:
    council, chain = council_chain(CONSORTIUM_REVOKES_DOUBTED_FROM)
    thief = council.ministry3
    stolen_at = chain.height + 1
    batch = certificates_accredited_by(chain, thief, council.university)
    rotate_and_report(chain, thief, stolen_at)
    document = documents_of(batch)[0]
    keys = proof_keys(batch.root, council.university.member_id, batch.target_hashes[0],
                      [thief.member_id])
    header = chain.head_header
    document["proof"] = make_bundle(chain.state, header,
                                    chain.get_certificate(header.height) or b"", keys)
    facts = OfflineFacts(document["proof"], council.genesis, certifies_by_keys(CHAIN_ID))
    assert verify_credential(document, facts, CHAIN_ID).status == "accreditation_compromised"


def certificates_accredited_by(chain: Chain, ministry: KeyPair, university: KeyPair
                               ) -> IssuedBatch:
    """`ministry` accredits `university` for certificates, which then issues a batch."""
    commit(chain, [make_tx(ministry, AccreditPayload(
        university.member_id, ("certificate",), GENESIS_TIME_MS, GENESIS_TIME_MS + YEAR_MS))])
    batch = make_batch(RECORDS, "certificate", CHAIN_ID, university.member_id, "U")
    commit(chain, [make_tx(university,
                           IssueBatchPayload("certificate", batch.root, len(RECORDS)))])
    return batch


def issued_batch(chain: Chain, university: KeyPair) -> IssuedBatch:
    """A batch of diplomas KazNU (`university`) issues in the next block."""
    batch = make_batch(RECORDS, "diploma", CHAIN_ID, university.member_id, "KazNU")
    commit(chain, [make_tx(university, IssueBatchPayload("diploma", batch.root,
                                                         len(RECORDS)))])
    return batch


def revoked_by_a_thief(chain: Chain, university: KeyPair
                       ) -> tuple[dict[str, Any], CredentialRef, int]:
    """A diploma KazNU issued, then revoked with a copy of its key in the next block: the
    diploma, its reference, and that block's height (the theft's)."""
    batch = issued_batch(chain, university)
    ref = _ref(batch.root, batch.target_hashes, 0)
    stolen_at = chain.height + 1
    commit(chain, [make_tx(university, RevokePayload(ref, "fraud"))])
    return documents_of(batch)[0], ref, stolen_at


def _ref(batch_root: bytes, targets: list[bytes], index: int) -> CredentialRef:
    return CredentialRef(batch_root, targets[index], index, tuple(audit_path(targets, index)))


def test_a_revocation_made_with_a_stolen_key_leaves_the_credential_in_doubt() -> None:
    """The thief's revocation, or the issuer's own made before it reported the theft from
    an earlier height: neither "revoked" nor "valid" can be said (a valid verdict would
    let a fraudulent diploma the issuer revoked through). Nothing is written over it: a
    thief holding the current key would report the honest key stolen, then overwrite."""
    council, chain = council_chain(REPORTS_UNDONE_FROM)
    university = council.university
    document, ref, stolen_at = revoked_by_a_thief(chain, university)
    assert verdict_of(chain, document).status == "revoked"
    new = rotate_and_report(chain, university, stolen_at)
    doubted = verdict_of(chain, document)
    assert (doubted.valid, doubted.status) == (False, "revocation_doubted"), doubted.to_json()
    assert doubted.facts["revoked_at_height"] == stolen_at
    assert doubted.facts["key_compromised_from"] == stolen_at
    assert "ask KazNU whether this credential stands" in doubted.reason
    for lang, said in (("kk", "Күмәнді"), ("ru", "Под сомнением"), ("en", "In doubt")):
        sentence = verdict_sentence(doubted, Words(lang))
        assert sentence.startswith(said) and str(stolen_at) in sentence, sentence
        line = check_words(next(c for c in doubted.checks if c.name == "not_revoked"),
                           doubted, Words(lang), document)
        assert str(stolen_at) in line, line
    assert_refused(chain, make_tx(new, RevokePayload(ref, "issued_in_error")),
                   "already_revoked")


def test_an_honest_revocation_a_thief_put_in_doubt_stands_again_after_the_replacement(
        ) -> None:
    """The issuer revoked a fraud with K1 and rotated to K2; a thief copying K2 reported
    K1 stolen from block 1, putting the credential and its revocation in doubt. Nothing
    was written over the revocation, so the replacement that undoes the thief's report
    brings it back whole (height, reason)."""
    council, chain = council_chain(REPORTS_UNDONE_FROM)
    university = council.university
    batch = issued_batch(chain, university)
    document = documents_of(batch)[0]
    commit(chain, [make_tx(university, RevokePayload(_ref(batch.root, batch.target_hashes,
                                                          0), "fraud"))])
    revoked_at = chain.height
    fresh = KeyPair.generate()
    commit(chain, [make_tx(university, RotateKeyPayload(fresh.public_key, prove_possession(
        fresh, CHAIN_ID, university.member_id)))])
    k2 = KeyPair.from_seed(fresh.seed, university.member_id)
    stolen_at = chain.height + 1
    commit(chain, [make_tx(k2, ReportCompromisePayload(university.public_key, 1))])
    assert verdict_of(chain, document).status == "compromised_key"  # K1 signed its batch too
    _, action = replacement(chain, university, compromised_from=stolen_at)
    approve(chain, council, action, chain.height + 10)
    restored = verdict_of(chain, document)
    assert restored.status == "revoked" and restored.facts["revoked_at_height"] == revoked_at
    assert restored.facts["revocation_reason"] == "fraud"


def test_a_document_a_thief_anchored_says_so_and_keeps_its_record() -> None:
    council, chain = council_chain(REPORTS_UNDONE_FROM)
    university = council.university
    data = b"%PDF-1.7 a thesis"
    stolen_at = chain.height + 1
    commit(chain, [make_tx(university, AnchorPayload(document_hash(data)))])
    assert verify_anchor(data, LocalFacts(chain.state, "test")).status == "valid"
    new = rotate_and_report(chain, university, stolen_at)
    doubted = verify_anchor(data, LocalFacts(chain.state, "test"))
    assert (doubted.valid, doubted.status) == (False, "compromised_key")
    check = next(c for c in doubted.checks if c.name == "anchored")
    for lang, said in (("kk", "ұрланған"), ("ru", "похищенным"), ("en", "declared stolen")):
        sentence = verdict_sentence(doubted, Words(lang))
        assert "KazNU" in sentence and said in sentence, sentence
        line = check_words(check, doubted, Words(lang), None)  # its own words, each language
        assert said in line and "KazNU" in line and "{" not in line, line
    # nobody writes over it, its member included: its height is the document's proof of
    # existence, which a thief would otherwise erase for good
    for author in (council.ministry2, new):
        assert_refused(chain, make_tx(author, AnchorPayload(document_hash(data))),
                       "already_anchored")


def test_a_thiefs_report_on_an_older_key_is_undone_by_the_replacement() -> None:
    """The ministry rotated K1 to K2 honestly; a thief holding K2 reported K1 stolen from
    block 1, so that every grant K1 made was doubted; the replacement distrusting K2 from
    the theft undoes what K2 reported from then on (rules version 8)."""
    council, chain = council_chain(REPORTS_UNDONE_FROM)
    ministry = council.ministry3
    batch = certificates_accredited_by(chain, ministry, council.university)
    document = documents_of(batch)[0]
    fresh = KeyPair.generate()
    commit(chain, [make_tx(ministry, RotateKeyPayload(fresh.public_key, prove_possession(
        fresh, CHAIN_ID, ministry.member_id)))])
    k2 = KeyPair.from_seed(fresh.seed, ministry.member_id)
    rotated_at = chain.height
    honest_report_at = chain.height + 1  # from the rotation on: the grant before it stands
    commit(chain, [make_tx(k2, ReportCompromisePayload(ministry.public_key, rotated_at))])
    assert verdict_of(chain, document).status == "valid"
    stolen_at = chain.height + 1  # the thief copies K2 here
    commit(chain, [make_tx(k2, ReportCompromisePayload(ministry.public_key, 1))])
    assert verdict_of(chain, document).status == "accreditation_compromised"
    _, action = replacement(chain, ministry, compromised_from=stolen_at)
    approve(chain, council, action, chain.height + 10)
    assert verdict_of(chain, document).status == "valid"
    history = load_key_history(chain.state, ministry.member_id)
    assert history is not None
    first = history.periods[0]
    # the member's own report, made before the theft, stands
    assert first.compromised_from == rotated_at
    assert first.reports == ((honest_report_at, rotated_at),)
    assert history.periods[1].compromised_from == stolen_at


def test_before_version_8_a_replacement_leaves_older_reports() -> None:
    council, chain = council_chain(KEY_REPLACEMENT_FROM)
    university = council.university
    rotate_and_report(chain, university, 1)
    _, action = replacement(chain, university, compromised_from=chain.height)
    approve(chain, council, action, chain.height + 10)
    history = load_key_history(chain.state, university.member_id)
    assert history is not None and history.periods[0].compromised_from == 1
    assert history.periods[0].reports == ()  # encoded as version 7 wrote it


def test_a_key_is_reported_at_most_max_reports_times() -> None:
    council, chain = council_chain(REPORTS_UNDONE_FROM)
    university = council.university
    commit_until(chain, 20)
    new = rotate_and_report(chain, university, 20)
    for from_height in range(19, 19 - (MAX_REPORTS_PER_KEY - 1), -1):
        commit(chain, [make_tx(new, ReportCompromisePayload(university.public_key,
                                                            from_height))])
    assert_refused(chain, make_tx(new, ReportCompromisePayload(university.public_key, 2)),
                   "too_many_reports")


def test_the_consortium_revokes_over_a_retired_issuers_doubted_revocation() -> None:
    """A retired issuer cannot record its doubted revocation again, and governance's
    revocation was refused as `already_revoked`: the credential stayed in doubt for good."""
    council, chain = council_chain(CONSORTIUM_REVOKES_DOUBTED_FROM)
    university = council.university
    document, ref, stolen_at = revoked_by_a_thief(chain, university)
    rotate_and_report(chain, university, stolen_at)
    approve(chain, council, MemberAction(ACTION_RETIRE_MEMBER, university.member_id),
            chain.height + 10)
    commit_until(chain, chain.height + 10)
    assert verdict_of(chain, document).status == "revocation_doubted"
    approve(chain, council, RevokeCredentialAction(university.member_id, ref, "fraud"),
            chain.height + 10)
    revoked = verdict_of(chain, document)
    assert revoked.status == "revoked" and revoked.facts["revoked_by"] == "consortium"


def test_a_replacement_approved_under_version_7_still_closes_an_older_request() -> None:
    """An approval under version 7 recorded no height: a second request proposed before
    it, approved once the chain ran version 8, moved the member again."""
    council, chain = council_chain(KEY_REPLACEMENT_FROM)
    university = council.university
    upgrade_at = chain.height + 12
    approve(chain, council, RulesVersionAction(REPLACED_SINCE_REFUSED_FROM), upgrade_at)
    (_, first), (_, second) = replacement(chain, university), replacement(chain, university)
    proposed = [proposal(council.ministry, first, chain.height + 20, chain.height + 18),
                proposal(council.ministry3, second, chain.height + 20, chain.height + 18)]
    commit(chain, proposed)
    commit(chain, [make_tx(council.ministry2, VotePayload(proposed[0].tx_id))])
    commit_until(chain, upgrade_at)
    assert_refused(chain, make_tx(council.ministry, VotePayload(proposed[1].tx_id)),
                   "replaced_since")


@pytest.mark.parametrize("version", [KEY_REPLACEMENT_FROM, MINISTRIES_BY_VOTE_FROM])
def test_a_ministry_is_admitted_by_vote_alone(version: int) -> None:
    """A thief holding one ministry's key admitted a ministry of its own, whose grants
    (its key never stolen) kept a diploma mill accredited after the stolen key was
    replaced."""
    council, chain = council_chain(version)
    puppet = KeyPair.generate()
    admit = make_tx(council.ministry3, AddMemberPayload("Ministry of Diplomas", "ministry",
                                                        puppet.public_key))
    if version < MINISTRIES_BY_VOTE_FROM:  # as chains before version 8 replay it
        commit(chain, [admit])
        return
    assert_refused(chain, admit, "ministry_by_vote")
    approve(chain, council, AddMemberAction("Ministry of Diplomas", "ministry",
                                            puppet.public_key), chain.height + 10)
    commit_until(chain, chain.height + 10)
    mill = KeyPair.generate()
    commit(chain, [make_tx(puppet, AddMemberPayload("Mill", "university", mill.public_key))])


def test_an_anchor_whose_author_keys_cannot_be_read_is_not_said_unrecorded() -> None:
    """A record on chain whose author's keys this source cannot read was said "no record
    of this file on the chain"."""
    council, chain = council_chain(REPORTS_UNDONE_FROM)
    data = b"%PDF-1.7 a thesis"
    commit(chain, [make_tx(council.university, AnchorPayload(document_hash(data)))])
    rotate_and_report(chain, council.university, chain.height + 1)  # after the anchor
    assert verify_anchor(data, LocalFacts(chain.state, "test")).valid
    overlay = chain.state.overlay()
    overlay.set(key_history_key(council.university.member_id), b"\xc1")  # damaged
    chain.kv.write(chain.state.commit(overlay))
    chain.state.committed(overlay)
    shown = verify_anchor(data, LocalFacts(chain.state, "test"))
    assert shown.status == "malformed", shown.to_json()
    for lang in ("kk", "ru", "en"):
        words = Words(lang)
        assert verdict_sentence(shown, words) == words.t("cli.status.anchor_unchecked")
