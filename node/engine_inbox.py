"""How much network input may wait for the engine thread, in items and in bytes.

Counting items alone let the inbox hold INPUTS_MAX of the largest frames: 20,000
sync answers of 8 MiB each, which any peer may send. Bytes are counted in two
pools, so that what anyone may send never takes the room of what only validators
may send:

- validators' inputs (consensus frames and announced blocks, which the node takes
  from validators only): at most VALIDATOR_INPUT_BYTES_MAX in all, and at most
  PEER_INPUT_BYTES_MAX from one validator, so one Byzantine validator cannot take
  the others' room. A validator with nothing waiting always gets one input in,
  whatever its size: the largest legitimate frame (a NewView of many validators,
  hundreds of MiB with 100 of them) must never be refused for its size alone.
- everything else (sync answers): at most OTHER_INPUT_BYTES_MAX, room for several
  of the largest answers. A node has two questions open at a time at most (one for
  blocks, one for a peer's height: node.sync). The event loop lets an answer this far
  only from a peer sent a question it has not answered yet (node.answer_gate), so
  answers nobody asked for are dropped before they take room here, and one peer gets
  at most QUESTIONS_PER_PEER_MAX answers in at once, fewer than this pool holds. The
  pool is the second line, for what gets past that (peers that kept their answers to
  questions that timed out back, sending them together while the engine is busy).

What does not fit is dropped, with its reason counted; the protocols cope (a
dropped vote is sent again on a view change, a dropped sync answer is asked again).
"""

from __future__ import annotations

from collections import Counter

from node.channels import SYNC_RESPONSE_BYTES

INPUTS_MAX = 20_000  # inputs waiting, of any kind
VALIDATOR_INPUT_BYTES_MAX = 256 * 1024 * 1024
PEER_INPUT_BYTES_MAX = 64 * 1024 * 1024
OTHER_INPUT_BYTES_MAX = 4 * SYNC_RESPONSE_BYTES

FULL = "the engine's inbox holds INPUTS_MAX inputs"
VALIDATORS_FULL = "validators' inputs waiting exceed VALIDATOR_INPUT_BYTES_MAX"
PEER_FULL = "this validator's inputs waiting exceed PEER_INPUT_BYTES_MAX"
OTHERS_FULL = "sync answers waiting exceed OTHER_INPUT_BYTES_MAX"


class InboxBudget:
    """The items and bytes waiting; the caller holds the inbox's lock."""

    def __init__(self) -> None:
        self.items = 0
        self.validator_bytes = 0
        self.other_bytes = 0
        self.by_peer: dict[bytes, int] = {}
        self.dropped: Counter[str] = Counter()

    def admit(self, peer_key: bytes, size: int, validator: bool) -> str | None:
        """Take room for an input (None), or count and say why there is none."""
        refusal = self._refusal(peer_key, size, validator)
        if refusal is not None:
            self.dropped[refusal] += 1
            return refusal
        self.items += 1
        if validator:
            self.validator_bytes += size
            self.by_peer[peer_key] = self.by_peer.get(peer_key, 0) + size
        else:
            self.other_bytes += size
        return None

    def _refusal(self, peer_key: bytes, size: int, validator: bool) -> str | None:
        if self.items >= INPUTS_MAX:
            return FULL
        if not validator:
            return OTHERS_FULL if self.other_bytes + size > OTHER_INPUT_BYTES_MAX else None
        held = self.by_peer.get(peer_key, 0)
        if held == 0:
            return None
        if held + size > PEER_INPUT_BYTES_MAX:
            return PEER_FULL
        if self.validator_bytes + size > VALIDATOR_INPUT_BYTES_MAX:
            return VALIDATORS_FULL
        return None

    def taken(self, peer_key: bytes, size: int, validator: bool) -> None:
        """An input admitted earlier has left the inbox."""
        self.items -= 1
        if not validator:
            self.other_bytes -= size
            return
        self.validator_bytes -= size
        left = self.by_peer[peer_key] - size
        if left:
            self.by_peer[peer_key] = left
        else:
            del self.by_peer[peer_key]
