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
costs: the rate cannot tell them apart, only bound both. The rate holds a follower's
best to about 1,500 blocks a second, four times a saturated chain's growth (3,300
transactions a second, about 0.7 MB), so any follower gains on the head. The burst
(SERVE_BURST_BYTES) lets it ask at whatever speed it can for a while first: 32 MiB
until session 59, when a flood's honest p99 rose most while it lasted; at 8 MiB a
sync flood got a fifth less and honest p99 under it was lower in each of three pairs
(BENCHMARKS.md, session 59), at the cost, at the best above, of nothing over 32,000
blocks and 8% over 192,000 (97% of its speed became 92%). A follower's join by state
sync (287 MiB in 1,709 answers for a million credential batches, 41 s in one process
on a quiet machine) is slowed to about 96 s (90 s with 32 MiB). Measured before and
after: BENCHMARKS.md, sessions 58 and 59.

Followers together (session 59). Per peer alone, n listed followers, or n listed
Sybil-ish peers of one operator, could take n rates at once. So every peer that is not a
validator also shares SERVE_ALL_BYTES_PER_S: while n followers are drawing on their
buckets (a bucket not yet full again), each refills at the least of its own rate and an
equal share, SERVE_ALL_BYTES_PER_S / n, and holds at most SERVE_ALL_BURST_BYTES / n. An
equal share, not first come first served, is what keeps a greedy follower from starving
the others: each follower's debt is its own, so a follower asking less than its share is
never paced, and one asking more is paced to its share whatever the others do. One
follower alone, or beside one other, keeps its full rate and burst (the shared rate is
two followers' rates), so an honest catch-up is not slowed until three or more followers
draw at once. A follower's head question once a second refills in milliseconds and is
hardly counted. While very many draw, a follower's share is so small that paying one
answer's debt would take longer than WAIT_MAX_S; then its question is not answered
(`wait_s` says None) but, if its asker reads busy answers (node.sync_busy), told "busy,
ask again in N ms" (`retry_s`): N is the time until its debt is paid at its share now,
at most BUSY_RETRY_MAX_S, and the asker asks again then, or another node at once. That
keeps the followers' total at the shared rate (and the bursts at most
SERVE_ALL_BURST_BYTES times 1 + ln n, each new follower's burst a share of it) however
many there are, and no waiting question near the asker's timeout. Until session 60 such
a question was dropped without a word and its asker waited out its RESPONSE_TIMEOUT_MS:
with 5, 8 and 20 followers drawing, a follower whose answers were large (3-4 MiB blocks)
got 22, 11 and 9% less than its equal share, where told busy each gets it within 1%
(tests/node/test_serve_busy.py, on a simulated clock). A busy answer is ten bytes and
not charged (a charge would push the debt past the time told); it is sent at most once
per question, and a question from a peer told to wait, asked before that time has
passed, is dropped untold, as its asker would not ask it: a flood of questions gets one
busy answer a time told (over WAIT_MAX_S), not one each.

Validators are outside the shared rate: a lagging validator's catch-up is consensus
work, and followers, however many, must not slow it. Each has its own bucket of
VALIDATOR_SERVE_BYTES_PER_S and VALIDATOR_SERVE_BURST_BYTES, what every peer had before
session 59 and no more. The branch first gave them twice that (8 MiB/s, 64 MiB), so that
a validator's best catch-up of small blocks (1,700 a second, 4.6 MB a second charged) and
a join of a million credential batches (about 9.6 MiB a second charged) would go
unpaced; the review showed the cost: charged by bytes, state answers cost about 56 ms of
CPU a MiB, so one Byzantine validator asking them without end took about 0.45 s of CPU a
second from each honest node (0.23 at 4 MiB/s), its burst alone about 4 s. At a follower's
rate a validator's best small-block catch-up is held to about 91% of its speed once its
32 MiB burst is spent (after about 140,000 blocks at that speed: the
burst drains at 0.4 MiB/s), and a validator's join takes about 90 s
on a quiet machine where it would take 41 s unpaced (on paper). Which peers are
validators the node's engine says (`is_validator`: both the sets of the next two
heights, as the network sends them transactions).

A join by state sync is paced like any other asking (a validator joining has a
validator's bucket). Its answers are charged by their bytes, though they cost the serving
node about ten times a block answer's CPU per MiB (52-64 against 4-7 ms, measured
in-process while the machine was loaded: a question names 2,048 tree positions, each
decoded and read from the snapshot, BENCHMARKS.md session 59). So charging them by what
they cost would slow a join further, and a larger allowance for a follower's join would
be one for a flood of the costliest answers: a joiner cannot be told from a peer that
asks the same state again. What would speed a join without that is for the joiner to
ask several peers holding the same snapshot height (each paced on its own), not done.

