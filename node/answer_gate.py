"""Answers let in only from peers that were asked: the event loop's record of its questions.

Block sync and state sync take answers from any peer on channels of their own. An answer
nobody asked for is thrown away by the state machine that reads it (`BlockSync.accept`,
`StateSync.accept`), but only after it has waited for its turn in a shared, bounded
queue: the engine inbox's pool for sync answers (node.engine_inbox) or the joiner's queue
of answers (node.state_join). A peer sending unasked answers as fast as it could filled
that queue, so that an honest peer's answer to the open question was dropped and the
question timed out, again and again: a follower's catch-up, or a join, stalled.

So the event loop, which sends every question itself, remembers them (`recording` wraps
its send), and lets an answer through (`gated`) only from a peer that was sent a question
it has not answered yet; anything else is dropped on the loop, costing only the frame's
decryption. An answer takes one question's place, whatever it answers: answers are not
matched to questions here (an empty block-sync answer names no height), so a peer's late
answer to an old question takes that question's place and its answer to the new one
another. The record is per peer key, not per connection: an answer may come on a new
connection of the same peer.

Bounds, each leaning towards letting an honest answer in: a question is forgotten
QUESTION_REMEMBERED_S after it was sent, well past the answerer's RESPONSE_TIMEOUT_MS, so
a late honest answer still gets in (the state machine then judges it); a peer keeps its
QUESTIONS_PER_PEER_MAX latest questions (a node has at most two block-sync questions
open at a time, and one more may have timed out before it was answered), so a peer that
was asked but never answered can send at most that many answers at once, fewer than the
engine inbox's pool holds; PEERS_REMEMBERED_MAX peers at most (those asked are connected
members and observers, far fewer). A question that no answer will follow (its peer
dropped it, busy, or its connection closed first) leaves a place that lets one answer in
until forgotten: harmless, and bounded.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

from node.sync import RESPONSE_TIMEOUT_MS

log = logging.getLogger("senim.network")

QUESTION_REMEMBERED_S = 12 * RESPONSE_TIMEOUT_MS / 1000  # node.state_sync's is the same
QUESTIONS_PER_PEER_MAX = 3
PEERS_REMEMBERED_MAX = 1024
DROP_LOG_EVERY_S = 10.0  # unasked answers dropped: one log line this often

Send = Callable[[bytes, int, bytes], bool]
Handler = Callable[[bytes, bytes], Awaitable[None]]


class AnswerGate:
    """The questions sent on one channel, by peer, and the unasked answers dropped."""

    def __init__(self, what: str, describe: Callable[[bytes], str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """`what`: the answers' kind, for the log line; `describe`: a peer key for it."""
        self._what = what
        self._describe = describe or (lambda key: key.hex()[:16])
        self._clock = clock
        self._asked: dict[bytes, deque[float]] = {}  # peer -> when each question was sent
        self.dropped = 0  # answers dropped since start
        self._logged_at = -DROP_LOG_EVERY_S
        self._logged_dropped = 0

    def asked(self, peer_key: bytes) -> None:
        """A question has been sent to `peer_key`: one answer from it may come in."""
        now = self._clock()
        sent = self._asked.get(peer_key)
        if sent is None:
            if len(self._asked) >= PEERS_REMEMBERED_MAX:
                self._forget_expired(now)
            if len(self._asked) >= PEERS_REMEMBERED_MAX:
                del self._asked[next(iter(self._asked))]  # the peer first asked
            sent = self._asked[peer_key] = deque(maxlen=QUESTIONS_PER_PEER_MAX)
        sent.append(now)  # a full deque forgets its oldest

    def admit(self, peer_key: bytes) -> bool:
        """Whether an answer from `peer_key` may go on: it takes the place of the oldest
        question remembered for it. Else it is counted, and logged once a while."""
        sent = self._asked.get(peer_key)
        now = self._clock()
        while sent and now - sent[0] > QUESTION_REMEMBERED_S:
            sent.popleft()
        if sent:
            sent.popleft()
            if not sent:
                del self._asked[peer_key]
            return True
        self._asked.pop(peer_key, None)
        self.dropped += 1
        if now - self._logged_at >= DROP_LOG_EVERY_S:
            log.warning("dropped %d %s answers from peers this node had not asked (or not "
                        "within %.0f s) since the last such line, the latest from %s (%d "
                        "since start)", self.dropped - self._logged_dropped, self._what,
                        QUESTION_REMEMBERED_S, self._describe(peer_key), self.dropped)
            self._logged_at, self._logged_dropped = now, self.dropped
        return False

    def questions_open(self, peer_key: bytes) -> int:
        """Questions to `peer_key` remembered and not answered yet (expired ones included
        until its next answer)."""
        return len(self._asked.get(peer_key, ()))

    def recording(self, send: Send, question_channel: int) -> Send:
        """`send`, remembering each message it sends on `question_channel` as a question
        (one that it could not queue is no question: no answer will come)."""
        def send_and_record(peer_key: bytes, channel: int, payload: bytes) -> bool:
            sent = send(peer_key, channel, payload)
            if sent and channel == question_channel:
                self.asked(peer_key)
            return sent
        return send_and_record

    def gated(self, handler: Handler) -> Handler:
        """`handler`, called only for answers `admit` lets in."""
        async def receive(peer_key: bytes, payload: bytes) -> None:
            if self.admit(peer_key):
                await handler(peer_key, payload)
        return receive

    def _forget_expired(self, now: float) -> None:
        for key in [key for key, sent in self._asked.items()
                    if not sent or now - sent[-1] > QUESTION_REMEMBERED_S]:
            del self._asked[key]
