"""`--only join` joins one source from one peer and then from JOIN_PEERS, each paced as a
follower by a budget of its own: both joins copy the whole state (each value and the tree
above it). That the second asks its peers at once is tests/node/test_state_sync_parallel's."""

from __future__ import annotations

from bench.state_sync import JOIN_PEERS, paced_by_peers


def test_the_join_is_measured_from_one_peer_then_from_several() -> None:
    one, several = paced_by_peers(2_000)
    assert (one["peers"], several["peers"]) == (1, JOIN_PEERS)
    for result in (one, several):
        assert result["values"] >= 2_000 and result["tree_nodes"] > result["values"]
    # Asked in pieces of several peers, the same state takes as many answers or more
    # (a few more: ranges of keys found empty, the tree's top shared out)
    assert several["questions"] >= one["questions"]
