"""Governance votes cast with a key distrusted at their height (rules version 10): they
count for nothing, and the ministry may cast its vote again with the key it holds now.
Before, a thief holding a ministry's key proposed a mill of its own, and once the ministry
rotated and reported the key the proposal still held its vote: one honest vote more
admitted the mill."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cli.governance_words import proposal_state
from cli.language import Words
from ledger import governance_votes
from ledger.chain import Chain
from ledger.codec import decode, encode
from ledger.errors import MalformedInput
from ledger.governance import Proposal, load_proposal
from ledger.governance_policy import GovernancePolicy
from ledger.governance_votes import Ballot, CastVote, set_aside_votes
from ledger.identity import KeyPair
from ledger.key_events import prove_possession
from ledger.payloads import (
    AddMemberAction,
    ReportCompromisePayload,
    RotateKeyPayload,
    RulesVersionAction,
    VotePayload,
)
from ledger.rules import load_member
from ledger.rules_version import STOLEN_VOTES_SET_ASIDE_FROM
from node import governance_answers
from node.governance_answers import governance_answer
from node.governance_view import governance_json
from node.public_work import CommittedView
from storage.kv import MemoryStore
from tests.node.api_server import api_core, serving
from tests.node.conftest import CHAIN_ID, commit, keys_from, make_tx
from tests.node.governance_scenes import vote_set_aside
from tests.node.test_governance import Council, commit_until, make_council, proposal
from tests.node.test_ledger_refusals import assert_refused
from tests.node.test_stolen_key_records import rotate_and_report, rotated

MILL = keys_from("diploma mill")


def council_chain(version: int = STOLEN_VOTES_SET_ASIDE_FROM) -> tuple[Council, Chain]:
    council = make_council(rules_version=version)
    return council, Chain(MemoryStore(), council.genesis)


def admit_mill(chain: Chain, thief: KeyPair) -> bytes:
    """The thief, holding a ministry's key, proposes a member of its own: the proposal
    counts as that ministry's vote."""
    propose = proposal(thief, AddMemberAction("Diploma Mill", "university", MILL.public_key),
                       chain.height + 40, chain.height + 30)
    commit(chain, [propose])
    return propose.tx_id


def listed(chain: Chain, proposal_id: bytes) -> dict[str, Any]:
    answer = governance_json(chain.state, chain.height)
    return next(p for p in answer["proposals"] if p["proposal_id"] == proposal_id.hex())


def stored(chain: Chain, proposal_id: bytes) -> Proposal:
    found = load_proposal(chain.state, proposal_id)
    assert found is not None
    return found


def test_a_thiefs_vote_counts_for_nothing_once_the_key_is_reported_stolen() -> None:
    council, chain = council_chain()
    stolen_at = chain.height + 1
    proposal_id = admit_mill(chain, council.ministry2)  # the thief
    rotate_and_report(chain, council.ministry2, stolen_at)  # the ministry finds out

    commit(chain, [make_tx(council.ministry3, VotePayload(proposal_id))])  # one honest vote

    assert load_member(chain.state, MILL.member_id) is None  # the mill is not admitted
    assert stored(chain, proposal_id).approved_height is None
    shown = listed(chain, proposal_id)
    assert shown["status"] == "open" and shown["votes_needed"] == 1
    assert shown["votes_set_aside"] == [{
        "member_id": council.ministry2.member_id.hex(), "name": "Ministry of Education",
        "cast_at": stolen_at, "key_distrusted_from": stolen_at}]

    answer = governance_json(chain.state, chain.height)
    state = proposal_state(shown, answer["voters"], chain.height)
    assert str(state) == (
        "Open, voted by Ministry of Justice: it needs 1 more vote by height 30; not yet "
        "voted: Ministry of Science. Ministry of Education's proposal was made at height "
        f"{stolen_at} with a key distrusted from height {stolen_at}, so its vote does not "
        "count: ask Ministry of Education whether it proposed this.")
    assert "не засчитывается" in state.said(Words("ru"))
    assert "есепке алынбайды" in state.said(Words("kk"))


