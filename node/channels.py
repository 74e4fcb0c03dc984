"""The node's P2P channels: ids, largest message and queue depth of each.

Consensus frames have a channel of their own so they are never queued behind
transaction gossip or block sync.
"""

from __future__ import annotations

from consensus import max_message_bytes
from ledger.blocks import MAX_BLOCK_BYTES
from p2p import Channel

CH_CONSENSUS = 1
CH_TXS = 2
CH_SYNC_REQUEST = 3
CH_SYNC_RESPONSE = 4
CH_BLOCK = 5
CH_STATE_REQUEST = 6  # state sync (node.state_sync): a joining node's questions
CH_STATE_RESPONSE = 7
GOSSIP_BATCH_BYTES = 1024 * 1024
BLOCK_MESSAGE_BYTES = MAX_BLOCK_BYTES + 64 * 1024  # a block with its certificate
SYNC_RESPONSE_BYTES = 4 * BLOCK_MESSAGE_BYTES
# A state-sync question names at most 2,048 tree positions (up to 36 bytes each); an
# answer holds 2,048 node records, or values of about 512 KiB but at least one value
# (a state value is at most 1 MiB).
STATE_REQUEST_BYTES = 96 * 1024
STATE_RESPONSE_BYTES = 2 * 1024 * 1024


def channels_for(validator_count: int) -> list[Channel]:
    """Every channel's largest message and queue; a NewView carries up to n blocks."""
    consensus_bytes = max_message_bytes(MAX_BLOCK_BYTES, validator_count)
    return [
        Channel(CH_CONSENSUS, "consensus", consensus_bytes, 512),
        Channel(CH_TXS, "transactions", 2 * GOSSIP_BATCH_BYTES, 256),
        Channel(CH_SYNC_REQUEST, "sync-request", 1024, 64),
        Channel(CH_SYNC_RESPONSE, "sync-response", SYNC_RESPONSE_BYTES, 16),
        Channel(CH_BLOCK, "block", BLOCK_MESSAGE_BYTES, 64),
        Channel(CH_STATE_REQUEST, "state-request", STATE_REQUEST_BYTES, 16),
        Channel(CH_STATE_RESPONSE, "state-response", STATE_RESPONSE_BYTES, 4),
    ]
