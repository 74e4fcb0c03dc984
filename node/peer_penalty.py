"""What a peer pays for junk transaction gossip: past a threshold, its gossip is dropped.

Junk is what no honest peer sends: a CH_TXS frame that is not an array of byte
strings, a transaction in one that does not decode (refused `malformed`), or one whose
signature is forged where the relay must have found it bad too
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

A forged signature is held as a suspicion for FORGED_SETTLE_S before it counts
(`suspect`, then `due_suspicions`): a relay that committed the block holding the sender's
next key rotation before this node did signs off on the new key, and this node finds the
signature bad until it commits that block too, without knowing it is behind (consensus
does not say so). Only what still looks forged once that time has passed, the sender's
key here still the one it was found bad under, counts as junk.

A peer is a consortium member or allowed observer, so the table is small.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

# A forged-looking signature: (the sender's member id, the key it was found bad under).
Suspect = tuple[bytes, bytes]

JUNK_WINDOW_S = 10.0  # junk is counted per peer over a window this long
# Junk items (malformed frames and malformed transactions) one peer may send in a
# window; the next one mutes its gossip. Far above what a bug in an honest peer would
# show once, far below the thousands a frame of junk carries.
JUNK_PER_WINDOW_MAX = 64
GOSSIP_MUTED_S = 60.0  # how long a peer's transaction gossip is dropped once muted
# How long a forged signature waits before it counts: far longer than one node commits
# a block after another does, short enough that a forging peer is still muted soon.
FORGED_SETTLE_S = 10.0
# (peer, suspect) pairs suspected at once; past it the oldest is settled early. Senders are
# members (an unknown one is refused before its signature), so this is rarely reached.
FORGED_SUSPECTS_MAX = 1024


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
        # (peer, suspect) -> (first suspected at, forged signatures), oldest first
        self._suspects: dict[tuple[bytes, Suspect], tuple[float, int]] = {}

    def suspect(self, peer_key: bytes, suspects: Iterable[Suspect]) -> None:
        """Forged-looking signatures a peer relayed (one entry per signature); they count
        as junk only if `due_suspicions` still finds them forged."""
        now = self._clock()
        for suspect in suspects:
            first, count = self._suspects.get((peer_key, suspect), (now, 0))
            self._suspects[(peer_key, suspect)] = (first, count + 1)

    def due_suspicions(self) -> dict[bytes, dict[Suspect, int]]:
        """Suspicions FORGED_SETTLE_S old (or the oldest past FORGED_SUSPECTS_MAX), taken
        out: peer -> suspect -> forged signatures."""
        due: dict[bytes, dict[Suspect, int]] = {}
        if not self._suspects:
            return due
        settle_before = self._clock() - FORGED_SETTLE_S
        overflow = len(self._suspects) - FORGED_SUSPECTS_MAX
        settled: list[tuple[bytes, Suspect]] = []
        for pair, (first, count) in self._suspects.items():
            if first > settle_before and len(settled) >= overflow:
                break  # oldest first: the rest are younger
            settled.append(pair)
            peer_key, suspect = pair
            due.setdefault(peer_key, {})[suspect] = count
        for pair in settled:
            del self._suspects[pair]
        return due

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
