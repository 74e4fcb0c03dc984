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
does not say so, nor move `BlockSync.behind`, when this node merely runs late). So it
counts only once this node holds the height the relay had when it relayed, and the
sender's key here is still the one it was found bad under. That height is bounded by
what the relay's answer to a block-sync question asked after the signature arrived
shows (`RelayHeights`; the relay is asked when it is first suspected): an honest node's
height only grows. While that answer is not in, or shows a height above ours, the
suspicion waits another FORGED_SETTLE_S and the relay is asked again. Once ours is at
least that height and the key here is unchanged, the relay held that key too (a key
serves one member once, so no other key came between) and relayed what it had found bad.

A relay gains nothing by lying about its height. Showing one at or below ours makes its
forgeries count. One above ours stands only in an answer whose blocks extend our head,
each checked by its commit certificate as we apply them, and fill an answer (an honest
relay stops only there or at its head; else the answer shows the height its blocks bring
us to, `BlockSync.backed`). Those blocks start right after our head as the answer is
taken: blocks we have committed since we asked (from another peer, while the relay's
answer travelled) back nothing beyond the head, since a relay no further than us could
hand them back late, once we had them from others (the very blocks we hold, they show at
most our head). An empty answer shows at most our head whatever it claims, and an answer
that fails, brings nothing new and is not ours, or does not come in time
(`node.sync.RESPONSE_TIMEOUT_MS`) shows nothing. So a relay puts its penalty off only by
handing us a full answer of certified blocks we lack each time it is asked, that is by
being far ahead of us, the case the wait is for, and only until we hold the chain's
head. (An honest relay ahead of us whose answer is overtaken so shows our head: its
suspicions then count only if the sender's key here is still the one they were bad
under, after the blocks we took from the other peer.) A relay that shows a height above
ours is asked again each FORGED_SETTLE_S, one such question at a time, asked only when
no block is wanted (it waits for the questions for blocks) and then open beside them
(they do not wait for it). (An honest relay ahead of us whose answer does not come in
time shows nothing either, and may then be counted: a narrower case than a node that
merely runs late, as every node sometimes does.)

A peer is a consortium member or allowed observer, so the table is small.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

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
# (peer, suspect) pairs waiting at once, and the distinct senders one peer may wait on. An
# honest relay ahead of this node relays as forged-looking only the senders that rotated
# their key within its lead: a handful. Past either bound a new suspect is judged at the
# next settle by the sender's key alone (`take_overflow`), neither waiting nor dropped: a
# relay forging in many members' names (a consortium may have thousands) would else push
# its own suspicions, and other relays', out of the table uncounted.
FORGED_SUSPECTS_MAX = 1024
FORGED_SUSPECTS_PER_PEER_MAX = 64


class RelayHeights(Protocol):
    """What block sync learns of peers' heights (`node.sync_heights.SyncHeights`)."""

    def questions(self) -> int:
        """Block-sync questions asked so far."""
        ...

    def shown(self, peer_key: bytes) -> tuple[int, int] | None:
        """The number of the latest question the peer answered (or failed to) and the
        height that answer showed it holds; None if it never answered one."""
        ...

    def ask(self, peer_key: bytes) -> None:
        """Have the peer asked what follows our head, soon."""
        ...


# Suspicions of one peer that are due: the number of block-sync questions asked when the
# latest of them was first suspected, and the forged signatures of each suspect.
Due = tuple[int, dict[Suspect, int]]


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
        # (peer, suspect) -> (first suspected at, forged signatures, block-sync questions
        # asked by then), oldest first
        self._suspects: dict[tuple[bytes, Suspect], tuple[float, int, int]] = {}
        self._waiting: dict[bytes, int] = {}  # peer -> its pairs in _suspects
        # peer -> suspect -> forged signatures past the bounds, judged at the next settle;
        # drained on every gossip frame received, so it holds at most a frame's worth
        self._overflow: dict[bytes, dict[Suspect, int]] = {}

    def suspect(self, peer_key: bytes, suspects: Iterable[Suspect], questions: int = 0,
                ) -> bool:
        """Forged-looking signatures a peer relayed (one entry per signature); they count
        as junk only if `due_suspicions` still finds them forged. `questions`: block-sync
        questions asked so far. True if a suspect of this peer is new.

        A suspect suspected again keeps its first number: once an answer to a later
        question shows that its first signature was forged, the relay is faulty, and the
        rest count with it."""
        now = self._clock()
        new = False
        for suspect in suspects:
            first, count, asked = self._suspects.get((peer_key, suspect), (now, 0, questions))
            if not count and not self._room_for(peer_key):
                self._overflowed(peer_key, suspect, 1)
                continue
            new = new or count == 0
            self._keep(peer_key, suspect, (first, count + 1, asked), count == 0)
        return new

    def _room_for(self, peer_key: bytes) -> bool:
        return (len(self._suspects) < FORGED_SUSPECTS_MAX
                and self._waiting.get(peer_key, 0) < FORGED_SUSPECTS_PER_PEER_MAX)

    def _keep(self, peer_key: bytes, suspect: Suspect, entry: tuple[float, int, int],
              new: bool) -> None:
        self._suspects[(peer_key, suspect)] = entry
        if new:
            self._waiting[peer_key] = self._waiting.get(peer_key, 0) + 1

    def _overflowed(self, peer_key: bytes, suspect: Suspect, count: int) -> None:
        counts = self._overflow.setdefault(peer_key, {})
        counts[suspect] = counts.get(suspect, 0) + count

    def take_overflow(self) -> dict[bytes, dict[Suspect, int]]:
        """Suspects past the bounds, by peer, taken out: to be judged now by the sender's
        key alone, as if this node were not behind their relay."""
        overflow, self._overflow = self._overflow, {}
        return overflow

    def wait_again(self, peer_key: bytes, due: Due) -> None:
        """Due suspicions put back for another FORGED_SETTLE_S (the relay's height is not
        known to be ours yet); past the bounds, judged at the next settle instead."""
        questions, suspects = due
        now = self._clock()
        for suspect, count in suspects.items():
            first, before, asked = self._suspects.get((peer_key, suspect), (now, 0, questions))
            if not before and not self._room_for(peer_key):
                self._overflowed(peer_key, suspect, count)
                continue
            self._keep(peer_key, suspect, (first, before + count, min(asked, questions)),
                       not before)

    def due_suspicions(self) -> dict[bytes, Due]:
        """Suspicions FORGED_SETTLE_S old, taken out, by peer."""
        due: dict[bytes, Due] = {}
        if not self._suspects:
            return due
        settle_before = self._clock() - FORGED_SETTLE_S
        settled: list[tuple[bytes, Suspect]] = []
        for pair, (first, count, asked) in self._suspects.items():
            if first > settle_before:
                break  # oldest first: the rest are younger
            settled.append(pair)
            peer_key, suspect = pair
            latest, counts = due.get(peer_key, (asked, {}))
            counts[suspect] = count
            due[peer_key] = (max(latest, asked), counts)
        for pair in settled:
            del self._suspects[pair]
            peer_key = pair[0]
            left = self._waiting[peer_key] - 1
            if left:
                self._waiting[peer_key] = left
            else:
                del self._waiting[peer_key]
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
