"""Choosing the snapshot to join from: offers asked of several peers, the highest taken.

`node.state_sync` once fixed the first certified offer it got. A lagging peer (honest
but behind, or Byzantine and serving an old but genuinely certified snapshot) could so
make the joiner take an old snapshot; block sync must then fetch the blocks above it,
which peers that themselves joined by state sync above it do not hold (their lowest
held block is their own snapshot), and the joiner could wait for ever. Safety never
was at stake (the snapshot is certified); liveness was.

So a round asks every available peer (up to OFFER_PEERS_MAX, best first; one that
connects during the round too) and ends OFFER_WINDOW_MS after the first offer that
checked out, whoever has answered by then (a join starts while its peers still
connect); the highest offer then wins (one checked to its certificate before one whose
proofs are still to come), the earliest among equals. A single answering peer is still
enough: the window ends whatever the others do. Each offer is checked as it comes, as
before (chain, the proofs followed from genesis, and the certificate once all proofs
are in: the caller does it), so a peer
whose offer fails is distrusted at once and neither opens the window nor wins. An
offer whose proofs come by pages can only be checked to the end once chosen; if it
then fails, its peer is distrusted and a new round asked.

Taking the highest lets a peer win by offering a snapshot nobody else holds and then
saying nothing. So a peer silent on a question of the join loses every round to any
other peer's offer until it serves something, and once silent SILENT_QUESTIONS_MAX
times in a row on the snapshot being copied it no longer counts as holding it: the join
starts again once no peer does. Its silences on the snapshot before are not counted
towards that: else, every peer once silent three times in a row (each overloaded, or
the joiner's own link down for 15 s) would be given up on each new snapshot before it
was asked anything, and the join would start again without end.

The round has no clock of its own: the window opens at the first `choice` call after
an offer came (the caller polls often: `node.state_join` every POLL_S), with that call's
`now_ms`, so `StateSync.accept` needs no time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from node.state_offer import Offer, Snapshot

# Peers asked for an offer in one round. Each answer may be up to STATE_RESPONSE_BYTES
# (2 MiB) and is kept until the round ends, so this bounds the memory a round takes
# (and `node.state_join` sizes its answer queue by it). Validators come first in the
# order asked, so with up to 22 validators (f <= 7) one honest validator is always
# among those asked; a consortium is far smaller.
OFFER_PEERS_MAX = 8
# How long after the first offer that checked out other peers' offers still count. An
# honest peer answers an offer at once, save the first time it builds it (its proofs'
# signatures are checked off its loop, well under a second on a small machine), so a
# peer as ready as the first is in by then; short beside the join (tens of seconds at
# least) and beside RESPONSE_TIMEOUT_MS, so a silent peer costs a join this at most.
OFFER_WINDOW_MS = 1_500
# Questions in a row a peer may leave unanswered (RESPONSE_TIMEOUT_MS each) before it no
# longer counts as holding the snapshot being copied. A busy honest peer answers within
# one; without a bound, a peer that offered the highest snapshot (say one taken at its
# own head, held by nobody else) and then fell silent would be asked again for ever,
# while the others answer that they do not hold it. Three: 15 s of silence.
SILENT_QUESTIONS_MAX = 3


@dataclass(frozen=True)
class Candidate:
    """An offer that checked out as far as it could when it came."""

    offer: Offer
    snapshot: Snapshot | None  # its block checked against its proofs; None: pages are left

    @property
    def height(self) -> int:
        return self.offer.height

    @property
    def peer(self) -> bytes:
        return self.offer.peer


class OfferRound:
    """The offer questions of one round, by peer, and the offers that checked out."""

    def __init__(self) -> None:
        self._open: dict[bytes, int] = {}  # peer -> when asked; not answered yet
        self._asked: set[bytes] = set()  # this round, answered or not
        self._candidates: list[Candidate] = []
        self._window_from_ms: int | None = None  # the first `choice` after an offer came
        # Peer -> questions of the join it left unanswered in a row, since it last served
        # (`served`; an offer does not count). Such a peer is asked after the others, and
        # its offer taken only if no other peer's came: else a peer that offers the
        # highest snapshot and then says nothing would win every round, and the join
        # never end. One entry at most per peer asked (members and allowed observers).
        self._silent: dict[bytes, int] = {}
        # Of those, the silences since the snapshot being copied was fixed (`given_up`);
        # a key only while it is in _silent
        self._silent_on_snapshot: dict[bytes, int] = {}

    @property
    def busy(self) -> bool:
        """A question is open or an offer waits for the round's end."""
        return bool(self._open or self._candidates)

    def is_open(self, peer: bytes) -> bool:
        return peer in self._open

    def to_ask(self, now_ms: int, available: Sequence[bytes],
               timed_from: Callable[[bytes, int], tuple[int, None]]) -> list[bytes]:
        """Peers to ask for an offer now: those `available` (best first) not asked in this
        round yet, silent ones last, within OFFER_PEERS_MAX for the round. Each question
        times out RESPONSE_TIMEOUT_MS after `timed_from` says (`BusyPeers.timed_from`:
        from the first question a peer left by busy answers)."""
        room = OFFER_PEERS_MAX - len(self._asked)
        fresh = [p for p in available if p not in self._asked]
        peers = sorted(fresh, key=lambda p: p in self._silent)[:max(0, room)]
        for peer in peers:
            self._open[peer], _ = timed_from(peer, now_ms)
            self._asked.add(peer)
        return peers

    def answered(self, peer: bytes) -> None:
        """`peer` answered its offer question, whatever it answered."""
        self._open.pop(peer, None)

    def ask_again(self, peer: bytes) -> int:
        """`peer` answered busy (node.sync_busy): no offer, and asked again in this round
        once it is free. When its question was asked (or is timed from)."""
        self._asked.discard(peer)
        return self._open.pop(peer)

    def offered(self, candidate: Candidate) -> None:
        self.answered(candidate.peer)
        self._candidates.append(candidate)

    def expire(self, now_ms: int, timeout_ms: int) -> None:
        """Questions open `timeout_ms` are given up: their peers are silent."""
        for peer, asked_ms in list(self._open.items()):
            if now_ms - asked_ms >= timeout_ms:
                del self._open[peer]
                self.went_silent(peer)

    def went_silent(self, peer: bytes) -> None:
        """`peer` did not answer another question of the join in time."""
        self._silent[peer] = self._silent.get(peer, 0) + 1
        self._silent_on_snapshot[peer] = self._silent_on_snapshot.get(peer, 0) + 1

    def served(self, peer: bytes) -> None:
        """`peer` answered a question past the offer well."""
        self._silent.pop(peer, None)
        self._silent_on_snapshot.pop(peer, None)

    def silences(self, peer: bytes) -> int:
        """The questions of the join `peer` left unanswered in a row since it last served."""
        return self._silent.get(peer, 0)

    def new_snapshot(self) -> None:
        """A snapshot was fixed: silences are counted towards `given_up` from now."""
        self._silent_on_snapshot.clear()

    def given_up(self, peer: bytes) -> bool:
        """Whether `peer` left SILENT_QUESTIONS_MAX questions in a row unanswered since it
        last served, on the snapshot being copied: it no longer counts as holding it."""
        return self._silent_on_snapshot.get(peer, 0) >= SILENT_QUESTIONS_MAX

    def choice(self, now_ms: int, available: Sequence[bytes]) -> Candidate | None:
        """The highest offer of a peer still `available` once the round is over (a new
        round then starts); None while it is not, or if no such offer came."""
        if not self._candidates:
            return None
        if self._window_from_ms is None:
            self._window_from_ms = now_ms
        # The whole window, even when every peer asked has answered: a join starts while
        # its peers still connect, and the first alone, asked alone, would win again.
        if now_ms - self._window_from_ms < OFFER_WINDOW_MS:
            return None
        offers = [c for c in self._candidates if c.peer in available]
        self.reset()
        if not offers:
            return None
        # The highest of peers not found silent, one checked to its certificate before one
        # whose proofs are still to come by pages (its height is only claimed so far); the
        # first to arrive of equals
        return max(offers, key=lambda c: (c.peer not in self._silent,
                                          c.snapshot is not None, c.height))

    def reset(self) -> None:
        """A new round: every peer may be asked again, late answers to this one are not
        taken (`is_open`)."""
        self._open.clear()
        self._asked.clear()
        self._candidates.clear()
        self._window_from_ms = None
