"""The consortium revokes a credential of a retired member (governance action
`revoke_credential`, from rules version 3), and a retired issuer's credential says so.

Every refusal is shown to change nothing (`assert_refused`: the rule on an overlay,
block building and block validation).
"""

from __future__ import annotations

import pytest

from ledger.chain import Chain
from ledger.credentials import IssuedBatch, make_batch
from ledger.errors import MalformedInput, Unrecognised
from ledger.facts import LocalFacts
from ledger.governance import load_proposal
from ledger.identity import MemberId
from ledger.payloads import (
    ACTION_RETIRE_MEMBER,
    CredentialRef,
    IssueBatchPayload,
    ProposePayload,
    RevokeCredentialAction,
    RevokePayload,
    RulesVersionAction,
    VotePayload,
    action_from_array,
    checked,
)
from ledger.records import (
    Accreditation,
    Batch,
    Grant,
    Member,
    Revocation,
    accreditation_key,
    batch_key,
    member_key,
)
from ledger.rules import load_revocation
from ledger.rules_version import CONSORTIUM_REVOCATION_FROM, MAX_KNOWN_RULES_VERSION
from ledger.verification import Verdict, verify_credential, when
from storage.batch_tree import audit_path
from storage.kv import MemoryStore
from storage.state_tree import StateTree
from tests.node.conftest import (
    CHAIN_ID,
    GENESIS_TIME_MS,
    accredit,
    commit,
    documents_of,
    make_tx,
)
from tests.node.test_governance import (
    Council,
    approve,
    commit_until,
    make_council,
    member_action,
    proposal,
)
from tests.node.test_ledger_refusals import assert_refused

RETIRED_AT = 10


def _issued(chain: Chain, council: Council, names: list[str]) -> IssuedBatch:
    uni = council.university
    batch = make_batch([{"name": n} for n in names], "diploma", CHAIN_ID, uni.member_id,
                       "KazNU")
    commit(chain, [make_tx(uni, IssueBatchPayload("diploma", batch.root, len(names)))])
    return batch


def ref_of(batch: IssuedBatch, index: int) -> CredentialRef:
    return CredentialRef(batch.root, batch.target_hashes[index], index,
                         tuple(audit_path(batch.target_hashes, index)))


def _revoke(council: Council, batch: IssuedBatch, index: int = 0,
            reason: str = "fraud") -> RevokeCredentialAction:
    return RevokeCredentialAction(MemberId(council.university.member_id), ref_of(batch, index),
                                  reason)


def _retired_university(rules_version: int = CONSORTIUM_REVOCATION_FROM
                        ) -> tuple[Council, Chain, IssuedBatch]:
    """KazNU accredited, a batch of two diplomas issued, then retired from RETIRED_AT."""
    council = make_council(rules_version=rules_version)
    chain = Chain(MemoryStore(), council.genesis)
    commit(chain, [accredit(council, council.university, ["diploma"])])  # type: ignore[arg-type]
    batch = _issued(chain, council, ["Aigerim", "Daniyar"])
    approve(chain, council, member_action(ACTION_RETIRE_MEMBER, council.university),
            RETIRED_AT)
    commit_until(chain, RETIRED_AT)
    return council, chain, batch


def _verdict(chain: Chain, batch: IssuedBatch, index: int = 0) -> Verdict:
    facts = LocalFacts(chain.state, "test", chain.height, chain.block_time)
    return verify_credential(documents_of(batch)[index], facts, CHAIN_ID)


def test_the_action_round_trips_and_takes_only_the_consortiums_reasons() -> None:
    council = make_council()
    batch = make_batch([{"name": "A"}], "diploma", CHAIN_ID, council.university.member_id,
                       "KazNU")
    action = _revoke(council, batch)
    assert action_from_array(action.to_array()) == action
    checked(ProposePayload(action, 20, 18))
    with pytest.raises(Unrecognised):  # only the issuer supersedes, or withdraws
        action_from_array([*action.to_array()[:3], "superseded"])
    with pytest.raises(Unrecognised):
        action_from_array([*action.to_array()[:3], "withdrawn_by_issuer"])
    with pytest.raises(MalformedInput):
        action_from_array(action.to_array()[:3])


