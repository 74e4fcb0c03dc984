"""Block sync as a state machine without IO: whom to ask, what, and which answers count.

A lagging validator or a follower asks one peer at a time for the blocks after
its head; when an answer holds the blocks right after the head and the peer
claims more, the next question goes to it before that answer is applied
(`ask_ahead`), so fetching overlaps executing. An answer counts only if it comes
from a peer asked while its question is open and its blocks start at the height
asked for: one that starts elsewhere answers an earlier question to that peer, come
late, and is ignored (an empty one names no height and is taken). The engine then
re-executes each block and commits it through its one commit path once a checked
certificate vouches for it (node.engine_runs). A peer that does not answer within
RESPONSE_TIMEOUT_MS of the question (not counting the time this node spends applying
blocks meanwhile: `answer_applied`), or whose answer does not help, is passed over: the
next question goes to the next peer in turn. A peer that answers "busy, ask again in N
ms" (node.sync_busy: its share of the serving budget cannot pay for an answer now) is
no failure at first: its question is closed, it stays preferred, and it is asked again
once that time has passed (at most BUSY_WAIT_MAX_MS), another peer not busy at once. But
busy answers do not restart its timeout (`BusyPeers`): each RESPONSE_TIMEOUT_MS with no
real answer, it is passed over and shows nothing, as if silent. The only peer is asked
again whenever free, as a silent only peer is after each timeout. While a peer that
answered its last question is busy, none that left its last unanswered is asked in its
place: the busy one is waited for (a peer that answers once and then says nothing cost
a timeout each time the good one was busy, without end).

What each peer's latest answer showed of its height is kept (`shown`), each question
numbered: node.network judges a relay's forged-looking signatures by it, and may have a
peer asked (`ask_height`, from the event loop through `node.sync_heights`, which hands
a relay to the engine thread once between two questions). Such a question is asked only
when no block is wanted, one at a time, and stays open beside the questions for blocks,
which never wait for it, on its own timeout; while another peer is connected, the questions
for blocks go to others (with the relay alone, its question is taken as theirs). A peer
shows only what it backs: a claim counts when its answer's blocks start right after the
head as it is taken, extend it, and fill an answer (`backed`), else the height they
bring the head to: blocks the head reached after the question was asked, by another
answer or by consensus, back nothing beyond it (they are no failure if they are the very
blocks committed here); an empty answer shows at most the head; one that fails, does not
help, or does not come, shows nothing.

Other nodes' questions are answered from the local chain by `node.block_serve`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from ledger.blocks import BLOCK_ARRAYS, MAX_BLOCK_BYTES, MAX_BLOCK_TXS, Header
from ledger.codec import decode, encode
from ledger.errors import MalformedInput
from node.sync_busy import BUSY_READ_BIT, BusyPeers, is_height, read_busy

MAX_BLOCKS_PER_RESPONSE = 64
MAX_RESPONSE_BYTES = 3 * 1024 * 1024  # within the sync-response channel's limit
RESPONSE_TIMEOUT_MS = 5_000
MAX_TARGET_AHEAD = 100_000  # an uncertified claim cannot send us chasing further than this

SyncedItem = tuple[bytes, bytes]  # (block bytes, certificate bytes)


@dataclass(frozen=True)
class SyncRequest:
    peer: bytes
    payload: bytes


@dataclass
class _Question:
    """A question sent and not answered yet."""

    peer: bytes
    start: int  # the height it asks for first: the answer's blocks start there
    number: int
    asked_at_ms: int  # or when the first question its peer left by busy answers was
    ahead: bool = False  # asked by `ask_ahead`, and `answer_applied` not called since
    for_height: bool = False  # by `ask_height`, or after a busy answer to such a one


class BlockSync:
    def __init__(self, poll_ms: int | None) -> None:
        """`poll_ms`: followers ask for new blocks this often even when nobody tells them."""
        self.target_height = 0
        # The highest height a peer or a certified message said exists: unlike the
        # target, not raised by a poll, which asks whether anything follows the head.
        self._known_height = 0
        self._poll_ms = poll_ms
        self._last_poll_ms: int | None = None
        self._open: _Question | None = None  # the question fetching blocks waits for
        # The question asked for `ask_height` alone, open beside it: blocks never wait
        # for it, nor does its timeout wait for them
        self._height_open: _Question | None = None
        self._preferred: bytes | None = None
        self._turn = 0
        self.questions = 0  # asked so far, each numbered
        # peer -> (number of the latest question it answered, the height it showed); one
        # entry per peer that ever answered (peers are members and allowed observers)
        self._shown: dict[bytes, tuple[int, int]] = {}
        self._height_asks: dict[bytes, None] = {}  # peers to ask next, whatever the target
        self._busy: BusyPeers[_Question] = BusyPeers()  # told to ask again later
        # Peers whose latest question went unanswered (timed out, or busy that long),
        # until they answer; one entry at most per peer asked
        self._silent: set[bytes] = set()

    def behind(self, head_height: int) -> int:
        """How many blocks others said exist beyond the head."""
        return max(0, self._known_height - head_height)

    def quiet(self, head_height: int) -> bool:
        """Nothing to ask and no question open: until the next poll, `next_request` has
        nothing to do unless something said to want a block."""
        return (self._open is None and self._height_open is None and not self._height_asks
                and head_height >= self.target_height)

    def poll_due_in_ms(self, now_ms: int) -> int | None:
        """How long until the next poll for new blocks; None if this sync never polls."""
        if self._poll_ms is None:
            return None
        if self._last_poll_ms is None:
            return 0
        return max(0, self._last_poll_ms + self._poll_ms - now_ms)

    def want(self, target_height: int, preferred: bytes | None = None) -> None:
        """Fetch up to `target_height`, asking `preferred` first if it is connected."""
        self.target_height = max(self.target_height, target_height)
        self._known_height = max(self._known_height, target_height)
        if preferred is not None:
            self._preferred = preferred

    def next_request(self, now_ms: int, head_height: int, peers: Sequence[bytes]
                     ) -> SyncRequest | None:
        """The question to send now, if any. `peers`: connected peers, best first."""
        for question in (self._open, self._height_open):
            if question is not None and now_ms - question.asked_at_ms >= RESPONSE_TIMEOUT_MS:
                self._close(question)
                self._went_silent(question)
        for _, left in self._busy.overdue(now_ms, RESPONSE_TIMEOUT_MS):
            if left.for_height:  # answered with nothing, as if silent: not asked again
                self._height_asks.pop(left.peer, None)
            self._went_silent(left)
        if self._open is not None:
            return None
        free = self._busy.free(peers, now_ms)
        if self._poll_ms is not None and (self._last_poll_ms is None
                                          or now_ms - self._last_poll_ms >= self._poll_ms):
            self._last_poll_ms = now_ms
            self.target_height = max(self.target_height, head_height + 1)
        if head_height >= self.target_height or not peers:
            # Only now, with no block wanted: a relay that causes suspicions (a new one
            # each time its question times out costs it one junk item) would else take
            # every turn, and blocks a certified message said exist would never be asked.
            # One at a time, as questions for blocks are: a relay asked again and again
            # waits behind the others asked for.
            # Only to save time: most ticks come here with no height question waiting,
            # and the lines below would then scan for a peer to ask and return None too.
            if not self._height_asks:
                return None
            peer = next((key for key in self._height_asks if key in free), None)
            if peer is None or self._height_open is not None:
                return None
            del self._height_asks[peer]
            self._height_open = self._question(now_ms, peer, head_height + 1, for_height=True)
            return self._request(self._height_open)
        # Not the peer whose height question is open, while there is another: its
        # answers to the two would be told apart only by the height their blocks start
        # at, and an empty one not at all.
        # Nor a peer that said it is busy, until the time it gave has passed.
        height_peer = self._height_open.peer if self._height_open is not None else None
        choices = [key for key in free if key != height_peer] or free
        if any(key not in free and key not in self._silent for key in peers):
            choices = [key for key in choices if key not in self._silent]
        if not choices:
            return None  # every peer busy (or silent): asked once the first is free
        peer = self._preferred if self._preferred in choices else None
        if peer is None:  # one told busy, free again, is asked again before the others
            peer = next((key for key in choices if self._busy.left_unanswered(key)), None)
        if peer is None:
            peer = choices[self._turn % len(choices)]
            self._turn += 1
        if peer == height_peer:
            # The only peer: its height question asks for the blocks from a head no
            # higher, so it is taken for the question for blocks as it was, its answer
            # numbered as the answer to it. Asked again, its answer (empty ones, which
            # name no height) would be taken for the new question, though made before it.
            self._open, self._height_open = self._height_open, None
            return None
        self._open = self._question(now_ms, peer, head_height + 1)
        return self._request(self._open)

    def _question(self, now_ms: int, peer: bytes, start: int, for_height: bool = False
                  ) -> _Question:
        """A question to `peer`, timed from the first it left by busy answers if any,
        and showing its height if that one was to."""
        self.questions += 1
        asked_at_ms, left = self._busy.timed_from(peer, now_ms)
        return _Question(peer, start, self.questions, asked_at_ms,
                         for_height=for_height or (left is not None and left.for_height))

    def _went_silent(self, question: _Question) -> None:
        """`question` got no answer in time: its peer showed nothing and is passed over."""
        self._shown[question.peer] = (question.number, 0)
        self._silent.add(question.peer)
        self._pass_over(question.peer)

    @staticmethod
    def _request(question: _Question) -> SyncRequest:
        return SyncRequest(question.peer, block_question(question.start))

    def _close(self, question: _Question) -> None:
        if question is self._open:
            self._open = None
        elif question is self._height_open:
            self._height_open = None

    def ask_height(self, peer: bytes) -> None:
        """Ask `peer` what follows the head once connected, no block is wanted (a block a
        certified message says exists is not kept waiting by it) and no other such
        question is open, even with nothing to fetch: its answer shows its height
        (`shown`). Questions for blocks are asked beside it, not after it."""
        self._height_asks[peer] = None

    def shown(self, peer: bytes) -> tuple[int, int] | None:
        """The number of the latest question `peer` answered (or failed to), and the height
        that answer showed it holds (0: it showed nothing); None if it never answered."""
        return self._shown.get(peer)

    def height_ask_waiting(self, peer: bytes) -> bool:
        """Whether `peer` waits to be asked its height (`ask_height`): that question will
        be numbered above every one asked so far."""
        return peer in self._height_asks

    def accept(self, peer: bytes, payload: bytes, head_height: int, now_ms: int
               ) -> list[SyncedItem]:
        """The blocks of an answer to one of our open questions; [] for anything else.
        `now_ms`: when it is taken, from which a busy answer's wait is counted."""
        question = next((open_ for open_ in (self._open, self._height_open)
                         if open_ is not None and open_.peer == peer), None)
        if question is None:
            return []  # not a peer we asked, or not asked at all
        wait_ms = read_busy(payload)
        if wait_ms is not None:
            # No answer and no fault yet: nothing shown, the peer not passed over, and its
            # question asked again once it is free (a height question goes back among
            # those waiting; blocks asked of it again show its height as well), timed
            # from when it was first asked: a silence if unanswered by then
            if question.for_height:
                self._height_asks[peer] = None
            self._close(question)
            self._busy.told(peer, wait_ms, now_ms, question.asked_at_ms, question)
            return []
        self._busy.answered(peer)
        self._silent.discard(peer)
        answer = read_answer(payload)
        if answer is None:
            self._close(question)
            self._shown[peer] = (question.number, 0)  # no answer shows nothing
            self._pass_over(peer)
            return []
        peer_height, items = answer
        if items and _first_height(items[0][0]) not in (None, question.start):
            # The answer to an earlier question to this peer, come after it was passed
            # over for it (an answer says its blocks, not the question): it is no answer
            # to this one. Ignored, this question still open and timed from when it was
            # asked, so that answers like it, made up or not, do not keep it open.
            # An empty answer names no height, so it is taken for the open question,
            # late or not: an honest peer answers a question with no block whenever it
            # holds none from the height asked (behind us, or joined by state sync
            # above it), whatever height it claims, and that answer must count or each
            # poll at the head would wait for a timeout, and a peer at our head would
            # show nothing. What a late one shows is at most our head: true when the
            # peer answered, and below a relay's height if it has since got ahead of
            # us, a peer more than RESPONSE_TIMEOUT_MS late that overtook us meanwhile.
            return []
        for_blocks = question is self._open
        self._close(question)
        claimed = min(peer_height, head_height + MAX_TARGET_AHEAD)
        # A claim beyond the head stands only while its blocks extend the head (else
        # `failed`); with no blocks the peer holds nothing after the head, whatever it says.
        self._shown[peer] = (question.number, claimed if items else min(claimed, head_height))
        if items:
            self.target_height = max(self.target_height, claimed)
            self._known_height = max(self._known_height, claimed)
        else:
            self._pass_over(peer)
            if for_blocks:
                # The peer has nothing after our head: stop chasing its claim (a poll or
                # a certified announcement will start the next round). Not on an answer
                # to a height question, asked whatever the target: blocks a certified
                # message said exist may be asked of another peer meanwhile.
                self.target_height = min(self.target_height, head_height)
                self._known_height = min(self._known_height, head_height)
        return items

    def ask_ahead(self, now_ms: int, peer: bytes, next_height: int) -> SyncRequest | None:
        """The question after an answer of `peer`'s that is about to be applied, whose
        blocks end just below `next_height`: asked of the same peer now, so that its
        answer travels while this one executes. None when there is nothing to ask (no
        block from `next_height` on is wanted) or a question is open already. If the
        answer turns out bad, `failed` passes the peer over, and its answer to this
        question is not taken for a later one (`accept`). `answer_applied` restarts
        this question's timeout: its peer is not timed for our own applying."""
        if self._open is not None or next_height > self.target_height:
            return None
        self._open = self._question(now_ms, peer, next_height)
        self._open.ahead = True
        return self._request(self._open)

    def answer_applied(self, now_ms: int, peer: bytes, applying_ms: int = 0) -> None:
        """`peer`'s answer has been applied, in `applying_ms` (0 unless it brought blocks):
        an open question asked of it ahead, as that answer came in, is timed from now.
        Once: a late answer ignored (`accept`) does not restart the question it left open.
        The other open question (a relay's height, or blocks asked of another peer while
        a relay's answer was applied) is not timed for that applying either: its answer
        may have come meanwhile, and waits behind it in the engine's inbox."""
        for question in (self._open, self._height_open):
            if question is None:
                continue
            if question.peer == peer and question.ahead:
                question.asked_at_ms, question.ahead = now_ms, False
            else:
                question.asked_at_ms += applying_ms

    def backed(self, peer: bytes, height: int, items: Sequence[SyncedItem],
               fresh: bool) -> None:
        """`peer`'s answer `items` brought the head to `height`. `node.block_serve` stops at
        its head unless an answer's limits stop it first, so an answer they did not cut
        (or one whose blocks do not start right after the head as it was taken, in turn:
        `fresh` False) shows no more than `height`, whatever it claimed: else one block
        this node lacked, which a relay a block ahead can hand over each time it is asked
        on a busy chain, would stand for any height, and blocks committed here since the
        question, handed back late, would let a relay no further than this node stand
        for one."""
        cut = fresh and (len(items) >= MAX_BLOCKS_PER_RESPONSE or sum(
            len(data) + len(cert) for data, cert in items) > MAX_RESPONSE_BYTES - MAX_BLOCK_BYTES)
        shown = self._shown.get(peer)
        if shown is not None and not cut:
            self._shown[peer] = (shown[0], min(shown[1], height))

    def failed(self, peer: bytes) -> None:
        """An answer from `peer` held a block that does not verify, or none beyond the
        head: prefer others; the answer showed nothing of its height."""
        number, _ = self._shown.get(peer, (0, 0))
        self._shown[peer] = (number, 0)
        self._pass_over(peer)
        if self._open is not None and self._open.peer == peer:
            self._open = None  # asked ahead of that answer: its answer will not count

    def _pass_over(self, peer: bytes) -> None:
        if self._preferred == peer:
            self._preferred = None


