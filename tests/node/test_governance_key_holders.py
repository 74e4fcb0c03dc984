"""Governance's add_member refuses a key another member holds by rotation, from rules
version 6 (`GOVERNANCE_KEY_HOLDERS_CHECKED_FROM`), as a ministry's own add_member always
did: it admitted a second member holding a validator's key, whose seat in the set
(named by key) was then read as the newcomer's. A chain under an earlier version keeps
what its release accepted, so that it replays to the same state."""

from __future__ import annotations

import pytest

from ledger.chain import Chain
from ledger.governance import Proposal, load_proposal, why_cannot_apply
from ledger.identity import KeyPair, member_id_of
from ledger.key_events import key_holder, prove_possession
from ledger.payloads import AddMemberAction, RotateKeyPayload, VotePayload
from ledger.rules import load_member
from ledger.rules_version import GOVERNANCE_KEY_HOLDERS_CHECKED_FROM
from storage.kv import MemoryStore
from tests.node.conftest import commit, make_tx
from tests.node.test_governance import Council, approve, make_council, proposal
from tests.node.test_ledger_refusals import assert_refused


def rotated(version: int) -> tuple[Chain, Council, KeyPair]:
    """A council under rules `version` whose validator 0 rotated to a new key."""
    council = make_council(rules_version=version)
    chain = Chain(MemoryStore(), council.genesis)
    seat = council.validators[1]
    new = KeyPair.generate()
    commit(chain, [make_tx(seat, RotateKeyPayload(
        new.public_key, prove_possession(new, chain.chain_id, seat.member_id)))])
    assert key_holder(chain.state, new.public_key) == seat.member_id
    return chain, council, new


def test_a_key_a_member_holds_by_rotation_is_refused_to_governance() -> None:
    chain, council, new = rotated(GOVERNANCE_KEY_HOLDERS_CHECKED_FROM)
    twin = AddMemberAction("Twin ministry", "ministry", new.public_key)
    refused = assert_refused(chain, proposal(council.ministry, twin, chain.height + 10,
                                             chain.height + 8), "already_member")
    assert refused.message.startswith("this key is already a member's: Validator 0 (")


def test_the_vote_checks_it_again() -> None:
    """Proposed while no member held the key, approved after one rotated to it."""
    council = make_council(rules_version=GOVERNANCE_KEY_HOLDERS_CHECKED_FROM)
    chain = Chain(MemoryStore(), council.genesis)
    later = KeyPair.generate()
    propose = proposal(council.ministry, AddMemberAction("Twin", "school", later.public_key),
                       chain.height + 10, chain.height + 8)
    commit(chain, [propose])
    university = council.university
    commit(chain, [make_tx(university, RotateKeyPayload(
        later.public_key, prove_possession(later, chain.chain_id, university.member_id)))])
    stored = why_cannot_apply(chain.state, _proposal(chain, propose.tx_id), chain.height + 1)
    assert stored is not None and stored.code == "already_member"
    assert_refused(chain, make_tx(council.ministry2, VotePayload(propose.tx_id)),
                   "already_member")


@pytest.mark.parametrize("version", [GOVERNANCE_KEY_HOLDERS_CHECKED_FROM - 1])
def test_an_earlier_version_keeps_what_its_release_accepted(version: int) -> None:
    chain, council, new = rotated(version)
    approve(chain, council, AddMemberAction("Twin", "school", new.public_key),
            chain.height + 10)
    assert load_member(chain.state, member_id_of(new.public_key)) is not None


def _proposal(chain: Chain, proposal_id: bytes) -> Proposal:
    found = load_proposal(chain.state, proposal_id)
    assert found is not None
    return found
