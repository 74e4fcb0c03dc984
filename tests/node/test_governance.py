"""Governance: policy in genesis, proposals and votes, actions at their effective height.

Every refusal code of `ledger.governance` is shown to change nothing (via
`assert_refused`: the rule on an overlay, block building and block validation).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

import ledger.governance as governance
import ledger.governance_actions as governance_actions
from ledger.chain import Chain
from ledger.credentials import make_batch
from ledger.errors import ConfigError, MalformedInput
from ledger.facts import LocalFacts
from ledger.genesis import Genesis, GenesisMember, current_rules_genesis, genesis_from_json
from ledger.governance import (
    MAX_OPEN_PROPOSALS,
    load_policy,
    load_proposal,
    open_proposals,
)
from ledger.governance_policy import GovernancePolicy
from ledger.identity import KeyPair
from ledger.payloads import (
    ACTION_ADD_VALIDATOR,
    ACTION_REMOVE_VALIDATOR,
    ACTION_RETIRE_MEMBER,
    AddMemberAction,
    AnchorPayload,
    GovernanceAction,
    IssueBatchPayload,
    MemberAction,
    ProposePayload,
    VotePayload,
)
from ledger.rules_version import OPEN_PLACES_SHARED_FROM
from ledger.transactions import Transaction, decode_transaction
from ledger.validator_sets import validator_set_at
from ledger.verification import verify_credential
from storage.kv import MemoryStore
from tests.node.conftest import (
    CHAIN_ID,
    GENESIS_TIME_MS,
    accredit,
    admission_action,
    commit,
    documents_of,
    keys_from,
    make_tx,
)
from tests.node.test_ledger_refusals import assert_refused

ANCHOR = AnchorPayload(b"\x01" * 32)


@dataclass(frozen=True)
class Council:
    ministry: KeyPair  # genesis validator; also the block proposer of `commit`
    ministry2: KeyPair
    ministry3: KeyPair
    university: KeyPair
    validators: tuple[KeyPair, ...]  # ministry and three more validators
    genesis: Genesis


def make_council(policy: GovernancePolicy | None = None, rules_version: int | None = None
                 ) -> Council:
    ministry, ministry2, ministry3 = (keys_from(n) for n in ("ministry", "ministry2",
                                                               "ministry3"))
    university = keys_from("university")
    others = tuple(keys_from(f"validator{i}") for i in range(3))
    members = (GenesisMember("Ministry of Science", "ministry", ministry.public_key, True),
               GenesisMember("Ministry of Education", "ministry", ministry2.public_key, False),
               GenesisMember("Ministry of Justice", "ministry", ministry3.public_key, False),
               GenesisMember("KazNU", "university", university.public_key, False),
               *(GenesisMember(f"Validator {i}", "employer", k.public_key, True)
                 for i, k in enumerate(others)))
    genesis = (current_rules_genesis(CHAIN_ID, GENESIS_TIME_MS, members, policy)
               if rules_version is None
               else Genesis(CHAIN_ID, GENESIS_TIME_MS, members, policy, rules_version))
    return Council(ministry, ministry2, ministry3, university, (ministry, *others), genesis)


@pytest.fixture
def council() -> Council:
    return make_council()


@pytest.fixture
def chain(council: Council) -> Iterator[Chain]:
    kv = MemoryStore()
    yield Chain(kv, council.genesis)
    kv.close()


def proposal(keys: KeyPair, action: GovernanceAction, effective: int,
             expiry: int) -> Transaction:
    return make_tx(keys, ProposePayload(action, effective, expiry))


def member_action(action: str, keys: KeyPair) -> MemberAction:
    return MemberAction(action, keys.member_id)


def approve(chain: Chain, council: Council, action: GovernanceAction,
            effective: int) -> bytes:
    """Propose (ministry) and vote (ministry2) in the next two blocks; the proposal id."""
    propose = proposal(council.ministry, action, effective, effective - 2)
    commit(chain, [propose])
    commit(chain, [make_tx(council.ministry2, VotePayload(propose.tx_id))])
    return propose.tx_id


def commit_until(chain: Chain, height: int) -> None:
    while chain.height < height:
        commit(chain, [])


# ---- policy in genesis ---------------------------------------------------------------------

def test_default_policy_is_a_majority_of_the_ministries(council: Council, chain: Chain
                                                        ) -> None:
    assert council.genesis.policy == GovernancePolicy(2)
    assert load_policy(chain.state) == GovernancePolicy(2, "ministries", 4)
    assert "governance" not in council.genesis.to_json()


def test_policy_is_part_of_the_genesis_hash_and_round_trips(council: Council) -> None:
    explicit = make_council(GovernancePolicy(3, "ministries", 1)).genesis
    assert explicit.genesis_hash != council.genesis.genesis_hash
    assert genesis_from_json(explicit.to_json()) == explicit
    assert genesis_from_json(council.genesis.to_json()).genesis_hash == \
        council.genesis.genesis_hash


@pytest.mark.parametrize(("governance", "field"), [
    ({"threshold": 2, "quorum": 3}, "genesis.governance.quorum"),
    ({"threshold": 4}, "genesis.governance.threshold"),
    ({"threshold": 0}, "genesis.governance.threshold"),
    ({"threshold": True}, "genesis.governance.threshold"),
    ({"voters": "universities"}, "genesis.governance.voters"),
    ({"min_validators": 0}, "genesis.governance.min_validators"),
    ([2], "genesis.governance"),
])
def test_bad_policy_is_refused(council: Council, governance: object, field: str) -> None:
    document = {**council.genesis.to_json(), "governance": governance}
    with pytest.raises(ConfigError) as info:
        genesis_from_json(document)
    assert info.value.field == field


def test_payloads_round_trip_and_check_their_heights(council: Council) -> None:
    tx = proposal(council.ministry, AddMemberAction("New Uni", "university", b"\x02" * 32),
                  10, 8)
    assert decode_transaction(tx.encode()) == tx
    with pytest.raises(MalformedInput, match="expiry height"):
        proposal(council.ministry, member_action(ACTION_RETIRE_MEMBER, council.university),
                 10, 9)
    with pytest.raises(MalformedInput, match="governance action"):
        ProposePayload.from_array([["promote", b"\x00" * 20], 10, 5])


# ---- validator-set changes -------------------------------------------------------------------

def test_added_validator_certifies_from_the_effective_height(council: Council,
                                                             chain: Chain) -> None:
    newcomer = council.university
    proposal_id = approve(chain, council, member_action(ACTION_ADD_VALIDATOR, newcomer), 6)
    stored = load_proposal(chain.state, proposal_id)
    assert stored is not None and stored.approved_height == 2
    assert stored.voters == (council.ministry.member_id, council.ministry2.member_id)
    assert stored.status(3) == "approved" and stored.status(6) == "in_force"
    assert newcomer.public_key not in validator_set_at(chain.state, 5).public_keys
    assert newcomer.public_key in validator_set_at(chain.state, 6).public_keys
    assert open_proposals(chain.state, 3) == []
    commit_until(chain, 6)
    old_hash = validator_set_at(chain.state, 5).set_hash
    fifth, sixth = chain.get_block(5), chain.get_block(6)
    assert fifth is not None and sixth is not None
    assert fifth.header.validator_set_hash == old_hash
    assert sixth.header.validator_set_hash == validator_set_at(chain.state, 6).set_hash
    assert sixth.header.validator_set_hash != old_hash


def test_removed_validator_leaves_at_the_effective_height() -> None:
    council = make_council(GovernancePolicy(2, "ministries", 3))
    chain = Chain(MemoryStore(), council.genesis)
    leaving = council.validators[3]
    approve(chain, council, member_action(ACTION_REMOVE_VALIDATOR, leaving), 5)
    assert leaving.public_key in validator_set_at(chain.state, 4).public_keys
    assert leaving.public_key not in validator_set_at(chain.state, 5).public_keys
    # the floor of the policy: three left, none more may go
    assert_refused(chain, proposal(council.ministry, member_action(
        ACTION_REMOVE_VALIDATOR, council.validators[2]), 9, 7), "too_few_validators")


def test_a_later_change_keeps_an_earlier_scheduled_one(council: Council, chain: Chain
                                                       ) -> None:
    """Approved out of order: the change at 12 must still hold the validator added at 8."""
    later = proposal(council.ministry, member_action(ACTION_ADD_VALIDATOR, council.ministry2),
                     12, 6)
    commit(chain, [later])
    approve(chain, council, member_action(ACTION_ADD_VALIDATOR, council.university), 8)
    commit(chain, [make_tx(council.ministry3, VotePayload(later.tx_id))])
    assert len(validator_set_at(chain.state, 8).validators) == 5
    at_12 = validator_set_at(chain.state, 12).public_keys
    assert {council.university.public_key, council.ministry2.public_key} <= set(at_12)


# ---- members ------------------------------------------------------------------------------

def test_member_added_by_governance_signs_from_the_effective_height(council: Council,
                                                                    chain: Chain) -> None:
    newcomer = KeyPair.generate()
    approve(chain, council, admission_action(newcomer, "Satbayev University", "university"), 5)
    assert_refused(chain, make_tx(newcomer, ANCHOR), "not_yet_member")
    commit_until(chain, 4)
    commit(chain, [make_tx(newcomer, ANCHOR)])  # block 5


def test_retired_member_signs_nothing_but_its_batches_still_verify(council: Council,
                                                                    chain: Chain) -> None:
    uni = council.university
    commit(chain, [accredit(council, uni, ["diploma"])])  # type: ignore[arg-type]
    batch = make_batch([{"name": "Aigerim"}], "diploma", CHAIN_ID, uni.member_id, "KazNU")
    commit(chain, [make_tx(uni, IssueBatchPayload("diploma", batch.root, 1))])
    approve(chain, council, member_action(ACTION_RETIRE_MEMBER, uni), 7)
    commit_until(chain, 6)
    assert_refused(chain, make_tx(uni, ANCHOR), "member_retired")
    verdict = verify_credential(documents_of(batch)[0], LocalFacts(chain.state, "test"),
                                CHAIN_ID)
    assert verdict.status == "valid", verdict.reason


# ---- refusals -----------------------------------------------------------------------------

def test_refusals_of_proposing(council: Council, chain: Chain) -> None:
    retire = member_action(ACTION_RETIRE_MEMBER, council.university)
    assert_refused(chain, proposal(council.university, retire, 9, 5), "not_a_voter")
    commit_until(chain, 3)
    assert_refused(chain, proposal(council.ministry, retire, 6, 3), "proposal_expiry_passed")
    far = chain.height + 1 + governance.MAX_PROPOSAL_BLOCKS + 1
    assert_refused(chain, proposal(council.ministry, retire, far, 10),
                   "effective_height_too_far")


def test_an_open_proposal_is_not_proposed_again() -> None:
    """Two ids for one change would split the ministries' votes between them. A rule of
    rules version 2 (tests/node/test_rules_version.py has version 1 accepting it)."""
    council = make_council(rules_version=2)
    chain = Chain(MemoryStore(), council.genesis)
    retire = member_action(ACTION_RETIRE_MEMBER, council.university)
    first = proposal(council.ministry, retire, 20, 10)
    commit(chain, [first])
    refusal = assert_refused(chain, proposal(council.ministry2, retire, 20, 12),
                             "duplicate_proposal")
    assert first.tx_id.hex() in refusal.message
    assert_refused(chain, proposal(council.ministry, retire, 20, 10), "duplicate_proposal")
    # for another height it is another proposal: one scheduled far off must not stop a
    # sooner one
    commit(chain, [proposal(council.ministry2, retire, 15, 10)])
    commit_until(chain, 10)  # the first closes at 10: from 11 it may be proposed again
    commit(chain, [proposal(council.ministry3, retire, 20, 18)])
    assert len(open_proposals(chain.state, chain.height + 1)) == 1


def test_open_proposals_are_capped_and_expired_ones_make_room() -> None:
    # Pinned before version 5: from it each of these 3 voters holds at most 10 of the 32
    # places, 30 in all, so the cap itself is never reached on this council (the share is
    # test_one_voter_holds_only_its_share_of_the_open_places); before it, one voter fills
    # all 32.
    council = make_council(rules_version=OPEN_PLACES_SHARED_FROM - 1)
    chain = Chain(MemoryStore(), council.genesis)
    for i in range(MAX_OPEN_PROPOSALS):
        commit(chain, [proposal(council.ministry, AddMemberAction(
            f"Uni {i}", "university", KeyPair.generate().public_key), 40, 35)])
    extra = proposal(council.ministry, AddMemberAction("One too many", "university",
                                                       KeyPair.generate().public_key), 50, 40)
    assert_refused(chain, extra, "too_many_open_proposals")
    commit_until(chain, 35)  # the first expire at 35: the next block may propose again
    commit(chain, [extra])


def _fill(chain: Chain, keys: KeyPair, count: int, name: str) -> list[Transaction]:
    made = [proposal(keys, AddMemberAction(f"{name} {i}", "university",
                                           KeyPair.generate().public_key), 60, 50)
            for i in range(count)]
    commit(chain, made)
    return made


def test_one_voter_holds_only_its_share_of_the_open_places() -> None:
    """Rules version 5: among 3 voters each may hold 32 // 3 = 10 open proposals, so one
    voter can no longer take all 32 places and stop every other ministry proposing (its
    own retirement included) until they expire."""
    council = make_council(rules_version=5)
    chain = Chain(MemoryStore(), council.genesis)
    assert governance.open_places_share(3) == 10 and governance.open_places_share(40) == 1
    held = _fill(chain, council.ministry, 10, "Uni")
    refusal = assert_refused(chain, proposal(council.ministry, AddMemberAction(
        "One more", "university", KeyPair.generate().public_key), 60, 50), "open_share_used")
    assert "you hold 10 open proposals" in refusal.message
    retire = member_action(ACTION_RETIRE_MEMBER, council.ministry3)
    commit(chain, [proposal(council.ministry2, retire, 70, 55)])  # the others still can
    commit(chain, [make_tx(council.ministry2, VotePayload(held[0].tx_id))])  # approved
    commit(chain, [proposal(council.ministry, AddMemberAction(
        "Its place again", "university", KeyPair.generate().public_key), 60, 50)])


def test_before_version_5_one_voter_could_hold_every_open_place() -> None:
    """What version 4 chains committed, and replay as they did."""
    council = make_council(rules_version=4)
    chain = Chain(MemoryStore(), council.genesis)
    _fill(chain, council.ministry, MAX_OPEN_PROPOSALS, "Uni")
    retire = member_action(ACTION_RETIRE_MEMBER, council.ministry3)
    assert_refused(chain, proposal(council.ministry2, retire, 70, 55),
                   "too_many_open_proposals")


def test_refusals_of_voting(council: Council, chain: Chain) -> None:
    retire = member_action(ACTION_RETIRE_MEMBER, council.university)
    first = proposal(council.ministry, retire, 10, 4)
    commit(chain, [first])
    assert_refused(chain, make_tx(council.ministry2, VotePayload(b"\x07" * 32)),
                   "unknown_proposal")
    assert_refused(chain, make_tx(council.ministry, VotePayload(first.tx_id)),
                   "already_voted")
    assert_refused(chain, make_tx(council.university, VotePayload(first.tx_id)),
                   "not_a_voter")
    commit_until(chain, 4)
    assert_refused(chain, make_tx(council.ministry2, VotePayload(first.tx_id)),
                   "proposal_expired")
    second = proposal(council.ministry, retire, 12, 8)
    commit(chain, [second, make_tx(council.ministry2, VotePayload(second.tx_id))])
    assert_refused(chain, make_tx(council.ministry3, VotePayload(second.tx_id)),
                   "proposal_closed")


def test_refusals_of_member_actions(council: Council, chain: Chain) -> None:
    def propose(action: AddMemberAction | MemberAction) -> Transaction:
        return proposal(council.ministry, action, chain.height + 10, chain.height + 5)

    refusal = assert_refused(chain, propose(admission_action(
        council.university, "KazNU again", "university")), "already_member")
    assert refusal.message.endswith(f"KazNU ({council.university.member_id.hex()})")
    outsider = keys_from("outsider")
    assert_refused(chain, propose(member_action(ACTION_ADD_VALIDATOR, outsider)),
                   "unknown_member")
    assert_refused(chain, propose(member_action(ACTION_RETIRE_MEMBER, council.validators[1])),
                   "still_validator")
    assert_refused(chain, propose(member_action(ACTION_ADD_VALIDATOR, council.validators[1])),
                   "already_validator")
    assert_refused(chain, propose(member_action(ACTION_REMOVE_VALIDATOR, council.university)),
                   "not_a_validator")
    assert_refused(chain, propose(member_action(ACTION_REMOVE_VALIDATOR,
                                                council.validators[1])), "too_few_validators")
    approve(chain, council, member_action(ACTION_RETIRE_MEMBER, council.ministry3), 5)
    assert_refused(chain, propose(member_action(ACTION_RETIRE_MEMBER, council.ministry3)),
                   "already_retired")
    assert_refused(chain, propose(member_action(ACTION_RETIRE_MEMBER, council.ministry2)),
                   "would_stall_governance")
    newcomer = KeyPair.generate()
    approve(chain, council, admission_action(newcomer, "Late Uni", "university"), 40)
    assert_refused(chain, proposal(council.ministry, member_action(ACTION_ADD_VALIDATOR,
                                                                    newcomer), 20, 10),
                   "not_yet_member")


def test_refusals_at_the_caps(council: Council, chain: Chain,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(governance_actions, "MAX_VOTERS", 3)
    assert_refused(chain, proposal(council.ministry, AddMemberAction(
        "Ministry of Culture", "ministry", KeyPair.generate().public_key), 10, 5),
        "too_many_voters")
    monkeypatch.setattr(governance_actions, "MAX_VALIDATORS", 4)
    assert_refused(chain, proposal(council.ministry, member_action(
        ACTION_ADD_VALIDATOR, council.university), 10, 5), "too_many_validators")


def test_a_vote_that_would_apply_an_impossible_action_is_refused(council: Council,
                                                                 chain: Chain) -> None:
    """Two proposals add the same key: the second cannot be approved."""
    keys = KeyPair.generate()
    first = proposal(council.ministry, admission_action(keys, "Uni A", "university"), 10, 5)
    second = proposal(council.ministry3, admission_action(keys, "Uni B", "university"), 10, 5)
    commit(chain, [first, second])
    commit(chain, [make_tx(council.ministry2, VotePayload(first.tx_id))])
    assert_refused(chain, make_tx(council.ministry2, VotePayload(second.tx_id)),
                   "already_member")
