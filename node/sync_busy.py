"""The "busy, ask again in N ms" answer to a sync question the server cannot afford now.

A node paces the sync answers it serves (node.serve_budget). While very many followers
draw on the followers' shared rate, paying one question's debt may take longer than
WAIT_MAX_S; such a question is not answered. Dropped without a word, it cost its asker
the whole RESPONSE_TIMEOUT_MS before it asked again: a follower with large answers got
about a fifth less than its equal share. So the server answers it, on the same response
channel, with `[BUSY_MARK, retry_ms]`: the time until the asker's bucket can pay, at most
BUSY_WAIT_MAX_MS.

The form is one no real answer takes: a block-sync answer is `[height, [items]]` and a
state-sync answer `[kind, height, ...]`, both an int first, where this is a byte string.
So a node of an earlier release reads it as a malformed answer (block sync passes the
peer over for one turn; state sync distrusts it until all are), never as "no blocks
after your head" (an empty block answer), which would stop its catch-up. It is read
strictly: exactly two items, the mark, a count of milliseconds; anything else is not a
busy answer, and goes to the usual reading of answers, which refuses it.

The asker (node.sync, node.state_sync) takes it as no answer and no fault: the question
is closed, the peer neither passed over nor distrusted, and asked again once the time
told has passed (at most BUSY_WAIT_MAX_MS, whatever it said: a peer cannot hold an asker
longer than its silence would), or another peer is asked at once if one is free. Only a
peer with a question open may say it; from any other it changes nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from ledger.codec import decode, encode
from ledger.errors import MalformedInput

BUSY_MARK = b"busy"
# The longest an asker waits on a busy answer, and the longest a server tells: the
# asker's RESPONSE_TIMEOUT_MS (node.sync, node.state_sync), what a silent peer costs it.
BUSY_WAIT_MAX_MS = 5_000
# The shortest an asker waits on one: an honest server says busy only when the wait is
# over WAIT_MAX_S (node.serve_budget), so this only keeps a peer that says 0 from being
# asked again at every turn of the asker's loop.
BUSY_WAIT_MIN_MS = 100
# Busy answers in a row (each a wait of at most BUSY_WAIT_MAX_MS) that a state-sync joiner
# counts as one silence (node.state_sync): a peer holding the only snapshot cannot keep
# a join waiting for ever by saying busy, no more than by saying nothing.
BUSY_IN_A_ROW_MAX = 3


def busy_answer(retry_ms: int) -> bytes:
    """The busy answer telling its asker to ask again in `retry_ms` (bounded here)."""
    return encode([BUSY_MARK, max(0, min(int(retry_ms), BUSY_WAIT_MAX_MS))])


def read_busy(payload: bytes) -> int | None:
    """The milliseconds a busy answer asks its asker to wait, at most BUSY_WAIT_MAX_MS;
    None if `payload` is not a busy answer."""
    answer = None
    with contextlib.suppress(MalformedInput):
        answer = decode(payload, max_arrays=1, max_items=2)
    if not (isinstance(answer, list) and len(answer) == 2 and answer[0] == BUSY_MARK
            and isinstance(answer[1], int) and not isinstance(answer[1], bool)
            and 0 <= answer[1] < 2**63):
        return None
    return min(answer[1], BUSY_WAIT_MAX_MS)


class BusyPeers:
    """The peers an asker was told are busy, each until when, and how many times in a row
    each said so. One entry at most per peer asked (members and allowed observers)."""

    def __init__(self) -> None:
        self._until: dict[bytes, int] = {}  # gone once its time has passed
        self._in_a_row: dict[bytes, int] = {}  # gone once its peer answers

    def told(self, peer: bytes, wait_ms: int, now_ms: int) -> int:
        """`peer` answered busy at `now_ms`, asking for `wait_ms`: it is not asked before
        BUSY_WAIT_MIN_MS to BUSY_WAIT_MAX_MS from now. How many busy answers in a row it
        has sent since its last real one, this one included."""
        self._until[peer] = now_ms + max(BUSY_WAIT_MIN_MS, min(wait_ms, BUSY_WAIT_MAX_MS))
        self._in_a_row[peer] = self._in_a_row.get(peer, 0) + 1
        return self._in_a_row[peer]

    def answered(self, peer: bytes) -> None:
        """`peer` answered: it is busy no more."""
        self._until.pop(peer, None)
        self._in_a_row.pop(peer, None)

    def free(self, peers: Sequence[bytes], now_ms: int) -> list[bytes]:
        """`peers`, in their order, without those still busy at `now_ms`."""
        for peer in [p for p, until in self._until.items() if until <= now_ms]:
            del self._until[peer]
        return [peer for peer in peers if peer not in self._until]

    def waiting(self, peers: Sequence[bytes], now_ms: int) -> bool:
        """Whether one of `peers` is busy now: something is to be asked once it is free."""
        return any(self._until.get(peer, now_ms) > now_ms for peer in peers)