def test_before_version_10_the_stolen_vote_still_counts() -> None:
    council, chain = council_chain(STOLEN_VOTES_SET_ASIDE_FROM - 1)
    stolen_at = chain.height + 1
    proposal_id = admit_mill(chain, council.ministry2)
    rotate_and_report(chain, council.ministry2, stolen_at)
    commit(chain, [make_tx(council.ministry3, VotePayload(proposal_id))])

    assert load_member(chain.state, MILL.member_id) is not None  # what a replay must keep
    assert stored(chain, proposal_id).votes_cast is None  # encoded as before
    assert listed(chain, proposal_id)["votes_set_aside"] == []


def test_an_approval_before_the_report_stands_and_lists_the_vote() -> None:
    council, chain = council_chain()
    action = AddMemberAction("Second College", "university", keys_from("college").public_key)
    made = proposal(council.ministry3, action, chain.height + 40, chain.height + 30)
    commit(chain, [made])
    # ministry2's key was copied at this height; the thief votes with it.
    stolen_at = chain.height + 1
    commit(chain, [make_tx(council.ministry2, VotePayload(made.tx_id))])
    assert stored(chain, made.tx_id).approved_height == stolen_at  # counted: not yet known
    assert load_member(chain.state, keys_from("college").member_id) is not None
    # The approval stands; a later report lists the vote for what it is.
    rotate_and_report(chain, council.ministry2, stolen_at)
    shown = listed(chain, made.tx_id)
    assert shown["status"] in ("approved", "in_force") and shown["votes_needed"] == 0
    assert [v["cast_at"] for v in shown["votes_set_aside"]] == [stolen_at]
    answer = governance_json(chain.state, chain.height)
    assert ("by Ministry of Justice and Ministry of Education; it takes effect at height "
            f"40, in 36 block(s). Ministry of Education's vote counted at the approval, but "
            f"it was cast at height {stolen_at} with a key distrusted from height {stolen_at}: "
            "ask Ministry of Education whether it voted.") in str(
                proposal_state(shown, answer["voters"], chain.height))


def test_a_ministry_whose_vote_was_set_aside_votes_again() -> None:
    council, chain = council_chain()
    stolen_at = chain.height + 1
    proposal_id = admit_mill(chain, council.ministry2)  # ministry2's own, as it happens
    new = rotate_and_report(chain, council.ministry2, stolen_at)  # cautious: from there
    assert listed(chain, proposal_id)["votes_needed"] == 2
    answer = governance_json(chain.state, chain.height)
    assert str(proposal_state(listed(chain, proposal_id), answer["voters"], chain.height)
               ).startswith("Open, voted by no one whose vote counts: it needs 2 more votes")

    voted_again = chain.height + 1
    commit(chain, [make_tx(new, VotePayload(proposal_id))])
    assert stored(chain, proposal_id).votes_cast == (CastVote(voted_again, new.public_key),)
    assert listed(chain, proposal_id)["votes_set_aside"] == []
    assert listed(chain, proposal_id)["votes_needed"] == 1
    assert_refused(chain, make_tx(new, VotePayload(proposal_id)), "already_voted")

    commit(chain, [make_tx(council.ministry3, VotePayload(proposal_id))])
    assert load_member(chain.state, MILL.member_id) is not None


def test_a_vote_not_set_aside_is_refused_again() -> None:
    council, chain = council_chain()
    proposal_id = admit_mill(chain, council.ministry2)
    assert_refused(chain, make_tx(council.ministry2, VotePayload(proposal_id)),
                   "already_voted")


def _to_version_10(council: Council, chain: Chain) -> None:
    switch = chain.height + 10
    upgrade = proposal(council.ministry, RulesVersionAction(STOLEN_VOTES_SET_ASIDE_FROM),
                       switch, switch - 2)
    commit(chain, [upgrade])
    commit(chain, [make_tx(council.ministry3, VotePayload(upgrade.tx_id))])
    commit_until(chain, switch)