def block_question(start: int) -> bytes:
    """The question for the blocks from `start` on, as this release asks it: as many as
    an answer holds, and BUSY_READ_BIT, so a server that cannot answer now says so."""
    return encode([start, MAX_BLOCKS_PER_RESPONSE | BUSY_READ_BIT])


def read_answer(payload: bytes) -> tuple[int, list[SyncedItem]] | None:
    """An answer's claimed height and its (block, certificate) items, neither decoded;
    None if it is no answer."""
    answer = None
    with contextlib.suppress(MalformedInput):
        # [height, [[block, certificate], ...]]: its arrays and items bounded before they
        # are built, as any member asked may answer (and the engine thread reads it)
        answer = decode(payload, max_arrays=2 + MAX_BLOCKS_PER_RESPONSE,
                        max_items=MAX_BLOCKS_PER_RESPONSE)
    if not (isinstance(answer, list) and len(answer) == 2 and is_height(answer[0])
            and isinstance(answer[1], list)
            and len(answer[1]) <= MAX_BLOCKS_PER_RESPONSE
            and all(_is_item(item) for item in answer[1])):
        return None
    return answer[0], [(bytes(data), bytes(cert)) for data, cert in answer[1]]


def first_height(items: list[SyncedItem]) -> int | None:
    """The height the first item's block gives, read without decoding its transactions;
    None if there is none or it does not decode."""
    return _first_height(items[0][0]) if items else None


def _first_height(data: bytes) -> int | None:
    """The height an answer's first block gives in its header, read without decoding its
    transactions; None if it has none (the engine then refuses the block as undecodable)."""
    with contextlib.suppress(MalformedInput):
        value = decode(data, max_arrays=BLOCK_ARRAYS, max_items=MAX_BLOCK_TXS)
        if isinstance(value, list) and value:
            return Header.from_array(value[0]).height
    return None


def _is_item(value: object) -> bool:
    return (isinstance(value, list) and len(value) == 2
            and isinstance(value[0], bytes) and isinstance(value[1], bytes))
