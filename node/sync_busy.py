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
It is read strictly: exactly two items, the mark, a count of milliseconds; anything
else is not a busy answer, and goes to the usual reading of answers, which refuses it.

A node of a release before busy answers reads one as a malformed answer (block sync
passes the server over and takes its height for nothing; state sync distrusts it for
the join), so a busy answer goes only to a question that says its asker reads one.
Nodes learn nothing else of each other's release: the handshake's HELLO_MAGIC is one
fixed value (another splits the network), a frame on a channel the peer did not declare
or a keepalive with a payload drops the connection, and each question's form is read
exactly. A block-sync question `[start, count]` says it with BUSY_READ_BIT in its count:
every release answers min(count, MAX_BLOCKS_PER_RESPONSE) blocks whatever the count's
high bits. A state-sync question says it with BUSY_MARK as one more last item
(`node.state_wire`), which a server before this release refuses (its forms are exact):
so joiners send it only from when no such server is left (`MARK_STATE_QUESTIONS`). A
question that does not say it is left unanswered when it cannot be answered now, and
its asker times out, as every asker did before busy answers.

The asker (node.sync, node.state_sync) takes it as no answer and no fault: the question
is closed, the peer neither passed over nor distrusted, and asked again once the time
told has passed (at most BUSY_WAIT_MAX_MS, whatever it said), or another peer is asked
at once if one is free. Only a peer with a question open may say it; from any other it
changes nothing. But a busy answer does not restart the clock a silence is counted by
(`BusyPeers`): the question asked of a peer once it is free again is timed from when
the first question it left unanswered was asked, and a peer that has given no real
answer RESPONSE_TIMEOUT_MS after that counts as silent once, whether it is being asked
again then or still waiting to be, exactly as if it had said nothing. If the time it
told is not over then, the next RESPONSE_TIMEOUT_MS it keeps the asker from asking it
is the next silence. So a busy peer costs an asker no more time than its silence would:
one silence counted for each RESPONSE_TIMEOUT_MS without a real answer. A real answer
ends the reckoning, and so does a silence counted once the peer is free again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Generic, TypeGuard, TypeVar

from ledger.codec import decode, encode
from ledger.errors import MalformedInput

BUSY_MARK = b"busy"
# The longest an asker waits on a busy answer (a server tells at most BUSY_RETRY_MAX_S,
# node.serve_budget, less than this): the asker's RESPONSE_TIMEOUT_MS (node.sync,
# node.state_sync), what a silent peer costs it (and what busy answers cost it together:
# `BusyPeers`).
BUSY_WAIT_MAX_MS = 5_000
# Set in a block-sync question's count by an asker that reads busy answers (node.sync)
BUSY_READ_BIT = 1 << 32
# The shortest an asker waits on one: an honest server tells at least
# READERS_BUSY_RETRY_S (0.3 s, node.sync_serving), so this only keeps a peer that says 0 from being
# asked again at every turn of the asker's loop.
BUSY_WAIT_MIN_MS = 100


def busy_answer(retry_ms: int) -> bytes:
    """The busy answer telling its asker to ask again in `retry_ms` (bounded here)."""
    return encode([BUSY_MARK, max(0, min(int(retry_ms), BUSY_WAIT_MAX_MS))])