def test_a_proposal_made_before_version_10_is_judged_at_its_own_height() -> None:
    council, chain = council_chain(STOLEN_VOTES_SET_ASIDE_FROM - 1)
    stolen_at = chain.height + 1
    proposal_id = admit_mill(chain, council.ministry2)  # under version 9: no height kept
    rotate_and_report(chain, council.ministry2, stolen_at)
    _to_version_10(council, chain)

    voted_at = chain.height + 1
    commit(chain, [make_tx(council.ministry3, VotePayload(proposal_id))])
    found = stored(chain, proposal_id)
    assert found.votes_cast == (None, CastVote(voted_at, council.ministry3.public_key))
    assert found.approved_height is None  # the proposer's vote was cast at its height
    assert load_member(chain.state, MILL.member_id) is None


def test_a_vote_cast_before_version_10_by_another_than_the_proposer_counts() -> None:
    """Its height was not kept: it counts, as it always did (ARCHITECTURE says so)."""
    council = make_council(GovernancePolicy(3), rules_version=STOLEN_VOTES_SET_ASIDE_FROM - 1)
    chain = Chain(MemoryStore(), council.genesis)
    proposal_id = admit_mill(chain, council.ministry)
    stolen_at = chain.height + 1
    commit(chain, [make_tx(council.ministry2, VotePayload(proposal_id))])  # the thief
    new = rotate_and_report(chain, council.ministry2, stolen_at)
    switch = chain.height + 10
    upgrade = proposal(council.ministry, RulesVersionAction(STOLEN_VOTES_SET_ASIDE_FROM),
                       switch, switch - 2)
    commit(chain, [upgrade])
    commit(chain, [make_tx(new, VotePayload(upgrade.tx_id)),
                   make_tx(council.ministry3, VotePayload(upgrade.tx_id))])
    commit_until(chain, switch)
    assert listed(chain, proposal_id)["votes_set_aside"] == []

    commit(chain, [make_tx(council.ministry3, VotePayload(proposal_id))])
    assert stored(chain, proposal_id).approved_height == chain.height


BAD_VOTES = [
    "votes",
    [[1, b"k" * 32]],  # one for two voters
    [[1, b"k" * 32], [2, b"k" * 32], None],
    [[True, b"k" * 32], None],
    [[1, b"short"], None],
    [[1], None],
    [{"height": 1}, None],
]


@pytest.mark.parametrize("votes", BAD_VOTES)
def test_malformed_stored_votes_are_the_stores_damage(votes: object) -> None:
    council, chain = council_chain()
    proposal_id = admit_mill(chain, council.ministry2)
    fields = decode(stored(chain, proposal_id).encode())
    assert fields[7] == [[chain.height, council.ministry2.public_key]]  # the proposer's
    fields[5] = [council.ministry2.member_id, council.ministry3.member_id]
    fields[7] = votes
    with pytest.raises(MalformedInput):
        Proposal.decode(proposal_id, encode(fields))


def test_the_kept_governance_answer_shows_a_vote_set_aside_by_a_later_report() -> None:
    council, chain = council_chain()
    stolen_at = chain.height + 1
    proposal_id = admit_mill(chain, council.ministry2)
    governance_answers.forget()
    try:
        def answered() -> dict[str, Any]:
            with CommittedView(chain) as view:
                body = governance_answer(view.state, view.state.root, view.height).body()
            shown: dict[str, Any] = json.loads(body)
            assert shown == json.loads(json.dumps(governance_json(chain.state, chain.height)))
            return next(p for p in shown["proposals"]
                        if p["proposal_id"] == proposal_id.hex())

        assert answered()["votes_set_aside"] == []
        new = rotated(chain, council.ministry2)  # kept: the member's record changed
        assert answered()["votes_set_aside"] == []
        commit(chain, [make_tx(new, ReportCompromisePayload(council.ministry2.public_key,
                                                            stolen_at))])
        assert [v["cast_at"] for v in answered()["votes_set_aside"]] == [stolen_at]
        assert answered()["votes_needed"] == 2
    finally:
        governance_answers.forget()