Not done, and why: refusing a question asked again soon after the same one was answered
(an honest follower does not) bounds only that pattern, since an abuser varies its
questions for free, while the budget bounds every pattern; serving sync only while
consensus is idle, or at a lower priority, has no lever in one Python process (a thread
has no priority and the GIL is shared); the peer penalty (node.peer_penalty) mutes
gossip, and a peer paced here costs no more than its rate, so nothing is gained by
cutting it off.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ledger.blocks import MAX_BLOCK_BYTES
from node.channels import STATE_RESPONSE_BYTES
from node.sync import MAX_RESPONSE_BYTES
from node.sync_busy import BUSY_WAIT_MAX_MS

SERVE_BYTES_PER_S = 4 * 1024 * 1024  # each follower's sync answers, charged as below
SERVE_BURST_BYTES = 8 * 1024 * 1024  # 32 MiB until session 59: see the docstring
# All followers (every peer but the validators) together, shared equally among those
# drawing on their buckets: two followers' rates and bursts
SERVE_ALL_BYTES_PER_S = 2 * SERVE_BYTES_PER_S
SERVE_ALL_BURST_BYTES = 2 * SERVE_BURST_BYTES
# Each validator's own, outside the followers' shared rate: a follower's, no more (a
# Byzantine validator's state questions cost a node's CPU by the byte: see the docstring)
VALIDATOR_SERVE_BYTES_PER_S = SERVE_BYTES_PER_S
VALIDATOR_SERVE_BURST_BYTES = 32 * 1024 * 1024
QUESTION_COST_BYTES = 64 * 1024  # what each answer is charged beside its bytes
PEERS_REMEMBERED_MAX = 1024  # buckets kept; those asked are members and observers, fewer
# A peer's largest debt: one answer a channel (a block-sync answer stops after the block
# that passes MAX_RESPONSE_BYTES, itself at most MAX_BLOCK_BYTES). A question waits at
# most WAIT_MAX_S (what a lone follower's largest debt takes to pay, under 2 s, well
# within the asker's RESPONSE_TIMEOUT_MS); one that would wait longer is answered busy.
DEBT_MAX_BYTES = (MAX_RESPONSE_BYTES + MAX_BLOCK_BYTES + STATE_RESPONSE_BYTES
                  + 2 * QUESTION_COST_BYTES)
WAIT_MAX_S = DEBT_MAX_BYTES / SERVE_BYTES_PER_S
# Room for a busy answer and the question asked again to travel and that answer to be
# read: round trips of a few ms and a read of tens (a state answer's, BENCHMARKS.md
# session 59), with room to spare for a loaded host.
BUSY_SLACK_S = 0.5
# The longest a busy answer tells its asker to wait: short enough that the question
# asked again then, made to wait WAIT_MAX_S at most, is answered within the asker's
# timeout of its first question (BUSY_WAIT_MAX_MS, node.sync_busy), which the asker's
# reckoning of silences counts from (`BusyPeers`): an honest busy answer costs its
# server no silence. Told BUSY_WAIT_MAX_MS (session 60) it cost one each time. A share
# smaller than this would need is told again (each time told is over WAIT_MAX_S).
BUSY_RETRY_MAX_S = BUSY_WAIT_MAX_MS / 1000 - WAIT_MAX_S - BUSY_SLACK_S


def _never(_key: bytes) -> bool:
    return False


