"""What serving sync may cost, per peer: a rate of answer bytes, paid by waiting.

Block sync and state sync are answered to any connected member or allowed observer
(node.network). Before this budget, a listed follower asking the same blocks (or the
head, or state values) again each time its answer arrived was served as fast as the
validator could read, encode and encrypt: 519 answers and 86 MB a second, or 846 head
answers a second, and the validators' honest commit latency went from 54 / 150 ms
(p50 / p99) to 133–232 / 428–760 ms (BENCHMARKS.md, session 57).

So each peer's answers are charged to a token bucket of its own, shared by its block-
sync and state-sync answers: an answer costs its bytes plus QUESTION_COST_BYTES (the
frame's decryption, the decode, the hand-off to a thread, the send and its framing: the
head asked again and again, answers of a few bytes, took p50 further than blocks 1-64
did, 165 KB answers), at SERVE_BYTES_PER_S with bursts of SERVE_BURST_BYTES. A question
from a peer in debt is not refused but waits until the debt is paid (`wait_s`), then is
answered and charged: P2P awaits a peer's handler on each channel one message at a time
(`p2p.peers`), so a peer's next questions wait behind it in that channel's bounded queue
(dropped past it, at the cost of their decryption), and a peer asking faster than its
rate is simply answered at its rate. Waiting rather than dropping is what keeps an
honest follower fast: one whose catch-up outruns the rate is slowed to it, never stalled
by a dropped question's RESPONSE_TIMEOUT_MS and a turn to another peer. A debt is at
most one answer per channel (a question waits for it to be paid before it is answered),
so no wait is longer than WAIT_MAX_S, under 2 s, well within the asker's
RESPONSE_TIMEOUT_MS.

The rate weighs honest catch-up against what a peer may take. A follower asks one peer
at a time, and applies at best 1,700 blocks a second of five issue transactions
(bench.engine, in one process, on a quiet machine: 1.7 KB a block and a question per 64
blocks, 4.6 MB a second charged); blocks of 1,000 transactions it replays at 8-13 a
second (208 KB a block, at most 2.7 MB a second; `catch_up_rate(60, 1000)`, load 1-4). A
follower is a peer like any other, so its
full-speed catch-up costs the validator what an abuser's flood of the same answers
costs: the rate cannot tell them apart, only bound both. So the burst
(SERVE_BURST_BYTES) lets a follower fetch about 12,000 such small blocks at whatever
speed it can, and the rate then holds its best to about 1,500 blocks a second (over
190,000 blocks: 97% of its speed), four times a saturated chain's growth (3,300
transactions a second, about 0.7 MB), so any follower gains on the head. A join by state
sync (287 MiB in 1,709 answers for a million credential batches, 41 s in one process) is
slowed to about 95 s. Measured before and after: BENCHMARKS.md, session 58.

Not done, and why: refusing a question asked again soon after the same one was answered
(an honest follower does not) bounds only that pattern, since an abuser varies its
questions for free, while the budget bounds every pattern; serving sync only while
consensus is idle, or at a lower priority, has no lever in one Python process (a thread
has no priority and the GIL is shared); the peer penalty (node.peer_penalty) mutes
gossip, and a peer paced here costs no more than its rate, so nothing is gained by
cutting it off. Nor is there a cap over all peers: n listed peers may take n rates, as
the operator lists them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ledger.blocks import MAX_BLOCK_BYTES
from node.channels import STATE_RESPONSE_BYTES
from node.sync import MAX_RESPONSE_BYTES

SERVE_BYTES_PER_S = 4 * 1024 * 1024  # each peer's sync answers, charged as below
SERVE_BURST_BYTES = 32 * 1024 * 1024
QUESTION_COST_BYTES = 64 * 1024  # what each answer is charged beside its bytes
PEERS_REMEMBERED_MAX = 1024  # buckets kept; those asked are members and observers, fewer
# A peer's largest debt: one answer a channel (a block-sync answer stops after the block
# that passes MAX_RESPONSE_BYTES, itself at most MAX_BLOCK_BYTES). No question waits
# longer than it takes to pay (WAIT_MAX_S at SERVE_BYTES_PER_S, under 2 s): a safety,
# not a limit reached.
DEBT_MAX_BYTES = (MAX_RESPONSE_BYTES + MAX_BLOCK_BYTES + STATE_RESPONSE_BYTES
                  + 2 * QUESTION_COST_BYTES)
WAIT_MAX_S = DEBT_MAX_BYTES / SERVE_BYTES_PER_S


class ServeBudget:
    """Each peer's token bucket of sync-answer bytes. On the event loop only."""

    def __init__(self, rate: float = SERVE_BYTES_PER_S, burst: float = SERVE_BURST_BYTES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._peers: dict[bytes, tuple[float, float]] = {}  # peer -> (tokens, as of when)
        self.waits = 0  # answers that waited for their peer's debt, since start
        self.waited_s = 0.0  # and how long, in all

    def _tokens(self, peer_key: bytes, now: float) -> float:
        tokens, at = self._peers.get(peer_key, (self._burst, now))
        return min(self._burst, tokens + (now - at) * self._rate)

    def wait_s(self, peer_key: bytes) -> float:
        """How long a question from `peer_key` must wait before it is answered: until
        its debt is paid; 0 if it has none."""
        tokens = self._tokens(peer_key, self._clock())
        if tokens >= 0:
            return 0.0
        wait = min(-tokens, DEBT_MAX_BYTES) / self._rate
        self.waits += 1
        self.waited_s += wait
        return wait

    def charge(self, peer_key: bytes, answer_bytes: int) -> None:
        """An answer of `answer_bytes` has been sent to `peer_key`."""
        now = self._clock()
        tokens = self._tokens(peer_key, now) - answer_bytes - QUESTION_COST_BYTES
        if peer_key not in self._peers and len(self._peers) >= PEERS_REMEMBERED_MAX:
            self._forget_full(now)
            if len(self._peers) >= PEERS_REMEMBERED_MAX:
                del self._peers[next(iter(self._peers))]  # the peer first charged
        self._peers[peer_key] = (tokens, now)

    def _forget_full(self, now: float) -> None:
        """Forget the buckets that have filled again: they stand as a new peer's would."""
        for key in [key for key in self._peers if self._tokens(key, now) >= self._burst]:
            del self._peers[key]
