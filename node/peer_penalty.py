"""What a peer pays for junk transaction gossip: past a threshold, its gossip is dropped.

Junk is what no honest peer sends: a CH_TXS frame that is not an array of byte
strings, a transaction in one that does not decode (refused `malformed`), or one whose
signature is forged where the relay must have held the same key for its sender
(`Network.receive_gossip_into` says when). An honest peer relays only transactions it
admitted, so they decode and their signatures were good there; one that became
invalid meanwhile (committed, expired, its sender's key rotated) is refused for
that reason, never as malformed, and costs nothing here. Nor is a transaction of a
version, kind or listed value (a credential type, a reason) this release does not know
junk (refused `unrecognised`): in a rolling upgrade the newer peers relay what their
release defines, and nothing here can judge it. Only transaction gossip
is dropped: consensus frames, block announcements and sync go on as before, so a
validator muted here (Byzantine, or running a release that decodes differently)
still takes part in consensus.

A muted peer's frames are still read and decrypted (the channel is inside the
ciphertext), as any peer's frames on any channel are: ~2.4 ms of CPU per MB against
~1.1 s per MB of honest gossip (BENCHMARKS.md), so only the handling is skipped.

A peer is a consortium member or allowed observer, so the table is small.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

JUNK_WINDOW_S = 10.0  # junk is counted per peer over a window this long
# Junk items (malformed frames and malformed transactions) one peer may send in a
# window; the next one mutes its gossip. Far above what a bug in an honest peer would
# show once, far below the thousands a frame of junk carries.
JUNK_PER_WINDOW_MAX = 64
GOSSIP_MUTED_S = 60.0  # how long a peer's transaction gossip is dropped once muted


@dataclass
class _Peer:
    window_start: float
    junk: int = 0
    muted_until: float = 0.0
    dropped: int = 0  # frames dropped unread while muted, said in the next line about it


class GossipPenalties:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._peers: dict[bytes, _Peer] = {}

    def muted(self, peer_key: bytes) -> bool:
        """Whether to drop this peer's gossip frame unread (and count it dropped)."""
        peer = self._peers.get(peer_key)
        if peer is None or peer.muted_until <= self._clock():
            return False
        peer.dropped += 1
        return True

    def junk(self, peer_key: bytes, items: int = 1) -> int | None:
        """Count `items` of junk from a peer. When this mutes it, the number of frames
        dropped during its previous muting (for the one log line); else None."""
        if items <= 0:
            return None
        now = self._clock()
        peer = self._peers.setdefault(peer_key, _Peer(now))
        if now - peer.window_start >= JUNK_WINDOW_S:
            peer.window_start, peer.junk = now, 0
        peer.junk += items
        if peer.junk < JUNK_PER_WINDOW_MAX or peer.muted_until > now:
            return None
        peer.muted_until = now + GOSSIP_MUTED_S
        peer.window_start, peer.junk = now, 0
        dropped, peer.dropped = peer.dropped, 0
        return dropped