def is_height(value: object) -> TypeGuard[int]:
    """A height, a count or a wait in milliseconds as the sync questions and answers may
    carry one (an int, not a bool, below 2**63)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def read_busy(payload: bytes) -> int | None:
    """The milliseconds a busy answer asks its asker to wait, at most BUSY_WAIT_MAX_MS;
    None if `payload` is not a busy answer."""
    answer = None
    with contextlib.suppress(MalformedInput):
        answer = decode(payload, max_arrays=1, max_items=2)
    if not (isinstance(answer, list) and len(answer) == 2 and answer[0] == BUSY_MARK
            and is_height(answer[1])):
        return None
    return min(answer[1], BUSY_WAIT_MAX_MS)


# What the asker keeps of the question a busy peer left unanswered, handed back when that
# peer is asked again or counted silent (block sync: the question itself; state sync: None)
Left = TypeVar("Left")


class BusyPeers(Generic[Left]):
    """The peers an asker was told are busy: each until when it is not asked, and since
    when it has given no real answer. One entry at most per peer asked (members and
    allowed observers)."""

    def __init__(self) -> None:
        self._until: dict[bytes, int] = {}  # gone once its time has passed
        # peer -> when the first question it left unanswered was asked (or, `carried`,
        # when the silence counted last ended), and the latest question it left: gone
        # once it is asked again, answers, or is counted silent
        self._left: dict[bytes, tuple[int, Left, bool]] = {}

    def told(self, peer: bytes, wait_ms: int, now_ms: int, asked_at_ms: int,
             question: Left) -> None:
        """`peer` answered busy at `now_ms`, asking for `wait_ms`, to `question`, timed
        from `asked_at_ms` (from the first it left unanswered, if it was asked it again:
        `timed_from`): it is not asked before BUSY_WAIT_MIN_MS to BUSY_WAIT_MAX_MS from
        now."""
        self._until[peer] = now_ms + max(BUSY_WAIT_MIN_MS, min(wait_ms, BUSY_WAIT_MAX_MS))
        since = min(asked_at_ms, self._left.get(peer, (asked_at_ms, question, False))[0])
        self._left[peer] = (since, question, False)

    def timed_from(self, peer: bytes, now_ms: int) -> tuple[int, Left | None]:
        """When a question asked of `peer` at `now_ms` is timed from: when the first
        question it left unanswered by busy answers was asked (or the reckoning carried
        on from a silence counted), if any, with the latest such question; else now. It
        is being asked again: `overdue` leaves it to that question's own timeout."""
        if peer not in self._left:
            return now_ms, None
        since, question, _ = self._left.pop(peer)
        return since, question

    def overdue(self, now_ms: int, timeout_ms: int) -> list[tuple[bytes, Left]]:
        """The peers not asked again whose reckoning began `timeout_ms` or more ago, each
        with the latest question it left: they count as silent once. One still busy (the
        time it told is not over) is reckoned on from there, so that each `timeout_ms` it
        holds the asker off counts as one silence; that carried reckoning is dropped
        uncounted if the peer is free again and not asked by its end (it held nobody)."""
        late: list[tuple[bytes, Left]] = []
        for peer, (since, question, carried) in list(self._left.items()):
            if now_ms - since < timeout_ms:
                continue
            busy = self._until.get(peer, now_ms) > now_ms
            if busy:
                self._left[peer] = (since + timeout_ms, question, True)
            else:
                del self._left[peer]
            if busy or not carried:
                late.append((peer, question))
        return late

    def left_unanswered(self, peer: bytes) -> bool:
        """Whether `peer` left a question unanswered by busy answers and has not been asked
        it again, nor been counted silent since (once free, it is the first to ask)."""
        return peer in self._left

    def answered(self, peer: bytes) -> None:
        """`peer` answered: it is busy no more, and its reckoning starts afresh."""
        self._until.pop(peer, None)
        self._left.pop(peer, None)

    def free(self, peers: Sequence[bytes], now_ms: int) -> list[bytes]:
        """`peers`, in their order, without those still busy at `now_ms`."""
        # Only to save time: most ticks come here with no peer busy, and the lines below
        # would then return the same copy of `peers` after building two lists for nothing.
        if not self._until:
            return list(peers)
        for peer in [p for p, until in self._until.items() if until <= now_ms]:
            del self._until[peer]
        return [peer for peer in peers if peer not in self._until]

    def waiting(self, peers: Sequence[bytes], now_ms: int) -> bool:
        """Whether one of `peers` is busy now: something is to be asked once it is free."""
        return any(self._until.get(peer, now_ms) > now_ms for peer in peers)
