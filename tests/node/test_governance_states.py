"""How `senim governance list` and `GET /v1/governance` state a proposal that is open in
the ledger but cannot apply, and a vote of a ministry that is a voter no more."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from ledger.payloads import ACTION_RETIRE_MEMBER, MemberAction, ProposePayload, VotePayload
from tests.node.conftest import commit, make_tx
from tests.node.test_governance import Council, make_council
from tests.node.test_governance_cli import _ChainClient, _key, chain_client

__all__ = ["chain_client"]  # a fixture, used by name


@pytest.fixture
def council() -> Council:
    return make_council()


def test_open_proposals_that_can_no_longer_apply_say_why(
        tmp_path: Path, council: Council, chain_client: type[_ChainClient]) -> None:
    """'Add KazNU to the validators' for two heights and 'retire KazNU' for two: once one
    of each is approved the others are still open in the ledger, but the vote that would
    approve them is refused, so they are not listed as open and waiting for votes."""
    runner = CliRunner()
    chain = chain_client.chain
    first, second = _key(tmp_path, council.ministry, "m1"), _key(tmp_path, council.ministry2,
                                                                 "m2")
    uni = council.university.member_id.hex()

    def propose(action: str, height: int) -> str:
        result = runner.invoke(main, ["governance", "propose", "--key", first, "--action",
                                      action, "--member", uni, "--effective-height",
                                      str(height)])
        assert result.exit_code == 0, result.output
        return result.output.split("proposal id: ")[1].split()[0]

    add_soon, add_later = propose("add-validator", 10), propose("add-validator", 12)
    retire_soon, retire_later = propose("retire-member", 40), propose("retire-member", 44)
    assert runner.invoke(main, ["governance", "vote", "--key", second, add_soon]).exit_code == 0
    shown = runner.invoke(main, ["governance", "list"]).output
    assert (f"Proposal {add_later}: add KazNU to the validators from height 12. Can no "
            "longer apply as the chain stands (the vote that would approve it is refused): "
            "KazNU already validates at height 12. Voted by Ministry of Science; voting "
            "closes at height 10.\n") in shown
    # retiring a validator is refused too (remove it first), and said so
    assert (f"Proposal {retire_soon}: retire KazNU from height 40. Can no longer apply as the "
            "chain stands (the vote that would approve it is refused): KazNU validates at "
            "height 40; remove it from the validator set first. Voted by") in shown
    refused = runner.invoke(main, ["governance", "vote", "--key", second, add_later])
    # the CLI sends none (the ledger would refuse it already_validator) and says why
    assert refused.exit_code == 1 and refused.output.startswith("error: vote not sent: "), \
        refused.output
    assert "KazNU already validates at height 12" in refused.output, refused.output

    remove = runner.invoke(main, ["governance", "propose", "--key", first, "--action",
                                  "remove-validator", "--member", uni,
                                  "--effective-height", "20"])
    remove_id = remove.output.split("proposal id: ")[1].split()[0]
    assert runner.invoke(main, ["governance", "vote", "--key", second, remove_id]
                         ).exit_code == 0
    # with the removal approved, the retirements can apply again: open once more
    assert runner.invoke(main, ["governance", "vote", "--key", second, retire_soon]
                         ).exit_code == 0
    answer = json.loads(runner.invoke(main, ["governance", "list", "--json"]).output)
    by_id = {p["proposal_id"]: p for p in answer["proposals"]}
    assert by_id[retire_later]["status"] == "cannot_apply"
    assert by_id[retire_later]["reason"] == "KazNU is retired from height 40"
    assert by_id[retire_later]["reason_code"] == "already_retired"
    assert by_id[add_later]["status"] == "cannot_apply"
    assert by_id[retire_soon]["status"] == "approved" and by_id[retire_soon]["reason"] is None
    while chain.height < 11:  # add_later's voting closed at height 10
        commit(chain, [])
    shown = runner.invoke(main, ["governance", "list"]).output
    assert (f"Proposal {add_later}: add KazNU to the validators from height 12. Expired: "
            "voting closed at height 10 with the votes of Ministry of Science; nothing "
            "changed.\n") in shown


def test_a_vote_cast_before_the_voters_retirement_was_approved_still_counts_and_says_so(
        tmp_path: Path, council: Council, chain_client: type[_ChainClient]) -> None:
    """The ledger takes a ministry off the voters when its retirement is approved, not
    when it takes effect, and counts what it voted before: the list says so, rather than
    counting a vote from a ministry it no longer names as a voter."""
    chain = chain_client.chain
    retire_uni = make_tx(council.ministry3, ProposePayload(
        MemberAction(ACTION_RETIRE_MEMBER, council.university.member_id), 40, 30))
    retire_justice = make_tx(council.ministry, ProposePayload(
        MemberAction(ACTION_RETIRE_MEMBER, council.ministry3.member_id), 20, 10))
    commit(chain, [retire_uni, retire_justice])
    commit(chain, [make_tx(council.ministry2, VotePayload(retire_justice.tx_id))])
    shown = CliRunner().invoke(main, ["governance", "list"]).output
    assert "a change needs the votes of 2 of the 2 governance voters" in shown
    assert (f"Proposal {retire_uni.tx_id.hex()}: retire KazNU from height 40. Open, voted by "
            "Ministry of Justice: it needs 1 more vote by height 30; not yet voted: Ministry "
            "of Science and Ministry of Education. Ministry of Justice's vote still counts: it "
            "was cast before its retirement was approved, and it may vote no more.\n") in shown
    again = CliRunner().invoke(main, ["governance", "vote", "--key", _key(
        tmp_path, council.ministry3, "m3"), retire_uni.tx_id.hex()])
    assert again.exit_code == 1 and "less those whose retirement is approved" in again.output
    commit(chain, [make_tx(council.ministry2, VotePayload(retire_uni.tx_id))])
    approved = json.loads(CliRunner().invoke(main, ["governance", "list", "--json"]).output)
    assert [p["status"] for p in approved["proposals"]
            if p["proposal_id"] == retire_uni.tx_id.hex()] == ["approved"]


def test_an_open_proposal_whose_votes_may_come_too_late_says_so(
        council: Council, chain_client: type[_ChainClient]) -> None:
    """Voting closes at the next block: a vote sent after a minute without blocks lands
    two blocks on (an empty block first), so 'it needs 1 more vote by height 2' alone
    promised what an idle chain cannot keep."""
    chain = chain_client.chain
    soon = make_tx(council.ministry, ProposePayload(
        MemberAction(ACTION_RETIRE_MEMBER, council.university.member_id), 4, 2))
    later = make_tx(council.ministry, ProposePayload(
        MemberAction(ACTION_RETIRE_MEMBER, council.university.member_id), 5, 3))
    commit(chain, [soon, later])
    shown = CliRunner().invoke(main, ["governance", "list"]).output
    assert (f"Proposal {soon.tx_id.hex()}: retire KazNU from height 4. Open, voted by "
            "Ministry of Science: it needs 1 more vote by height 2; not yet voted: Ministry of "
            "Education and Ministry of Justice. Voting closes soon: after a minute without "
            "blocks the next block is an empty one, and a vote sent after such a pause lands "
            "two blocks on, so the vote it needs may come too late.\n") in shown
    assert (f"Proposal {later.tx_id.hex()}: retire KazNU from height 5. Open, voted by "
            "Ministry of Science: it needs 1 more vote by height 3; not yet voted: Ministry of "
            "Education and Ministry of Justice.\n") in shown
