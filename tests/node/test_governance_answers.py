"""`GET /v1/governance`'s body is worked out again only when what it shows may have changed
(`node.governance_answers`): a block that touches nothing it read, at a height where no
status changes, answers with the same bytes; anything it shows that changed is in the
next answer, as the definition (`governance_view.governance_json`) works it out afresh."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator

import pytest

from ledger.chain import Chain
from ledger.credentials import IssuedBatch
from ledger.payloads import (
    AddMemberAction,
    AddMemberPayload,
    AnchorPayload,
    RulesVersionAction,
    VotePayload,
)
from node import governance_answers
from node.governance_answers import GovernanceAnswer, governance_answer
from node.governance_view import governance_json
from node.public_work import CommittedView
from tests.node.conftest import commit, keys_from, make_tx
from tests.node.test_bulk_revocation import _cohort, _revoke
from tests.node.test_consortium_revocation import ref_of
from tests.node.test_governance import Council, approve, commit_until, proposal

NEWCOMER = keys_from("governance-answers-newcomer")


@pytest.fixture(autouse=True)
def _nothing_kept() -> Iterator[None]:
    governance_answers.forget()
    yield
    governance_answers.forget()


def _answer(chain: Chain) -> GovernanceAnswer:
    """As the API asks: over a committed view of the chain."""
    with CommittedView(chain) as view:
        return governance_answer(view.state, view.state.root, view.height)


def _as_defined(chain: Chain) -> object:
    return json.loads(json.dumps(governance_json(chain.state, chain.height)))


def _open_proposals() -> tuple[Council, Chain, IssuedBatch, list[bytes]]:
    """KazNU retired; open: P1 revoking credentials 0 and 1, P2 revoking 1 and 2 (closing
    at the head + 8), and P3 admitting NEWCOMER. The threshold is two: one vote approves."""
    council, chain, batch = _cohort()
    head = chain.height
    txs = [proposal(council.ministry, _revoke(council, [ref_of(batch, 0), ref_of(batch, 1)]),
                    head + 40, head + 30),
           proposal(council.ministry, _revoke(council, [ref_of(batch, 1), ref_of(batch, 2)]),
                    head + 10, head + 8),
           proposal(council.ministry, AddMemberAction("Newcomer", "employer",
                                                      NEWCOMER.public_key), head + 40, head + 30)]
    commit(chain, txs)
    return council, chain, batch, [tx.tx_id for tx in txs]


def test_a_block_that_touches_no_governance_is_answered_without_working_it_out() -> None:
    council, chain, _, _ = _open_proposals()
    first = _answer(chain)
    assert json.loads(first.body()) == _as_defined(chain)
    worked = governance_answers.worked_out
    for _ in range(3):  # anchors: state written, none of it read by the answer
        commit(chain, [make_tx(council.ministry, AnchorPayload(os.urandom(32)))])
        answer = _answer(chain)
        assert answer.rest is first.rest  # the same bytes, shared
        assert json.loads(answer.body()) == _as_defined(chain)
        assert json.loads(answer.body())["height"] == chain.height
    assert governance_answers.worked_out == worked


def _approve_p1(council: Council, chain: Chain, ids: list[bytes]) -> None:
    # writes the revocations of credentials 0 and 1, so that P2 can no longer apply
    commit(chain, [make_tx(council.ministry2, VotePayload(ids[0]))])


def _admit_newcomer(council: Council, chain: Chain, ids: list[bytes]) -> None:
    # no governance transaction: a ministry adds the member P3 would admit
    commit(chain, [make_tx(council.ministry, AddMemberPayload("Newcomer", "employer",
                                                              NEWCOMER.public_key))])


def _pass_p2s_expiry(council: Council, chain: Chain, ids: list[bytes]) -> None:
    commit_until(chain, chain.height + 8)  # empty blocks: nothing written


def _reach_a_scheduled_version(council: Council, chain: Chain, ids: list[bytes]) -> None:
    effective = chain.height + 6
    approve(chain, council, RulesVersionAction(5), effective)
    _answer(chain)  # the change approved, not yet in force: kept for the blocks until it
    commit_until(chain, effective - 1)


@pytest.mark.parametrize("change", [_approve_p1, _admit_newcomer, _pass_p2s_expiry,
                                    _reach_a_scheduled_version])
def test_what_changed_shows_in_the_next_answer(
        change: Callable[[Council, Chain, list[bytes]], None]) -> None:
    council, chain, _, ids = _open_proposals()
    before = json.loads(_answer(chain).body())
    change(council, chain, ids)
    after = json.loads(_answer(chain).body())
    assert after == _as_defined(chain)
    assert {k: v for k, v in after.items() if k != "height"} != {
        k: v for k, v in before.items() if k != "height"}
    shown = {p["proposal_id"]: p for p in after["proposals"]}
    p1, p2, p3 = (shown[i.hex()] for i in ids)
    if change is _approve_p1:
        assert p1["status"] == "in_force"
        assert (p2["status"], p2["reason_code"]) == ("cannot_apply", "already_revoked")
    elif change is _admit_newcomer:
        assert (p3["status"], p3["reason_code"]) == ("cannot_apply", "already_member")
    elif change is _pass_p2s_expiry:
        assert p2["status"] == "expired" and p1["status"] == "open"
    else:
        assert after["rules"]["version"] == 5 and not after["rules"]["scheduled"]
        assert before["rules"]["version"] == 4


def test_an_answer_for_an_older_view_is_worked_out_for_it_and_not_kept() -> None:
    """A request whose view was taken before the one kept, given no fresh view, gets its
    own block's answer; the newer answer stays kept."""
    council, chain, _, ids = _open_proposals()
    with CommittedView(chain) as old:
        _approve_p1(council, chain, ids)
        newer = _answer(chain)
        answer = governance_answer(old.state, old.state.root, old.height)
        expected = governance_json(old.state, old.height)
    assert json.loads(answer.body()) == json.loads(json.dumps(expected))
    worked = governance_answers.fragments_worked_out
    assert _answer(chain).rest is newer.rest
    assert governance_answers.fragments_worked_out == worked


def test_a_request_behind_what_is_kept_is_answered_from_a_fresh_view() -> None:
    """As the API asks: a view taken before the block whose answer is kept is renewed, and
    the answer is the newer block's, nothing worked out again."""
    council, chain, _, ids = _open_proposals()
    with CommittedView(chain) as old:
        _approve_p1(council, chain, ids)
        newer = _answer(chain)
        worked = governance_answers.fragments_worked_out
        answer = governance_answer(old.state, old.state.root, old.height,
                                   lambda: CommittedView(chain))
    assert governance_answers.fragments_worked_out == worked
    assert answer.rest is newer.rest
    assert json.loads(answer.body()) == _as_defined(chain)
    assert json.loads(answer.body())["height"] == chain.height > old.height
