"""`senim governance vote` on a proposal whose voting closes soon or has closed.

`propose` and `list` warn when votes may land after a proposal's voting closes; `vote`
said nothing, and sent a vote the ledger refuses (voting closed, or the change it would
approve no longer possible as the chain stands) for the node to refuse. It now says so
in `list`'s words: a warning for a vote that may land too late, and no vote sent, exit 1,
for one the ledger would refuse. The CLI talks to test_governance_cli's stand-in client,
which commits each transaction in its own block of a real chain.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli.main import main
from ledger.chain import Chain
from ledger.governance_policy import GovernancePolicy
from ledger.identity import KeyPair
from ledger.payloads import (
    ACTION_ADD_VALIDATOR,
    MemberAction,
    ProposePayload,
    VotePayload,
)
from ledger.transactions import Transaction
from storage.kv import MemoryStore
from tests.node.conftest import admission_action, commit, make_tx
from tests.node.test_governance import Council, make_council
from tests.node.test_governance_cli import _ChainClient, _key, chain_client

__all__ = ["chain_client"]  # a fixture, used by name

LATE = ("Voting closes soon: after a minute without blocks the next block is an empty one, "
        "and a vote sent after such a pause lands two blocks on, so the vote it needs may "
        "come too late.")


@pytest.fixture
def council() -> Council:
    return make_council()


def _admit(council: Council, name: str, effective: int, expiry: int) -> Transaction:
    return make_tx(council.ministry, ProposePayload(
        admission_action(KeyPair.generate(), name, "university"), effective, expiry))


def _vote(tmp_path: Path, council: Council, proposal: Transaction) -> Result:
    """The Ministry of Education votes for `proposal` through the CLI."""
    return CliRunner().invoke(main, ["governance", "vote", "--key",
                                     _key(tmp_path, council.ministry2, "m2"),
                                     proposal.tx_id.hex()])


def _listed(proposal: Transaction) -> str:
    shown = CliRunner().invoke(main, ["governance", "list"])
    assert shown.exit_code == 0, shown.output
    [line] = [line for line in shown.output.splitlines()
              if line.startswith(f"Proposal {proposal.tx_id.hex()}: ")]
    return line[len("Proposal "):]


def test_a_vote_that_may_land_after_voting_closes_is_warned_of_and_sent(
        tmp_path: Path, council: Council, chain_client: type[_ChainClient]) -> None:
    chain = chain_client.chain
    soon, roomy = _admit(council, "Satbayev University", 5, 3), _admit(council, "KBTU", 7, 5)
    commit(chain, [soon, roomy])
    commit(chain, [])  # the head is at 2: a vote sent after a pause lands at 4, past 3
    key = _key(tmp_path, council.ministry2, "m2")
    assert _listed(soon).endswith(LATE) and not _listed(roomy).endswith(LATE)

    voted = CliRunner().invoke(main, ["governance", "vote", "--key", key, soon.tx_id.hex()])
    assert voted.exit_code == 0, voted.output
    assert f"warning: proposal {soon.tx_id.hex()}: {LATE}\n" in voted.output
    assert "vote: committed at height 3" in voted.output
    voted = CliRunner().invoke(main, ["governance", "vote", "--key", key, roomy.tx_id.hex()])
    assert voted.exit_code == 0 and "warning" not in voted.output, voted.output


def test_a_vote_after_voting_closed_is_not_sent(
        tmp_path: Path, council: Council, chain_client: type[_ChainClient]) -> None:
    chain = chain_client.chain
    closed = _admit(council, "Satbayev University", 5, 3)
    commit(chain, [closed])
    while chain.height < 3:  # the next block is past the expiry height
        commit(chain, [])
    said = _listed(closed)
    assert said.endswith("Expired: voting closed at height 3 with the votes of Ministry of "
                         "Science; nothing changed."), said
    voted = _vote(tmp_path, council, closed)
    assert voted.exit_code == 1 and voted.output == f"error: vote not sent: proposal {said}\n"
    assert chain.height == 3


def test_a_vote_that_would_approve_what_can_no_longer_apply_is_not_sent(
        tmp_path: Path, council: Council, chain_client: type[_ChainClient]) -> None:
    chain = chain_client.chain
    add = MemberAction(ACTION_ADD_VALIDATOR, council.university.member_id)
    first, second = (make_tx(council.ministry, ProposePayload(add, h, h - 2)) for h in (30, 31))
    commit(chain, [first, second])
    commit(chain, [make_tx(council.ministry3, VotePayload(first.tx_id))])
    said = _listed(second)
    assert "Can no longer apply as the chain stands" in said, said
    voted = _vote(tmp_path, council, second)
    assert voted.exit_code == 1 and voted.output == f"error: vote not sent: proposal {said}\n"
    assert chain.height == 2


def test_a_vote_short_of_the_threshold_is_sent_even_when_the_change_cannot_apply(
        tmp_path: Path, chain_client: type[_ChainClient]) -> None:
    """Three votes needed: the ledger takes a second vote for a change it does not allow as
    the chain stands (a later change may allow it again), so the vote is sent, warned."""
    council = make_council(GovernancePolicy(threshold=3))
    chain = chain_client.chain = Chain(MemoryStore(), council.genesis)
    add = MemberAction(ACTION_ADD_VALIDATOR, council.university.member_id)
    first, second = (make_tx(council.ministry, ProposePayload(add, h, h - 2)) for h in (30, 31))
    commit(chain, [first, second])
    commit(chain, [make_tx(council.ministry2, VotePayload(first.tx_id)),
                   make_tx(council.ministry3, VotePayload(first.tx_id))])
    said = _listed(second)
    assert "Can no longer apply as the chain stands" in said, said
    voted = _vote(tmp_path, council, second)
    assert voted.exit_code == 0, voted.output
    assert f"warning: proposal {said}\n" in voted.output
    assert "vote: committed at height 3" in voted.output
