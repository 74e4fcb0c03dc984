"""A node its peers no longer hear refuses transactions: its member retired, or the key it
signs with is no longer its member's. What it took waited in its mempool for good (nothing
reaches the others), and the sender was told "not committed yet (pending)" a minute later.
Kept apart from `node.api_public`: these codes are the transaction route's alone, not the
VC routes' (tests/vc/test_vc_problems.py)."""

from __future__ import annotations

from aiohttp import web

from ledger.rules import load_member
from node.http_limits import json_error
from node.service import NodeCore
from node.validators import peer_keys


def cut_off_refusal(core: NodeCore) -> web.Response | None:
    """409 for a node whose peers dropped it (`node_retired`, `node_key_replaced`), else
    None."""
    member = load_member(core.chain.state, core.keys.member_id)
    if (member is not None and member.retired_height is not None
            and member.retired_height <= core.chain.height + 1):
        # its peers dropped it the block before its retirement
        return json_error(409, "node_retired", f"this node's member, {member.name}, left the "
                          f"consortium at block {member.retired_height}: no transaction sent "
                          "here reaches the other nodes; send it to another member's node",
                          params={"member": member.name, "height": member.retired_height})
    if (member is not None and member.public_key != core.keys.public_key
            and core.keys.public_key not in peer_keys(core.chain.state, core.chain.height)):
        # its member rotated away from this key, or the ministries replaced it (a validator's
        # old key is heard two blocks more, peer_keys): the same
        return json_error(409, "node_key_replaced", f"this node signs with a key that is no "
                          f"longer {member.name}'s: the other nodes no longer hear it, so no "
                          "transaction sent here reaches them; restart it with the member's "
                          "current key, or send it to another member's node",
                          params={"member": member.name})
    return None
