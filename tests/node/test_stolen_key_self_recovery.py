"""A member recovers from a copied key on its own (rules version 9): a thief holding a copy
of the member's current key K2 reports the older, honest K1 stolen from block 1, so that
everything K1 signed or granted is doubted. The member moves to K3 and reports K2 stolen
from the theft on; the thief's report was signed with a key distrusted at its height and
counts for nothing, and what K1 signed stands again. Under version 8 only a governance
replacement undid it, and its one height distrusted the member's new key as well."""

from __future__ import annotations

import pytest

from ledger.chain import Chain
from ledger.errors import MalformedInput, TxRejected
from ledger.identity import KeyPair
from ledger.key_events import KeyHistory, KeyPeriod, load_key_history, prove_possession
from ledger.key_reports import MAX_REPORTS_PER_KEY, KeyReport
from ledger.payloads import ReportCompromisePayload, RotateKeyPayload
from ledger.rules_version import REPORTS_BY_TRUSTED_KEYS_FROM, REPORTS_UNDONE_FROM
from tests.node.conftest import CHAIN_ID, commit, documents_of, make_tx
from tests.node.test_governance import approve
from tests.node.test_governance_key_replacement import council_chain, replacement
from tests.node.test_ledger_refusals import assert_refused
from tests.node.test_stolen_key_records import (
    certificates_accredited_by,
    issued_batch,
    verdict_of,
)


def rotated(chain: Chain, keys: KeyPair) -> KeyPair:
    """The member moves from `keys` to a new key, signing under its id from then on."""
    fresh = KeyPair.generate()
    commit(chain, [make_tx(keys, RotateKeyPayload(fresh.public_key, prove_possession(
        fresh, CHAIN_ID, keys.member_id)))])
    return KeyPair.from_seed(fresh.seed, keys.member_id)


def thief_reports_the_honest_key(chain: Chain, k1: KeyPair) -> tuple[KeyPair, int]:
    """K1 rotated to K2 honestly; a thief copies K2 at the returned height and reports K1
    stolen from block 1 with it."""
    k2 = rotated(chain, k1)
    stolen_at = chain.height + 1
    commit(chain, [make_tx(k2, ReportCompromisePayload(k1.public_key, 1))])
    return k2, stolen_at


@pytest.mark.parametrize("version", [REPORTS_UNDONE_FROM, REPORTS_BY_TRUSTED_KEYS_FROM])
def test_the_members_own_report_of_the_copied_key_sets_the_thiefs_report_aside(
        version: int) -> None:
    council, chain = council_chain(version)
    university = council.university
    document = documents_of(issued_batch(chain, university))[0]
    k2, stolen_at = thief_reports_the_honest_key(chain, university)
    assert verdict_of(chain, document).status == "compromised_key"

    k3 = rotated(chain, k2)
    commit(chain, [make_tx(k3, ReportCompromisePayload(k2.public_key, stolen_at))])
    after = verdict_of(chain, document)
    history = load_key_history(chain.state, university.member_id)
    assert history is not None
    if version < REPORTS_BY_TRUSTED_KEYS_FROM:  # what version 8 left: doubted for good
        assert after.status == "compromised_key"
        return
    assert after.status == "valid", after.to_json()
    assert history.periods[0].compromised_from is None
    assert history.periods[1].compromised_from == stolen_at
    # the thief's report is kept, with the key that signed it, should governance trust
    # that key at its height again
    assert history.periods[0].reports == (KeyReport(stolen_at, 1, k2.public_key),)


def test_a_grant_the_thief_doubted_counts_again_after_the_members_own_recovery() -> None:
    council, chain = council_chain(REPORTS_BY_TRUSTED_KEYS_FROM)
    ministry = council.ministry3
    document = documents_of(certificates_accredited_by(chain, ministry,
                                                       council.university))[0]
    k2, stolen_at = thief_reports_the_honest_key(chain, ministry)
    assert verdict_of(chain, document).status == "accreditation_compromised"
    k3 = rotated(chain, k2)
    commit(chain, [make_tx(k3, ReportCompromisePayload(k2.public_key, stolen_at))])
    assert verdict_of(chain, document).status == "valid"


