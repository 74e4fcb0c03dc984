"""Pure policies of the peer manager: channels, backoff, tie-break, gossip dedupe.

Nothing here does IO or reads a clock; randomness is passed in.
"""

from __future__ import annotations

import enum
import hashlib
import random
from collections import OrderedDict
from dataclasses import dataclass

KEEPALIVE_CHANNEL = 0  # reserved: empty frames that prove the peer is alive
CHANNEL_ID_MAX = 0xFF


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


@dataclass(frozen=True)
class Channel:
    """A message stream declared up front, with its own limits.

    `queue_capacity` bounds messages waiting per peer on this channel, in each
    direction: to be sent (a full queue makes `send` return False) and to be
    handled (a full inbox drops the received message). Either drop is counted. `gossip` marks
    channels whose incoming messages are deduplicated and may be re-broadcast
    with `PeerManager.gossip`.
    """

    id: int
    name: str
    max_message_bytes: int
    queue_capacity: int
    gossip: bool = False

    def __post_init__(self) -> None:
        if not KEEPALIVE_CHANNEL < self.id <= CHANNEL_ID_MAX:
            raise ValueError(f"channel id must be 1..{CHANNEL_ID_MAX} (0 is reserved)")
        if not self.name:
            raise ValueError("channel name must not be empty")
        if self.max_message_bytes <= 0 or self.queue_capacity <= 0:
            raise ValueError(f"channel {self.name}: sizes must be positive")


def backoff_delay_s(attempt: int, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Exponential backoff with jitter: uniform in [ceiling/2, ceiling].

    `attempt` counts consecutive failures (0 = first retry). The jitter keeps
    nodes that lost a common peer from redialling it in lockstep.
    """
    ceiling = min(cap_s, base_s * 2.0 ** min(attempt, 32))
    return rng.uniform(ceiling / 2, ceiling)


def keep_new_connection(
    existing: Direction, new: Direction, own_key: bytes, peer_key: bytes
) -> bool:
    """Decide which of two connections to the same peer survives.

    Both ends apply the same rule and reach the same answer: if both sides dialled,
    the connection dialled by the lower public key wins. A second connection in
    the same direction means the dialler lost the first one (e.g. restarted), so
    the newer one wins.
    """
    if existing is new:
        return True
    dialled_by_us = new is Direction.OUTBOUND
    we_are_lower = own_key < peer_key
    return dialled_by_us == we_are_lower


class GossipFilter:
    """Bounded LRU of message digests: deliver each gossip message once, forward once."""

    def __init__(self, max_entries: int) -> None:
        if max_entries <= 0:
            raise ValueError("gossip filter needs room for at least one entry")
        self._max_entries = max_entries
        self._forwarded: OrderedDict[bytes, bool] = OrderedDict()

    def __len__(self) -> int:
        return len(self._forwarded)

    def note_received(self, channel: int, payload: bytes) -> bool:
        """Record a received message; True if it is new (deliver it), False if a duplicate."""
        digest = _digest(channel, payload)
        if digest in self._forwarded:
            self._forwarded.move_to_end(digest)
            return False
        self._remember(digest, forwarded=False)
        return True

    def claim_forward(self, channel: int, payload: bytes) -> bool:
        """True exactly once per message (while remembered): the caller should forward it."""
        digest = _digest(channel, payload)
        if self._forwarded.get(digest, False):
            self._forwarded.move_to_end(digest)
            return False
        self._remember(digest, forwarded=True)
        return True

    def _remember(self, digest: bytes, *, forwarded: bool) -> None:
        self._forwarded[digest] = forwarded
        self._forwarded.move_to_end(digest)
        while len(self._forwarded) > self._max_entries:
            self._forwarded.popitem(last=False)


def _digest(channel: int, payload: bytes) -> bytes:
    return hashlib.sha256(bytes((channel,)) + payload).digest()