def test_a_retired_members_credential_is_revoked_by_the_consortium_when_approved() -> None:
    council, chain, batch = _retired_university()
    assert _verdict(chain, batch).status == "valid"
    propose = proposal(council.ministry, _revoke(council, batch), chain.height + 20,
                       chain.height + 18)
    commit(chain, [propose])
    assert load_revocation(chain.state, council.university.member_id, batch.root,
                           batch.target_hashes[0]) is None  # one vote of the two needed
    vote = commit(chain, [make_tx(council.ministry2, VotePayload(propose.tx_id))])
    revocation = load_revocation(chain.state, council.university.member_id, batch.root,
                                 batch.target_hashes[0])
    assert revocation == Revocation(batch.root, "fraud", vote.header.height,
                                    vote.header.time_ms, council.ministry.member_id,
                                    proposal_id=propose.tx_id)
    assert Revocation.decode(revocation.encode()) == revocation
    stored = load_proposal(chain.state, propose.tx_id)
    assert stored is not None and stored.status(chain.height + 1) == "in_force"

    verdict = _verdict(chain, batch)
    assert verdict.status == "revoked"
    assert verdict.facts["revoked_by"] == "consortium"
    assert verdict.facts["revoked_by_proposal"] == propose.tx_id.hex()
    assert verdict.facts["revoked_by_proposer"] == "Ministry of Science"
    assert verdict.facts["revoked_at_height"] == vote.header.height
    assert propose.tx_id.hex() in verdict.reason and "fraud" in verdict.reason
    assert _verdict(chain, batch, 1).status == "valid"  # its neighbour is untouched


def test_refusals_not_retired_unknown_and_already_revoked() -> None:
    council = make_council(rules_version=CONSORTIUM_REVOCATION_FROM)
    chain = Chain(MemoryStore(), council.genesis)
    commit(chain, [accredit(council, council.university, ["diploma"])])  # type: ignore[arg-type]
    batch = _issued(chain, council, ["Aigerim", "Daniyar", "Yerlan"])
    # a member still signing revokes its own
    assert_refused(chain, proposal(council.ministry, _revoke(council, batch), 40, 30),
                   "not_retired")
    approve(chain, council, member_action(ACTION_RETIRE_MEMBER, council.university), 12)
    # approved, but it signs (and revokes) until its retirement height
    assert_refused(chain, proposal(council.ministry, _revoke(council, batch), 40, 30),
                   "not_retired")
    commit(chain, [make_tx(council.university, RevokePayload(ref_of(batch, 1),
                                                               "issued_in_error"))])
    commit_until(chain, 12)
    never = make_batch([{"name": "X"}], "diploma", CHAIN_ID, council.university.member_id,
                       "KazNU")
    assert_refused(chain, proposal(council.ministry, _revoke(council, never), 40, 30),
                   "unknown_batch")
    lost = RevokeCredentialAction(MemberId(council.university.member_id), CredentialRef(
        batch.root, batch.target_hashes[0], 1, ref_of(batch, 0).path), "fraud")
    assert_refused(chain, proposal(council.ministry, lost, 40, 30), "not_in_batch")
    refusal = assert_refused(chain, proposal(council.ministry, _revoke(council, batch, 1),
                                             40, 30), "already_revoked")
    assert "by KazNU" in refusal.message
    stranger = RevokeCredentialAction(MemberId(b"\x05" * 20), ref_of(batch, 0), "fraud")
    assert_refused(chain, proposal(council.ministry, stranger, 40, 30), "unknown_member")
    assert_refused(chain, proposal(council.university, _revoke(council, batch), 40, 30),
                   "member_retired")
    # two proposals of one revocation: the second to reach the threshold is refused
    first = proposal(council.ministry, _revoke(council, batch, 2), 40, 30)
    second = proposal(council.ministry3, _revoke(council, batch, 2, "court_decision"), 40, 30)
    commit(chain, [first, second])
    commit(chain, [make_tx(council.ministry2, VotePayload(first.tx_id))])
    refusal = assert_refused(chain, make_tx(council.ministry2, VotePayload(second.tx_id)),
                             "already_revoked")
    assert "by the consortium" in refusal.message