def test_a_report_made_before_the_theft_stands() -> None:
    """The member's own report of K1, made with K2 before K2 was copied, counts whatever
    is reported of K2 afterwards from a later height."""
    council, chain = council_chain(REPORTS_BY_TRUSTED_KEYS_FROM)
    university = council.university
    document = documents_of(issued_batch(chain, university))[0]
    k2 = rotated(chain, university)
    k1_stolen_from = chain.height
    commit(chain, [make_tx(k2, ReportCompromisePayload(university.public_key,
                                                       k1_stolen_from))])
    k2_stolen_from = chain.height + 1
    k3 = rotated(chain, k2)
    commit(chain, [make_tx(k3, ReportCompromisePayload(k2.public_key, k2_stolen_from))])
    history = load_key_history(chain.state, university.member_id)
    assert history is not None
    assert history.periods[0].compromised_from == k1_stolen_from
    assert verdict_of(chain, document).status == "valid"  # issued before the theft


def test_a_thief_cannot_set_aside_the_members_report_without_taking_the_key_over() -> None:
    """The thief's copy of K2 cannot sign once the member has rotated to K3: the report
    that would set aside the member's own is refused, as K2 no longer signs."""
    council, chain = council_chain(REPORTS_BY_TRUSTED_KEYS_FROM)
    k2, stolen_at = thief_reports_the_honest_key(chain, council.university)
    k3 = rotated(chain, k2)
    commit(chain, [make_tx(k3, ReportCompromisePayload(k2.public_key, stolen_at))])
    assert_refused(chain, make_tx(k2, ReportCompromisePayload(k3.public_key, 1)),
                   "bad_signature")


def test_a_replacement_settles_reports_signed_before_its_height() -> None:
    """Governance distrusts K2 from the theft: the thief's report, signed with K2 after
    it, falls, and K1's batch verifies again."""
    council, chain = council_chain(REPORTS_BY_TRUSTED_KEYS_FROM)
    university = council.university
    document = documents_of(issued_batch(chain, university))[0]
    _, stolen_at = thief_reports_the_honest_key(chain, university)
    _, action = replacement(chain, university, compromised_from=stolen_at)
    approve(chain, council, action, chain.height + 10)
    assert verdict_of(chain, document).status == "valid"


def test_settling_reads_each_report_by_its_signers_trust_then() -> None:
    k1, k2, k3 = (bytes([n]) * 32 for n in (1, 2, 3))
    history = KeyHistory((
        KeyPeriod(k1, 1, 10, 1, (KeyReport(12, 1, k2), KeyReport(0, 7))),
        KeyPeriod(k2, 10, 20, 11, (KeyReport(22, 11, k3),)),
        KeyPeriod(k3, 20, None),
    ))
    settled = history.settled()
    # K2 is distrusted from 11, so its report made at 12 is set aside, and the height
    # set otherwise (reported at 0) stands
    assert [p.compromised_from for p in settled.periods] == [7, 11, None]
    assert KeyHistory.decode(settled.encode()) == settled
    # a report of a key set aside as well: nothing is left to distrust K1 from
    bare = KeyHistory((KeyPeriod(k1, 1, 10, 1, (KeyReport(12, 1, k2),)), *history.periods[1:]))
    assert bare.settled().periods[0].compromised_from is None


def test_reports_are_stored_within_their_limit_and_shape() -> None:
    k1 = bytes(32)
    full = KeyPeriod(k1, 1, 10, 1, tuple(KeyReport(n, 1, k1) for n in
                                          range(MAX_REPORTS_PER_KEY)))
    with pytest.raises(TxRejected) as refused:
        full.reported(99, 1, k1)
    assert refused.value.code == "too_many_reports"
    for bad in ([1], [1, 2, b"short"], [1, 2, k1, 4], ["1", 2]):
        with pytest.raises(MalformedInput):
            KeyReport.from_array(bad)
