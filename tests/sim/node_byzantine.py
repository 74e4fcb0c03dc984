"""A Byzantine validator for the node simulator: a real engine whose traffic is rewritten.

Modes (drawn from the seed):
- "equivocate": as primary, sends different real ledger blocks to different peers
  (sometimes both to one peer, which must become evidence), sometimes a block whose
  state root lies; sends conflicting prepares and commits.
- "forge": keeps behaving, and adds junk, bad signatures, messages signed as
  other validators, view changes and new views with forged proofs, and commit
  proofs with forged certificates.
- "bad_sync": behaves in consensus but lies when asked for blocks: garbage,
  blocks under another block's certificate, tampered transactions, made-up
  heights, or silence.
In every mode its clock is wild (years off), and its commit votes carry it.
It only holds its own key, so anything it signs as someone else never verifies.
"""

import dataclasses
import random

from consensus import (
    Digest,
    PrePrepare,
    ValidatorId,
    decode_signed,
    encode_signed,
)
from consensus.errors import MalformedMessage
from ledger.blocks import Block, decode_block
from ledger.chain import Chain
from ledger.codec import encode
from ledger.errors import MalformedInput
from ledger.identity import SIGNATURE_BYTES, KeyPair, MemberId
from node.block_serve import serve_blocks
from tests.sim.forgeries import Forger

MODES = ("equivocate", "forge", "bad_sync")


class ByzantineNode:
    def __init__(self, rng: random.Random, mode: str, keys: KeyPair,
                 validators: tuple[ValidatorId, ...], chain_id: bytes) -> None:
        self._rng = rng
        self.mode = mode
        self._me = ValidatorId(keys.member_id)
        self._forger = Forger(rng, self._me, validators, chain_id, keys.sign_raw,
                              SIGNATURE_BYTES)

    # -- consensus frames ------------------------------------------------------------------
    def rewrite(self, chain: Chain, data: bytes, peers: list[ValidatorId]
                ) -> list[tuple[ValidatorId, bytes]]:
        """What actually goes out when the engine sends `data` to `peers`."""
        sends = [(peer, data) for peer in peers]
        if self.mode == "equivocate":
            sends = self._equivocate(chain, data, peers)
        if self.mode == "forge" and self._rng.random() < 0.05:
            sends += [(peer, forged) for forged in self._forger.forgeries() for peer in peers]
        return sends

    def _equivocate(self, chain: Chain, data: bytes, peers: list[ValidatorId]
                    ) -> list[tuple[ValidatorId, bytes]]:
        try:
            message = decode_signed(data).message
        except MalformedMessage:
            return [(peer, data) for peer in peers]
        if isinstance(message, PrePrepare):
            fake = self._alternative_proposal(chain, message)
        else:
            fake = self._forger.conflicting_vote(message)
        if fake is None:
            return [(peer, data) for peer in peers]
        return self._forger.split(peers, data, fake)

    def _alternative_proposal(self, chain: Chain, real: PrePrepare) -> bytes | None:
        try:
            block = decode_block(real.block)
        except MalformedInput:
            return None
        if block.header.height != chain.height + 1:
            return None
        txs = list(reversed(block.transactions))[:-1] if block.transactions else []
        # Same last commit and time as the real proposal: a valid block, only a different one.
        execution = chain.build(txs, MemberId(self._me), real.view, block.header.time_ms,
                                last_commit=block.last_commit)
        alternative = execution.block
        if self._rng.random() < 0.3:  # a state root no honest execution reaches
            header = dataclasses.replace(alternative.header, state_root=self._rng.randbytes(32))
            alternative = Block(header, alternative.transactions, alternative.last_commit)
        proposal = PrePrepare(real.view, real.height, Digest(alternative.block_hash),
                              alternative.encode())
        return encode_signed(self._forger.sign(proposal))

    # -- sync answers ----------------------------------------------------------------------
    def answer_sync(self, chain: Chain, request: bytes) -> bytes | None:
        honest = serve_blocks(chain, request)
        if self.mode != "bad_sync" or honest is None:
            return honest
        lie = self._rng.randrange(6)
        blocks = [[chain.get_block_bytes(h) or b"", chain.get_certificate(h) or b""]
                  for h in range(1, chain.height + 1)]
        if lie == 0:
            return None  # silence: the asker must time out and ask someone else
        if lie == 1:
            return self._rng.randbytes(self._rng.randint(0, 64))
        if lie == 2:  # a real block under the wrong height's certificate
            if len(blocks) >= 2:
                return encode([chain.height, [[blocks[-1][0], blocks[-2][1]]]])
            return encode([chain.height + 50, []])
        if lie == 3:  # transactions tampered with, certificate kept
            if blocks:
                data = bytearray(blocks[-1][0])
                data[-1] ^= 0x01
                return encode([chain.height, [[bytes(data), blocks[-1][1]]]])
            return encode([10_000_000, []])
        if lie == 4:
            return encode([10_000_000, []])  # a made-up height and nothing to show for it
        return honest