def test_before_rules_version_3_the_action_is_refused_and_old_chains_replay_the_same() -> None:
    council, chain, batch = _retired_university(rules_version=2)
    action = _revoke(council, batch)
    assert_refused(chain, proposal(council.ministry, action, chain.height + 20,
                                   chain.height + 18), "rules_version_too_low")
    # scheduled by governance, it is accepted from that height on
    upgrade = chain.height + 6
    approve(chain, council, RulesVersionAction(CONSORTIUM_REVOCATION_FROM), upgrade)
    commit_until(chain, upgrade - 2)
    assert_refused(chain, proposal(council.ministry, action, chain.height + 20,
                                   chain.height + 18), "rules_version_too_low")
    commit_until(chain, upgrade - 1)
    commit(chain, [proposal(council.ministry, action, chain.height + 20, chain.height + 18)])
    assert MAX_KNOWN_RULES_VERSION >= CONSORTIUM_REVOCATION_FROM


def test_a_retired_issuers_credential_says_when_it_left() -> None:
    _council, chain, batch = _retired_university()
    verdict = _verdict(chain, batch)
    assert verdict.status == "valid", verdict.reason
    left = chain.get_block(RETIRED_AT)
    assert left is not None
    assert verdict.facts["issuer_retired_height"] == RETIRED_AT
    assert verdict.facts["issuer_left_at"] == when(left.header.time_ms)
    membership = next(c for c in verdict.checks if c.name == "membership")
    assert membership.ok and "left the consortium on" in membership.detail
    assert "left the consortium" in verdict.reason
    # without a source of block times (an offline proof), by its height
    offline = verify_credential(documents_of(batch)[0], LocalFacts(chain.state, "t"),
                                CHAIN_ID)
    assert offline.status == "valid" and "issuer_left_at" not in offline.facts
    assert f"at height {RETIRED_AT}" in offline.reason


def test_a_scheduled_retirement_is_said_as_ahead() -> None:
    council = make_council(rules_version=CONSORTIUM_REVOCATION_FROM)
    chain = Chain(MemoryStore(), council.genesis)
    commit(chain, [accredit(council, council.university, ["diploma"])])  # type: ignore[arg-type]
    batch = _issued(chain, council, ["Aigerim"])
    approve(chain, council, member_action(ACTION_RETIRE_MEMBER, council.university), 30)
    verdict = _verdict(chain, batch)
    assert verdict.status == "valid"
    assert "leaves the consortium at height 30" in verdict.reason
    assert "issuer_left_at" not in verdict.facts
    # a member being retired signs until then; nothing it signs after can be on chain
    commit_until(chain, 28)
    late = _issued(chain, council, ["Late"])  # block 29, the last it signs in
    assert _verdict(chain, late).status == "valid"
    again = make_batch([{"name": "After"}], "diploma", CHAIN_ID,
                       council.university.member_id, "KazNU")
    assert_refused(chain, make_tx(council.university, IssueBatchPayload(
        "diploma", again.root, 1)), "member_retired")


def test_a_batch_from_after_the_retirement_is_refused_by_the_verdict() -> None:
    """The ledger refuses whatever a retired member signs; a state that holds a batch of
    it from then on (a forged or damaged one) does not pass for genuine."""
    council = make_council()
    uni = council.university
    batch = make_batch([{"name": "A"}], "diploma", CHAIN_ID, uni.member_id, "KazNU")
    kv = MemoryStore()
    state = StateTree(kv, b"s/")
    overlay = state.overlay()
    overlay.set(member_key(uni.member_id), Member("KazNU", "university", uni.public_key,
                                                  False, 0, None, 8).encode())
    overlay.set(accreditation_key(uni.member_id), Accreditation((Grant(
        ("diploma",), GENESIS_TIME_MS, GENESIS_TIME_MS + 10**12,
        council.ministry.member_id, 1),)).encode())
    overlay.set(batch_key(uni.member_id, batch.root), Batch(
        uni.member_id, "diploma", 1, 8, GENESIS_TIME_MS + 5, b"\x00" * 32).encode())
    kv.write(state.commit(overlay))
    state.committed(overlay)
    verdict = verify_credential(documents_of(batch)[0], LocalFacts(state, "forged", 9),
                                CHAIN_ID)
    assert verdict.status == "unaccredited"
    assert verdict.checks[-1].name == "membership" and not verdict.checks[-1].ok
