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

import dataclasses
import random

from consensus import (
    Action,
    Broadcast,
    Commit,
    CommitCertificate,
    CommitProof,
    CommitSignature,
    Digest,
    Height,
    Message,
    NewView,
    Prepare,
    PreparedCertificate,
    PrePrepare,
    Send,
    SignedMessage,
    ValidatorId,
    View,
    ViewChange,
    decode_signed,
    encode_signed,
    message_signing_bytes,
)
from tests.sim.blocks import build_block, parse_block
from tests.sim.keys import make_signer

INVENTED_TX = b"invented-by-byzantine"


class Byzantine:
    def __init__(self, rng: random.Random, mode: str, me: ValidatorId,
                 validators: tuple[ValidatorId, ...], chain_id: bytes) -> None:
        self._rng = rng
        self.mode = mode
        self._me = me
        self._others = [v for v in validators if v != me]
        self._validators = validators
        self._chain_id = chain_id
        self._sign_raw = make_signer(me)

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
            out.extend(Broadcast(data) for data in self._forgeries())
        return out

    # -- equivocation ---------------------------------------------------------------------

    def _rewrite_broadcast(self, action: Broadcast) -> list[Action]:
        if self.mode != "equivocate":
            return [action]
        signed = decode_signed(action.data)
        message = signed.message
        if isinstance(message, PrePrepare):
            alternative = self._sign(self._alternative_proposal(message))
            return self._split(action.data, encode_signed(alternative))
        if isinstance(message, Prepare | Commit) and self._rng.random() < 0.3:
            other = dataclasses.replace(message, digest=self._random_digest())
            return self._split(action.data, encode_signed(self._sign(other)))
        return [action]

    def _split(self, real: bytes, fake: bytes) -> list[Action]:
        sends: list[Action] = []
        for peer in self._others:
            choice = self._rng.random()
            if choice < 0.15:
                sends += [Send(peer, real), Send(peer, fake)]
            else:
                sends.append(Send(peer, real if choice < 0.55 else fake))
        return sends

    def _alternative_proposal(self, real: PrePrepare) -> PrePrepare:
        parsed = parse_block(real.block)
        assert parsed is not None
        height, parent, txs = parsed
        alt_txs = list(reversed(txs)) if len(txs) > 1 else []
        if self._rng.random() < 0.3:
            alt_txs.append(INVENTED_TX)
        block, digest = build_block(height, Digest(parent), real.view + 1000, alt_txs)
        return PrePrepare(real.view, real.height, digest, block)

    # -- forgeries -------------------------------------------------------------------------

    def _forgeries(self) -> list[bytes]:
        victim = self._rng.choice(self._others)
        view = View(self._rng.randint(1, 50))
        height = Height(self._rng.randint(1, 30))
        digest = self._random_digest()
        proposal = PrePrepare(view, height, digest, b"forged block")
        forged_prepares = tuple(self._as(v, Prepare(view, height, digest)) for v in self._others)
        forged_cert = PreparedCertificate(self._as(victim, proposal), forged_prepares)
        change = ViewChange(View(view + 1), height, forged_cert)
        forged_changes = tuple(self._as(v, change) for v in self._validators)
        new_view = NewView(View(view + 1), height, forged_changes, None)
        certificate = CommitCertificate(Height(height + 3), view, digest,
                                        tuple(sorted(CommitSignature(v, 0, bytes(32))
                                                     for v in self._validators)))
        return [
            self._rng.randbytes(self._rng.randint(0, 80)),
            encode_signed(SignedMessage(self._me, Prepare(view, height, digest), bytes(32))),
            encode_signed(self._as(victim, Commit(view, height, digest, 0))),
            encode_signed(self._sign(change)),
            encode_signed(self._sign(new_view)),
            encode_signed(self._sign(CommitProof(certificate))),
        ]

    def _as(self, claimed: ValidatorId, message: Message) -> SignedMessage:
        """A message claiming to be from `claimed` but signed with our own key."""
        signature = self._sign_raw(message_signing_bytes(self._chain_id, message))
        return SignedMessage(claimed, message, signature)

    def _sign(self, message: Message) -> SignedMessage:
        return self._as(self._me, message)

    def _random_digest(self) -> Digest:
        return Digest(self._rng.randbytes(32))
