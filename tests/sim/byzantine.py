"""A Byzantine replica: a real replica whose outgoing traffic is rewritten to cheat.

Modes (drawn from the seed):
- "equivocate": as primary, sends different valid blocks to different peers (and
  sometimes both to one peer, which must become evidence); sends conflicting
  prepares and commits; sometimes proposes blocks with invented transactions.
- "forge": keeps behaving, and adds junk bytes, bad signatures, messages signed
  as other validators, view changes and new views with forged proofs, and
  commit proofs with forged certificates.
It only holds its own key, so forged signatures never verify.
"""

import random

from consensus import (
    Action,
    Broadcast,
    Digest,
    PrePrepare,
    Send,
    ValidatorId,
    decode_signed,
    encode_signed,
)
from tests.sim.blocks import build_block, parse_block
from tests.sim.forgeries import Forger
from tests.sim.keys import make_signer

INVENTED_TX = b"invented-by-byzantine"
HMAC_BYTES = 32  # the simulator's signatures (tests.sim.keys)


class Byzantine:
    def __init__(self, rng: random.Random, mode: str, me: ValidatorId,
                 validators: tuple[ValidatorId, ...], chain_id: bytes) -> None:
        self._rng = rng
        self.mode = mode
        self._forger = Forger(rng, me, validators, chain_id, make_signer(me), HMAC_BYTES)

    def propose_txs(self, txs: list[bytes]) -> list[bytes]:
        """What the Byzantine node puts in its own blocks."""
        if self.mode == "equivocate" and self._rng.random() < 0.3:
            return [*txs, INVENTED_TX]
        return txs

    def rewrite(self, actions: list[Action]) -> list[Action]:
        out: list[Action] = []
        for action in actions:
            if isinstance(action, Broadcast):
                out.extend(self._rewrite_broadcast(action))
            else:
                out.append(action)
        if self.mode == "forge" and self._rng.random() < 0.05:
            out.extend(Broadcast(data) for data in self._forger.forgeries())
        return out

    # -- equivocation ---------------------------------------------------------------------

    def _rewrite_broadcast(self, action: Broadcast) -> list[Action]:
        if self.mode != "equivocate":
            return [action]
        message = decode_signed(action.data).message
        if isinstance(message, PrePrepare):
            fake: bytes | None = encode_signed(
                self._forger.sign(self._alternative_proposal(message)))
        else:
            fake = self._forger.conflicting_vote(message)
        if fake is None:
            return [action]
        return [Send(peer, data)
                for peer, data in self._forger.split(self._forger.others, action.data, fake)]

    def _alternative_proposal(self, real: PrePrepare) -> PrePrepare:
        parsed = parse_block(real.block)
        assert parsed is not None
        height, parent, txs = parsed
        alt_txs = list(reversed(txs)) if len(txs) > 1 else []
        if self._rng.random() < 0.3:
            alt_txs.append(INVENTED_TX)
        block, digest = build_block(height, Digest(parent), real.view + 1000, alt_txs)
        return PrePrepare(real.view, real.height, digest, block)
