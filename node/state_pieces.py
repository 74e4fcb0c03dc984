"""The questions for one snapshot's tree nodes and values, open to several peers at once.

Past the offer, `node.state_sync` copies the snapshot's state in pieces: a piece is one
question, for NODES_PER_QUESTION tree positions (taken from `StateImport`, so no other
question asks them) or for the values of one key range (`node.value_ranges`). Up to
PIECES_IN_FLIGHT_MAX are open at once, at most PIECES_PER_PEER_MAX of one peer
(`node.state_wire`, with why). Every answer is checked as before: a node against the
hash its parent names, a value against its leaf, so a peer can slow the copy but not
change it. A piece whose answer does not come, says busy or does not check is given
back and asked again, of the peer `node.state_sync` chooses: a free one with the fewest
silences in a row, one told busy and free again first, then the offerer.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ledger.codec import encode
from node.state_wire import (
    ASK_NODES,
    ASK_VALUES,
    PIECES_IN_FLIGHT_MAX,
    PIECES_PER_PEER_MAX,
    marked,
    node_records,
    values_and_done,
)
from node.value_ranges import ValueRange, ValueRanges
from storage.state_transfer import Position, StateImport, position_to_wire


@dataclass
class Piece:
    peer: bytes
    asked_at_ms: int  # what its timeout is counted from (`BusyPeers.timed_from`)
    nodes: list[tuple[Position, bytes]] = field(default_factory=list)  # taken positions
    values: ValueRange | None = None  # or the key range asked

    @property
    def kind(self) -> int:
        """The kind of answer it wants."""
        return ASK_NODES if self.values is None else ASK_VALUES


class StatePieces:
    """The open pieces of one snapshot's copy, by peer, and the pass over its values."""

    def __init__(self, state: StateImport, height: int) -> None:
        self.state = state
        self.height = height
        self._open: dict[bytes, deque[Piece]] = {}
        self.ranges = ValueRanges()
        self.value_peers: set[bytes] = set()  # who served the current pass over the values
        # After a pass several peers served left values out: one peer a pass from then
        # on, so that the one leaving them out is found (a value's key is not known
        # from its leaf, so which range lacked it is not known either).
        self.one_peer_a_pass = False

    @property
    def open_count(self) -> int:
        return sum(len(pieces) for pieces in self._open.values())

    def room_for(self, peer: bytes) -> bool:
        """Whether `peer` may be asked another piece now."""
        return (self.open_count < PIECES_IN_FLIGHT_MAX
                and len(self._open.get(peer, ())) < PIECES_PER_PEER_MAX)

    def questions(self, askable: list[bytes], now_ms: int,
                  timed_from: Callable[[bytes, int], tuple[int, None]],
                  nodes_count: int, values_count: int) -> list[tuple[bytes, bytes]]:
        """A new piece's question for each of the `askable` peers (best first) with room,
        as far as the limits and what is left to ask allow. `timed_from`: when a question
        asked of a peer now is timed from (`BusyPeers.timed_from`). With no piece open (the
        top of the tree), the positions known are shared out among the peers rather than
        all given to the first; else each takes a whole question's worth if it can, a
        short one costing a question all the same (node.serve_budget charges each)."""
        askable = [peer for peer in askable if self.room_for(peer)]
        if self.one_peer_a_pass and self.state.nodes_complete:
            serving = [peer for peer in askable if peer in self.value_peers] or askable
            askable = [] if self._open else serving[:1]
        room = min(len(askable), PIECES_IN_FLIGHT_MAX - self.open_count)
        share = -(-self.state.nodes_pending // max(1, room)) if not self._open else nodes_count
        asked = []
        for peer in askable[:room]:
            question = self.ask(peer, now_ms, min(nodes_count, share), values_count)
            if question is None:
                break
            self._open[peer][-1].asked_at_ms, _ = timed_from(peer, now_ms)
            asked.append((peer, question))
        return asked

    def ask(self, peer: bytes, asked_at_ms: int, nodes_count: int, values_count: int
            ) -> bytes | None:
        """The question for a new piece asked of `peer` (up to `nodes_count` positions,
        or `values_count` values); None if nothing is left to ask now (what is left is
        being asked, or the nodes must all be in before the values are asked)."""
        if not self.state.nodes_complete:
            taken = self.state.take(nodes_count)
            if not taken:
                return None
            piece = Piece(peer, asked_at_ms, nodes=taken)
            question: list[object] = [ASK_NODES, self.height,
                                      [position_to_wire(p) for p, _ in taken]]
        else:
            value_range = self.ranges.to_ask(self.state.missing_values(), values_count)
            if value_range is None:
                return None
            piece = Piece(peer, asked_at_ms, values=value_range)
            question = [ASK_VALUES, self.height, value_range.after, values_count]
        self._open.setdefault(peer, deque()).append(piece)
        return encode(marked(question))

    def oldest(self, peer: bytes) -> Piece | None:
        """The piece an answer from `peer` answers: its oldest open one (a node answers a
        peer's questions in the order asked)."""
        pieces = self._open.get(peer)
        return pieces[0] if pieces else None

    def close(self, piece: Piece) -> None:
        pieces = self._open[piece.peer]
        pieces.remove(piece)
        if not pieces:
            del self._open[piece.peer]

    def give_back(self, piece: Piece) -> None:
        """Close `piece` unanswered: what it asked is to be asked again."""
        self.close(piece)
        if piece.values is not None:
            self.ranges.given_back(piece.values)
        else:
            self.state.give_back(piece.nodes)

    def give_back_all(self, peer: bytes) -> None:
        for piece in list(self._open.get(peer, ())):
            self.give_back(piece)

    def overdue(self, now_ms: int, timeout_ms: int) -> list[Piece]:
        """The pieces open `timeout_ms` or more, given back: their peers are silent."""
        late = [piece for pieces in self._open.values() for piece in pieces
                if now_ms - piece.asked_at_ms >= timeout_ms]
        for piece in late:
            self.give_back(piece)
        return late

    def take_nodes(self, piece: Piece, answer: list[object]) -> dict[bytes, bytes | None]:
        """The writes of a nodes answer to `piece`; ValueError if it does not check."""
        writes = self.state.accept_nodes(piece.nodes, node_records(answer))
        self.close(piece)
        return writes

    def take_values(self, piece: Piece, answer: list[object]
                    ) -> tuple[dict[bytes, bytes | None], list[tuple[bytes, bytes]]]:
        """The writes of a values answer to `piece`, and the values of it checked now
        (not those already in, which a peer may send again forged); ValueError if it
        does not check."""
        assert piece.values is not None
        items, scan_over = values_and_done(answer)
        writes, checked = self.state.accept_values(piece.values.after, items)
        self.close(piece)
        self.value_peers.add(piece.peer)
        # Every key is genuine, even one passed over: its path's leaf was accepted.
        self.ranges.answered(piece.values, (items[0][0], items[-1][0]) if items else None,
                             scan_over)
        return writes, checked

    def values_pass_over(self) -> bool:
        """Every range of the values' pass is done. A question may still be open for a
        range another's answer covered; its answer, if it comes, is checked as any."""
        return self.state.nodes_complete and self.ranges.done

    def new_values_pass(self) -> set[bytes]:
        """Start the pass over the values again (values in are passed over) after one that
        left values out; who is to be distrusted for it: its peer if one alone served
        it, else nobody yet, and each later pass is served by one peer."""
        served, self.value_peers = self.value_peers, set()
        self.ranges = ValueRanges()
        if len(served) > 1:
            self.one_peer_a_pass = True
            return set()
        return served
