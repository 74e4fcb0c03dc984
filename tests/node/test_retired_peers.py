"""A retired member's node is no longer a peer: dropped from the block before its
retirement takes effect, which governance scheduled blocks earlier."""

from __future__ import annotations

from ledger.chain import Chain
from ledger.payloads import ACTION_RETIRE_MEMBER
from node.validators import next_member_retirement, own_retirement, peer_keys
from storage.kv import MemoryStore
from tests.node.test_governance import approve, commit_until, make_council, member_action


def test_a_retired_members_node_may_connect_until_the_block_before_its_retirement() -> None:
    council = make_council()
    chain = Chain(MemoryStore(), council.genesis)
    university = council.university.public_key
    assert next_member_retirement(chain.state, chain.height) is None
    approve(chain, council, member_action(ACTION_RETIRE_MEMBER, council.university), 7)
    assert chain.height == 2  # proposed and voted: scheduled for block 7
    assert university in peer_keys(chain.state, chain.height)
    # Its own node says so at once: dropped from block 6, it may never receive that one.
    told = own_retirement(chain.state, council.university.member_id)
    assert told is not None and told.startswith("KazNU is retired from the consortium from "
                                                "block 7: from block 6 on")
    assert own_retirement(chain.state, council.ministry2.member_id) is None
    # No block at 6 or 7 needs a transaction about it: the daemon asks again when due.
    assert next_member_retirement(chain.state, chain.height) == 7
    commit_until(chain, 5)
    assert university in peer_keys(chain.state, chain.height)  # block 6 is its last
    assert next_member_retirement(chain.state, chain.height) == 7
    commit_until(chain, 6)
    allowed = peer_keys(chain.state, chain.height)
    assert university not in allowed and council.ministry2.public_key in allowed
    assert next_member_retirement(chain.state, chain.height) is None
