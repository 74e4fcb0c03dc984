"""State sync as a state machine without IO: join from a certified snapshot, not a replay.

A node with an empty store (`[sync] state_sync = true`) asks its peers:

1. for an offer, several peers at once (`node.offer_round`): the block of the
   peer's snapshot, its commit certificate and the proofs of the validator-set
   changes from genesis up to it (as many as fit in an answer; if more are left,
   the offering peer is asked for the rest a page at a time, each page checked as
   it comes). The joiner follows the set from genesis through those proofs
   (`ledger.light_client`); an offer counts if its block is this chain's, names
   the set in force at its height and is certified by that set. The highest that
   counts among those come within a short window after the first fixes the
   snapshot (the first alone would let a lagging peer hand over a snapshot so old
   that no peer holds the blocks after it); its state root is the only thing
   trusted from then on. The block's own `v:index` is only proven once
   its value arrives (step 3): if it lists a change the proofs skipped, the offer
   was a lie by omission, its peer is distrusted and the join starts again.
2. for the state tree's nodes, top-down, NODES_PER_QUESTION positions at a time.
   Every node must hash to what its parent names (`storage.state_transfer`).
3. for the state values in key order, by ranges of keys (`node.value_ranges`); each
   must match its leaf's value hash.
   Steps 2 and 3 ask several peers at once (`node.state_pieces`, within
   PIECES_IN_FLIGHT_MAX questions open and PIECES_PER_PEER_MAX a peer): each serving
   node paces each asker (node.serve_budget), so one peer at a time gave a join one
   peer's rate.
4. then `final_writes` makes the store a chain whose head (and lowest held block)
   is the snapshot's block, keeping the set-change proofs it followed
   (`ledger.set_change_records`) so that it can serve light clients and joiners in
   turn, and block sync (`node.sync`) fetches the blocks after it.

A peer whose answer is wrong is distrusted for the rest of the join: the same
question goes to another peer holding the same snapshot (honest peers hold the
same heights, see `node.state_serve`). A peer silent for RESPONSE_TIMEOUT_MS is
passed over, its question asked of another: each question goes to a free peer with
the fewest silences in a row of those holding the snapshot, or waits for such a one
busy or still answering, so a peer that serves once and then says nothing costs the
join one timeout while a better peer is there, not one each time that one is busy.
Silent SILENT_QUESTIONS_MAX times in a row on this snapshot, a peer no longer counts
as holding it (a good answer resets the count, so alone it may cost each question
SILENT_QUESTIONS_MAX - 1 timeouts). The copy itself is `node.state_copy`'s. One
answering "busy, ask again in N ms" (node.sync_busy; only once joiners mark their
questions, `MARK_STATE_QUESTIONS`: until then a server drops what it cannot answer now
and the question times out) gives its question back and is
asked again then, another free peer as good at once, but counts as silent once each
RESPONSE_TIMEOUT_MS with no real answer (`BusyPeers`, offer questions too, the
reckoning kept past the round): no more time than its silence would cost. When no
peer holds the snapshot any more, the join starts again from a new offer and the
caller wipes what it wrote (`Progress.restart`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from ledger.codec import decode, encode
from ledger.errors import MalformedInput
from ledger.genesis import Genesis
from ledger.light_client import SetCertificateCheck
from node.offer_round import Candidate, OfferRound
from node.state_copy import SnapshotCopy, Writes
from node.state_offer import Offer, Snapshot, offer_from_answer
from node.state_pieces import Piece
from node.state_wire import (
    ANSWER_ARRAYS_MAX,
    ANSWER_ITEMS_MAX,
    ASK_OFFER,
    ASK_SET_CHANGES,
    NOT_HELD,
    marked,
)
from node.sync import SyncRequest
from node.sync_busy import BusyPeers, is_height, read_busy
from storage.state_transfer import StateImport

RESPONSE_TIMEOUT_MS = 5_000
# How long to wait for a peer with a snapshot when every peer connected so far has none
# (the others may still be connecting) before giving up on state sync.
OFFER_PATIENCE_MS = 3_000


class Phase(Enum):
    OFFER = "offer"
    SET_CHANGES = "set changes"  # the offer's proofs did not all fit: the rest, by pages
    NODES = "nodes"
    VALUES = "values"
    DONE = "done"
    UNAVAILABLE = "unavailable"  # every peer answered that it holds no snapshot


@dataclass
class Progress:
    """What an answer led to: the KV writes of what it brought that checked out."""

    writes: Writes = field(default_factory=dict)


class StateSync:
    def __init__(self, genesis: Genesis, certified: SetCertificateCheck) -> None:
        """`certified`: `node.validators.certifies_by_keys(genesis.chain_id)`."""
        self._genesis = genesis
        self._certified = certified
        self.phase = Phase.OFFER
        self._offer: Offer | None = None  # in Phase.SET_CHANGES
        self._round = OfferRound()  # in Phase.OFFER: the offer questions, several open
        self._copy: SnapshotCopy | None = None  # in Phase.NODES and VALUES, and once DONE
        self.distrusted: set[bytes] = set()  # sent something wrong during this join
        self._not_held: set[bytes] = set()  # no snapshot, or not this one
        self._busy: BusyPeers[None] = BusyPeers()  # told to ask again later
        self._asked: bytes | None = None  # the one question open in Phase.SET_CHANGES
        self._asked_at_ms = 0
        self._offer_refused_late = False  # the caller must wipe what the join wrote
        self.restarts = 0
        self._started_ms: int | None = None

    @property
    def finished(self) -> bool:
        return self.phase in (Phase.DONE, Phase.UNAVAILABLE)

    @property
    def snapshot(self) -> Snapshot | None:
        """The snapshot being copied, once fixed."""
        return None if self._copy is None else self._copy.snapshot

    @property
    def state(self) -> StateImport | None:
        """Its state as copied so far."""
        return None if self._copy is None else self._copy.state

    # ---- asking ------------------------------------------------------------------------
    def next_requests(self, now_ms: int, peers: Sequence[bytes]
                      ) -> tuple[list[SyncRequest], bool]:
        """The questions to send now (to several peers, save for the pages of an offer's
        proofs), and whether the join started again (the caller then wipes the state
        written so far first). `peers`: connected, best first."""
        if self.finished:
            return [], False
        for busy_peer, _ in self._busy.overdue(now_ms, RESPONSE_TIMEOUT_MS):
            self._went_silent(busy_peer)  # busy since a timeout ago, with no real answer
        if self._copy is not None:
            for piece in self._copy.pieces.overdue(now_ms, RESPONSE_TIMEOUT_MS):
                self._went_silent(piece.peer)
        if self._asked is not None:
            if now_ms - self._asked_at_ms < RESPONSE_TIMEOUT_MS:
                return [], False
            self._went_silent(self._asked)
        if self._started_ms is None:
            self._started_ms = now_ms
        restarted = self._restart_if_stranded(peers) or self._offer_refused_late
        self._offer_refused_late = False
        if self._offer is not None and not self._available(self._offer.peer, peers):
            self._drop_offer()
        free = self._busy.free(peers, now_ms)
        if self.phase is Phase.OFFER:
            offer_questions = self._ask_for_offers(now_ms, peers, free)
            if offer_questions is not None:
                return offer_questions, restarted
        if self._offer is None:
            return self._ask_for_pieces(now_ms, peers, free), restarted
        peer = self._offer.peer  # the proofs of changes after the last one followed
        if peer not in free:
            return [], restarted
        self._asked, (self._asked_at_ms, _) = peer, self._busy.timed_from(peer, now_ms)
        question: list[object] = [ASK_SET_CHANGES, self._offer.height, self._offer.proven_up_to]
        return [SyncRequest(peer, encode(marked(question)))], restarted

    def _available(self, peer: bytes, peers: Sequence[bytes]) -> bool:
        return peer in peers and peer not in self.distrusted and peer not in self._not_held

    def _ask_for_offers(self, now_ms: int, peers: Sequence[bytes], free: Sequence[bytes]
                        ) -> list[SyncRequest] | None:
        """The offer questions to send now (to `free` peers, not busy); None once the
        round chose an offer (the phase moved on: the offer's proof pages, or the copy's
        pieces, are asked below)."""
        available = [p for p in peers if self._available(p, peers)]
        self._round.expire(now_ms, RESPONSE_TIMEOUT_MS)
        chosen = self._round.choice(now_ms, available)
        if chosen is not None:
            self._take_chosen(chosen)
            return None
        asked = self._round.to_ask(now_ms, [p for p in available if p in free],
                                   self._busy.timed_from)
        if asked or self._round.busy or self._busy.waiting(available, now_ms):
            return [SyncRequest(peer, encode(marked([ASK_OFFER]))) for peer in asked]
        self._round.reset()  # nobody left to ask and nothing offered: silent peers again
        if peers and not available:
            if self._not_held and self._not_held.issuperset(peers):
                assert self._started_ms is not None  # set by next_requests
                if now_ms - self._started_ms >= OFFER_PATIENCE_MS:
                    self.phase = Phase.UNAVAILABLE  # nobody has a snapshot to give
                return []
            # Everyone connected was caught lying once: start trusting afresh
            # rather than never join (each answer is still checked).
            self.distrusted.clear()
            self._not_held.clear()
        return []

    def _ask_for_pieces(self, now_ms: int, peers: Sequence[bytes], free: Sequence[bytes]
                        ) -> list[SyncRequest]:
        """Nodes or values questions (`node.state_pieces`) for the `free` peers of those
        holding the snapshot and not given up with the fewest silences in a row
        (`OfferRound.silences`): one told busy and free again first, then the one that
        offered it. One silent more often is not asked while such a peer is busy or
        still answering: it is waited for (a peer that answered once and then said
        nothing cost the join a timeout each time the good one was busy, without end)."""
        assert self._copy is not None
        holding = [p for p in peers
                   if self._available(p, peers) and not self._round.given_up(p)]
        if not holding:
            return []
        fewest = min(self._round.silences(p) for p in holding)
        offered_by = self._copy.snapshot.offered_by
        askable = sorted((p for p in holding if p in free and self._round.silences(p) == fewest),
                         key=lambda p: (not self._busy.left_unanswered(p), p != offered_by))
        return [SyncRequest(peer, question) for peer, question
                in self._copy.questions(askable, now_ms, self._busy.timed_from)]

    # ---- answers -----------------------------------------------------------------------
    def accept(self, peer: bytes, payload: bytes, now_ms: int) -> Progress:
        """Check an answer to an open question; anything else changes nothing. `now_ms`:
        when it is taken, from which a busy answer's wait is counted."""
        offering = self.phase is Phase.OFFER and self._round.is_open(peer)
        piece = self._copy.pieces.oldest(peer) if self._copy is not None else None
        if not (offering or peer == self._asked or piece is not None) or self.finished:
            return Progress()
        wait_ms = read_busy(payload)
        if wait_ms is not None:  # no answer and no fault yet: asked again once free, and
            # a silence if no real answer comes RESPONSE_TIMEOUT_MS after it was asked
            self._busy.told(peer, wait_ms, now_ms, self._close(peer, offering, piece), None)
            return Progress()
        self._busy.answered(peer)
        answer = None
        with contextlib.suppress(MalformedInput):
            answer = decode(payload, max_arrays=ANSWER_ARRAYS_MAX, max_items=ANSWER_ITEMS_MAX)
        if not (isinstance(answer, list) and len(answer) >= 2 and is_height(answer[1])):
            return self._distrust(peer)
        kind, height = answer[0], answer[1]
        no_snapshot = kind == ASK_OFFER and height == 0 and len(answer) in (4, 5, 6)
        if kind == ASK_OFFER and not offering:
            # An offer (or "no snapshot") for a round already over, come late: no lie,
            # and no answer to the open question.
            return Progress()
        self._round.answered(peer)
        if piece is None and not offering:
            self._asked = None
        if kind == NOT_HELD or no_snapshot:
            if piece is not None:
                self._close(peer, offering, piece)
            self._not_held.add(peer)
            return Progress()
        if kind != (ASK_OFFER if offering else ASK_SET_CHANGES if piece is None else piece.kind):
            return self._distrust(peer)
        try:
            if kind == ASK_OFFER:
                self._round.offered(self._checked_offer(peer, answer))
                return Progress()  # its peer is preferred only if it wins (_take_chosen)
            if piece is None:
                self._take_set_changes(answer)
                progress = Progress()
            elif self._copy is None or height != self._copy.snapshot.height:
                raise ValueError("answer for another snapshot")
            elif piece.values is None:
                progress = Progress(self._take_nodes(self._copy, piece, answer))
            else:
                progress = Progress(self._take_values(self._copy, piece, answer))
        except ValueError:
            return self._distrust(peer)
        self._round.served(peer)
        return progress

    def _close(self, peer: bytes, offering: bool, piece: Piece | None) -> int:
        """Close `peer`'s open question unanswered (it is to be asked again); when it was
        asked (or is timed from)."""
        if offering:
            return self._round.ask_again(peer)
        if piece is not None:
            assert self._copy is not None
            self._copy.pieces.give_back(piece)
            return piece.asked_at_ms
        self._asked = None
        return self._asked_at_ms

    def _checked_offer(self, peer: bytes, answer: list[object]) -> Candidate:
        """An offer checked as far as it can be now: to the end unless proofs are left
        to come by pages. ValueError if it does not check."""
        offer, more = offer_from_answer(self._genesis, self._certified, peer, answer)
        return Candidate(offer, None if more else offer.snapshot(self._certified))

    def _take_chosen(self, chosen: Candidate) -> None:
        """The round's highest offer: fixed now, or once the rest of its proofs are in."""
        if chosen.snapshot is not None:
            self._fix_snapshot(chosen.snapshot)
        else:
            self._offer = chosen.offer
            self.phase = Phase.SET_CHANGES

    def _take_set_changes(self, answer: list[object]) -> None:
        if self._offer is None:
            raise ValueError("set changes for no offer")
        if not self._offer.take_page(answer, self._certified):
            # ValueError if refused: the peer is distrusted and a new round asked
            self._fix_snapshot(self._offer.snapshot(self._certified))

    def _fix_snapshot(self, snapshot: Snapshot) -> None:
        """The offer's proofs are all in and its block is certified by the set they lead
        to: its state root is what the copy is checked against from now on."""
        self._offer = None
        self._copy = SnapshotCopy(snapshot)
        self.phase = Phase.NODES if not self._copy.state.nodes_complete else Phase.VALUES
        self._not_held.clear()
        self._round.new_snapshot()

    def _take_nodes(self, copy: SnapshotCopy, piece: Piece, answer: list[object]) -> Writes:
        writes = copy.take_nodes(piece, answer)
        if copy.state.nodes_complete:
            self.phase = Phase.VALUES
        return writes

    def _take_values(self, copy: SnapshotCopy, piece: Piece, answer: list[object]) -> Writes:
        writes = copy.take_values(piece, answer)
        if not copy.pieces.values_pass_over():
            return writes
        if copy.state.missing_values():
            # A value the tree names was left out of some answer of this pass; the pass
            # is done again by others (values already in are passed over).
            self.distrusted |= copy.pieces.new_values_pass()
        elif copy.hid_a_change():
            # the offer lied by omission: its peer distrusted, and the join restarts
            liar = copy.snapshot.offered_by
            self._start_again()
            self.distrusted.add(liar)
            self._pass_over(liar)
            self._offer_refused_late = True
        else:
            self.phase = Phase.DONE
        return writes

    def final_writes(self) -> Writes:
        """The root pointer, block, certificate, head and base: the last batch of the join."""
        assert self.phase is Phase.DONE and self._copy is not None
        return self._copy.final_writes(self._genesis)

    # ---- peers -------------------------------------------------------------------------
    def _distrust(self, peer: bytes) -> Progress:
        self.distrusted.add(peer)
        self._round.answered(peer)
        self._pass_over(peer)
        self._drop_offer()
        return Progress()

    def _drop_offer(self) -> None:
        """Give up an offer whose proofs were still coming (its peer lied, went silent or
        let the snapshot go): ask for a new offer. Nothing of it was written."""
        if self._offer is not None:
            self._offer = None
            self.phase = Phase.OFFER
            self._not_held.clear()

    def _went_silent(self, peer: bytes) -> None:
        """`peer` left a question of the join unanswered for RESPONSE_TIMEOUT_MS."""
        self._round.went_silent(peer)  # its offers win no round until it serves
        if self._asked == peer:
            self._asked = None  # ask someone else, maybe it again later
        if self._offer is not None and self._offer.peer == peer:
            self._drop_offer()

    def _pass_over(self, peer: bytes) -> None:
        """Its open questions are asked of others."""
        if self._asked == peer:
            self._asked = None
        if self._copy is not None:
            self._copy.pieces.give_back_all(peer)

    def _restart_if_stranded(self, peers: Sequence[bytes]) -> bool:
        """Start again from a fresh offer if no connected peer can serve this snapshot (a
        peer silent too often in a row counts as not holding it: `OfferRound.given_up`)."""
        if self.phase not in (Phase.NODES, Phase.VALUES) or not peers:
            return False
        if any(p not in self.distrusted and p not in self._not_held
               and not self._round.given_up(p) for p in peers):
            return False
        self._start_again()
        return True

    def _start_again(self) -> None:
        self.phase = Phase.OFFER
        self._offer = None
        self._round.reset()
        self._copy = None
        self._not_held.clear()
        self.distrusted.clear()
        self.restarts += 1