def test_a_vote_counting_again_leaves_no_proposal_stuck_with_its_votes() -> None:
    """A thief holding a copy of ministry2's current key reports its older, honest key
    stolen, which sets its honest vote aside; the replacement that undoes the report makes
    it count again. Every vote was then refused `already_voted`, and the proposal expired
    with its threshold of votes counted."""
    scene = vote_set_aside()
    chain, made = scene.chain, scene.made
    assert listed(chain, made.tx_id)["votes_needed"] == 1

    new = scene.count_again()
    shown = listed(chain, made.tx_id)
    assert (shown["status"], shown["votes_needed"], shown["votes_set_aside"]) == ("open", 0, [])
    answer = governance_json(chain.state, chain.height)
    assert "the next vote of any voter approves it" in str(
        proposal_state(shown, answer["voters"], chain.height))

    commit(chain, [make_tx(new, VotePayload(made.tx_id))])  # any voter's vote approves it
    assert stored(chain, made.tx_id).approved_height == chain.height
    assert load_member(chain.state, scene.college.member_id) is not None


def test_a_vote_with_the_new_key_in_the_block_of_the_rotation_counts() -> None:
    council, chain = council_chain()
    proposal_id = admit_mill(chain, council.ministry3)
    fresh = KeyPair.generate()
    new = KeyPair.from_seed(fresh.seed, council.ministry2.member_id)
    rotated_at = chain.height + 1
    commit(chain, [make_tx(council.ministry2, RotateKeyPayload(fresh.public_key, prove_possession(
                       fresh, CHAIN_ID, council.ministry2.member_id))),
                   make_tx(new, ReportCompromisePayload(council.ministry2.public_key,
                                                        rotated_at))])
    assert listed(chain, proposal_id)["votes_needed"] == 1
    commit(chain, [make_tx(new, VotePayload(proposal_id))])
    assert stored(chain, proposal_id).approved_height == chain.height


def test_a_ministry_reporting_its_own_key_from_before_its_vote_takes_the_vote_back() -> None:
    """Nothing on chain tells a thief's vote from the ministry's own: ARCHITECTURE says
    so. It costs the ministry the trust of all it signed with that key from there."""
    council = make_council(GovernancePolicy(3), rules_version=STOLEN_VOTES_SET_ASIDE_FROM)
    chain = Chain(MemoryStore(), council.genesis)
    proposal_id = admit_mill(chain, council.ministry)
    voted_at = chain.height + 1
    commit(chain, [make_tx(council.ministry2, VotePayload(proposal_id))])
    assert listed(chain, proposal_id)["votes_needed"] == 1
    rotate_and_report(chain, council.ministry2, voted_at)
    assert listed(chain, proposal_id)["votes_needed"] == 2


def test_an_approval_keeps_only_the_votes_that_carried_it() -> None:
    council, chain = council_chain()
    stolen_at = chain.height + 1
    proposal_id = admit_mill(chain, council.ministry2)  # a thief's, the consortium adopts it
    rotate_and_report(chain, council.ministry2, stolen_at)
    commit(chain, [make_tx(council.ministry3, VotePayload(proposal_id))])
    commit(chain, [make_tx(council.ministry, VotePayload(proposal_id))])
    found = stored(chain, proposal_id)
    assert found.approved_height == chain.height
    assert found.voters == (council.ministry3.member_id, council.ministry.member_id)
    shown = listed(chain, proposal_id)
    assert shown["votes_set_aside"] == []
    assert [v["name"] for v in shown["votes"]] == ["Ministry of Justice", "Ministry of Science"]