class ServeBudget:
    """Each peer's token bucket of sync-answer bytes, the followers' sharing one rate.
    On the event loop only."""

    def __init__(self, rate: float = SERVE_BYTES_PER_S, burst: float = SERVE_BURST_BYTES,
                 clock: Callable[[], float] = time.monotonic, *,
                 all_rate: float = SERVE_ALL_BYTES_PER_S,
                 all_burst: float = SERVE_ALL_BURST_BYTES,
                 validator_rate: float = VALIDATOR_SERVE_BYTES_PER_S,
                 validator_burst: float = VALIDATOR_SERVE_BURST_BYTES,
                 is_validator: Callable[[bytes], bool] = _never) -> None:
        if min(rate, all_rate, validator_rate) <= 0 or min(burst, all_burst,
                                                           validator_burst) < 0:
            raise ValueError(f"serve budget: rates must be above 0 and bursts at least 0 "
                             f"(rate {rate}, all_rate {all_rate}, validator_rate "
                             f"{validator_rate}, burst {burst}, all_burst {all_burst}, "
                             f"validator_burst {validator_burst})")
        self._rate = rate
        self._burst = burst
        self._all_rate = all_rate
        self._all_burst = all_burst
        self._validator_rate = validator_rate
        self._validator_burst = validator_burst
        self._is_validator = is_validator
        self._clock = clock
        self._peers: dict[bytes, tuple[float, float]] = {}  # peer -> (tokens, as of when)
        # Followers drawing on their buckets -> when each is full again; a key is here
        # only while it is in _peers
        self._drawing: dict[bytes, float] = {}
        self.waits = 0  # answers that waited for their peer's debt, since start
        self.waited_s = 0.0  # and how long, in all
        self.dropped = 0  # questions not answered, their wait too long (a share too small)
        self.busy = 0  # busy answers handed to their peers (`told`), whatever the reason
        # Peer -> until when it was last told to wait: a question sooner is dropped untold.
        # A key only while it is in _peers (`told` remembers none for a peer without a
        # bucket: one told busy before it was ever charged, for busy readers or a failed
        # read, is not remembered).
        self._told: dict[bytes, float] = {}

    def share(self, peer_key: bytes) -> tuple[float, float]:
        """`peer_key`'s rate and burst now."""
        now = self._clock()
        return self._share(peer_key, self._count_drawing(now) + (peer_key not in self._drawing))

    def _count_drawing(self, now: float) -> int:
        for key in [key for key, full_at in self._drawing.items() if full_at <= now]:
            del self._drawing[key]
        return len(self._drawing)

    def _share(self, peer_key: bytes, drawing: int) -> tuple[float, float]:
        """The rate and burst of `peer_key` while `drawing` followers draw (it among them
        if it is one)."""
        if self._is_validator(peer_key):
            return self._validator_rate, self._validator_burst
        drawing = max(1, drawing)
        return (min(self._rate, self._all_rate / drawing),
                min(self._burst, self._all_burst / drawing))

    def _tokens(self, peer_key: bytes, now: float, rate: float, burst: float) -> float:
        tokens, at = self._peers.get(peer_key, (burst, now))
        return min(burst, tokens + (now - at) * rate)

    def wait_s(self, peer_key: bytes) -> float | None:
        """How long a question from `peer_key` must wait before it is answered: until
        its debt is paid; 0 if it has none; None if that is longer than WAIT_MAX_S (the
        question is not to be answered, uncharged: its asker, if it reads busy answers, is
        told when to ask again, `retry_s`)."""
        now = self._clock()
        rate, burst = self._share(peer_key, self._count_drawing(now)
                                  + (peer_key not in self._drawing))
        tokens = self._tokens(peer_key, now, rate, burst)
        if tokens >= 0:
            return 0.0
        wait = min(-tokens, DEBT_MAX_BYTES) / rate
        if wait > WAIT_MAX_S:
            self.dropped += 1
            return None
        self.waits += 1
        self.waited_s += wait
        return wait

    def retry_s(self, peer_key: bytes) -> float | None:
        """After `wait_s` said None: how long `peer_key` is to be told to wait before it
        asks again, in a busy answer: until its debt is paid at its share now, at most
        BUSY_RETRY_MAX_S. None if it was told already and that time has not come
        (`may_tell`). Recorded only once the answer is handed to the peer (`told`)."""
        now = self._clock()
        if not self.may_tell(peer_key):
            return None
        rate, burst = self._share(peer_key, self._count_drawing(now)
                                  + (peer_key not in self._drawing))
        return max(0.0, min(-self._tokens(peer_key, now, rate, burst) / rate,
                            BUSY_RETRY_MAX_S))

    def may_tell(self, peer_key: bytes) -> bool:
        """Whether `peer_key` may be told busy now: not told already with that time still
        to come. Its asker waits for the time told, so a question sooner is a flood's,
        dropped untold: at most one busy answer per peer each time told."""
        told_until = self._told.get(peer_key)
        return told_until is None or told_until <= self._clock()

    def told(self, peer_key: bytes, retry_s: float) -> None:
        """A busy answer telling `peer_key` to ask again in `retry_s` was handed to it
        (one its send queue refused, or for a peer gone, was never sent: neither counted
        nor remembered). Not charged: a busy answer (a frame of ten bytes) costs about
        what receiving the question did, and a charge would push the debt past the time
        told."""
        self.busy += 1
        if peer_key in self._peers:  # remembered only beside a bucket: bounded with them
            self._told[peer_key] = self._clock() + retry_s

    def charge(self, peer_key: bytes, answer_bytes: int) -> None:
        """An answer of `answer_bytes` has been sent to `peer_key`."""
        now = self._clock()
        drawing = self._count_drawing(now)
        rate, burst = self._share(peer_key, drawing + (peer_key not in self._drawing))
        tokens = self._tokens(peer_key, now, rate, burst) - answer_bytes - QUESTION_COST_BYTES
        if peer_key not in self._peers and len(self._peers) >= PEERS_REMEMBERED_MAX:
            self._forget_full(now, drawing)
            if len(self._peers) >= PEERS_REMEMBERED_MAX:
                first = next(iter(self._peers))  # the peer first charged
                del self._peers[first]
                self._drawing.pop(first, None)
                self._told.pop(first, None)
        self._peers[peer_key] = (tokens, now)
        if not self._is_validator(peer_key):
            self._drawing[peer_key] = now + (burst - tokens) / rate

    def _forget_full(self, now: float, drawing: int) -> None:
        """Forget the buckets that have filled again: they stand as a new peer's would."""
        full = [key for key in self._peers
                if self._tokens(key, now, *self._share(key, drawing))
                >= self._share(key, drawing)[1]]
        for key in full:
            del self._peers[key]
            self._drawing.pop(key, None)
            self._told.pop(key, None)
