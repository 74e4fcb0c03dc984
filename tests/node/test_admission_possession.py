"""A new member's key is admitted only with its holder's proof of possession (rules version
12, `ledger.admission`). Before it, anyone able to admit a member named a key its holder
had asked for in a replacement request (public by design): admitted before the
replacement's proposal was committed, or after it expired, it had the replacement refused
(`key_in_use`), and the member locked out until it made another key, which could be taken
the same way. The open-proposal check of version 7 (`key_awaiting_replacement`) covered
only the time the proposal was open."""

from __future__ import annotations

import pytest

from ledger.admission import prove_admission
from ledger.chain import Chain
from ledger.errors import MalformedInput
from ledger.governance import load_proposal, why_cannot_apply
from ledger.identity import KeyPair
from ledger.key_events import prove_possession
from ledger.payloads import (
    AddMemberAction,
    AddMemberPayload,
    ProposePayload,
    RotateKeyPayload,
    RulesVersionAction,
    VotePayload,
    action_from_array,
    checked,
    decode_payload,
)
from ledger.rules import load_member
from ledger.rules_version import ADMISSION_PROOF_FROM, MAX_KNOWN_RULES_VERSION
from ledger.transactions import Transaction
from tests.node.conftest import commit, make_tx
from tests.node.test_governance import Council, approve, commit_until, proposal
from tests.node.test_governance_key_replacement import council_chain, key_of, replacement
from tests.node.test_ledger_refusals import assert_refused

BEFORE = ADMISSION_PROOF_FROM - 1
HOW = ["a ministry's own add_member", "governance's add_member"]


def squat(chain: Chain, council: Council, how: str, public_key: bytes,
          proof: bytes | None = None) -> Transaction:
    """A hostile ministry (ministry3) naming `public_key` as a member of its own."""
    if how.startswith("a ministry"):
        return make_tx(council.ministry3, AddMemberPayload("Front", "school", public_key,
                                                           proof))
    return proposal(council.ministry3, AddMemberAction("Front", "school", public_key, proof),
                    chain.height + 10, chain.height + 8)


def squatted(chain: Chain, council: Council, how: str, public_key: bytes) -> None:
    """The squat committed: by the ministry's own add_member, or by governance's, approved
    (a second ministry misled into voting for it)."""
    taking = squat(chain, council, how, public_key)
    commit(chain, [taking])
    if not how.startswith("a ministry"):
        commit(chain, [make_tx(council.ministry2, VotePayload(taking.tx_id))])


def test_the_version_is_known() -> None:
    assert MAX_KNOWN_RULES_VERSION >= ADMISSION_PROOF_FROM


@pytest.mark.parametrize("how", HOW)
def test_before_version_12_a_requested_key_is_taken_before_its_proposal(how: str) -> None:
    """The attack, as chains under version 11 replay it: the request reaches a ministry
    (or the pool holds its proposal), and another ministry admits a member with its key
    first; the replacement's proposal is then refused, and the member stays locked out."""
    council, chain = council_chain(BEFORE)
    _, action = replacement(chain, council.university)
    squatted(chain, council, how, action.new_public_key)
    assert_refused(chain, proposal(council.ministry, action, chain.height + 10,
                                   chain.height + 8), "key_in_use")
    assert key_of(chain, council.university) == council.university.public_key


@pytest.mark.parametrize("how", HOW)
def test_a_requested_key_cannot_be_taken_before_its_proposal(how: str) -> None:
    council, chain = council_chain(ADMISSION_PROOF_FROM)
    new, action = replacement(chain, council.university)
    assert_refused(chain, squat(chain, council, how, action.new_public_key),
                   "possession_proof_missing")
    # the request's own proof, public, is no admission's: its domain is another
    assert_refused(chain, squat(chain, council, how, action.new_public_key,
                                action.possession_proof), "bad_possession_proof")
    approve(chain, council, action, chain.height + 10)
    assert key_of(chain, council.university) == new.public_key


@pytest.mark.parametrize("how", HOW)
def test_a_requested_key_cannot_be_taken_once_its_proposal_expired(how: str) -> None:
    """The version 7 check holds only while the proposal is open: once it expired
    unapproved, the key was free to take, and a second proposal of the same request was
    refused."""
    council, chain = council_chain(ADMISSION_PROOF_FROM)
    new, action = replacement(chain, council.university)
    commit(chain, [proposal(council.ministry, action, chain.height + 6, chain.height + 4)])
    commit_until(chain, chain.height + 6)
    assert_refused(chain, squat(chain, council, how, action.new_public_key),
                   "possession_proof_missing")
    approve(chain, council, action, chain.height + 10)
    assert key_of(chain, council.university) == new.public_key