def test_a_retired_voters_vote_set_aside_is_not_said_to_count_nor_to_be_cast_again() -> None:
    council = make_council(GovernancePolicy(3), rules_version=STOLEN_VOTES_SET_ASIDE_FROM)
    chain = Chain(MemoryStore(), council.genesis)
    stolen_at = chain.height + 2
    proposal_id = admit_mill(chain, council.ministry)
    commit(chain, [make_tx(council.ministry2, VotePayload(proposal_id))])
    rotate_and_report(chain, council.ministry2, stolen_at)
    shown = listed(chain, proposal_id)
    answer = governance_json(chain.state, chain.height)
    # As listed once ministry2 is retired (three ministries at a threshold of three cannot
    # retire one): no longer among the voters.
    voters = [v for v in answer["voters"] if v["name"] != "Ministry of Education"]
    said = str(proposal_state(shown, voters, chain.height))
    assert said.startswith("Open, voted by Ministry of Science: it needs 2 more votes")
    assert "still counts" not in said
    assert said.endswith(" Ministry of Education's vote does not count: it was cast at "
                         f"height {stolen_at} with a key distrusted from height {stolen_at}, "
                         "and Ministry of Education may vote no more.")
    said_by_a_voter = str(proposal_state(shown, answer["voters"], chain.height))
    assert said_by_a_voter.endswith("if Ministry of Education did vote, it votes again with "
                                    "the key it holds now.")


def test_an_earlier_voter_first_after_an_approval_is_not_judged_as_the_proposer() -> None:
    """An approval drops the votes set aside, the proposal's own among them: the first
    voter left, whose vote from before version 10 kept no height, is not the proposer."""
    council, chain = council_chain()
    rotate_and_report(chain, council.ministry3, 1)  # rotated in block 1, its first key
    proposed_at = 1  # distrusted from there
    ballot = Ballot((council.ministry3.member_id,), (None,), council.ministry2.member_id,
                    proposed_at)
    assert set_aside_votes(chain.state, ballot, STOLEN_VOTES_SET_ASIDE_FROM) == []
    own = Ballot((council.ministry3.member_id,), (None,), council.ministry3.member_id,
                 proposed_at)
    assert [v.voter for v in set_aside_votes(chain.state, own, STOLEN_VOTES_SET_ASIDE_FROM)
            ] == [council.ministry3.member_id]


def test_the_proposers_vote_cast_again_is_not_said_to_be_the_proposal() -> None:
    council, chain = council_chain()
    proposal_id = admit_mill(chain, council.ministry2)
    shown = listed(chain, proposal_id)
    recast_at = shown["proposed_height"] + 3
    proposer = shown["proposer"]
    shown["votes_set_aside"] = [{**proposer, "cast_at": recast_at, "key_distrusted_from": 2}]
    answer = governance_json(chain.state, chain.height)
    said = str(proposal_state(shown, answer["voters"], chain.height))
    assert said.endswith(f" Ministry of Education's vote does not count: it was cast at height "
                         f"{recast_at} with a key distrusted from height 2; if Ministry of "
                         "Education did vote, it votes again with the key it holds now.")


async def test_a_voters_unreadable_key_history_is_the_stores_damage(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """503 store_damaged, as for any damage found while answering: it was 400 `malformed`,
    which tells the client its own request was wrong."""
    council = make_council(rules_version=STOLEN_VOTES_SET_ASIDE_FROM)
    core = api_core(council.ministry, council.genesis, MemoryStore())
    admit_mill(core.chain, council.ministry2)

    def unreadable(*_: object) -> None:
        raise MalformedInput("stored key period is malformed")

    monkeypatch.setattr(governance_votes, "key_history_of", unreadable)
    governance_answers.forget()
    try:
        async with serving(core) as client:
            answer = await client.get("/v1/governance")
            body = await answer.json()
    finally:
        governance_answers.forget()
    assert (answer.status, body["error"]["code"]) == (503, "store_damaged"), body
