"""Block sync as a state machine without IO: whom to ask, what, and which answers count.

A lagging validator or a follower asks one peer at a time for the blocks after
its head; when an answer holds the blocks right after the head and the peer
claims more, the next question goes to it before that answer is applied
(`ask_ahead`), so fetching overlaps executing. An answer counts only if it comes
from the peer asked while the question is open and its blocks start at the height
asked for: one that starts elsewhere answers an earlier question to that peer, come
late, and is ignored (an empty one names no height and is taken). The engine then
checks each block's certificate and re-executes it before committing it through its one
commit path. A peer that does not answer within RESPONSE_TIMEOUT_MS of the question,
or whose answer does not help, is passed over: the next question goes to the next peer
in turn.

What each peer's latest answer showed of its height is kept (`shown`), each question
numbered: node.network judges a relay's forged-looking signatures by it, and may
have a peer asked (`ask_height`). A peer shows only what it backs: a claim counts when
its answer's blocks extend the head and fill an answer (`backed`), else the height they
bring the head to; an empty answer shows the head; one that fails, does not help, or does
not come, shows nothing.

`serve_blocks` answers other nodes' questions from the local chain.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ledger.blocks import BLOCK_ARRAYS, MAX_BLOCK_BYTES, Header
from ledger.chain import Chain
from ledger.codec import decode, encode
from ledger.errors import MalformedInput

MAX_BLOCKS_PER_RESPONSE = 64
MAX_RESPONSE_BYTES = 3 * 1024 * 1024  # within the sync-response channel's limit
RESPONSE_TIMEOUT_MS = 5_000
MAX_TARGET_AHEAD = 100_000  # an uncertified claim cannot send us chasing further than this

SyncedItem = tuple[bytes, bytes]  # (block bytes, certificate bytes)


@dataclass(frozen=True)
class SyncRequest:
    peer: bytes
    payload: bytes


class BlockSync:
    def __init__(self, poll_ms: int | None) -> None:
        """`poll_ms`: followers ask for new blocks this often even when nobody tells them."""
        self.target_height = 0
        # The highest height a peer or a certified message said exists: unlike the
        # target, not raised by a poll, which asks whether anything follows the head.
        self._known_height = 0
        self._poll_ms = poll_ms
        self._last_poll_ms: int | None = None
        self._asked: bytes | None = None
        self._asked_at_ms = 0
        self._asked_start = 0  # the height the open question asked for first
        self._asked_ahead = False  # ... by `ask_ahead`, and `answer_applied` not yet called
        self._preferred: bytes | None = None
        self._turn = 0
        self.questions = 0  # asked so far; the open one is number `_asked_number`
        self._asked_number = 0
        # peer -> (number of the latest question it answered, the height it showed); one
        # entry per peer that ever answered (peers are members and allowed observers)
        self._shown: dict[bytes, tuple[int, int]] = {}
        self._height_asks: dict[bytes, None] = {}  # peers to ask next, whatever the target
        self._asking_height = False  # the open question was asked for `ask_height` alone

    def behind(self, head_height: int) -> int:
        """How many blocks others said exist beyond the head."""
        return max(0, self._known_height - head_height)

    def want(self, target_height: int, preferred: bytes | None = None) -> None:
        """Fetch up to `target_height`, asking `preferred` first if it is connected."""
        self.target_height = max(self.target_height, target_height)
        self._known_height = max(self._known_height, target_height)
        if preferred is not None:
            self._preferred = preferred

    def next_request(self, now_ms: int, head_height: int, peers: Sequence[bytes]
                     ) -> SyncRequest | None:
        """The question to send now, if any. `peers`: connected peers, best first."""
        if self._asked is not None:
            if self._asking_height and self._known_height > head_height:
                # A certified message (`want`) said there are blocks this node lacks: they
                # do not wait for the peer's answer (a forger need not give one); the
                # peer is asked again when none is wanted, its answer still to come.
                self._height_asks[self._asked] = None
                self._asked = None
            elif now_ms - self._asked_at_ms < RESPONSE_TIMEOUT_MS:
                return None
            else:
                self._shown[self._asked] = (self._asked_number, 0)
                self._pass_over(self._asked)
        if self._poll_ms is not None and (self._last_poll_ms is None
                                          or now_ms - self._last_poll_ms >= self._poll_ms):
            self._last_poll_ms = now_ms
            self.target_height = max(self.target_height, head_height + 1)
        if head_height >= self.target_height or not peers:
            # Only now, with no block wanted: a relay that causes suspicions (a new one
            # each time its question times out costs it one junk item) would else take
            # every turn, and blocks a certified message said exist would never be asked.
            peer = next((key for key in self._height_asks if key in peers), None)
            if peer is None:
                return None
            del self._height_asks[peer]
            return self._question(now_ms, peer, head_height + 1, height_only=True)
        peer = self._preferred if self._preferred in peers else None
        if peer is None:
            peer = peers[self._turn % len(peers)]
            self._turn += 1
        return self._question(now_ms, peer, head_height + 1)

    def _question(self, now_ms: int, peer: bytes, start: int, height_only: bool = False
                  ) -> SyncRequest:
        self.questions += 1
        self._asking_height, self._asked_ahead = height_only, False
        self._asked, self._asked_at_ms, self._asked_number = peer, now_ms, self.questions
        self._asked_start = start
        return SyncRequest(peer, encode([start, MAX_BLOCKS_PER_RESPONSE]))

    def ask_height(self, peer: bytes) -> None:
        """Ask `peer` what follows the head once connected, no question is open and no
        block is wanted (a block a certified message says exists is not kept waiting by
        it), even with nothing to fetch: its answer shows its height (`shown`)."""
        self._height_asks[peer] = None

    def shown(self, peer: bytes) -> tuple[int, int] | None:
        """The number of the latest question `peer` answered (or failed to), and the height
        that answer showed it holds (0: it showed nothing); None if it never answered."""
        return self._shown.get(peer)

    def accept(self, peer: bytes, payload: bytes, head_height: int) -> list[SyncedItem]:
        """The blocks of an answer to our open question; [] for anything else."""
        if peer != self._asked:
            return []  # not the peer we asked, or not asked at all
        answer = None
        with contextlib.suppress(MalformedInput):
            answer = decode(payload)
        if not (isinstance(answer, list) and len(answer) == 2 and _is_height(answer[0])
                and isinstance(answer[1], list)
                and len(answer[1]) <= MAX_BLOCKS_PER_RESPONSE
                and all(_is_item(item) for item in answer[1])):
            self._shown[peer] = (self._asked_number, 0)  # no answer shows nothing
            self._pass_over(peer)
            return []
        peer_height, items = answer
        if items and _first_height(items[0][0]) not in (None, self._asked_start):
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
        self._asked = None
        claimed = min(peer_height, head_height + MAX_TARGET_AHEAD)
        # A claim beyond the head stands only while its blocks extend the head (else
        # `failed`); with no blocks the peer holds nothing after the head, whatever it says.
        self._shown[peer] = (self._asked_number, claimed if items else min(claimed, head_height))
        self.target_height = max(self.target_height, claimed)
        self._known_height = max(self._known_height, claimed)
        if not items:
            # The peer has nothing after our head: stop chasing its claim (a poll or a
            # certified announcement will start the next round).
            self.target_height = min(self.target_height, head_height)
            self._known_height = min(self._known_height, head_height)
            self._pass_over(peer)
        return [(bytes(data), bytes(cert)) for data, cert in items]

    def ask_ahead(self, now_ms: int, peer: bytes, next_height: int) -> SyncRequest | None:
        """The question after an answer of `peer`'s that is about to be applied, whose
        blocks end just below `next_height`: asked of the same peer now, so that its
        answer travels while this one executes. None when there is nothing to ask (no
        block from `next_height` on is wanted) or a question is open already. If the
        answer turns out bad, `failed` passes the peer over, and its answer to this
        question is not taken for a later one (`accept`). `answer_applied` restarts
        this question's timeout: its peer is not timed for our own applying."""
        if self._asked is not None or next_height > self.target_height:
            return None
        request = self._question(now_ms, peer, next_height)
        self._asked_ahead = True
        return request

    def answer_applied(self, now_ms: int, peer: bytes) -> None:
        """`peer`'s answer has been applied: an open question asked of it ahead, as that
        answer came in, is timed from now. Once: a late answer ignored (`accept`) does not
        restart the question it left open."""
        if self._asked == peer and self._asked_ahead:
            self._asked_at_ms, self._asked_ahead = now_ms, False

    def backed(self, peer: bytes, height: int, items: Sequence[SyncedItem],
               fresh: bool) -> None:
        """`peer`'s answer `items` brought the head to `height`. `serve_blocks` stops at
        its head unless an answer's limits stop it first, so an answer they did not cut
        (or one not starting at the head, `fresh` False) shows no more than `height`,
        whatever it claimed: else one block this node lacked, which a relay a block ahead
        can hand over each time it is asked on a busy chain, would stand for any height."""
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

    def _pass_over(self, peer: bytes) -> None:
        self._asked = None
        if self._preferred == peer:
            self._preferred = None


