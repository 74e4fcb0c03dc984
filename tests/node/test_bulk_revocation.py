"""The consortium revokes many credentials of a retired member in one proposal (governance
action `revoke_credentials`, from rules version 4): each written as `revoke_credential`
writes its one, all or none.

Every refusal is shown to change nothing (`assert_refused`: the rule on an overlay,
block building and block validation), a block under version 3 holding the action
included.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from ledger.chain import Chain
from ledger.codec import decode
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
    RevokeCredentialsAction,
    RulesVersionAction,
    VotePayload,
    action_from_array,
    checked,
)
from ledger.payloads_consortium import (
    MAX_REVOKED_LIST_BYTES,
    MAX_REVOKED_PER_PROPOSAL,
    revoked_list_bytes,
)
from ledger.records import Revocation
from ledger.rules import load_revocation
from ledger.rules_version import BULK_REVOCATION_FROM, MAX_KNOWN_RULES_VERSION
from ledger.transactions import MAX_TX_ARRAYS, MAX_TX_BYTES, decode_transaction
from ledger.verification import verify_credential
from node import governance_answers
from node.governance_answers import governance_answer
from storage.batch_tree import audit_path
from storage.kv import MemoryStore
from tests.node.conftest import CHAIN_ID, accredit, commit, documents_of, make_tx
from tests.node.test_consortium_revocation import ref_of
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


def _revoke(council: Council, refs: list[CredentialRef], reason: str = "fraud"
            ) -> RevokeCredentialsAction:
    return RevokeCredentialsAction(MemberId(council.university.member_id), tuple(refs), reason)


def _cohort(rules_version: int = BULK_REVOCATION_FROM, size: int = 6
            ) -> tuple[Council, Chain, IssuedBatch]:
    """KazNU accredited, a cohort of `size` diplomas issued, then retired from RETIRED_AT."""
    council = make_council(rules_version=rules_version)
    chain = Chain(MemoryStore(), council.genesis)
    uni = council.university
    commit(chain, [accredit(council, uni, ["diploma"])])  # type: ignore[arg-type]
    batch = make_batch([{"name": f"Graduate {i}"} for i in range(size)], "diploma", CHAIN_ID,
                       uni.member_id, "KazNU")
    commit(chain, [make_tx(uni, IssueBatchPayload("diploma", batch.root, size))])
    approve(chain, council, member_action(ACTION_RETIRE_MEMBER, uni), RETIRED_AT)
    commit_until(chain, RETIRED_AT)
    return council, chain, batch


def _revocation(chain: Chain, council: Council, batch: IssuedBatch, index: int
                ) -> Revocation | None:
    return load_revocation(chain.state, council.university.member_id, batch.root,
                           batch.target_hashes[index])


def test_the_action_round_trips_within_its_bounds() -> None:
    council = make_council()
    batch = make_batch([{"name": str(i)} for i in range(5)], "diploma", CHAIN_ID,
                       council.university.member_id, "KazNU")
    action = _revoke(council, [ref_of(batch, i) for i in range(5)])
    assert action_from_array(action.to_array()) == action
    checked(ProposePayload(action, 20, 18))
    wire = action.to_array()
    assert isinstance(wire[3], list)
    with pytest.raises(Unrecognised):  # only the issuer supersedes
        action_from_array([*wire[:2], "superseded", wire[3]])
    for entries, words in (([], "1 to 256"), ([b"\x00" * 67], "4-byte leaf index"),
                           ([b"\x00" * 69], "4-byte leaf index"), ("x", "1 to 256"),
                           ([b"\x00" * 64 + b"\xff" * 4], "at most 10000000"),
                           ([wire[3][0]] * (MAX_REVOKED_PER_PROPOSAL + 1), "1 to 256")):
        with pytest.raises(MalformedInput, match=words):
            action_from_array([*wire[:3], entries])


def test_the_largest_action_fits_one_transaction() -> None:
    """256 credentials of 32-leaf batches (5 path hashes each) stay under both bounds of a
    transaction, checked before its kind is known: its bytes and its arrays."""
    council = make_council()
    targets = [bytes([i]) * 32 for i in range(32)]
    refs = [CredentialRef(bytes([i // 32]) * 32, targets[i % 32], i % 32,
                          tuple(audit_path(targets, i % 32))) for i in range(256)]
    assert revoked_list_bytes(refs) <= MAX_REVOKED_LIST_BYTES
    tx = proposal(council.ministry, _revoke(council, refs, "court_decision"), 2**40, 2**40 - 2)
    assert len(tx.encode()) <= MAX_TX_BYTES
    assert decode_transaction(tx.encode()) == tx
    arrays = 0
    stack = [decode(tx.encode())]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            arrays += 1
            stack.extend(item)
    assert arrays <= MAX_TX_ARRAYS
    # a list past the byte bound is refused before the transaction could outgrow its own
    deep = [CredentialRef(r.batch_root, r.target_hash, r.index, r.path * 2) for r in refs]
    assert revoked_list_bytes(deep) > MAX_REVOKED_LIST_BYTES
    with pytest.raises(MalformedInput, match=f"at most {MAX_REVOKED_LIST_BYTES} fit"):
        checked(ProposePayload(_revoke(council, deep), 20, 18))


def test_one_approved_proposal_revokes_each_as_one_revoked_alone() -> None:
    council, chain, batch = _cohort()
    listed = [0, 2, 3, 5]
    propose = proposal(council.ministry, _revoke(council, [ref_of(batch, i) for i in listed]),
                       chain.height + 20, chain.height + 18)
    commit(chain, [propose])
    assert all(_revocation(chain, council, batch, i) is None for i in listed)
    vote = commit(chain, [make_tx(council.ministry2, VotePayload(propose.tx_id))])
    for index in range(6):
        found = _revocation(chain, council, batch, index)
        if index not in listed:
            assert found is None
            continue
        assert found == Revocation(batch.root, "fraud", vote.header.height,
                                   vote.header.time_ms, council.ministry.member_id,
                                   proposal_id=propose.tx_id)
    stored = load_proposal(chain.state, propose.tx_id)
    assert stored is not None and stored.status(chain.height + 1) == "in_force"
    facts = LocalFacts(chain.state, "test", chain.height, chain.block_time)
    verdict = verify_credential(documents_of(batch)[3], facts, CHAIN_ID)
    assert verdict.status == "revoked" and verdict.facts["revoked_by"] == "consortium"
    assert verdict.facts["revoked_by_proposal"] == propose.tx_id.hex()
    assert verify_credential(documents_of(batch)[1], facts, CHAIN_ID).status == "valid"


def test_the_record_is_the_one_a_single_revocation_writes() -> None:
    """The same key and fields as `revoke_credential`'s, so every reader finds it unchanged:
    only the height, time and proposal differ."""
    council, chain, batch = _cohort()
    issuer = MemberId(council.university.member_id)
    alone = approve(chain, council, RevokeCredentialAction(issuer, ref_of(batch, 4),
                                                           "court_decision"), 40)
    listed = approve(chain, council, _revoke(council, [ref_of(batch, 5)], "court_decision"), 40)
    single, bulk = _revocation(chain, council, batch, 4), _revocation(chain, council, batch, 5)
    assert single is not None and bulk is not None
    assert (single.proposal_id, bulk.proposal_id) == (alone, listed)
    assert replace(bulk, height=single.height, time_ms=single.time_ms,
                   proposal_id=alone).encode() == single.encode()


def test_one_bad_credential_refuses_the_whole_list_and_names_it() -> None:
    council, chain, batch = _cohort()
    good = [ref_of(batch, i) for i in range(4)]
    tampered = CredentialRef(batch.root, batch.target_hashes[2], 2,
                             (b"\x00" * 32, *ref_of(batch, 2).path[1:]))
    refusal = assert_refused(chain, proposal(council.ministry, _revoke(
        council, [good[0], good[1], tampered, good[3]]), 40, 30), "not_in_batch")
    assert refusal.message.startswith("credential 3 of 4 (hash "
                                      f"{batch.target_hashes[2].hex()[:16]}…, leaf 2")
    assert "nothing in the list is revoked" in refusal.message
    refusal = assert_refused(chain, proposal(council.ministry, _revoke(
        council, [*good, good[1]]), 40, 30), "duplicate_credential")
    assert "credential 5 of 5" in refusal.message and "credential 2 of the list" in refusal.message
    never = make_batch([{"name": "X"}], "diploma", CHAIN_ID, council.university.member_id,
                       "KazNU")
    assert_refused(chain, proposal(council.ministry, _revoke(council, [*good, ref_of(never, 0)]),
                                   40, 30), "unknown_batch")
    assert_refused(chain, proposal(council.ministry, RevokeCredentialsAction(
        MemberId(council.ministry3.member_id), tuple(good), "fraud"), 40, 30), "not_retired")
    # one of them revoked since: the list is refused, even at its approving vote
    open_list = proposal(council.ministry, _revoke(council, good), 40, 30)
    commit(chain, [open_list])
    approve(chain, council, RevokeCredentialAction(MemberId(council.university.member_id),
                                                   good[1], "fraud"), 40)
    refusal = assert_refused(chain, make_tx(council.ministry2, VotePayload(open_list.tx_id)),
                             "already_revoked")
    assert "credential 2 of 4" in refusal.message and "by the consortium" in refusal.message
    assert _revocation(chain, council, batch, 0) is None


def test_before_rules_version_4_the_action_is_refused_and_then_accepted() -> None:
    council, chain, batch = _cohort(rules_version=3)
    action = _revoke(council, [ref_of(batch, 0), ref_of(batch, 1)])
    refusal = assert_refused(chain, proposal(council.ministry, action, chain.height + 20,
                                             chain.height + 18), "rules_version_too_low")
    assert refusal.message == ("revoking many credentials of a retired member is accepted "
                               "from rules version 4; this block is under version 3 (propose "
                               "set-rules-version first)")
    upgrade = chain.height + 6
    approve(chain, council, RulesVersionAction(BULK_REVOCATION_FROM), upgrade)
    commit_until(chain, upgrade - 2)
    assert_refused(chain, proposal(council.ministry, action, chain.height + 20,
                                   chain.height + 18), "rules_version_too_low")
    commit_until(chain, upgrade - 1)
    commit(chain, [proposal(council.ministry, action, chain.height + 20, chain.height + 18)])
    assert MAX_KNOWN_RULES_VERSION >= BULK_REVOCATION_FROM


def test_the_governance_answer_lists_the_credentials_and_is_worked_out_once() -> None:
    council, chain, batch = _cohort()
    refs = [ref_of(batch, 1), ref_of(batch, 4)]
    commit(chain, [proposal(council.ministry, _revoke(council, refs), 40, 30)])
    governance_answers.forget()
    answer = governance_answer(chain.state, chain.state.root, chain.height)
    listed = json.loads(answer.body())["proposals"][0]
    assert listed["action"] == "revoke_credentials" and listed["status"] == "open"
    assert listed["credentials"] == [
        {"batch_root": batch.root.hex(), "target_hash": batch.target_hashes[i].hex(),
         "index": i} for i in (1, 4)]
    worked = governance_answers.worked_out
    assert governance_answer(chain.state, chain.state.root, chain.height).rest is answer.rest
    assert governance_answers.worked_out == worked  # and later blocks: test_governance_answers
