"""Governance's `replace_key` (rules version 7): a member that lost its key, or had it
stolen and rotated away by the thief, is given a new key by the ministries' vote; its
id stays, and its earlier keys can be distrusted from a height, so that what a thief
signed with them no longer verifies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ledger.chain import Chain
from ledger.credentials import make_batch
from ledger.facts import LocalFacts
from ledger.governance import load_proposal, why_cannot_apply
from ledger.identity import KeyPair
from ledger.key_events import (
    MAX_KEY_PERIODS,
    PERIODS_KEPT_FOR_GOVERNANCE,
    VALIDATOR_KEY_CHANGE_DELAY_BLOCKS,
    KeyPeriod,
    load_key_history,
    prove_possession,
    prove_replacement,
)
from ledger.payloads import (
    ACTION_RETIRE_MEMBER,
    AccreditPayload,
    AddMemberAction,
    AddMemberPayload,
    IssueBatchPayload,
    MemberAction,
    ReplaceKeyAction,
    ReportCompromisePayload,
    RotateKeyPayload,
    VotePayload,
    action_from_array,
)
from ledger.rules import load_member
from ledger.rules_version import KEY_REPLACEMENT_FROM, REPLACED_SINCE_REFUSED_FROM
from ledger.validator_sets import validator_set_at
from ledger.verification import Verdict, verify_credential
from storage.kv import MemoryStore
from tests.node.conftest import CHAIN_ID, GENESIS_TIME_MS, YEAR_MS, commit, documents_of, make_tx
from tests.node.test_governance import Council, approve, make_council, proposal
from tests.node.test_ledger_refusals import assert_refused

RECORDS = [{"full_name": f"Graduate {i}", "iin": f"{i:012d}", "gpa": "3.1"} for i in range(2)]


def council_chain(version: int = KEY_REPLACEMENT_FROM) -> tuple[Council, Chain]:
    council = make_council(rules_version=version)
    chain = Chain(MemoryStore(), council.genesis)
    commit(chain, [make_tx(council.ministry, AccreditPayload(
        council.university.member_id, ("diploma",), GENESIS_TIME_MS,
        GENESIS_TIME_MS + 10 * YEAR_MS))])
    return council, chain


def replacement(chain: Chain, member: KeyPair, compromised_from: int | None = None
                ) -> tuple[KeyPair, ReplaceKeyAction]:
    """The member's new keys (signing under its id) and the action that gives them."""
    new = KeyPair.generate()
    proof = prove_replacement(new, chain.chain_id, member.member_id)
    return (KeyPair.from_seed(new.seed, member.member_id),
            ReplaceKeyAction(member.member_id, new.public_key, proof, compromised_from))


def key_once_approved(chain: Chain, council: Council, action: ReplaceKeyAction
                      ) -> bytes | None:
    """The member's key after the ministries approve `action` in the next two blocks."""
    approve(chain, council, action, chain.height + 10)
    member = load_member(chain.state, action.member)
    return member.public_key if member is not None else None


def key_of(chain: Chain, member: KeyPair) -> bytes | None:
    found = load_member(chain.state, member.member_id)
    return found.public_key if found is not None else None


def issue(chain: Chain, keys: KeyPair) -> dict[str, Any]:
    batch = make_batch(RECORDS, "diploma", CHAIN_ID, keys.member_id, "KazNU")
    commit(chain, [make_tx(keys, IssueBatchPayload("diploma", batch.root, len(RECORDS)))])
    return documents_of(batch)[0]


def verdict_of(chain: Chain, document: dict[str, Any]) -> Verdict:
    return verify_credential(json.loads(json.dumps(document)),
                             LocalFacts(chain.state, "test"), CHAIN_ID)