def test_another_member_cannot_rotate_onto_a_requested_key() -> None:
    """A rotation's proof is bound to its member and signed by the new key: a member that
    does not hold the requested key cannot rotate onto it, whatever proof it copies."""
    council, chain = council_chain(ADMISSION_PROOF_FROM)
    _, action = replacement(chain, council.university)
    taker = council.ministry3
    assert_refused(chain, make_tx(taker, RotateKeyPayload(
        action.new_public_key, action.possession_proof)), "bad_possession_proof")
    wrong = prove_possession(KeyPair.generate(), chain.chain_id, taker.member_id)
    assert_refused(chain, make_tx(taker, RotateKeyPayload(action.new_public_key, wrong)),
                   "bad_possession_proof")


@pytest.mark.parametrize("how", HOW)
def test_a_member_admitted_with_its_proof(how: str) -> None:
    council, chain = council_chain(ADMISSION_PROOF_FROM)
    new = KeyPair.generate()
    proof = prove_admission(new, chain.chain_id, "Front", "school")
    admit = squat(chain, council, how, new.public_key, proof)
    commit(chain, [admit])
    if not how.startswith("a ministry"):
        commit(chain, [make_tx(council.ministry2, VotePayload(admit.tx_id))])
    member = load_member(chain.state, new.member_id)
    assert member is not None and member.name == "Front" and member.public_key == new.public_key


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("changed", ["name", "role", "chain", "key"])
def test_a_proof_admits_its_key_only_as_asked(how: str, changed: str) -> None:
    """A proof taken out of an open proposal cannot admit its key under another name or
    role (a ministry's own add_member ahead of the consortium's), nor serve another chain
    or key."""
    council, chain = council_chain(ADMISSION_PROOF_FROM)
    new = KeyPair.generate()
    name, role, chain_id = "Front", "school", chain.chain_id
    if changed == "name":
        name = "Another"
    elif changed == "role":
        role = "university"
    elif changed == "chain":
        chain_id = "another-chain"
    signer = KeyPair.generate() if changed == "key" else new
    proof = prove_admission(signer, chain_id, name, role)
    assert_refused(chain, squat(chain, council, how, new.public_key, proof),
                   "bad_possession_proof")


@pytest.mark.parametrize("how", HOW)
def test_before_version_12_an_admission_carries_no_proof(how: str) -> None:
    """A release knowing version 11 at most cannot decode an admission with a proof: one
    let into a block under version 11 would split the network."""
    council, chain = council_chain(BEFORE)
    new = KeyPair.generate()
    proof = prove_admission(new, chain.chain_id, "Front", "school")
    assert_refused(chain, squat(chain, council, how, new.public_key, proof),
                   "rules_version_too_low")


def test_an_admission_proposed_without_a_proof_is_not_approved_under_version_12() -> None:
    """Proposed under version 11, approved under 12: the approving vote checks the proof's
    presence too, or an old proposal would admit a key nobody showed it holds."""
    council, chain = council_chain(BEFORE)
    upgrade = chain.height + 10
    approve(chain, council, RulesVersionAction(ADMISSION_PROOF_FROM), upgrade)
    new = KeyPair.generate()
    admit = proposal(council.ministry3, AddMemberAction("Front", "school", new.public_key),
                     chain.height + 20, chain.height + 18)
    commit(chain, [admit])
    commit_until(chain, upgrade)
    stored = load_proposal(chain.state, admit.tx_id)
    assert stored is not None
    listed = why_cannot_apply(chain.state, stored, chain.height + 1)
    assert listed is not None and listed.code == "possession_proof_missing"
    assert_refused(chain, make_tx(council.ministry2, VotePayload(admit.tx_id)),
                   "possession_proof_missing")


def test_payloads_without_a_proof_encode_as_before() -> None:
    """Blocks of earlier versions hold three items (an action four): they decode, and
    encode back the same, so their transaction ids and blocks stay what they were."""
    key = KeyPair.generate().public_key
    assert AddMemberPayload("A", "school", key).to_array() == ["A", "school", key]
    assert AddMemberAction("A", "school", key).to_array() == ["add_member", "A", "school", key]
    assert action_from_array(["add_member", "A", "school", key]) == AddMemberAction(
        "A", "school", key)
    proof = bytes(64)
    with_proof = AddMemberPayload("A", "school", key, proof)
    assert checked(with_proof) == with_proof
    action = AddMemberAction("A", "school", key, proof)
    assert checked(ProposePayload(action, 10, 8)) == ProposePayload(action, 10, 8)


@pytest.mark.parametrize("items", [
    ["A", "school"], ["A", "school", bytes(32), bytes(63)],
    ["A", "school", bytes(32), bytes(64), b""]])
def test_a_malformed_admission_is_refused_as_malformed(items: list[object]) -> None:
    with pytest.raises(MalformedInput):
        decode_payload("add_member", items)
    with pytest.raises(MalformedInput):
        action_from_array(["add_member", *items])

