"""What block sync shows of relays' heights, for the event loop (node.peer_penalty).

`node.network` judges a relay's forged-looking signatures by the height its latest
block-sync answer showed (`BlockSync.shown`), and may have it asked; the BlockSync lives
on the engine thread, so asking goes through a hand-over, at most one between two
questions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from node.sync import BlockSync

# Relays whose hand-over to the engine thread `SyncHeights` remembers, to hand each over
# once until a question is asked: far more than the members and observers connected.
HEIGHT_ASKS_REMEMBERED_MAX = 1024


@dataclass(frozen=True)
class SyncHeights:
    """`node.peer_penalty.RelayHeights` over the engine thread's BlockSync, for the event
    loop: plain reads (an int, a tuple from a dict, a key in a dict) and `ask`, which
    hands the question to the engine thread (`hand_over`, the daemon's
    `AppliesSyncedBlocks.ask_height` queued on it) unless a hand-over already made
    will do."""

    sync: BlockSync
    hand_over: Callable[[bytes], None]
    # relay -> questions asked when it was last handed over; on the event loop only
    _handed: dict[bytes, int] = field(default_factory=dict, init=False, repr=False,
                                      compare=False)

    def ask(self, peer: bytes) -> None:
        """Have `peer` asked its height in a question numbered above every one asked so
        far (`questions`), handing it over only if no earlier hand-over will do: one made
        since the last question was asked, or one the engine holds for the peer's turn
        (`BlockSync.height_ask_waiting`), is asked after now. Else, once any question
        has been asked, the peer is handed over again: a hand-over made before may have
        been asked already, or dropped with the engine's inbox full (node.engine_inbox).
        So frames of forged-looking signatures from one relay, each of which may ask,
        queue one hand-over between two questions, not one each."""
        questions = self.sync.questions
        if self._handed.get(peer) == questions or self.sync.height_ask_waiting(peer):
            return
        if peer not in self._handed and len(self._handed) >= HEIGHT_ASKS_REMEMBERED_MAX:
            self._handed.clear()  # a relay forgotten is handed over once more, no more
        self._handed[peer] = questions
        self.hand_over(peer)

    def questions(self) -> int:
        return self.sync.questions

    def shown(self, peer: bytes) -> tuple[int, int] | None:
        return self.sync.shown(peer)