def test_a_thiefs_rotation_is_undone_and_what_it_signed_stops_verifying() -> None:
    council, chain = council_chain()
    university = council.university
    honest = issue(chain, university)
    stolen_at = chain.height + 1
    thief_new = KeyPair.generate()
    commit(chain, [make_tx(university, RotateKeyPayload(  # the thief locks the member out
        thief_new.public_key, prove_possession(thief_new, chain.chain_id,
                                               university.member_id)))])
    thief = KeyPair.from_seed(thief_new.seed, university.member_id)
    forged = issue(chain, thief)
    assert verdict_of(chain, forged).status == "valid"  # until the consortium acts

    new, action = replacement(chain, university, compromised_from=stolen_at)
    proposal_id = approve(chain, council, action, chain.height + 10)
    approved_at = chain.height
    stored = load_proposal(chain.state, proposal_id)
    assert stored is not None and stored.status(approved_at) == "in_force"

    member = load_member(chain.state, university.member_id)
    assert member is not None and member.public_key == new.public_key
    history = load_key_history(chain.state, university.member_id)
    assert history is not None
    assert history.periods == (
        KeyPeriod(university.public_key, 0, stolen_at, stolen_at),
        KeyPeriod(thief_new.public_key, stolen_at, approved_at, stolen_at),
        KeyPeriod(new.public_key, approved_at, None))
    assert verdict_of(chain, honest).status == "valid"
    refused = verdict_of(chain, forged)
    assert refused.status != "valid" and "stolen" in refused.reason
    assert_refused(chain, make_tx(thief, IssueBatchPayload("diploma", b"\x07" * 32, 1)),
                   "bad_signature")
    assert verdict_of(chain, issue(chain, new)).status == "valid"


def test_a_lost_key_is_replaced_and_nothing_it_signed_loses_its_meaning() -> None:
    council, chain = council_chain()
    before = issue(chain, council.university)
    new, action = replacement(chain, council.university)
    approve(chain, council, action, chain.height + 10)
    assert verdict_of(chain, before).status == "valid"
    assert verdict_of(chain, issue(chain, new)).status == "valid"


def test_a_thiefs_report_of_the_honest_key_is_overruled() -> None:
    """Holding the current key, a thief rotated the member onto its own and reported the
    honest key stolen from block 1: every honest diploma read as a thief's, and a report
    only moves earlier. Governance's height stands for the keys it distrusts."""
    council, chain = council_chain()
    university = council.university
    honest = issue(chain, university)
    stolen_at = chain.height + 1
    taken = KeyPair.generate()
    commit(chain, [make_tx(university, RotateKeyPayload(
        taken.public_key, prove_possession(taken, chain.chain_id, university.member_id)))])
    thief = KeyPair.from_seed(taken.seed, university.member_id)
    commit(chain, [make_tx(thief, ReportCompromisePayload(university.public_key, 1))])
    assert verdict_of(chain, honest).status != "valid"
    _, action = replacement(chain, university, compromised_from=stolen_at)
    approve(chain, council, action, chain.height + 10)
    history = load_key_history(chain.state, university.member_id)
    assert history is not None
    assert [p.compromised_from for p in history.periods] == [stolen_at, stolen_at, None]
    assert verdict_of(chain, honest).status == "valid"


def test_a_thief_cannot_use_up_the_keys_governance_needs() -> None:
    """A thief rotating the member again and again made every replacement refused
    `too_many_rotations`: a member's own rotations stop short of the last keys."""
    council, chain = council_chain()
    keys = council.university
    refused = None
    for _ in range(MAX_KEY_PERIODS):
        new = KeyPair.generate()
        tx = make_tx(keys, RotateKeyPayload(new.public_key, prove_possession(
            new, chain.chain_id, keys.member_id)))
        try:
            commit(chain, [tx])
        except AssertionError:
            refused = assert_refused(chain, tx, "too_many_rotations")
            break
        keys = KeyPair.from_seed(new.seed, keys.member_id)
    assert refused is not None
    history = load_key_history(chain.state, keys.member_id)
    assert history is not None
    assert len(history.periods) == MAX_KEY_PERIODS - PERIODS_KEPT_FOR_GOVERNANCE
    new, action = replacement(chain, keys, compromised_from=chain.height)
    assert key_once_approved(chain, council, action) == new.public_key