@dataclass(frozen=True)
class SyncHeights:
    """`node.peer_penalty.RelayHeights` over the engine thread's BlockSync, for the event
    loop: plain reads (an int, a tuple from a dict) and `ask`, which hands the question
    to the engine thread (`AppliesSyncedBlocks.ask_height`)."""

    sync: BlockSync
    ask: Callable[[bytes], None]

    def questions(self) -> int:
        return self.sync.questions

    def shown(self, peer: bytes) -> tuple[int, int] | None:
        return self.sync.shown(peer)


def _is_height(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def _first_height(data: bytes) -> int | None:
    """The height an answer's first block gives in its header, read without decoding its
    transactions; None if it has none (the engine then refuses the block as undecodable)."""
    with contextlib.suppress(MalformedInput):
        value = decode(data, max_arrays=BLOCK_ARRAYS)
        if isinstance(value, list) and value:
            return Header.from_array(value[0]).height
    return None


def _is_item(value: object) -> bool:
    return (isinstance(value, list) and len(value) == 2
            and isinstance(value[0], bytes) and isinstance(value[1], bytes))


def serve_blocks(chain: Chain, payload: bytes) -> bytes | None:
    """Answer a peer's [start, count] with committed blocks and certificates; None if junk.

    Reads the store only, so the daemon runs it off both the event loop and the
    engine thread."""
    request = None
    with contextlib.suppress(MalformedInput):
        request = decode(payload)
    if not (isinstance(request, list) and len(request) == 2
            and all(_is_height(value) for value in request)):
        return None
    start, count = max(1, request[0]), request[1]
    blocks: list[list[bytes]] = []
    size = 0
    for height in range(start, start + min(count, MAX_BLOCKS_PER_RESPONSE)):
        data = chain.get_block_bytes(height)
        cert = chain.get_certificate(height)
        if data is None or cert is None or (blocks and size + len(data) > MAX_RESPONSE_BYTES):
            break
        blocks.append([data, cert])
        size += len(data) + len(cert)
    return encode([chain.height, blocks])
