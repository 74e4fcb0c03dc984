"""Rules version 11's retirements: the check that enough voters are left counts only
voters that can sign at the retirement's approval, and an approved retirement may be
brought forward. Before it, a ministry admitted for a height 90,000 blocks on counted as a
voter, two retirements left one voter able to sign against a threshold of two, and nothing
passed until then (a replacement of a stolen key included); and a thief's proposal to
retire a ministry 100,000 blocks on, once approved, left it signing that long."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from cli.governance_words import proposal_state
from ledger.chain import Chain
from ledger.governance_policy import load_voters
from ledger.identity import KeyPair, MemberId, member_id_of
from ledger.payloads import ACTION_RETIRE_MEMBER, AddMemberAction, MemberAction, VotePayload
from ledger.records import Member, member_key
from ledger.rules_version import RETIREMENT_RULES_FROM
from storage.kv import MemoryStore
from tests.node.conftest import commit, make_tx
from tests.node.test_governance import Council, approve, make_council, proposal
from tests.node.test_governance_fragments import _answer, _in_full
from tests.node.test_ledger_refusals import assert_refused


def council_chain(version: int) -> Iterator[tuple[Council, Chain]]:
    council = make_council(rules_version=version)
    kv = MemoryStore()
    yield council, Chain(kv, council.genesis)
    kv.close()


def _retire(council: Council, who: MemberId) -> MemberAction:
    return MemberAction(ACTION_RETIRE_MEMBER, who)


@pytest.mark.parametrize("version, lead", [(RETIREMENT_RULES_FROM - 1, 10),
                                           (RETIREMENT_RULES_FROM, 10),
                                           (RETIREMENT_RULES_FROM, 95_000)])
def test_a_voter_that_cannot_sign_yet_is_not_counted(version: int, lead: int) -> None:
    """`lead`: the retirements' effective heights, before or after the newcomer's: a voter
    retired votes no more from its approval, so the newcomer is not counted either way."""
    for council, chain in council_chain(version):
        later = KeyPair.generate()
        approve(chain, council, AddMemberAction("Ministry of Digital Development", "ministry",
                                                later.public_key), chain.height + 90_000)
        assert member_id_of(later.public_key) in load_voters(chain.state)
        # ministry2, then ministry3, retired by the votes of the others
        retire2 = proposal(council.ministry, _retire(council, council.ministry2.member_id),
                           chain.height + lead, chain.height + 8)
        commit(chain, [retire2])
        commit(chain, [make_tx(council.ministry3, VotePayload(retire2.tx_id))])
        retire3 = proposal(council.ministry, _retire(council, council.ministry3.member_id),
                           chain.height + lead, chain.height + 8)
        if version < RETIREMENT_RULES_FROM:  # as committed before: governance then stalls
            commit(chain, [retire3])
            commit(chain, [make_tx(council.ministry3, VotePayload(retire3.tx_id))])
            assert len(load_voters(chain.state)) == 2  # ministry and the one not yet signing
        else:  # refused as proposed (and so at its approving vote, were it open)
            refused = assert_refused(chain, retire3, "would_stall_governance")
            assert "threshold of 2" in refused.message


@pytest.mark.parametrize("version", [RETIREMENT_RULES_FROM - 1, RETIREMENT_RULES_FROM])
def test_an_approved_retirement_can_be_brought_forward(version: int) -> None:
    for council, chain in council_chain(version):
        far = chain.height + 99_000
        approve(chain, council, _retire(council, council.university.member_id), far)
        near = chain.height + 10
        nearer = proposal(council.ministry, _retire(council, council.university.member_id),
                          near, near - 2)
        if version < RETIREMENT_RULES_FROM:
            assert_refused(chain, nearer, "already_retired")
            continue
        commit(chain, [nearer])
        commit(chain, [make_tx(council.ministry2, VotePayload(nearer.tx_id))])
        stored = chain.state.get(member_key(council.university.member_id))
        assert stored is not None
        assert Member.decode(stored).retired_height == near
        # a later height is no bringing forward: refused as before
        later = proposal(council.ministry, _retire(council, council.university.member_id),
                         chain.height + 500, chain.height + 498)
        assert_refused(chain, later, "already_retired")


def test_a_retirement_brought_forward_is_listed_as_such() -> None:
    """The first approval went on saying "it takes effect at height 99,0xx, in 98,990
    blocks" (then "in force since" it) while the member had retired long before."""
    for council, chain in council_chain(RETIREMENT_RULES_FROM):
        far = chain.height + 99_000
        first = approve(chain, council, _retire(council, council.university.member_id), far)
        kept_before = _answer(chain)  # the API keeps the answer a proposal at a time
        near = chain.height + 10
        nearer = proposal(council.ministry, _retire(council, council.university.member_id),
                          near, near - 2)
        commit(chain, [nearer])
        commit(chain, [make_tx(council.ministry2, VotePayload(nearer.tx_id))])
        answer = _answer(chain)
        assert answer != kept_before and answer == _in_full(chain)
        listed = {p["proposal_id"]: p for p in json.loads(answer)["proposals"]}
        shown = listed[first.hex()]
        assert shown["brought_forward_to"] == near
        assert listed[nearer.tx_id.hex()]["brought_forward_to"] is None
        said = str(proposal_state(shown, [], chain.height))
        assert said.endswith(f"a later approval brought the retirement forward to height "
                             f"{near}, so nothing happens at height {far}."), said