def test_a_retirement_approved_for_later_leaves_room_for_a_replacement() -> None:
    council, chain = council_chain()
    university = council.university
    approve(chain, council, MemberAction(ACTION_RETIRE_MEMBER, university.member_id),
            chain.height + 500)
    new, action = replacement(chain, university, compromised_from=chain.height)
    assert key_once_approved(chain, council, action) == new.public_key


def test_a_validators_key_is_swapped_in_the_set_as_a_rotation_swaps_it() -> None:
    council, chain = council_chain()
    seat = council.validators[1]
    new, action = replacement(chain, seat)
    approve(chain, council, action, chain.height + 10)
    swapped_from = chain.height + VALIDATOR_KEY_CHANGE_DELAY_BLOCKS
    assert seat.public_key in validator_set_at(chain.state, swapped_from - 1).public_keys
    in_force = validator_set_at(chain.state, swapped_from).public_keys
    assert new.public_key in in_force and seat.public_key not in in_force


@pytest.mark.parametrize("how, code", [
    ("other_chain", "bad_possession_proof"), ("other_member", "bad_possession_proof"),
    ("rotation_proof", "bad_possession_proof"),
    ("future_height", "compromise_after_now"), ("key_in_use", "key_in_use"),
    ("old_rules", "rules_version_too_low")])
def test_refusals_of_a_replacement(how: str, code: str) -> None:
    council, chain = council_chain(KEY_REPLACEMENT_FROM - 1 if how == "old_rules"
                                   else KEY_REPLACEMENT_FROM)
    university = council.university
    new = KeyPair.generate()
    proof = prove_replacement(new, chain.chain_id, university.member_id)
    key, compromised = new.public_key, None
    if how == "other_chain":
        proof = prove_replacement(new, "another-chain", university.member_id)
    elif how == "other_member":
        proof = prove_replacement(new, chain.chain_id, council.ministry3.member_id)
    elif how == "rotation_proof":  # a rotation's proof serves no replacement, nor the reverse
        proof = prove_possession(new, chain.chain_id, university.member_id)
    elif how == "future_height":
        compromised = chain.height + 5
    elif how == "key_in_use":
        key = council.ministry3.public_key
        proof = prove_replacement(council.ministry3, chain.chain_id, university.member_id)
    action = ReplaceKeyAction(university.member_id, key, proof, compromised)
    assert action_from_array(action.to_array()) == action
    assert_refused(chain, proposal(council.ministry, action, chain.height + 10,
                                   chain.height + 8), code)


def test_the_vote_checks_the_key_again() -> None:
    """Proposed while the key was free, approved after another member rotated onto it."""
    council, chain = council_chain()
    new, action = replacement(chain, council.university)
    propose = proposal(council.ministry, action, chain.height + 10, chain.height + 8)
    commit(chain, [propose])
    taker = council.ministry3
    commit(chain, [make_tx(taker, RotateKeyPayload(
        new.public_key, prove_possession(KeyPair.from_seed(new.seed), chain.chain_id,
                                         taker.member_id)))])
    assert_refused(chain, make_tx(council.ministry2, VotePayload(propose.tx_id)), "key_in_use")


def test_a_thief_cannot_rotate_onto_the_requested_key_with_the_requests_proof() -> None:
    """The proof signed what a rotation's does: copied out of the open proposal, it let a
    thief holding the current key rotate the member onto the requested key first, so that
    the vote was refused (`key_in_use`) and nothing was distrusted."""
    council, chain = council_chain()
    university = council.university
    _, action = replacement(chain, university, compromised_from=chain.height)
    commit(chain, [proposal(council.ministry, action, chain.height + 10, chain.height + 8)])
    assert_refused(chain, make_tx(university, RotateKeyPayload(
        action.new_public_key, action.possession_proof)), "bad_possession_proof")


@pytest.mark.parametrize("how", ["a ministry's own add_member", "governance's add_member"])
def test_a_ministry_cannot_take_the_requested_key_first(how: str) -> None:
    """The request is public while the vote is open: one ministry adding a member with its
    key had the approving vote refused (`key_in_use`), request after request."""
    council, chain = council_chain()
    _, action = replacement(chain, council.university)
    commit(chain, [proposal(council.ministry, action, chain.height + 10, chain.height + 8)])
    taking = (make_tx(council.ministry3, AddMemberPayload("Front", "school",
                                                          action.new_public_key))
              if how.startswith("a ministry")
              else proposal(council.ministry3, AddMemberAction("Front", "school",
                                                               action.new_public_key),
                            chain.height + 10, chain.height + 8))
    assert_refused(chain, taking, "key_awaiting_replacement")


def test_before_version_7_a_member_rotates_to_the_old_limit() -> None:
    """The keys kept for governance are a version 7 rule: a chain under version 6 replays
    rotations up to MAX_KEY_PERIODS as its release accepted them."""
    council, chain = council_chain(KEY_REPLACEMENT_FROM - 1)
    keys = council.university
    for _ in range(MAX_KEY_PERIODS - 1):
        new = KeyPair.generate()
        commit(chain, [make_tx(keys, RotateKeyPayload(new.public_key, prove_possession(
            new, chain.chain_id, keys.member_id)))])
        keys = KeyPair.from_seed(new.seed, keys.member_id)
    history = load_key_history(chain.state, keys.member_id)
    assert history is not None and len(history.periods) == MAX_KEY_PERIODS


@pytest.mark.parametrize("version", [KEY_REPLACEMENT_FROM, REPLACED_SINCE_REFUSED_FROM])
def test_a_second_open_replacement_cannot_move_the_member_again(version: int) -> None:
    """Two requests for one member open at once (the member asked twice, or a thief's
    request was proposed beside the member's): once one is approved, the votes the other
    gathered meanwhile no longer take the member to its key at one more vote."""
    council, chain = council_chain(version)
    university = council.university
    _, first = replacement(chain, university)
    _, second = replacement(chain, university)
    third = council.ministry3
    proposed = [proposal(council.ministry, first, chain.height + 10, chain.height + 8),
                proposal(third, second, chain.height + 10, chain.height + 8)]
    commit(chain, proposed)
    second_id = proposed[1].tx_id
    commit(chain, [make_tx(council.ministry2, VotePayload(proposed[0].tx_id))])
    assert key_of(chain, university) == first.new_public_key
    vote = make_tx(council.ministry, VotePayload(second_id))
    if version < REPLACED_SINCE_REFUSED_FROM:  # as version 7 chains replay it
        commit(chain, [vote])
        assert key_of(chain, university) == second.new_public_key
        return
    stored = load_proposal(chain.state, second_id)
    assert stored is not None
    listed = why_cannot_apply(chain.state, stored, chain.height + 1)
    assert listed is not None and listed.code == "replaced_since"
    assert_refused(chain, vote, "replaced_since")
    assert key_of(chain, university) == first.new_public_key
    # a request proposed after the approval is a new one, and may be approved
    _, later = replacement(chain, university)
    approve(chain, council, later, chain.height + 10)
    assert key_of(chain, university) == later.new_public_key


def test_the_list_says_an_admission_of_an_awaited_key_cannot_apply() -> None:
    """`why_cannot_apply`, which the governance list reads, read the action alone: an
    add_member proposal whose key an open replacement names showed as approvable, though
    its approving vote is refused."""
    council, chain = council_chain()
    new = KeyPair.generate()
    admit = proposal(council.ministry3, AddMemberAction("Front", "school", new.public_key),
                     chain.height + 10, chain.height + 8)
    commit(chain, [admit])
    _, action = replacement(chain, council.university)
    action = ReplaceKeyAction(action.member, new.public_key, prove_replacement(
        new, chain.chain_id, council.university.member_id), None)
    commit(chain, [proposal(council.ministry, action, chain.height + 10, chain.height + 8)])
    stored = load_proposal(chain.state, admit.tx_id)
    assert stored is not None
    listed = why_cannot_apply(chain.state, stored, chain.height + 1)
    assert listed is not None and listed.code == "key_awaiting_replacement"
